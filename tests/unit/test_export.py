"""The JSON export (SPEC's contract) over a ledger a whole pass wrote, with a mailbox held in memory:
what the round assessment and the clerk decided is what the export says."""
from __future__ import annotations

import json

from pipeline.demo import delivery_time, samples
from pipeline.flow import run_pass
from pipeline.mail.memory import MemoryMailbox, MemoryOutbox
from pipeline.outputs.export import export
from pipeline.round import review
from pipeline.round.apply import reassess
from pipeline.round.target import Target
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
        a = Target.application(target["id"])
        review.record(ledger, config, [review.Change(a, "avg_trainees", 1200),
                                       review.Change(a, "applicant", "济南职业技术培训学院（本部）"),
                                       review.Change(a, "status", "rejected")], "孙沛沛")
        reassess(config, ledger)
        fixed = next(x for x in export(ledger, config.round.name)["applications"] if x["id"] == target["id"])
    assert fixed["applicant"] == "济南职业技术培训学院（本部）" and fixed["fields"]["avg_trainees"] == 1200
    assert fixed["status"] == "rejected" and target["status"] == "accepted"   # the clerk's decision, as assessed
    # Where each value was read; a corrected one says who corrected it.
    read = target["field_evidence"]["avg_trainees"]
    assert read["document"] in {d["path"] for d in target["documents"]} and read["page"] == 1
    assert read["method"] == "text" and str(target["fields"]["avg_trainees"]) in read["raw"].replace(",", "")
    x0, top, x1, bottom = read["bbox"]
    assert 0 <= x0 < x1 <= 600 and 0 <= top < bottom <= 850 and read["label_bbox"][2] <= x0 + 1
    assert set(target["field_evidence"]) <= set(target["fields"])
    corrected = fixed["field_evidence"]["avg_trainees"]
    assert (corrected["method"], corrected["source"], corrected["raw"]) == ("corrected", "孙沛沛", "1200")
    assert corrected["page"] is None
    assert fixed["field_evidence"]["unit_name"]["raw"] == "济南职业技术培训学院（本部）"
    assert fixed["field_evidence"]["credit_code"] == target["field_evidence"]["credit_code"]
    if target["track"] == "general":          # below the notice's 2,000 a year: the check ran on the corrected value
        assert "trainees_below_minimum" in fixed["flags"]


def test_each_applicant_folder_says_where_its_values_were_read(config):
    box = MemoryMailbox()
    box.deliver(JINAN, delivery_time(JINAN))
    run_pass(config, mailbox=box, outbox=MemoryOutbox())
    kept = sorted(config.output_dir.rglob("*fields.json"))
    assert kept
    for path in kept:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert set(data["field_evidence"]) == {k for k, v in data["fields"].items() if v is not None}
        for evidence in data["field_evidence"].values():
            if evidence["document"]:      # the original it points at is the one filed beside it
                assert (config.output_dir / evidence["document"]).parent == path.parent
