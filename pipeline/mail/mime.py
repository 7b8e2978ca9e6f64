"""Raw message bytes to a decoded Message: headers, body text, attachments with sniffed types.

Forwarded messages (message/rfc822, an attached .eml) give up their attachments to the message received;
archives are opened by unpack. What cannot be decoded cleanly becomes a Finding, never an exception.
"""
from __future__ import annotations

import base64
import binascii
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


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode with the declared charset, then UTF-8, then GB18030; never raises. What none of them
    decodes comes out as U+FFFD, which parse() reports."""
    for cs in (charset_for(label), "utf-8", "gb18030"):
        try:
            return data.decode(cs)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("gb18030", errors="replace")


def decode_header_value(value: str | None) -> str:
    """RFC 2047 words in any charset, or raw 8-bit bytes (GBK with no label), to text."""
    if value is None:
        return ""
    value = str(value)
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        # compat32 keeps raw 8-bit header bytes as surrogate escapes: recover and guess.
        value = decode_bytes(value.encode("ascii", "surrogateescape"), "utf-8")
    try:
        # decode_header joins adjacent words of one charset before decoding: Outlook and Foxmail split a
        # long subject into words in the middle of a character.
        parts = email.header.decode_header(value)
    except (email.errors.HeaderParseError, ValueError, binascii.Error):
        return value
    out = []
    for data, cs in parts:
        out.append(data if isinstance(data, str) else decode_bytes(data, cs))
    text = "".join(out)
    return re.sub(r"\s*\r?\n\s*", " ", text).strip()


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

    def problem(self, flag: Flag, detail: str) -> None:
        finding = Finding(flag, detail)
        if finding not in self.problems:
            self.problems.append(finding)


def parse(raw: bytes, received_at: datetime, limits: AttachmentLimits | None = None,
          tools: Tools | None = None) -> Message:
    limits = limits or AttachmentLimits()
    # compat32 gives the raw header text, so the charset quirks above are ours to handle, not hidden.
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    head = _headers(msg)
    message_id = head["message-id"]
    if not message_id:
        # Some webmail forwards have none; a stable stand-in keeps the ledger and receipts consistent.
        message_id = f"<sha256-{hashlib.sha256(raw).hexdigest()[:32]}@intake.invalid>"
    walk = _Walk(limits)
    _walk(msg, walk, depth=0)
    attachments = _unique_names(unpack.expand(walk.attachments, limits, tools))
    body = _body(walk)
    problems = walk.problems + _replacement_characters(head["subject"], head["name"], body, attachments)
    log.info("parsed %s: %d attachment(s), %d forwarded, %d problem(s)", message_id, len(attachments),
             len(walk.forwarded), len(problems))
    return Message(
        message_id=message_id,
        subject=head["subject"],
        sender=head["address"],
        sender_name=head["name"],
        received_at=received_at,
        headers={h: decode_header_value(head["raw"][h]) for h in KEPT_HEADERS if h in head["raw"]},
        body=body,
        attachments=attachments,
        problems=tuple(problems),
        forwarded=tuple(walk.forwarded),
    )


def _headers(msg: EmailMessage) -> dict:
    raw: dict[str, str] = {}
    for key, value in msg.raw_items():  # raw_items: get() would turn 8-bit bytes into U+FFFD
        raw.setdefault(key.lower(), value)
    # Split first, decode after: a decoded display name may hold commas or angle brackets.
    name, addr = email.utils.parseaddr(raw.get("from", ""))
    return {"raw": raw, "subject": decode_header_value(raw.get("subject")),
            "name": decode_header_value(name).strip(), "address": addr.strip().lower(),
            "message-id": decode_header_value(raw.get("message-id")).strip(),
            "date": decode_header_value(raw.get("date"))}


# -- the walk ---------------------------------------------------------------------------------------

def _walk(part: EmailMessage, walk: _Walk, depth: int) -> None:
    _structure_problems(part, walk)
    ctype = part.get_content_type()
    if part.is_multipart():
        if ctype == "message/rfc822":
            for inner in part.get_payload():
                _forwarded(inner, walk, depth + 1, part)
        else:
            for sub in part.get_payload():
                _walk(sub, walk, depth)
        return
    if ctype.startswith("multipart/"):  # the parser found no parts: see _structure_problems
        recovered = _recover_parts(part)
        if recovered is not None:
            _walk(recovered, walk, depth)
            return
        walk.plain.append(_text_of(part, walk))
        return
    filename = _filename(part)
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
    walk.attachments.append(Attachment(filename=filename, content_type=ctype, data=data, sniffed=kind))


def _forwarded(inner: EmailMessage, walk: _Walk, depth: int, part: EmailMessage, data: bytes | None = None,
               filename: str = "") -> None:
    if not inner.keys() and isinstance(inner.get_payload(), str):
        # Some webmail base64-encodes the message/rfc822 part, against RFC 2046: decode, then parse.
        cte = _CTE.get(_cte_label(part)) or _CTE_QUIRKS.get(_cte_label(part), "")
        if cte == "base64":
            data, _complete = _base64(inner._payload.encode("ascii", "surrogateescape"))  # noqa: SLF001
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


def _payload(part: EmailMessage, walk: _Walk, what: str) -> bytes | None:
    """The decoded bytes of a leaf part, by our reading of its Content-Transfer-Encoding."""
    label = _cte_label(part)
    # The payload as parsed: get_payload(decode=False) would re-decode 8-bit bytes with the declared
    # charset and replace what fails, and get_payload(decode=True) ignores a label with a stray space.
    raw = part._payload  # noqa: SLF001
    if raw is None:
        return None
    if not isinstance(raw, str):  # a message/* the parser kept as a tree
        return _bytes_of(part)
    data = raw.encode("ascii", "surrogateescape")
    if label in _UUENCODE:
        return part.get_payload(decode=True)
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
    return decode_bytes(_payload(part, walk, "邮件正文") or b"", part.get_content_charset())


def _param(part: EmailMessage, name: str, header: str):
    """get_param on the raw header: compat32 turns raw 8-bit GBK (QQ Mail, old Foxmail) into U+FFFD."""
    value = next((v for k, v in part.raw_items() if k.lower() == header.lower()), None)
    if value is None:
        return None
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        value = decode_bytes(value.encode("ascii", "surrogateescape"), "utf-8")
    holder = EmailMessage()
    holder[header] = value
    return holder.get_param(name, header=header)


def _filename(part: EmailMessage) -> str:
    try:
        raw = _param(part, "filename", "Content-Disposition") or _param(part, "name", "Content-Type")
    except (ValueError, LookupError, UnicodeError):
        return ""
    if raw is None:
        return ""
    if isinstance(raw, tuple):  # RFC 2231: (charset, language, percent-decoded text)
        cs, _lang, text = raw
        text = text.encode("latin-1", "surrogateescape") if isinstance(text, str) else text
        value = decode_bytes(text, cs)
    else:
        value = email.utils.unquote(raw)
    # Many clients put RFC 2047 words inside the quoted parameter, against the standard.
    value = decode_header_value(value)
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


def _recover_parts(part: EmailMessage) -> EmailMessage | None:
    """A multipart whose boundary is missing or wrong: the delimiter lines themselves say what it is."""
    body = part._payload  # noqa: SLF001 (see _payload)
    if not isinstance(body, str):
        return None
    data = body.encode("ascii", "surrogateescape")
    counts: dict[bytes, int] = {}
    for m in _DELIMITER.finditer(data):
        counts[m.group(1).rstrip()] = counts.get(m.group(1).rstrip(), 0) + 1
    counts = {b: n for b, n in counts.items() if n >= 2}  # one "-----Original Message-----" is not it
    if not counts:
        return None
    boundary = max(counts, key=counts.get)
    if b'"' in boundary or b"\\" in boundary:
        return None
    fixed = (f"Content-Type: {part.get_content_type()}; boundary=\"".encode() + boundary + b"\"\r\n\r\n" + data)
    recovered = email.message_from_bytes(fixed, policy=policy.compat32)
    return recovered if recovered.is_multipart() else None


# -- bodies -----------------------------------------------------------------------------------------

class _HTMLText(HTMLParser):
    """Visible text and link targets: a cloud-attachment link lives in href, not in the visible text."""

    _BLOCK = {"br", "p", "div", "tr", "li", "table", "h1", "h2", "h3", "h4"}

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
