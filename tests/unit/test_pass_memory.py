"""Whole passes over a mailbox held in memory (pipeline/mail/memory.py): the pass's own rules — each
message once, each receipt once, duplicates and idle passes — in a second, without a folder or a server.
The sample mail without the scanned form: reading scans is tested elsewhere."""
from __future__ import annotations

import email
import email.utils
from email import policy

from pipeline.demo import delivery_time, samples
from pipeline.flow import run_pass
from pipeline.mail.memory import MemoryMailbox, MemoryOutbox
from pipeline.outputs.export import export
from pipeline.store import Ledger

LIGHT = [(name, raw) for name, raw in samples() if "scanned" not in name]


def _mailbox() -> MemoryMailbox:
    box = MemoryMailbox()
    for _, raw in LIGHT:
        box.deliver(raw, delivery_time(raw))
    return box


def _exported(config) -> dict:
    with Ledger(config.ledger_path) as ledger:
        return export(ledger, config.round.name)


def test_a_pass_answers_each_submission_once_and_marks_every_message(config):
    box, out = _mailbox(), MemoryOutbox()
    first = run_pass(config, mailbox=box, outbox=out)
    assert first.fetched == len(LIGHT) and box.marked == list(box.messages)
    data = _exported(config)
    submissions = [m for m in data["messages"] if m["outcome"] == "submission"]
    assert first.submissions == len(submissions) and first.receipts_sent == len(out.sent) == len(submissions)
    recipients = sorted(email.message_from_bytes(raw, policy=policy.default)["To"].addresses[0].addr_spec
                        for raw in out.sent.values())
    assert recipients == sorted(email.utils.parseaddr(m["from"])[1] for m in submissions)
    ignored = {m["subject"]: m["reason"] for m in data["messages"] if m["outcome"] == "ignored"}
    assert len(ignored) == len(LIGHT) - len(submissions) and all(ignored.values())

    again = run_pass(config, mailbox=box, outbox=out)
    assert (again.fetched, again.receipts_sent, again.eventful) == (0, 0, False)
    assert _exported(config) == data


def test_the_same_email_delivered_twice_is_one_submission_with_one_receipt(config):
    box, out = MemoryMailbox(), MemoryOutbox()
    _, raw = next((n, r) for n, r in LIGHT if "jinan" in n)
    box.deliver(raw, delivery_time(raw))
    run_pass(config, mailbox=box, outbox=out)
    box.deliver(raw, delivery_time(raw))               # the sender's client sent it again
    second = run_pass(config, mailbox=box, outbox=out)
    assert (second.fetched, second.duplicates, second.receipts_sent) == (1, 1, 0)
    assert len(out.sent) == 1 and box.marked == ["1", "2"]
    data = _exported(config)
    assert [m["duplicate_of"] for m in data["messages"]] == [None, data["messages"][0]["message_id"]]
