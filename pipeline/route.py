"""Who sent this and is it for us: the sender directory and the RFC 3834 no-reply rules."""
from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Directory:
    recommenders: tuple[Recommender, ...]

    def by_sender(self, address: str) -> Recommender | None:
        address = address.lower()
        domain = "@" + address.rpartition("@")[2]
        for r in self.recommenders:  # an exact address beats a domain
            if address in r.senders:
                return r
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
