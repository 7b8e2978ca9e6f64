"""Every message stands alone: a fault at any step of one message's way ends as that message's outcome,
and the other messages of the pass are processed, recorded and answered exactly once."""
from __future__ import annotations

import email
from dataclasses import replace
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import pytest

from pipeline import flow
from pipeline.flow import run_pass
from pipeline.mail.maildir import MaildirMailbox, MaildirOutbox, deliver
from pipeline.outputs import report
from pipeline.outputs.export import export
from pipeline.store import Ledger

WHEN = datetime(2019, 9, 12, 2, 0, tzinfo=UTC)
# Three cities' submissions; Zibo's is the one that meets the fault.
SENDERS = {"a": ("青岛市继续教育基地申报", "rsj@qingdao.example.cn"),
           "b": ("淄博市继续教育基地申报", "rsj@zibo.example.cn"),
           "c": ("烟台市继续教育基地申报", "rsj@yantai.example.cn")}
FAULTY = "淄博"


def mail(subject: str, sender: str, key: str) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, "ymrst@shandong.cn", subject
    m["Message-ID"] = f"<{key}@isolation.test>"
    m.set_content("请查收。")
    return m.as_bytes()


@pytest.fixture
def quick(config):
    # No PDF copies: LibreOffice is not what these tests are about, and costs seconds per pass.
    cfg = replace(config, pdf=False)
    for key, (subject, sender) in SENDERS.items():
        deliver(cfg.mailbox.path, mail(subject, sender, key), key=key, received_at=WHEN)
    return cfg


def receipts(cfg) -> dict[str, int]:
    """Receipts in the outbox, per recipient."""
    counts: dict[str, int] = {}
    folder = cfg.outbox.path / "new"
    for path in folder.iterdir() if folder.exists() else ():
        to = email.message_from_bytes(path.read_bytes(), policy=policy.default)["To"]
        counts[str(to)] = counts.get(str(to), 0) + 1
    return counts


def outcomes(cfg) -> dict[str, tuple[str, str]]:
    with Ledger(cfg.ledger_path) as ledger:
        return {m["message_id"]: (m["outcome"], m["reason"]) for m in export(ledger, cfg.round.name)["messages"]}


def boom(*_args, **_kwargs):
    raise RuntimeError("injected fault")


def faulty(sub_or_raw) -> bool:
    raw = getattr(sub_or_raw, "raw", sub_or_raw)
    return b"<b@isolation.test>" in raw


def inject(step: str, monkeypatch) -> None:
    if step == "fetch":
        read = MaildirMailbox._read
        monkeypatch.setattr(MaildirMailbox, "_read",
                            staticmethod(lambda key, file: boom() if key == "b" else read(key, file)))
    elif step == "keep raw":
        keep = flow.keep_raw
        monkeypatch.setattr(flow, "keep_raw", lambda inc, sha, cfg: boom() if faulty(inc) else keep(inc, sha, cfg))
    elif step in {name for name, _stage, _only in flow.STAGES}:
        def wrap(stage):
            return lambda sub, ctx: boom() if faulty(sub) else stage(sub, ctx)
        monkeypatch.setattr(flow, "STAGES", tuple((n, wrap(s) if n == step else s, o) for n, s, o in flow.STAGES))
    elif step == "receipt draft":
        compose = flow.compose
        monkeypatch.setattr(flow, "compose", lambda letter, sub, *a: boom() if faulty(sub) else compose(letter, sub, *a))
    elif step == "ledger record":
        record = Ledger.record_done
        monkeypatch.setattr(Ledger, "record_done",
                            lambda self, row, sub, *a: boom() if faulty(sub) else record(self, row, sub, *a))
    elif step == "mark":
        mark = MaildirMailbox.mark_done
        monkeypatch.setattr(MaildirMailbox, "mark_done",
                            lambda self, inc: boom() if inc.uid == "b" else mark(self, inc))
    elif step == "tables":
        monkeypatch.setattr(report, "build", boom)
    elif step == "send":
        send = MaildirOutbox.send
        monkeypatch.setattr(MaildirOutbox, "send",
                            lambda self, rid, raw: boom() if b"rsj@zibo" in raw else send(self, rid, raw))


STEPS = ["fetch", "keep raw", "parse", "route", "read", "assemble", "check", "file", "receipt draft",
         "ledger record", "mark", "tables", "send"]


@pytest.mark.parametrize("step", STEPS)
def test_a_fault_at_any_step_stays_with_its_message(step, quick, monkeypatch):
    inject(step, monkeypatch)
    result = run_pass(quick)
    assert result.fetched == 3
    found = outcomes(quick)
    for key in "ac":
        assert found[f"<{key}@isolation.test>"][0] == "submission"
    sent = receipts(quick)
    assert sent["rsj@qingdao.example.cn"] == 1 and sent["rsj@yantai.example.cn"] == 1

    with Ledger(quick.ledger_path) as ledger:
        b = ledger.db.execute("SELECT * FROM messages WHERE uid='b'").fetchone()
        receipt_b = ledger.db.execute("SELECT state, reason FROM receipts WHERE message=?", (b["id"],)).fetchone()
    if step in ("fetch", "keep raw"):
        # No raw bytes: set aside with the mailbox's copy left unmarked for the clerk, and unanswered.
        assert b["state"] == "done" and b["outcome"] == "review" and b["raw_path"] == ""
        assert ("无法从邮箱读取" if step == "fetch" else "原始邮件未能保存") in b["reason"]
        assert "injected fault" in b["error"] and b["marked_at"] is None
        assert (quick.mailbox.path / "new" / "b").exists()
        assert "rsj@zibo.example.cn" not in sent
    elif step in ("mark", "tables", "send"):
        assert found["<b@isolation.test>"][0] == "submission"
        if step == "send":
            assert receipt_b["state"] == "failed" and "injected fault" in receipt_b["reason"]
            assert "rsj@zibo.example.cn" not in sent
        else:
            assert sent["rsj@zibo.example.cn"] == 1
        if step == "mark":
            assert b["marked_at"] is None and (quick.mailbox.path / "new" / "b").exists()
        if step == "tables":
            assert any("汇总表或回执文件未能生成" in item for item in result.review_items)
    else:
        # A defect meeting this message: set aside at once, traceback kept, answered as received.
        outcome, reason = found["<b@isolation.test>"]
        assert outcome == "review" and "injected fault" in reason and "原始邮件已保存" in reason
        assert f"intake retry M{b['id']}" in reason
        assert "Traceback" in b["traceback"] and b["marked_at"] is not None
        assert sent["rsj@zibo.example.cn"] == 1
        body = _receipt_to(quick, "rsj@zibo.example.cn")
        assert "未能由系统自动受理" in body and "injected fault" not in body

    # The fault gone, another pass: nobody is answered twice, and a lost mark is made good.
    monkeypatch.undo()
    run_pass(quick)
    again = receipts(quick)
    assert again == sent
    with Ledger(quick.ledger_path) as ledger:
        unmarked = [r[0] for r in ledger.db.execute("SELECT uid FROM messages WHERE marked_at IS NULL")]
    assert unmarked == (["b"] if step in ("fetch", "keep raw") else [])


def _receipt_to(cfg, address: str) -> str:
    for path in (cfg.outbox.path / "new").iterdir():
        mail = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if str(mail["To"]) == address:
            return mail.get_body(("plain",)).get_content()
    raise AssertionError(f"no receipt to {address}")
