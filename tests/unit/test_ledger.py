"""The ledger's promises about receipts and marks, on a real SQLite file."""
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.model import Outcome, Submission
from pipeline.store import MIGRATIONS, Ledger, ReceiptDraft

ROUND = "2019年省级专业技术人员继续教育基地申报"
NOW = datetime(2019, 9, 10, 2, 15, tzinfo=UTC)


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


def test_attempts_that_never_ended_are_counted_as_crashes(ledger):
    row = ledger.record_fetched(ROUND, "imap://box", "1", "9", "sha9", "raw/9.eml", NOW)
    assert ledger.begin_attempt(row).crashed == 0
    assert ledger.begin_attempt(row).crashed == 1          # the first never came back
    ledger.defer(row, "OSError: [Errno 28] No space left on device", "Traceback…", NOW + timedelta(minutes=5), True)
    attempt = ledger.begin_attempt(row)
    assert (attempt.number, attempt.crashed) == (3, 1)     # the deferred one ended; the first is still a crash


def test_a_deferred_message_waits_and_is_then_due_from_its_raw_bytes(ledger):
    row = ledger.record_fetched(ROUND, "imap://box", "1", "5", "sha5", "raw/5.eml", NOW)
    ledger.begin_attempt(row)
    ledger.defer(row, "OSError: disk full", "", NOW + timedelta(minutes=5), raw_kept=True)
    assert ledger.skip("imap://box", "1", "5", NOW)                # never handed over by the mailbox again
    assert ledger.due_retries(ROUND, NOW) == []
    assert ledger.due_retries(ROUND, NOW + timedelta(minutes=6)) == [row]
    assert [r["id"] for r in ledger.waiting(ROUND)] == [row]


def test_a_message_whose_raw_bytes_were_not_kept_is_fetched_again_when_due(ledger):
    row = ledger.record_fetched(ROUND, "imap://box", "1", "6", "", "", NOW)
    ledger.begin_attempt(row)
    ledger.defer(row, "OSError: read-only", "", NOW + timedelta(minutes=5), raw_kept=False)
    assert ledger.pending_uids("imap://box", "1", NOW) == []
    assert ledger.pending_uids("imap://box", "1", NOW + timedelta(minutes=6)) == ["6"]
    assert not ledger.skip("imap://box", "1", "6", NOW + timedelta(minutes=6))
    ledger.record_fetched(ROUND, "imap://box", "1", "6", "sha6", "raw/6.eml", NOW)
    assert ledger.message(row)["raw_path"] == "raw/6.eml"


def test_running_a_message_again_keeps_its_application_numbers(ledger):
    from pipeline.model import Application, Track

    def app(name: str) -> Application:
        return Application(name, Track.GENERAL, {}, {}, ())

    row = ledger.record_fetched(ROUND, "imap://box", "1", "7", "sha7", "raw/7.eml", NOW)
    first = Submission(raw=b"", received_at=NOW, applications=(app("甲培训中心"), app("乙学院")))
    ledger.record_done(row, first, (), "济南市人力资源和社会保障局", "city", None)
    ids = {r["applicant"]: r["id"] for r in ledger.applications(ROUND)}
    again = Submission(raw=b"", received_at=NOW, applications=(app("乙学院"), app("（甲）培训中心"), app("丙协会")))
    ledger.record_done(row, again, (), "济南市人力资源和社会保障局", "city", None)
    now = {r["applicant"]: r["id"] for r in ledger.applications(ROUND)}
    assert now["乙学院"] == ids["乙学院"] and now["（甲）培训中心"] == ids["甲培训中心"]
    assert now["丙协会"] not in ids.values()


def test_a_receipt_already_sent_is_never_replaced_by_a_rerun(ledger):
    row = _done(ledger, "8")
    ledger.release_receipts(ROUND)
    (receipt,) = ledger.due_receipts(NOW)
    ledger.mark_receipt(receipt.row, "sent")
    sub = Submission(raw=b"", received_at=NOW, outcome=Outcome.SUBMISSION)
    ledger.record_done(row, sub, (), "济南市人力资源和社会保障局", "city",
                       ReceiptDraft("<r8@intake>", "rsj@jinan.example.cn", b"other", "{}", "held"))
    state, raw = ledger.db.execute("SELECT state, raw FROM receipts WHERE message=?", (row,)).fetchone()
    assert (state, bytes(raw)) == ("sent", b"raw")


def test_surrogates_never_reach_the_ledger(ledger):
    from pipeline.model import Message

    row = ledger.record_fetched(ROUND, "imap://box", "1", "10", "sha10", "raw/10.eml", NOW)
    m = Message("<a\udcff@b>", "标题\udc80", "j\udcf6e@x.example", "", NOW, {}, "", ())
    ledger.record_done(row, Submission(raw=b"", received_at=NOW, message=m), (), "", "", None)
    stored = ledger.message(row)
    assert stored["subject"] == "标题\ufffd" and stored["sender"] == "j\ufffde@x.example"
