"""Property: no message, however mangled, makes parse, route, the receipt draft or the ledger record raise.

The seeds are the sample submissions and the MIME corpus; Hypothesis mutates them the ways real mail goes
wrong (bytes flipped, headers cut, boundaries broken, charsets mislabelled, line separators injected)."""
from __future__ import annotations

import base64
import email
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

from conftest import make_config, make_environ
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.demo import samples
from pipeline.mail import mime
from pipeline.mail.tools import Tools
from pipeline.model import Submission
from pipeline.receipt import (
    Unaddressable,
    compose,
    compose_received,
    letter_for,
    mail_templates,
    receipt_id,
)
from pipeline.route import Directory, ignore_reason
from pipeline.rules import check
from pipeline.store import Ledger
from pipeline.subject import parse_subject

WHEN = datetime(2019, 9, 12, 2, 0, tzinfo=UTC)
CORPUS = Path(__file__).parent / "data" / "corpus"
SEEDS = [raw for _name, raw in samples()] + [p.read_bytes() for p in sorted(CORPUS.glob("*.eml"))]
SEPARATORS = ["\r", "\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\x00", "\u202e", "\x1b[31m"]
LABELS = [b"utf-8", b"gb2312", b"gbk", b"big5", b"iso-2022-jp", b"x-unknown", b"unknown-8bit", b"latin-1",
          b"utf-16", b"no-such-charset", b'"', b""]


def flip(draw, raw: bytes) -> bytes:
    if not raw:
        return raw
    data = bytearray(raw)
    for _ in range(draw(st.integers(1, 16))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def cut(draw, raw: bytes) -> bytes:
    """A header line dropped, or the message cut short anywhere."""
    if draw(st.booleans()):
        lines = raw.split(b"\n")
        head = raw.find(b"\n\n") if b"\n\n" in raw else raw.find(b"\r\n\r\n")
        last = max(1, raw[:head].count(b"\n")) if head > 0 else 1
        if len(lines) > 1:
            del lines[draw(st.integers(0, min(last, len(lines) - 1)))]
        return b"\n".join(lines)
    return raw[: draw(st.integers(0, len(raw)))]


def break_boundary(draw, raw: bytes) -> bytes:
    marks = [i for i in range(len(raw) - 2) if raw[i:i + 3] == b"\n--"]
    if not marks:
        return raw
    at = draw(st.sampled_from(marks)) + 1
    junk = draw(st.sampled_from([b"", b"-", b"--X", b"--", b"\r\n"]))
    return raw[:at] + junk + raw[at + draw(st.integers(0, 12)):]


def mislabel(draw, raw: bytes) -> bytes:
    at = raw.lower().find(b"charset=")
    if at < 0:
        return raw
    end = at + 8
    while end < len(raw) and raw[end:end + 1] not in (b";", b"\r", b"\n", b" "):
        end += 1
    return raw[: at + 8] + draw(st.sampled_from(LABELS)) + raw[end:]


def inject(draw, raw: bytes) -> bytes:
    """A line separator or control in a header: raw, or inside an RFC 2047 word."""
    text = draw(st.sampled_from(SEPARATORS)).join(["济南市", "继续教育基地申报"])
    header = draw(st.sampled_from([b"Subject", b"From", b"Message-ID", b"References", b"Content-Disposition"]))
    if draw(st.booleans()):
        value = b"=?utf-8?B?" + base64.b64encode(text.encode()) + b"?="
    else:
        value = text.encode("utf-8", "surrogatepass")
    if header == b"From":
        value = value + b" <" + draw(st.sampled_from([b"a@b.cn", "张三@人社厅.中国".encode(), b"x@y.cn z@w.cn", b""]))
        value += b">"
    return header + b": " + value + b"\r\n" + raw


def bom(draw, raw: bytes) -> bytes:
    return b"\xef\xbb\xbf" + raw


RECEIPT_HEADERS = {"from", "to", "subject", "date", "message-id", "in-reply-to", "references", "auto-submitted",
                   "x-auto-response-suppress", "precedence", "mime-version", "content-type"}
OPS = [flip, cut, break_boundary, mislabel, inject, bom]


@st.composite
def mangled(draw) -> bytes:
    raw = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        raw = draw(st.sampled_from(OPS))(draw, raw)
    return raw


def test_no_mangled_message_raises(tmp_path):
    config = make_config(make_environ(tmp_path))
    directory = Directory(config.recommenders)
    env = mail_templates(config.templates_dir)
    ledger = Ledger(config.ledger_path)
    ledger.db.execute("PRAGMA synchronous=OFF")  # the property is about raising, not about durability
    tools = Tools()   # no 7z or LibreOffice: the property is about intake's own code
    seen = {"n": 0}

    @settings(max_examples=2500, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mangled())
    def survives(raw: bytes) -> None:
        seen["n"] += 1
        uid = str(seen["n"])
        msg = mime.parse(raw, WHEN, config.attachments, tools)
        reason = ignore_reason(msg)
        subject = parse_subject(msg.subject, config.round.subject_suffix)
        recommender = directory.by_sender(msg.sender) or directory.by_name(subject.who)
        row = ledger.record_fetched(config.round.name, "fuzz", "1", uid, uid, f"raw/{uid}.eml", WHEN)
        sub = Submission(raw=raw, received_at=WHEN, message=msg, subject=subject, recommender=recommender, number=row)
        sub = check(sub, config)
        rid = receipt_id(f"{row:064d}", config)
        try:
            mail = compose(letter_for(sub, row, config, WHEN), sub, rid, config, env)
            compose_received(msg, row, rid, config, env)
        except Unaddressable:
            mail = b""   # a defined outcome: the receipt is held for a person
        if mail:
            # Nothing the sender wrote adds a header of its own to the receipt.
            headers = {k.lower() for k in email.message_from_bytes(mail)}
            assert headers <= RECEIPT_HEADERS, headers - RECEIPT_HEADERS
        ledger.record_done(row, sub, (), recommender.name if recommender else "", "", None)
        stored = ledger.message(row)
        assert stored["state"] == "done" and stored["outcome"] == sub.outcome.value
        for key in ("subject", "sender", "sender_name", "message_id"):
            assert not any(unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs") for ch in stored[key] or ""), key
        assert reason is None or reason.endswith("不予处理")

    survives()
    ledger.close()
    assert seen["n"] >= 2000
