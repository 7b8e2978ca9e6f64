"""Each .eml of the MIME corpus (tests/data/corpus/) against the JSON next to it: what it must parse to,
and what a whole pass must make of it. tests/data/corpus/make_corpus.py wrote both."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from pipeline.config import AttachmentLimits
from pipeline.flow import run_pass
from pipeline.mail.maildir import deliver
from pipeline.mail.mime import parse
from pipeline.mail.tools import Tools
from pipeline.outputs.export import export
from pipeline.store import Ledger

CORPUS = Path(__file__).parent / "data" / "corpus"
CASES = sorted(p.stem for p in CORPUS.glob("*.eml"))


def load(name: str) -> tuple[bytes, dict]:
    return (CORPUS / f"{name}.eml").read_bytes(), json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))


def test_the_corpus_is_there_and_paired():
    assert len(CASES) >= 19
    assert sorted(p.stem for p in CORPUS.glob("*.json")) == CASES


@pytest.mark.parametrize("name", CASES)
def test_parse(name):
    raw, want = load(name)
    limits = AttachmentLimits(converters=tuple(want["converters"]))
    msg = parse(raw, datetime.fromisoformat(want["delivered"]), limits, Tools.installed(limits.converters))
    expected = want["parse"]
    assert msg.subject == expected["subject"]
    assert msg.sender == expected["sender"]
    assert msg.sender_name == expected["sender_name"]
    got = [{"filename": a.filename, "sniffed": a.sniffed, "sha256": hashlib.sha256(a.data).hexdigest(),
            "problem": a.problem.flag.value if a.problem else None} for a in msg.attachments]
    assert sorted(got, key=lambda a: a["filename"]) == sorted(expected["attachments"], key=lambda a: a["filename"])
    assert sorted({p.flag.value for p in msg.problems}) == expected["problems"]
    assert all(p.detail for p in msg.problems), "every problem says what and where, in Chinese"
    assert [{"subject": f.subject, "sender": f.sender} for f in msg.forwarded] == expected["forwarded"]
    for text in expected["body_contains"]:
        assert text in msg.body
    for a in msg.attachments:
        if a.problem:
            assert f"《{a.filename}》" in a.problem.detail and "原件已保存" in a.problem.detail


@pytest.mark.parametrize("name", CASES)
def test_a_whole_pass_survives(name, config):
    raw, want = load(name)
    config = replace(config, attachments=AttachmentLimits(converters=tuple(want["converters"])))
    deliver(config.mailbox.path, raw, key=f"corpus-{name}", received_at=datetime.fromisoformat(want["delivered"]))
    result = run_pass(config)
    assert result.fetched == 1
    with Ledger(config.ledger_path) as ledger:
        got = export(ledger, config.round.name)
        (message,) = ledger.messages(config.round.name)
        message_flags = {f["flag"] for f in json.loads(message["findings"])}
    (exported,) = got["messages"]
    assert exported["outcome"] == want["pass"]["outcome"], exported["reason"]
    assert "处理出错" not in exported["reason"]
    flags = message_flags | {f for a in got["applications"] for f in a["flags"]}
    assert sorted(flags) == want["pass"]["flags"]
    out = config.output_dir.resolve()
    for app in got["applications"]:
        for doc in app["documents"]:
            path = (out / doc["path"]).resolve()
            assert path.is_file() and out in path.parents  # filed, and inside output whatever the name said
