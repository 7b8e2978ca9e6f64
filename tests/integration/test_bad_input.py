"""Bad input ends as a clear reason for the clerk, never as a crashed pass or a silent drop."""
from __future__ import annotations

import email
import json
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

from pipeline.flow import run_pass
from pipeline.mail.maildir import deliver
from pipeline.outputs.export import export
from pipeline.store import Ledger

WHEN = datetime(2019, 9, 12, 2, 0, tzinfo=UTC)


def mail(subject: str, attachments: list[tuple[str, bytes, str]], sender="rsj@qingdao.example.cn") -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "ymrst@shandong.cn", subject
    m["Message-ID"] = f"<{abs(hash(subject))}@test>"
    m.set_content("请查收。")
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes()


def exported(config) -> dict:
    with Ledger(config.ledger_path) as ledger:
        return export(ledger, config.round.name)


def test_corrupt_and_unknown_attachments_are_flagged_and_kept(config):
    raw = mail("青岛市继续教育基地申报", [
        ("申请表-青岛蓝海人才培训学校.pdf", b"%PDF-1.4\n this is not a pdf at all", "application/pdf"),
        ("../../../etc/cron.d/evil.bin", b"\x00\x01binary", "application/octet-stream"),
    ])
    deliver(config.mailbox.path, raw, key="bad-1", received_at=WHEN)
    result = run_pass(config)
    assert result.fetched == 1 and result.submissions == 1
    data = exported(config)
    (message,) = data["messages"]
    assert message["outcome"] == "submission" and message["receipt_sent"]
    # the broken form still names its applicant (from its file name) and carries the reasons
    (app,) = data["applications"]
    assert app["applicant"] == "青岛蓝海人才培训学校"
    assert "unreadable_attachment" in app["flags"] and app["status"] == "needs_review"
    with Ledger(config.ledger_path) as ledger:
        findings = json.loads(ledger.db.execute("SELECT findings FROM applications").fetchone()[0])
    texts = " ".join(f["detail"] for f in findings)
    assert "损坏" in texts and "evil.bin" in texts
    # the traversal name was filed inside output, under its last component only
    for doc in app["documents"]:
        path = (config.output_dir / doc["path"]).resolve()
        assert config.output_dir.resolve() in path.parents and path.is_file()
    assert any(d["path"].endswith("evil.bin") for d in app["documents"])
    assert not (config.output_dir.parent / "etc").exists()
    receipt = email.message_from_bytes(next((config.outbox.path / "new").iterdir()).read_bytes(), policy=policy.default)
    assert "evil.bin" in receipt.get_body(("plain",)).get_content()


def test_a_failing_stage_becomes_a_review_item_and_the_pass_goes_on(config, monkeypatch):
    from pipeline import flow

    def explode(sub, ctx):
        if "爆炸" in sub.message.subject:
            raise RuntimeError("boom")
        return flow.read(sub, ctx)

    monkeypatch.setattr(flow, "STAGES", tuple((n, explode if n == "read" else s, o) for n, s, o in flow.STAGES))
    deliver(config.mailbox.path, mail("爆炸继续教育基地申报", []), key="a", received_at=WHEN)
    deliver(config.mailbox.path, mail("青岛市继续教育基地申报", []), key="b", received_at=WHEN)
    result = run_pass(config)
    assert (result.fetched, result.review, result.submissions) == (2, 1, 1)
    outcomes = {m["subject"]: (m["outcome"], m["reason"]) for m in exported(config)["messages"]}
    assert outcomes["爆炸继续教育基地申报"][0] == "review"
    assert "boom" in outcomes["爆炸继续教育基地申报"][1] and "原始邮件已保存" in outcomes["爆炸继续教育基地申报"][1]
    assert outcomes["青岛市继续教育基地申报"][0] == "submission"


def test_submission_without_attachments_still_gets_a_receipt_saying_what_is_missing(config, tmp_path):
    deliver(config.mailbox.path, mail("滨州市继续教育基地申报", [], sender="x@binzhou.example.cn"),
            key="c", received_at=WHEN)
    run_pass(config)
    (message,) = exported(config)["messages"]
    assert message["outcome"] == "submission" and message["receipt_sent"]
    (receipt,) = list((config.outbox.path / "new").iterdir())
    body = email.message_from_bytes(receipt.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    assert "本邮件中未识别到申请表" in body and "滨州市人力资源和社会保障局" in body


def test_bounces_lists_and_spam_get_no_receipt(config):
    for i, extra in enumerate([("Content-Type", None), ("List-Id", "<jxjy.list.example.cn>"),
                               ("X-Spam-Flag", "YES"), ("Precedence", "bulk")]):
        m = EmailMessage()
        m["From"] = "MAILER-DAEMON@qingdao.example.cn" if i == 0 else "rsj@qingdao.example.cn"
        m["Subject"], m["Message-ID"] = "青岛市继续教育基地申报", f"<n{i}@test>"
        if extra[1]:
            m[extra[0]] = extra[1]
        m.set_content("x")
        deliver(config.mailbox.path, m.as_bytes(), key=f"n{i}", received_at=WHEN)
    result = run_pass(config)
    assert (result.fetched, result.ignored, result.receipts_sent) == (4, 4, 0)
    assert not (config.outbox.path / "new").exists() or not any((config.outbox.path / "new").iterdir())


def test_receipts_per_sender_per_day_are_capped(config):
    for i in range(config.max_receipts_per_sender_per_day + 2):
        deliver(config.mailbox.path, mail(f"青岛市继续教育基地申报{' ' * i}", []), key=f"d{i}", received_at=WHEN)
    result = run_pass(config)
    assert result.submissions == config.max_receipts_per_sender_per_day + 2
    assert result.receipts_sent == config.max_receipts_per_sender_per_day
    with Ledger(config.ledger_path) as ledger:
        states = [r[0] for r in ledger.db.execute("SELECT state FROM receipts ORDER BY id")]
    assert states.count("suppressed") == 2


def test_the_same_email_twice_in_one_pass_is_one_submission(config):
    from pipeline.demo import samples

    _, raw = next((n, r) for n, r in samples() if n.startswith("02-"))
    # Sent twice (the sender's client retried): the same bytes, two files in the mailbox.
    deliver(config.mailbox.path, raw, key="twice-1", received_at=WHEN)
    deliver(config.mailbox.path, raw, key="twice-2", received_at=WHEN.replace(minute=5))
    result = run_pass(config)
    assert (result.fetched, result.submissions, result.ignored, result.duplicates) == (2, 1, 1, 1)
    assert result.receipts_sent == 1
    # each problem is listed once, not once per copy
    assert len(result.review_items) == len(set(result.review_items))
    assert len(list((config.outbox.path / "new").iterdir())) == 1


def test_two_emails_of_one_minute_with_same_named_files_keep_both(config):
    pdf_a, pdf_b = b"%PDF-1.4\n% first\n", b"%PDF-1.4\n% second\n"
    for key, data, sender in (("same-1", pdf_a, "rsj@qingdao.example.cn"), ("same-2", pdf_b, "jxjy@qingdao.example.cn")):
        raw = mail(f"青岛市继续教育基地申报{key}", [("申请表.pdf", data, "application/pdf"),
                                              ("汇总:表.pdf", data, "application/pdf"),
                                              ("汇总?表.pdf", data + b"?", "application/pdf")], sender=sender)
        deliver(config.mailbox.path, raw, key=key, received_at=WHEN)
    run_pass(config)
    filed = {p.name: p.read_bytes() for p in (config.output_dir / config.round.name).rglob("*.pdf")}
    # Both originals of each name are there, under names that say which email they came with.
    assert sorted(v for k, v in filed.items() if k.endswith("_申请表.pdf")) == sorted([pdf_a, pdf_b])
    assert {pdf_a, pdf_b, pdf_a + b"?", pdf_b + b"?"} <= set(filed.values())
    assert any(k.endswith("_汇总_表 (2).pdf") for k in filed)
    with Ledger(config.ledger_path) as ledger:
        paths = [d["path"] for a in export(ledger, config.round.name)["applications"] for d in a["documents"]]
    assert len(paths) == len(set(paths))


def test_an_address_smtp_cannot_carry_holds_the_receipt_for_a_clerk(config):
    # RFC 6532: the address in raw UTF-8, as internationalised mail systems send it.
    raw = mail("青岛市继续教育基地申报", [], sender="x@y.cn").replace(b"From: x@y.cn", "From: jdöe@mächine.example".encode())
    deliver(config.mailbox.path, raw, key="idn", received_at=WHEN)
    deliver(config.mailbox.path, mail("青岛市继续教育基地申报 ", [], sender="zhangsan@人社厅.中国"), key="idn2",
            received_at=WHEN)
    run_pass(config)
    with Ledger(config.ledger_path) as ledger:
        states = {r[0]: (r[1], r[2]) for r in ledger.db.execute("SELECT recipient, state, reason FROM receipts")}
    assert states["jdöe@mächine.example"][0] == "failed" and "人工回复" in states["jdöe@mächine.example"][1]
    # An internationalised domain alone is written in its ASCII form, and the receipt goes.
    assert states["zhangsan@人社厅.中国"][0] == "sent"
    (sent,) = list((config.outbox.path / "new").iterdir())
    assert "zhangsan@xn--gmqs0jz14b.xn--fiqs8s" in email.message_from_bytes(sent.read_bytes())["To"]


def test_a_very_long_chinese_file_name_is_filed(config):
    name = "申请表" + "山东省某某专业技术人员继续教育培训中心" * 6 + ".pdf"    # 108 characters, 320 bytes
    assert len(name) >= 108 and len(name.encode()) > 255
    deliver(config.mailbox.path, mail("青岛市继续教育基地申报", [(name, b"%PDF-1.4\n%long\n", "application/pdf")]),
            key="long", received_at=WHEN)
    result = run_pass(config)
    assert result.submissions == 1 and result.deferred == 0
    (filed,) = [p for p in (config.output_dir / config.round.name).rglob("*.pdf") if p.read_bytes().endswith(b"%long\n")]
    assert len(filed.name.encode()) <= 255 and filed.name.endswith(".pdf") and "申请表山东省" in filed.name
