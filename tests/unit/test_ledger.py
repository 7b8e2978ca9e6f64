"""The ledger's promises about receipts and marks, on a real SQLite file."""
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.model import Outcome, Submission
from pipeline.store import MIGRATIONS, Ledger, ReceiptDraft

ROUND = "2019年省级专业技术人员继续教育基地申报"
NOW = datetime(2019, 9, 10, 2, 15, tzinfo=timezone.utc)


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "intake.sqlite3") as led:
        yield led


def _done(ledger: Ledger, uid: str, state: str = "held") -> int:
    row = ledger.record_fetched(ROUND, "imap://box", "1", uid, "sha" + uid, f"raw/{uid}.eml", NOW)
    sub = Submission(raw=b"", received_at=NOW, outcome=Outcome.SUBMISSION)
    ledger.record_done(row, sub, (), "济南市人力资源和社会保障局", "city",
                       ReceiptDraft(f"<r{uid}@intake>", "rsj@jinan.example.cn", b"raw", "{}", state))
    return row


def test_a_new_receipt_waits_for_the_round_assessment(ledger):
    _done(ledger, "1")
    # The retry job may run in the middle of a pass: it must find nothing to send yet.
    assert ledger.due_receipts(NOW) == []
    assert ledger.release_receipts(ROUND) == 1
    assert [r.receipt_id for r in ledger.due_receipts(NOW)] == ["<r1@intake>"]
    assert ledger.release_receipts(ROUND) == 0


def test_the_assessment_rewrites_held_receipts_without_releasing_them(ledger):
    _done(ledger, "1")
    (row,) = ledger.queued_receipt_letters(ROUND)
    assert ledger.refresh_receipt(row["id"], '{"x": 1}', b"new")
    assert ledger.due_receipts(NOW) == []
    assert ledger.refresh_receipt(row["id"], "{}", b"raw", "suppressed", "重复邮件")
    assert ledger.release_receipts(ROUND) == 0  # a suppressed receipt never goes out


def test_held_receipts_count_towards_the_daily_limit(ledger):
    _done(ledger, "1")
    day = NOW.replace(hour=0, minute=0)
    assert ledger.receipts_to("rsj@jinan.example.cn", day, day + timedelta(days=1)) == 1


def test_a_message_done_but_never_marked_is_found_again(ledger):
    first, second = _done(ledger, "1"), _done(ledger, "2")
    ledger.set_marked(first)
    assert ledger.unmarked("imap://box", "1") == [(second, "2")]
    assert ledger.unmarked("imap://box", "2") == []


def test_schema_is_at_the_latest_version(ledger):
    assert ledger.schema_version == len(MIGRATIONS)
