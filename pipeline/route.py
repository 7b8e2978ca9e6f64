"""Who sent this and is it for us: the sender directory and the RFC 3834 no-reply rules."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from .model import Message, Recommender
from .read.text import norm_name

_AUTO_SUBJECT = re.compile(r"^\s*(自动回复|自动答复|auto(matic)?[\s-]*reply|out of (the )?office|休假|外出)", re.I)
_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.I)


def ignore_reason(message: Message) -> str | None:
    """Why this message must get no receipt and no processing, in Chinese; None when it is for us."""
    h = message.headers
    auto = h.get("auto-submitted", "").strip().lower()
    if auto and auto != "no":
        return "自动回复邮件（Auto-Submitted），不予处理"
    if h.get("x-autoreply") or h.get("x-autorespond") or _AUTO_SUBJECT.search(message.subject):
        return "自动回复邮件，不予处理"
    if "multipart/report" in h.get("content-type", "").lower() or _BOUNCE_SENDER.match(message.sender):
        return "退信通知，不予处理"
    if h.get("return-path", "").strip() == "<>":
        return "系统通知邮件（空退信地址），不予处理"
    if h.get("list-id") or h.get("list-unsubscribe"):
        return "邮件列表或群发邮件，不予处理"
    if h.get("precedence", "").strip().lower() in ("bulk", "junk", "list"):
        return "群发邮件（Precedence），不予处理"
    if h.get("x-spam-flag", "").strip().lower() == "yes" or h.get("x-spam-status", "").lower().startswith("yes"):
        return "垃圾邮件，不予处理"
    return None


# Our own receipts' Message-IDs (receipt.receipt_id) and the line every receipt body ends with.
_OUR_RECEIPT_ID = re.compile(r"<receipt-[0-9a-f]{24}@", re.I)
OUR_FOOTER = "本邮件由系统自动"   # …发送 (a note) or …生成 (a receipt)


def answers_our_receipt(message: Message) -> bool:
    """A reply to one of our receipts (by its threading headers, or our receipt quoted in it): an
    auto-responder without RFC 3834 headers, or a polite 收到，谢谢. Never a new submission, or two
    machines answer each other all day."""
    threading = message.headers.get("in-reply-to", "") + " " + message.headers.get("references", "")
    return bool(_OUR_RECEIPT_ID.search(threading)) or (OUR_FOOTER in message.body and "回执编号" in message.body)


def reply_reason(message: Message) -> str:
    if message.attachments:
        return "对本处回执的回复，附有材料：请人工查看；如为补充或更正材料，请发件人按原标题格式重新发送"
    return "对本处回执的回复（自动回复或致谢），不作为申报"


# RFC 8601: "Authentication-Results: mx.shandong.cn; spf=pass smtp.mailfrom=…; dkim=fail …; dmarc=…"
_AUTH_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.I)
_FAILING = {"fail", "softfail", "permerror"}


def authentication(message: Message, host: str) -> tuple[list[str], list[str]]:
    """What the office's own receiving server (host) recorded of SPF, DKIM and DMARC: (passed, failed).
    Only its own headers count: anyone can write an Authentication-Results header into a mail."""
    passed: list[str] = []
    failed: list[str] = []
    for value in message.auth_results:
        authserv = value.split(";", 1)[0].strip().lower()
        if not host or authserv != host.lower():
            continue
        for method, result in _AUTH_RESULT.findall(value):
            label = f"{method.upper()}={result.lower()}"
            (failed if result.lower() in _FAILING else passed if result.lower() == "pass" else []).append(label)
    return list(dict.fromkeys(passed)), list(dict.fromkeys(failed))


@dataclass(frozen=True)
class Directory:
    recommenders: tuple[Recommender, ...]
    confirmed: Mapping[str, str] = field(default_factory=dict)   # address → recommender, confirmed by a clerk

    def by_sender(self, address: str) -> Recommender | None:
        """The recommender an address speaks for: one of its configured senders (an exact address before a
        domain), or an address a clerk has confirmed for it."""
        address = address.lower()
        domain = "@" + address.rpartition("@")[2]
        for r in self.recommenders:  # an exact address beats a domain
            if address in r.senders:
                return r
        if address in self.confirmed:
            return next((r for r in self.recommenders if r.name == self.confirmed[address]), None)
        for r in self.recommenders:
            if domain in r.senders:
                return r
        return None

    def by_name(self, text: str) -> Recommender | None:
        """The subject's XXXX is a recommender when it is its name or one of its aliases."""
        key = norm_name(text)
        if not key:
            return None
        for r in self.recommenders:
            if key == norm_name(r.name) or key in (norm_name(a) for a in r.aliases):
                return r
        return None

    def in_text(self, text: str) -> Recommender | None:
        """The recommender whose full name a letter carries; the last one named signs the letter."""
        key = norm_name(text)
        found = [(key.rfind(norm_name(r.name)), r) for r in self.recommenders if norm_name(r.name) in key]
        return max(found, key=lambda item: item[0])[1] if found else None
