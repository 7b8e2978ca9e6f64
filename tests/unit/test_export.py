"""The JSON export (SPEC's contract) over a ledger a whole pass wrote, with a mailbox held in memory:
what the round assessment and the clerk decided is what the export says."""
from __future__ import annotations

from pipeline.demo import delivery_time, samples
from pipeline.flow import run_pass
from pipeline.mail.memory import MemoryMailbox, MemoryOutbox
from pipeline.outputs.export import export
from pipeline.round import review
from pipeline.round.apply import reassess
from pipeline.store import Ledger

JINAN = next(raw for name, raw in samples() if "jinan" in name)


def test_the_export_speaks_the_round_and_the_clerks_corrections(config):
    box, out = MemoryMailbox(), MemoryOutbox()
    box.deliver(JINAN, delivery_time(JINAN))
    box.deliver(JINAN, delivery_time(JINAN))           # the same email twice
    run_pass(config, mailbox=box, outbox=out)
    with Ledger(config.ledger_path) as ledger:
        data = export(ledger, config.round.name)
        first, again = data["messages"]
        assert (first["outcome"], first["receipt_sent"], first["duplicate_of"]) == ("submission", True, None)
        assert (again["outcome"], again["reason"], again["duplicate_of"]) == ("ignored", "重复邮件", first["message_id"])
        apps = data["applications"]
        assert apps and {a["message_id"] for a in apps} == {first["message_id"]}   # none of the duplicate's
        assert all(a["recommender_kind"] == "city" and a["superseded_by"] is None for a in apps)

        target = apps[0]
        a = f"A{target['id']}"
        review.record(ledger, config, [review.Change(a, "avg_trainees", 1200),
                                       review.Change(a, "applicant", "济南职业技术培训学院（本部）"),
                                       review.Change(a, "status", "rejected")], "孙沛沛")
        reassess(config, ledger)
        fixed = next(x for x in export(ledger, config.round.name)["applications"] if x["id"] == target["id"])
    assert fixed["applicant"] == "济南职业技术培训学院（本部）" and fixed["fields"]["avg_trainees"] == 1200
    assert fixed["status"] == "rejected" and target["status"] == "accepted"   # the clerk's decision, as assessed
    if target["track"] == "general":          # below the notice's 2,000 a year: the check ran on the corrected value
        assert "trainees_below_minimum" in fixed["flags"]
