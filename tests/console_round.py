"""A round for the console's tests: the sample mailbox processed by a real pass, one message set aside
by a program error (the console re-runs it), one whose subject is hostile, and two accounts."""
from __future__ import annotations

import re
from email.header import Header
from pathlib import Path

from conftest import deliver_samples, make_config, make_environ

from pipeline import flow
from pipeline.demo import delivery_time, samples
from pipeline.mail.maildir import deliver
from pipeline.store import Ledger
from pipeline.web import accounts

CLERK, CLERK_PASSWORD = "孙沛沛", "clerk-password-1"
VIEWER, VIEWER_PASSWORD = "viewer", "viewer-password-1"
HOSTILE = "<script>alert(1)</script>{{7*7}}=HYPERLINK(\"http://evil.example\",\"点我\")"
BROKEN = "broken@faulty.example.cn"        # the sender whose message meets a program error
JINAN = "济南市人力资源和社会保障局"
ENERGY = "山东能源集团技师学院培训中心"
EDU = "山东理工职业学院继续教育学院"
DONGYING = "东营石油技术培训中心"


def _hostile_copy(raw: bytes, subject: str, sender: str, mid: str) -> bytes:
    head, _, body = raw.partition(b"\n\n")
    head = re.sub(rb"(?im)^Subject:.*(\n[ \t].*)*", b"Subject: " + Header(subject, "utf-8").encode().encode(), head)
    head = re.sub(rb"(?im)^From:.*(\n[ \t].*)*", f"From: {sender}".encode(), head)
    head = re.sub(rb"(?im)^Message-ID:.*", f"Message-ID: <{mid}>".encode(), head)
    return head + b"\n\n" + body


def build(root: Path, monkeypatch) -> object:
    """The configuration of a processed round under root."""
    cfg = make_config(make_environ(root))
    deliver_samples(cfg)
    raw = dict(samples())["04-not-a-submission.eml"]
    deliver(cfg.mailbox.path, _hostile_copy(raw, HOSTILE + "继续教育基地申报", "someone@stranger.example", "hostile@x"),
            key="hostile", received_at=delivery_time(raw))
    deliver(cfg.mailbox.path, _hostile_copy(raw, "故障测试继续教育基地申报", BROKEN, "broken@x"), key="broken",
            received_at=delivery_time(raw))

    def read(sub, ctx):
        if BROKEN.encode() in sub.raw:
            raise RuntimeError("a defect met while reading")
        return original(sub, ctx)
    original = {n: s for n, s, _ in flow.STAGES}["read"]
    monkeypatch.setattr(flow, "STAGES", tuple((n, read if n == "read" else s, o) for n, s, o in flow.STAGES))
    flow.run_pass(cfg)
    monkeypatch.undo()
    with Ledger(cfg.ledger_path) as ledger:
        accounts.add(ledger, CLERK, "clerk", CLERK_PASSWORD)
        accounts.add(ledger, VIEWER, "viewer", VIEWER_PASSWORD)
    return cfg


def broken_message(cfg) -> int:
    with Ledger(cfg.ledger_path) as ledger:
        return next(r["id"] for r in ledger.messages(cfg.round.name) if r["sender"] == BROKEN)


def application_id(cfg, applicant: str) -> int:
    with Ledger(cfg.ledger_path) as ledger:
        return next(r["id"] for r in ledger.applications(cfg.round.name) if r["applicant"] == applicant)
