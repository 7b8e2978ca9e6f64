"""The receipts as a set: for each outcome a sender can meet, the text it gets is committed under
tests/data/receipts/ and compared here, so that a contradiction shows in review (INTAKE_UPDATE_GOLDEN=1
rewrites them after a deliberate change: read the diff)."""
from __future__ import annotations

import email
import os
import re
from dataclasses import replace
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from pipeline.demo import delivery_time, samples
from pipeline.flow import run_pass
from pipeline.mail.maildir import deliver

HERE = Path(__file__).resolve().parent.parent / "data"
TEXTS = HERE / "receipts"
AUDIT_FORM = HERE / "forms" / "audit-form.pdf"
OTHER_FORM = HERE / "samples" / "form-dongying-petroleum-center.pdf"


def sample(prefix: str) -> bytes:
    return next(raw for name, raw in samples() if name.startswith(prefix))


def mail(sender: str, subject: str, files: list[tuple[str, bytes]], message_id: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, "ymrst@shandong.cn", subject, message_id
    m.set_content("请查收。")
    for name, data in files:
        m.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return m.as_bytes()


def form_of(raw: bytes) -> tuple[str, bytes]:
    """A sample's 申请表, to send again under other circumstances."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    part = next(p for p in msg.iter_attachments() if "申请表" in (p.get_filename() or ""))
    return part.get_filename(), part.get_content()


# outcome → (address the receipt goes to, how the mail is made and when it came)
def outcomes(config) -> dict[str, tuple[str, bytes, object]]:
    jinan, edu = sample("01-"), sample("02-")
    when = delivery_time(jinan)
    form_name, form = form_of(edu)
    return {
        "accepted": ("rsc@edu.example.cn", edu, delivery_time(edu)),
        "needs-review": ("hr@energy.example.cn", sample("08-"), delivery_time(sample("08-"))),
        "rejected-late": ("rsj@heze.example.cn", sample("07-"), delivery_time(sample("07-"))),
        "quota-exceeded": ("zhangsan@jinan.example.cn",
                           mail("zhangsan@jinan.example.cn", "济南市继续教育基地申报",
                                [("申请表.pdf", OTHER_FORM.read_bytes())], "<quota@jinan>"), when + timedelta(hours=2)),
        "direct-reconfirmation": ("jxjy@sdslzy.example.com", sample("03-"), delivery_time(sample("03-"))),
        "audit": ("qcjy@example.cn",
                  mail("qcjy@example.cn", f"{config.audit_list[1]}继续教育基地申报",
                       [("审验表.pdf", AUDIT_FORM.read_bytes())], "<audit@qcjy>"), when),
        "unknown-sender": ("someone@example.com",
                           mail("someone@example.com", "某某培训中心继续教育基地申报", [(form_name, form)], "<u@ex>"),
                           when),
    }


@pytest.fixture(scope="module")
def received(tmp_path_factory) -> dict[str, str]:
    from conftest import make_config, make_environ

    cfg = make_config(make_environ(tmp_path_factory.mktemp("receipts")))
    cfg = replace(cfg, pdf=False)
    deliver(cfg.mailbox.path, sample("01-"), key="00-jinan", received_at=delivery_time(sample("01-")))
    deliver(cfg.mailbox.path, sample("05-"), key="00-auto-reply", received_at=delivery_time(sample("01-")))
    made = outcomes(cfg)
    for key, (_to, raw, when) in made.items():
        deliver(cfg.mailbox.path, raw, key=key, received_at=when)
    run_pass(cfg)
    bodies: dict[str, str] = {}
    for path in (cfg.outbox.path / "new").iterdir():
        m = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        bodies[str(m["To"]).split("<")[-1].strip(">").strip()] = (
            f"Subject: {m['Subject']}\n\n{m.get_body(('plain',)).get_content()}")
    # Numbered in the order written, with no gap for mail that got no receipt (an auto-reply, say).
    numbers = sorted(int(n) for b in bodies.values() for n in re.findall(r"回执编号 2019-(\d{4})", b)[:1])
    assert numbers == list(range(1, len(bodies) + 1))
    # The day it is issued is the day the test runs.
    return {key: re.sub(r"\d{4}年\d{1,2}月\d{1,2}日\n\n本邮件", "（签发日期）\n\n本邮件", bodies[to])
            for key, (to, _raw, _when) in made.items()}


@pytest.mark.parametrize("outcome", ["accepted", "needs-review", "rejected-late", "quota-exceeded",
                                     "direct-reconfirmation", "audit", "unknown-sender"])
def test_each_outcome_reads_as_committed(outcome, received):
    text = received[outcome]
    path = TEXTS / f"{outcome}.txt"
    if os.environ.get("INTAKE_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_no_receipt_contradicts_itself(received):
    for outcome, text in received.items():
        if "不予受理" in text:
            assert "仅表示" not in text and "邮寄至" not in text, outcome
        for row in re.findall(r"受理状态：(\S+)\n((?:   问题：.*\n)*)", text):
            assert row[0] == "已受理" or row[1], f"{outcome}: {row[0]} with no reason beside it"
    assert "推荐函" not in received["direct-reconfirmation"].split("受理情况如下")[-1].split("如有疑问")[0] \
        .split("其他材料")[0].split("邮寄至")[0].rsplit("请于", 1)[-1]
    assert "人工查看" in received["unknown-sender"] and "某某培训中心" not in received["unknown-sender"]
