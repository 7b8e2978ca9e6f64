"""Ledgers left by every earlier version of intake (tests/data/ledgers/schema-<n>.sql, their dumps) open in
this one: upgraded in place, nothing lost, nothing done twice — no message fetched or marked again, no
receipt sent again or renumbered, the clerk's corrections kept, the round assessed as before."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.outputs.export import export
from pipeline.round.apply import assessment
from pipeline.store import MIGRATIONS, Ledger

LEDGERS = Path(__file__).resolve().parents[1] / "data" / "ledgers"
ROUND = "2019年省级专业技术人员继续教育基地申报"
MAILBOX = "maildir:/srv/intake/mail/inbox"
NOW = datetime(2019, 9, 30, tzinfo=UTC)


def test_there_is_an_old_ledger_for_every_earlier_schema():
    assert sorted(p.name for p in LEDGERS.glob("schema-*.sql")) == sorted(
        f"schema-{n}.sql" for n in range(1, len(MIGRATIONS)))


@pytest.mark.parametrize("version", range(1, len(MIGRATIONS)))
def test_an_old_ledger_is_upgraded_with_everything_in_it(version, tmp_path, config):
    path = tmp_path / "intake.sqlite3"
    old = sqlite3.connect(path)
    old.executescript((LEDGERS / f"schema-{version}.sql").read_text(encoding="utf-8"))
    old.close()
    with Ledger(path) as ledger:
        assert ledger.schema_version == len(MIGRATIONS)
        assert [(m["id"], m["outcome"]) for m in ledger.messages(ROUND)] == [(1, "submission"), (2, "ignored")]
        # Nothing handed over again by the mailbox, nothing marked again, nothing retried.
        assert ledger.skip(MAILBOX, "1", "1", NOW) and ledger.skip(MAILBOX, "1", "2", NOW)
        assert ledger.last_uid(MAILBOX, "1") == 2
        assert ledger.unmarked(MAILBOX, "1") == [] and ledger.pending_uids(MAILBOX, "1", NOW) == []
        assert ledger.due_retries(ROUND, NOW) == [] and ledger.failed(ROUND) == []
        # The receipt that went out stays sent, under its number; the next one follows it.
        assert ledger.due_receipts(NOW) == [] and ledger.receipts_waiting(ROUND) == 0
        assert ledger.receipt_number(1, ROUND) == 1 and ledger.receipt_number(3, ROUND) == 2
        (app,) = ledger.applications(ROUND)
        assert app["applicant"] == "济南职业技术培训学院" and app["recommender"] == "济南市人力资源和社会保障局"
        corrections = [(c["target"], c["field"]) for c in ledger.corrections(ROUND)] if version >= 3 else []
        assert corrections == ([("A1", "note")] if version >= 3 else [])
        result = assessment(config, ledger, NOW)
        (verdict,) = result.current
        assert verdict.applicant == "济南职业技术培训学院" and verdict.status.value == "accepted"
        assert [n.text for n in verdict.notes] == (["已电话核实"] if version >= 3 else [])
        # The export reads it too: an application filed before evidence was kept has none, not a guess.
        (exported,) = export(ledger, ROUND)["applications"]
        assert exported["applicant"] == "济南职业技术培训学院" and exported["field_evidence"] == {}
