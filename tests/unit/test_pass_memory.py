"""Whole passes over a mailbox held in memory (pipeline/mail/memory.py): the pass's own rules — each
message once, each receipt once, duplicates and idle passes — in a second, without a folder or a server.
The sample mail without the scanned form: reading scans is tested elsewhere."""
from __future__ import annotations

import email
import email.utils
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from pathlib import Path

from conftest import deliver_samples

from pipeline.demo import delivery_time, samples
from pipeline.flow import run_pass
from pipeline.mail.memory import MemoryMailbox, MemoryOutbox
from pipeline.outputs.export import export
from pipeline.schedule import Service
from pipeline.store import Ledger

SEPTEMBER = datetime(2019, 9, 12, 10, 0, tzinfo=timezone(timedelta(hours=8)))
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


def _mail(sender: str, subject: str, body: str, html: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "jxjy@shandong.example.cn", subject
    msg["Date"], msg["Message-ID"] = email.utils.format_datetime(SEPTEMBER), email.utils.make_msgid()
    msg.set_content(body)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def test_mail_that_brings_no_file_is_not_a_submission(config):
    jinan = next(r for r in config.recommenders if r.name.startswith("济南市"))
    sender = jinan.senders[0] if "@" in jinan.senders[0][1:] else "rsj" + jinan.senders[0]   # an address or a domain
    box, out = MemoryMailbox(), MemoryOutbox()
    box.deliver(_mail(sender, "回复：济南市继续教育基地申报", "收到，谢谢！"), SEPTEMBER)
    box.deliver(_mail(sender, "济南市继续教育基地申报", "材料较大，请从超大附件下载。",
                      '<p>请下载：<a href="https://mail.example.cn/bigattach/download.jsp?fid=9">超大附件</a></p>'),
                SEPTEMBER)
    result = run_pass(config, mailbox=box, outbox=out)
    thanks, link = _exported(config)["messages"]
    # A polite reply is no submission and gets no answer: a machine answering it would start a loop.
    assert thanks["outcome"] == "ignored" and "收到，谢谢" in thanks["reason"] and not thanks["receipt_sent"]
    # Files left on a cloud drive are for a person to follow up; the sender is asked to attach them.
    assert link["outcome"] == "review" and "网盘" in link["reason"] and link["receipt_sent"]
    assert result.submissions == 0 and box.marked == list(box.messages)
    (receipt,) = out.sent.values()
    text = email.message_from_bytes(receipt, policy=policy.default).get_body(("plain",)).get_content()
    assert "请将材料作为附件直接发送" in text


def test_a_letter_and_a_form_in_one_pdf_are_filed_each_where_it_belongs(config):
    taian = next(r for r in config.recommenders if r.name.startswith("泰安市"))
    sender = taian.senders[0] if "@" in taian.senders[0][1:] else "rsj" + taian.senders[0]
    mail = email.message_from_bytes(_mail(sender, "泰安市继续教育基地申报", "推荐函和申请表见附件。"),
                                    policy=policy.default)
    data = (Path(__file__).resolve().parents[1] / "data" / "real" / "c3-form-letter-text.pdf").read_bytes()
    mail.add_attachment(data, maintype="application", subtype="pdf", filename="推荐材料.pdf")
    box, out = MemoryMailbox(), MemoryOutbox()
    box.deliver(mail.as_bytes(), SEPTEMBER)
    run_pass(config, mailbox=box, outbox=out)
    (app,) = _exported(config)["applications"]
    assert "missing_recommendation_letter" not in app["flags"] and app["status"] == "accepted"
    (form,) = app["documents"]
    assert form["kind"] == "form" and (config.output_dir / form["path"]).read_bytes() == data
    (receipt,) = out.sent.values()
    text = email.message_from_bytes(receipt, policy=policy.default).get_body(("plain",)).get_content()
    assert "推荐材料.pdf，第1页" in text and "推荐材料.pdf，第2页" in text


def _budget(config, seconds: float = 0):
    return replace(config, processing=replace(config.processing, pass_budget=timedelta(seconds=seconds)))


def test_a_pass_out_of_time_answers_what_it_took_and_the_next_takes_the_rest(config, tmp_path):
    box, out = _mailbox(), MemoryOutbox()
    hurried = _budget(config)                            # spent at once: one message a pass
    first = run_pass(hurried, mailbox=box, outbox=out)
    assert (first.fetched, first.more) == (1, True) and box.marked == ["1"]
    assert first.receipts_sent == len(out.sent) == first.submissions, "answered before the rest is taken"
    passes = [first]
    while passes[-1].more:
        passes.append(run_pass(hurried, mailbox=box, outbox=out))
    assert [p.fetched for p in passes] == [1] * len(LIGHT)
    assert box.marked == list(box.messages) and len(set(out.sent.values())) == len(out.sent)

    whole = replace(config, output_dir=tmp_path / "whole")   # the same mail in one pass
    at_once = run_pass(whole, mailbox=_mailbox(), outbox=MemoryOutbox())
    assert not at_once.more and at_once.fetched == len(LIGHT)
    assert _exported(hurried)["applications"] == _exported(whole)["applications"]
    assert len(out.sent) == at_once.receipts_sent


def test_the_service_goes_straight_on_with_mail_a_pass_left(config):
    names = [name for name, _ in LIGHT[:3]]
    deliver_samples(config, names)
    service = Service(_budget(config))
    service.passes()
    with Ledger(config.ledger_path) as ledger:
        states = [r["state"] for r in ledger.db.execute("SELECT state FROM messages")]
    assert states == ["done"] * 3, "three passes, one after the other, without waiting for the schedule"
    assert not list((config.mailbox.path / "new").iterdir()), "every message marked"
