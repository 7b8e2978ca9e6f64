"""Raw message bytes to a decoded Message: headers, body text and attachments with sniffed types."""
from __future__ import annotations

import email
import email.errors
import email.header
import email.utils
import hashlib
import html
import re
from datetime import datetime
from email import policy
from email.message import Message as EmailMessage

from ..model import Attachment, Finding, Flag, Message
from ..read.sniff import sniff

# Headers the router needs (auto-replies, lists, spam, threading); everything else stays in the raw file.
KEPT_HEADERS = (
    "auto-submitted", "x-autoreply", "x-autorespond", "x-auto-response-suppress", "precedence",
    "list-id", "list-unsubscribe", "x-spam-flag", "x-spam-status", "return-path", "content-type",
    "in-reply-to", "references", "date", "to", "x-mailer",
)

# Chinese mail clients label GBK and GB18030 text as gb2312; the superset decodes all of them.
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "euc-cn": "gb18030",
                    "cp936": "gb18030", "hz-gb-2312": "hz", "unknown-8bit": "gb18030"}


def charset_for(label: str | None) -> str:
    label = (label or "us-ascii").strip().strip('"').lower()
    return _CHARSET_ALIASES.get(label, label)


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode with the declared charset, then UTF-8, then GB18030; never raises."""
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
        parts = email.header.decode_header(value)
    except email.errors.HeaderParseError:
        return value
    out = []
    for data, cs in parts:
        out.append(data if isinstance(data, str) else decode_bytes(data, cs))
    text = "".join(out)
    return re.sub(r"\s*\r?\n\s*", " ", text).strip()


def parse(raw: bytes, received_at: datetime) -> Message:
    # compat32 gives the raw header text, so the charset quirks above are ours to handle, not hidden.
    msg = email.message_from_bytes(raw, policy=policy.compat32)
    problems: list[Finding] = []
    raw_headers: dict[str, str] = {}
    for key, value in msg.raw_items():  # raw_items: get() would turn 8-bit bytes into U+FFFD
        raw_headers.setdefault(key.lower(), value)
    subject = decode_header_value(raw_headers.get("subject"))
    # Split first, decode after: a decoded display name may hold commas or angle brackets.
    name, addr = email.utils.parseaddr(raw_headers.get("from", ""))
    name = decode_header_value(name)
    headers = {h: decode_header_value(raw_headers[h]) for h in KEPT_HEADERS if h in raw_headers}
    message_id = decode_header_value(raw_headers.get("message-id")).strip()
    if not message_id:
        # Some webmail forwards have none; a stable stand-in keeps the ledger and receipts consistent.
        message_id = f"<sha256-{hashlib.sha256(raw).hexdigest()[:32]}@intake.invalid>"
    body_parts: list[str] = []
    attachments: list[Attachment] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        filename = _filename(part)
        ctype = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        if not filename and ctype in ("text/plain", "text/html") and disposition != "attachment":
            text = _text_of(part)
            body_parts.append(_html_to_text(text) if ctype == "text/html" else text)
            continue
        data = part.get_payload(decode=True)
        if data is None:
            continue
        if not filename:
            filename = f"未命名附件{len(attachments) + 1}"
        if "\ufffd" in filename:
            problems.append(Finding(Flag.LOW_CONFIDENCE, f"附件名称《{filename}》含无法解码的字符"))
        attachments.append(Attachment(filename=filename, content_type=ctype, data=data, sniffed=sniff(data)))
    body = _pick_body(body_parts)
    return Message(
        message_id=message_id,
        subject=subject,
        sender=addr.strip().lower(),
        sender_name=name.strip(),
        received_at=received_at,
        headers=headers,
        body=body,
        attachments=tuple(attachments),
        problems=tuple(problems),
    )


def _filename(part: EmailMessage) -> str:
    raw = part.get_param("filename", header="Content-Disposition") or part.get_param("name")
    if raw is None:
        return ""
    if isinstance(raw, tuple):  # RFC 2231: (charset, language, percent-decoded text)
        cs, _lang, text = raw
        text = text.encode("latin-1", "surrogateescape") if isinstance(text, str) else text
        value = decode_bytes(text, cs)
    else:
        value = email.utils.unquote(raw)
    # Many clients put RFC 2047 words inside the quoted parameter, against the standard.
    return decode_header_value(value)


def _text_of(part: EmailMessage) -> str:
    data = part.get_payload(decode=True) or b""
    return decode_bytes(data, part.get_content_charset())


def _html_to_text(text: str) -> str:
    text = re.sub(r"(?is)<(script|style).*?</\1>", "", text)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
    # Keep link targets: a cloud-attachment link lives in href, not in the visible text.
    text = re.sub(r'(?i)<a\s[^>]*href="([^"]+)"[^>]*>', r" \1 ", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def _pick_body(parts: list[str]) -> str:
    return "\n".join(p.strip() for p in parts if p.strip())
