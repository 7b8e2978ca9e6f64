"""Raw message bytes to a decoded Message: headers, body text, attachments with sniffed types.

Forwarded messages (message/rfc822, an attached .eml) give up their attachments to the message received;
archives are opened by unpack. What cannot be decoded cleanly becomes a Finding, never an exception
(only a passing fault of the machine, faults.Transient, goes up: the message is tried again later).
Every header value comes out as one clean line; every charset guess is a finding.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.errors
import email.header
import email.utils
import hashlib
import logging
import quopri
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from email import policy
from email.message import Message as EmailMessage
from html.parser import HTMLParser
from typing import Any

import charset_normalizer

from ..config import AttachmentLimits
from ..model import Attachment, Finding, Flag, Forwarded, Message
from ..read.sniff import sniff
from . import unpack
from .tools import Tools

log = logging.getLogger("intake.mail")

# Headers the router needs (auto-replies, lists, spam, threading); everything else stays in the raw file.
KEPT_HEADERS = (
    "auto-submitted", "x-autoreply", "x-autorespond", "x-auto-response-suppress", "precedence",
    "list-id", "list-unsubscribe", "x-spam-flag", "x-spam-status", "return-path", "content-type",
    "in-reply-to", "references", "date", "to", "x-mailer",
)

# Chinese mail clients label GBK and GB18030 text as gb2312; the superset decodes all of them.
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
                    "cp936": "gb18030", "hz-gb-2312": "hz", "unknown-8bit": "gb18030",
                    "x-unknown": "gb18030", "us-ascii": "utf-8", "ascii": "utf-8"}
# Content-Transfer-Encoding labels as written by home-made senders (OA systems, scripts) and what they mean.
_CTE = {"base64": "base64", "quoted-printable": "qp", "7bit": "raw", "8bit": "raw", "binary": "raw", "": "raw"}
_CTE_QUIRKS = {"base-64": "base64", "b64": "base64", "base64encoded": "base64", "quotedprintable": "qp",
               "qp": "qp", "7-bit": "raw", "8-bit": "raw", "8bits": "raw", "7bits": "raw"}
_UUENCODE = ("x-uuencode", "uuencode", "x-uue", "uue")
_BASE64_BODY = re.compile(rb"^[A-Za-z0-9+/=\s]+$")
_DELIMITER = re.compile(rb"^--([^\r\n]{1,70}?)(--)?[ \t]*\r?$", re.M)


def charset_for(label: str | None) -> str:
    label = (label or "us-ascii").strip().strip('"').lower()
    return _CHARSET_ALIASES.get(label, label)


# Labels that say nothing about the bytes: read as if no charset were declared.
_UNDECLARED = frozenset({"", "unknown-8bit", "x-unknown", "unknown", "x-user-defined", "default"})
# What undeclared 8-bit text is guessed to be, in the order preferred when the bytes fit several equally
# well (a short GBK string is valid Big5 too): this is a mainland office.
GUESSES = ("gb18030", "big5", "cp1252")
GUESS_NAMES = {"gb18030": "GB18030（简体中文）", "big5": "Big5（繁体中文）", "cp1252": "Windows-1252（西文）",
               "utf-8": "UTF-8"}
_CJK_CHARSETS = frozenset({"gb18030", "big5", "big5hkscs", "cp950"})
_GUESS_SAMPLE = 64 * 1024   # plenty to tell; charset-normalizer's time grows with the input


@dataclass(frozen=True)
class Decoded:
    text: str
    guessed: str = ""     # the charset chosen by guessing; "" when the declared one (or ASCII/UTF-8) was right
    declared: str = ""    # the label as written, when it was unknown or wrong for the bytes


def decode(data: bytes, label: str | None) -> Decoded:
    """The declared charset if it is right; else UTF-8 strictly; else the most plausible of GB18030, Big5
    and cp1252 (charset-normalizer), said so in `guessed`. Never raises: what the guess cannot decode
    comes out as U+FFFD, which parse() reports."""
    if data.isascii():
        return Decoded(data.decode("ascii"))
    declared = (label or "").strip().strip('"').lower()
    if declared in _UNDECLARED:
        declared = ""
    else:
        try:
            return Decoded(data.decode(_text_codec(declared)))
        except (LookupError, UnicodeError, ValueError):
            pass
        if charset_for(declared) in _CJK_CHARSETS:
            # A Chinese label over Chinese text with a bad byte or two (a name cut mid-character): the
            # label is right, the bytes are damaged; what is lost shows as U+FFFD and is reported.
            text = data.decode(charset_for(declared), errors="replace")
            if any("\u4e00" <= ch <= "\u9fff" for ch in text):
                return Decoded(text)
    try:
        # Undeclared UTF-8 is RFC 6532's own (raw UTF-8 headers): no guess. A wrong label is one.
        return Decoded(data.decode("utf-8"), "utf-8" if declared else "", declared)
    except UnicodeDecodeError:
        pass
    chosen = _plausible(data)
    return Decoded(data.decode(chosen, errors="replace"), chosen, declared)


def _text_codec(label: str) -> str:
    """The codec for a charset label; LookupError for a label that names none, or names a codec that is not
    a text encoding ("base64", "zlib", "rot13" as a charset)."""
    name = charset_for(label)
    if not codecs.lookup(name)._is_text_encoding:
        raise LookupError(name)
    return name


def _plausible(data: bytes) -> str:
    try:
        matches = list(charset_normalizer.from_bytes(data[:_GUESS_SAMPLE], cp_isolation=list(GUESSES)))
    except Exception:  # a detector's failure on hostile bytes: fall back to the usual case
        log.exception("charset detection failed")
        matches = []
    if not matches:
        return GUESSES[0]
    least = min(m.chaos for m in matches)
    fitting = {m.encoding for m in matches if m.chaos <= least + 0.01}
    return next((cs for cs in GUESSES if cs in fitting), GUESSES[0])


def guess_note(what: str, d: Decoded) -> str:
    """The finding's detail for a guess, in the clerk's words."""
    name = GUESS_NAMES.get(d.guessed, d.guessed)
    if d.declared:
        return f"{what}声明的文字编码“{clean_header(d.declared)}”与内容不符，已按 {name} 识别，请核对"
    return f"{what}的文字编码未声明，已按 {name} 识别，请核对"


# Line separators of every kind: a header value is one line. Tabs too (folding leaves them).
_SEPARATORS = re.compile("[\r\n\t\v\f\x1c-\x1e\x85\u2028\u2029]+")
# Controls and the invisible marks that reorder or hide text (U+202E shows "fdp.exe" as "exe.pdf").
_INVISIBLE = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\u200b-\u200f\u202a-\u202e"
                        "\u2060-\u2064\u2066-\u2069\ufeff]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def clean_header(text: str) -> str:
    """A header value as one clean line: separators become a space, controls and bidi marks go, and a
    lone surrogate (an undecoded byte) becomes U+FFFD."""
    text = _SURROGATES.sub("\ufffd", text or "")
    text = _INVISIBLE.sub("", _SEPARATORS.sub(" ", text))
    return re.sub(" {2,}", " ", text).strip()


def decode_header(value: str | None) -> tuple[str, list[Decoded]]:
    """RFC 2047 words in any charset, raw UTF-8 (RFC 6532), or raw 8-bit bytes with no label, to one clean
    line; with the guesses made on the way."""
    if value is None:
        return "", []
    value, guesses = str(value), []
    if _SURROGATES.search(value):
        # compat32 keeps raw 8-bit header bytes as surrogate escapes: recover, then decode.
        raw = decode(value.encode("ascii", "surrogateescape"), None)
        value = raw.text
        guesses += [raw] if raw.guessed else []
    if "=?" not in value:
        return clean_header(value), guesses
    try:
        # decode_header joins adjacent words of one charset before decoding: Outlook and Foxmail split a
        # long subject into words in the middle of a character.
        parts = email.header.decode_header(value)
    except (email.errors.HeaderParseError, ValueError, binascii.Error, UnicodeError):
        return clean_header(value), guesses
    out = []
    for data, cs in parts:
        if isinstance(data, str):
            out.append(data)
            continue
        d = decode(data, cs)
        out.append(d.text)
        guesses += [d] if d.guessed else []
    return clean_header("".join(out)), guesses


def decode_header_value(value: str | None) -> str:
    return decode_header(value)[0]


@dataclass
class _Walk:
    """What the walk of one MIME tree (and the forwarded trees inside it) found."""

    limits: AttachmentLimits
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    forwarded: list[Forwarded] = field(default_factory=list)
    problems: list[Finding] = field(default_factory=list)
    parts: int = 0          # parts walked so far: a message of ten thousand parts is read as far as the limit
    nesting: int = 0        # multiparts inside multiparts, now

    def problem(self, flag: Flag, detail: str) -> None:
        finding = Finding(flag, clean_header(detail))
        if finding not in self.problems:
            self.problems.append(finding)


def parse(raw: bytes, received_at: datetime, limits: AttachmentLimits | None = None,
          tools: Tools | None = None) -> Message:
    limits = limits or AttachmentLimits()
    # A byte-order mark or blank lines before the first header (mail saved by a Windows editor, a
    # script's output) would make every header body text.
    start = raw.removeprefix(b"\xef\xbb\xbf").lstrip(b"\r\n")
    walk = _Walk(limits)
    start = _short_headers(start, walk)
    # compat32 gives the raw header text, so the charset quirks above are ours to handle, not hidden.
    msg = email.message_from_bytes(start, policy=policy.compat32)
    head = _headers(msg, walk)
    message_id = head["message-id"]
    if not message_id:
        # Some webmail forwards have none; a stable stand-in keeps the ledger and receipts consistent.
        message_id = f"<sha256-{hashlib.sha256(raw).hexdigest()[:32]}@intake.invalid>"
    _walk(msg, walk, depth=0)
    attachments = _unique_names(unpack.expand(walk.attachments, limits, tools))
    body = _body(walk)
    problems = walk.problems + _replacement_characters(head["subject"], head["name"], body, attachments)
    log.debug("parsed %s: %d attachment(s), %d forwarded, %d problem(s)", message_id, len(attachments),
             len(walk.forwarded), len(problems))
    return Message(
        message_id=message_id,
        subject=head["subject"],
        sender=head["address"],
        sender_name=head["name"],
        received_at=received_at,
        headers={h: decode_header_value(_bounded(head["raw"][h])) for h in KEPT_HEADERS if h in head["raw"]},
        body=body,
        attachments=attachments,
        problems=tuple(problems),
        forwarded=tuple(walk.forwarded),
        auth_results=delivery_auth(msg),
    )


# No real header is longer; a 4 MB Subject is an attack, and everything after it would pay for its length.
MAX_HEADER_CHARS = 16 * 1024
# Multiparts inside multiparts: a few levels in real mail (mixed > alternative > related).
MAX_NESTING = 20


def _short_headers(raw: bytes, walk: _Walk) -> bytes:
    """The header block with no line longer than MAX_HEADER_CHARS bytes: the mail library's own header
    parsing costs many times a line's length in memory (a 4 MB Subject took 160 MB)."""
    end = raw.find(b"\n\n")
    crlf = raw.find(b"\r\n\r\n")
    end = min(e for e in (end, crlf, len(raw)) if e >= 0)
    head = raw[:end]
    if len(head) <= MAX_HEADER_CHARS or all(len(line) <= MAX_HEADER_CHARS for line in head.split(b"\n")):
        return raw
    walk.problem(Flag.LOW_CONFIDENCE, f"邮件头中有超过{MAX_HEADER_CHARS // 1024}KB的行，已截断读取，原始邮件已保存")
    lines = [line if len(line) <= MAX_HEADER_CHARS else _whole_chars(line[:MAX_HEADER_CHARS]) + b"\r"
             for line in head.split(b"\n")]
    return b"\n".join(lines) + raw[end:]


def _whole_chars(cut: bytes) -> bytes:
    """A cut line without half a UTF-8 character at its end (else the whole value would read as another
    charset)."""
    cut = cut.rstrip(b"\r")
    while cut and 0x80 <= cut[-1] <= 0xBF:     # continuation bytes
        cut = cut[:-1]
    if cut and cut[-1] >= 0xC0:                 # the lead byte they continued
        cut = cut[:-1]
    return cut


def _bounded(value: str | None) -> str | None:
    if value is None or len(value) <= MAX_HEADER_CHARS:
        return value
    cut = value[:MAX_HEADER_CHARS]
    # Raw 8-bit text is carried as surrogate escapes: not half a UTF-8 character at the cut, or the whole
    # value would no longer be UTF-8 and be guessed as something else.
    while cut and "\udc80" <= cut[-1] <= "\udcbf":     # continuation bytes
        cut = cut[:-1]
    if cut and "\udcc0" <= cut[-1] <= "\udcff":        # the lead byte they continued
        cut = cut[:-1]
    return cut


_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_ANGLE = re.compile(r"<\s*([^<>\s\x00-\x1f\x7f]+)\s*>")
# One character of an address: no space, punctuation that delimits addresses, control or invisible mark.
_A = r"[^\s<>(),;:\"\[\]@\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
_ADDRESS = re.compile(f"{_A}+@{_A}+\\.{_A}+")


def _headers(msg: EmailMessage, walk: _Walk | None = None) -> dict:
    """The headers intake reads, decoded; guesses and a From that is not one address are noted on walk
    (the message received; a forwarded one's are information only)."""
    raw: dict[str, str] = {}
    for key, value in msg.raw_items():  # raw_items: get() would turn 8-bit bytes into U+FFFD
        raw.setdefault(key.lower(), str(value))
    notes: list[tuple[str, Decoded]] = []

    def text(header: str, what: str) -> str:
        value, guesses = decode_header(_bounded(raw.get(header)))
        notes.extend((what, g) for g in guesses)
        return value

    sender = _bounded(raw.get("from", "")) or ""
    if _SURROGATES.search(sender):
        # Raw 8-bit or UTF-8 (RFC 6532) bytes: decoded before the address is split out of them.
        d = decode(sender.encode("ascii", "surrogateescape"), None)
        sender = d.text
        notes += [("发件人名称", d)] if d.guessed else []
    # Split first, decode after: a decoded display name may hold commas or angle brackets.
    name, addr, trouble = _sender(sender)
    name, guesses = decode_header(name)
    notes.extend(("发件人名称", g) for g in guesses)
    head = {"raw": raw, "subject": text("subject", "邮件标题"), "name": name, "address": addr,
            "message-id": text("message-id", "Message-ID"), "date": text("date", "Date")}
    if walk is not None:
        for what, d in notes:
            walk.problem(Flag.ENCODING_GUESSED, guess_note(what, d))
        if trouble:
            walk.problem(Flag.LOW_CONFIDENCE, trouble)
    return head


def _sender(value: str) -> tuple[str, str, str]:
    """(display name, address, what was wrong) out of a From header's text."""
    if "=?" in value:
        # Some libraries write a non-ASCII address as encoded words touching the "@" (against RFC 2047):
        # read it as meant. Words elsewhere (a display name) are left to decode_header.
        value = re.sub(r"\S*(?:@=\?|\?=@)\S*",
                       lambda token: _WORD.sub(lambda w: decode_header(w.group(0))[0], token.group(0)), value)
    return _split_sender(value)


def _split_sender(value: str) -> tuple[str, str, str]:
    shown = clean_header(value)[:200]
    # "Name <address>": the brackets decide, whatever the name holds (an encoded word with "@" or ":"
    # in it would lead the address parser to an address of the sender's choosing).
    bracketed = [m for m in _ANGLE.finditer(value) if _ADDRESS.fullmatch(m.group(1))]
    if len(bracketed) == 1:
        return value[:bracketed[0].start()].strip().strip('"').strip(), bracketed[0].group(1).lower(), ""
    name, addr = email.utils.parseaddr(value)
    addr = clean_header(addr).lower()
    valid = [a for _n, a in email.utils.getaddresses([value]) if _ADDRESS.fullmatch(a or "")]
    if _ADDRESS.fullmatch(addr) and len(valid) <= 1:
        return name, addr, ""
    found = _ADDRESS.findall(value)
    if found:
        first = clean_header(found[0]).lower()
        return (name if addr == first else ""), first, f"发件人地址格式不规范（{shown}），已取第一个地址 {first}"
    if not shown:
        return "", "", "邮件没有发件人地址"
    return "", "", f"发件人地址无法识别（{shown}）"


# -- the walk ---------------------------------------------------------------------------------------

def _walk(part: EmailMessage, walk: _Walk, depth: int) -> None:
    walk.parts += 1
    if walk.parts > walk.limits.max_parts * 2 or walk.nesting > MAX_NESTING:
        walk.problem(Flag.LOW_CONFIDENCE, f"邮件结构过于庞大（超过{walk.limits.max_parts * 2}个部分或{MAX_NESTING}层嵌套），"
                                          "其余部分未读取，原始邮件已保存，请人工查看")
        return
    _structure_problems(part, walk)
    ctype = part.get_content_type()
    if part.is_multipart():
        walk.nesting += 1
        try:
            if ctype == "message/rfc822":
                for inner in _parts(part):
                    _forwarded(inner, walk, depth + 1, part)
            else:
                for sub in _parts(part):
                    _walk(sub, walk, depth)
                for sub in _after_close(part):
                    _walk(sub, walk, depth)
                if _after_close(part):
                    walk.problem(Flag.LOW_CONFIDENCE, "邮件结构不规范（内层分隔符与外层相同，邮件提前结束），"
                                                      "已尽量读取，请核对附件是否齐全")
        finally:
            walk.nesting -= 1
        return
    if ctype.startswith("multipart/"):  # the parser found no parts: see _structure_problems
        recovered = _recover_parts(part)
        if recovered is not None:
            _walk(recovered, walk, depth)
            return
        walk.plain.append(_text_of(part, walk))
        return
    filename = _filename(part, walk)
    # str(): compat32 hands a raw 8-bit header back as a Header object.
    disposition = str(part.get("Content-Disposition") or "").split(";")[0].strip().lower()
    if not filename and ctype in ("text/plain", "text/html") and disposition != "attachment":
        text = _text_of(part, walk)
        if ctype == "text/html":
            visible, links = html_to_text(text)
            walk.html.append(visible)
            walk.links.extend(links)
        else:
            walk.plain.append(text)
        return
    data = _payload(part, walk, f"附件《{filename or ctype}》")
    if data is None:
        return
    kind = sniff(data)
    if kind == "eml" or ctype == "message/rfc822":
        # QQ Mail and Coremail "作为附件转发" send the original as an .eml labelled octet-stream.
        inner = email.message_from_bytes(data, policy=policy.compat32)
        _forwarded(inner, walk, depth + 1, part, data, filename)
        return
    if not filename:
        filename = f"未命名附件{len(walk.attachments) + 1}"
    if len(walk.attachments) >= walk.limits.max_parts:
        walk.problem(Flag.LOW_CONFIDENCE, f"邮件附件超过{walk.limits.max_parts}个，其余未读取，原始邮件已保存，请人工查看")
        return
    walk.attachments.append(Attachment(filename=filename, content_type=ctype, data=data, sniffed=kind))


def _forwarded(inner: EmailMessage, walk: _Walk, depth: int, part: EmailMessage, data: bytes | None = None,
               filename: str = "") -> None:
    if not inner.keys() and isinstance(inner.get_payload(), str):
        # Some webmail base64-encodes the message/rfc822 part, against RFC 2046: decode, then parse.
        cte = _CTE.get(_cte_label(part)) or _CTE_QUIRKS.get(_cte_label(part), "")
        if cte == "base64":
            data, _complete = _base64(_parsed_payload(inner).encode("ascii", "surrogateescape"))
            inner = email.message_from_bytes(data, policy=policy.compat32)
    head = _headers(inner)
    info = Forwarded(subject=head["subject"], sender=head["address"], sender_name=head["name"],
                     date=head["date"], message_id=head["message-id"])
    if depth > walk.limits.max_depth:
        name = filename or "转发邮件.eml"
        walk.attachments.append(Attachment(
            filename=name, content_type="message/rfc822", data=data or _bytes_of(inner), sniffed="eml",
            problem=Finding(Flag.UNREADABLE_ATTACHMENT,
                            f"《{name}》为第{depth}层转发的邮件，超过{walk.limits.max_depth}层的上限，未展开，原件已保存")))
        return
    walk.forwarded.append(info)
    log.info("forwarded message inside: %s from %s", info.message_id or "(no Message-ID)", info.sender or "?")
    _walk(inner, walk, depth)


def _bytes_of(msg: EmailMessage) -> bytes:
    try:
        return msg.as_bytes()
    except (UnicodeError, LookupError, ValueError, TypeError):  # the generator on broken headers
        return msg.as_string().encode("utf-8", "surrogateescape")


# -- decoding one part ------------------------------------------------------------------------------

def _cte_label(part: EmailMessage) -> str:
    return str(part.get("Content-Transfer-Encoding", "")).strip().strip('";').strip().lower()


def _parsed_payload(part: EmailMessage) -> Any:
    """The payload as the parser left it (a str of the transfer-encoded text, or a list of parts): the
    library keeps it in a private attribute and offers no way to read it undecoded."""
    return part._payload  # type: ignore[attr-defined]


def _parts(part: EmailMessage) -> list[EmailMessage]:
    """The subparts of a multipart (get_payload's type covers every kind of part)."""
    payload = part.get_payload()
    return [p for p in payload if isinstance(p, EmailMessage)] if isinstance(payload, list) else []


def _payload(part: EmailMessage, walk: _Walk, what: str) -> bytes | None:
    """The decoded bytes of a leaf part, by our reading of its Content-Transfer-Encoding."""
    label = _cte_label(part)
    # The payload as parsed: get_payload(decode=False) would re-decode 8-bit bytes with the declared
    # charset and replace what fails, and get_payload(decode=True) ignores a label with a stray space.
    raw = _parsed_payload(part)
    if raw is None:
        return None
    if not isinstance(raw, str):  # a message/* the parser kept as a tree
        return _bytes_of(part)
    data = raw.encode("ascii", "surrogateescape")
    if label in _UUENCODE:
        decoded = part.get_payload(decode=True)
        return decoded if isinstance(decoded, bytes) else None
    kind = _CTE.get(label)
    if kind is None:
        # Not one of RFC 2045's: a known misspelling, else a guess from what the payload looks like.
        kind = _CTE_QUIRKS.get(label) or (
            "base64" if _BASE64_BODY.match(data or b"=") and len(data.strip()) >= 4 else "raw")
        done = {"base64": "base64 解码", "qp": "quoted-printable 解码", "raw": "原样读取"}[kind]
        walk.problem(Flag.LOW_CONFIDENCE, f"{what}的传输编码“{label}”不规范，已按{done}，请核对")
    if kind == "base64":
        decoded, complete = _base64(data)
        if not complete:
            walk.problem(Flag.LOW_CONFIDENCE, f"{what}的 base64 编码不完整或含非法字符，内容可能残缺，请核对")
        return decoded
    if kind == "qp":
        return quopri.decodestring(data)
    return data


def _base64(data: bytes) -> tuple[bytes, bool]:
    """Lenient base64: stray characters dropped, a truncated last group cut; complete says neither happened."""
    compact = re.sub(rb"\s+", b"", data)
    clean = re.sub(rb"[^A-Za-z0-9+/]", b"", compact.rstrip(b"="))
    complete = clean == compact.rstrip(b"=") and len(compact) % 4 == 0 and b"=" not in compact.rstrip(b"=")
    usable = clean[: len(clean) - len(clean) % 4] if len(clean) % 4 == 1 else clean
    if len(clean) % 4 == 1:
        complete = False
    try:
        return base64.b64decode(usable + b"=" * (-len(usable) % 4)), complete
    except binascii.Error:
        return b"", False


def _text_of(part: EmailMessage, walk: _Walk) -> str:
    d = decode(_payload(part, walk, "邮件正文") or b"", _raw_charset(part))
    if d.guessed:
        walk.problem(Flag.ENCODING_GUESSED, guess_note("邮件正文", d))
    return _SURROGATES.sub("\ufffd", d.text)


def _raw_charset(part: EmailMessage) -> str | None:
    try:
        return part.get_content_charset()
    except (ValueError, LookupError, UnicodeError):  # a charset parameter too broken to read: undeclared
        return None


def _param(part: EmailMessage, name: str, header: str, walk: _Walk | None = None):
    """get_param on the raw header: compat32 turns raw 8-bit GBK (QQ Mail, old Foxmail) into U+FFFD."""
    value = next((str(v) for k, v in part.raw_items() if k.lower() == header.lower()), None)
    if value is None:
        return None
    if _SURROGATES.search(value):
        d = decode(value.encode("ascii", "surrogateescape"), None)
        value = d.text
        if d.guessed and walk is not None:
            walk.problem(Flag.ENCODING_GUESSED, guess_note("附件名称", d))
    holder = EmailMessage()
    holder[header] = value
    return holder.get_param(name, header=header)


def _param_bytes(text: str) -> bytes:
    """An RFC 2231 value's bytes as the parser kept them (latin-1 for percent-decoded bytes; raw 8-bit
    text we decoded before it came here is UTF-8 again)."""
    try:
        return text.encode("latin-1", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def _filename(part: EmailMessage, walk: _Walk | None = None) -> str:
    try:
        raw = _param(part, "filename", "Content-Disposition", walk) or _param(part, "name", "Content-Type", walk)
    except (ValueError, LookupError, UnicodeError):
        return ""
    if raw is None:
        return ""
    guesses = []
    if isinstance(raw, tuple):  # RFC 2231: (charset, language, percent-decoded text)
        cs, _lang, text = raw
        text = _param_bytes(text) if isinstance(text, str) else text
        d = decode(text, cs)
        value = d.text
        guesses += [d] if d.guessed else []
    else:
        value = email.utils.unquote(raw)
    # Many clients put RFC 2047 words inside the quoted parameter, against the standard.
    value, more = decode_header(value)
    if walk is not None:
        for d in guesses + more:
            walk.problem(Flag.ENCODING_GUESSED, guess_note(f"附件名称《{clean_header(d.text)}》", d))
    # Outlook Express and old Foxmail send the sender's full Windows path; "/" means "inside an archive" here.
    return re.split(r"[/\\]", value)[-1].strip()


# -- broken structure -------------------------------------------------------------------------------

_STRUCTURE = {
    email.errors.NoBoundaryInMultipartDefect: "缺少 MIME 分隔符（boundary）",
    email.errors.StartBoundaryNotFoundDefect: "声明的 MIME 分隔符在正文中找不到",
    email.errors.CloseBoundaryNotFoundDefect: "缺少结束分隔符，邮件可能在传输中被截断",
}


def _structure_problems(part: EmailMessage, walk: _Walk) -> None:
    for defect in part.defects:
        for kind, what in _STRUCTURE.items():
            if isinstance(defect, kind):
                walk.problem(Flag.LOW_CONFIDENCE, f"邮件结构不规范（{what}），已尽量读取，请核对附件是否齐全")


def _after_close(part: EmailMessage) -> list[EmailMessage]:
    """Parts after the close delimiter. A nested multipart that reuses its parent's boundary makes the
    parser close the parent at the inner part's end; the parts that follow (an attachment, typically)
    land in the epilogue, where they are still delimited by the boundary."""
    boundary, epilogue = part.get_boundary(), part.epilogue
    if not boundary or not epilogue or f"--{boundary}" not in epilogue:
        return []
    data = epilogue.encode("ascii", "surrogateescape")
    if not re.search(rb"^--" + re.escape(boundary.encode("ascii", "surrogateescape")) + rb"[ \t]*\r?$", data, re.M):
        return []
    fixed = (f"Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n".encode("ascii", "surrogateescape")
             + data)
    recovered = email.message_from_bytes(fixed, policy=policy.compat32)
    return _parts(recovered) if recovered.is_multipart() else []


def _recover_parts(part: EmailMessage) -> EmailMessage | None:
    """A multipart whose boundary is missing or wrong: the delimiter lines themselves say what it is."""
    body = _parsed_payload(part)
    if not isinstance(body, str):
        return None
    data = body.encode("ascii", "surrogateescape")
    counts: dict[bytes, int] = {}
    for m in _DELIMITER.finditer(data):
        counts[m.group(1).rstrip()] = counts.get(m.group(1).rstrip(), 0) + 1
    counts = {b: n for b, n in counts.items() if n >= 2}  # one "-----Original Message-----" is not it
    if not counts:
        return None
    boundary = max(counts, key=counts.__getitem__)
    if b'"' in boundary or b"\\" in boundary:
        return None
    fixed = (f"Content-Type: {part.get_content_type()}; boundary=\"".encode() + boundary + b"\"\r\n\r\n" + data)
    recovered = email.message_from_bytes(fixed, policy=policy.compat32)
    return recovered if recovered.is_multipart() else None


# -- bodies -----------------------------------------------------------------------------------------

class _HTMLText(HTMLParser):
    """Visible text and link targets: a cloud-attachment link lives in href, not in the visible text."""

    _BLOCK = frozenset({"br", "p", "div", "tr", "li", "table", "h1", "h2", "h3", "h4"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self._skip += 1
        if tag in self._BLOCK:
            self.text.append("\n")
        if tag == "a":
            href = dict(attrs).get("href") or ""
            if href.strip() and not href.lower().startswith(("mailto:", "#", "javascript:")):
                self.links.append(href.strip())

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title") and self._skip:
            self._skip -= 1
        if tag in self._BLOCK:
            self.text.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.text.append(data)


def html_to_text(html: str) -> tuple[str, list[str]]:
    parser = _HTMLText()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # html.parser on hopeless markup: keep what it got so far
        pass
    text = re.sub(r"[ \t\u00a0]+", " ", "".join(parser.text))
    return re.sub(r"\n\s*\n+", "\n", text).strip(), parser.links


def _body(walk: _Walk) -> str:
    # multipart/alternative gives the same text twice: the plain one, else the HTML one; then the links
    # of the HTML that the text does not already carry (QQ/163/Coremail 超大附件 put them in href only).
    parts = [p.strip() for p in (walk.plain if any(p.strip() for p in walk.plain) else walk.html) if p.strip()]
    body = "\n".join(parts)
    extra = [link for link in dict.fromkeys(walk.links) if link not in body]
    return "\n".join([body, *extra]) if extra else body


# -- after decoding ---------------------------------------------------------------------------------

def _unique_names(attachments: tuple[Attachment, ...]) -> tuple[Attachment, ...]:
    """Two attachments of one name (often the forwarded mail's and the outer one's) must not overwrite
    each other when filed: the second becomes "申请表 (2).pdf"."""
    seen: set[str] = set()
    out = []
    for att in attachments:
        name = att.filename
        stem, dot, ext = name.rpartition(".")
        if not dot or "/" in ext:
            stem, dot, ext = name, "", ""
        n = 1
        while name.lower() in seen:
            n += 1
            name = f"{stem} ({n}){dot}{ext}"
        seen.add(name.lower())
        out.append(att if name == att.filename else replace(att, filename=name))
    return tuple(out)


def _replacement_characters(subject: str, name: str, body: str, attachments) -> list[Finding]:
    """U+FFFD left after every charset was tried: the text is not what the sender wrote."""
    found = []
    if "\ufffd" in subject:
        found.append(Finding(Flag.LOW_CONFIDENCE, f"邮件标题“{subject}”含无法解码的字符"))
    if "\ufffd" in name:
        found.append(Finding(Flag.LOW_CONFIDENCE, f"发件人名称“{name}”含无法解码的字符"))
    if "\ufffd" in body:
        found.append(Finding(Flag.LOW_CONFIDENCE, "邮件正文含无法解码的字符"))
    for att in attachments:
        if "\ufffd" in att.filename:
            found.append(Finding(Flag.LOW_CONFIDENCE, f"附件名称《{att.filename}》含无法解码的字符"))
    return found


def delivery_auth(msg: EmailMessage, most: int = 10) -> tuple[str, ...]:
    """The Authentication-Results headers the receiving servers put on top, above the second Received
    header: one written by the sender further down, with the office's server's name in it, is a forgery
    and does not count."""
    found, received = [], 0
    for key, value in msg.raw_items():
        name = key.lower()
        if name == "received":
            received += 1
            if received == 2:
                break
        elif name == "authentication-results":
            found.append(clean_header(str(value))[:2000])
    return tuple(found[:most])
