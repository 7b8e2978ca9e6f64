"""Which document this is — 推荐函, 申请表, 汇总表, 审验表 or 佐证材料 — from its text, not its file name."""
from __future__ import annotations

from collections.abc import Sequence

from ..model import DocKind, Page
from .forms import KindRules
from .text import norm


def classify(pages: Sequence[Page], rules: KindRules) -> DocKind:
    if not pages:
        return DocKind.EVIDENCE
    head = norm(pages[0].text)[: rules.title_chars]
    for rule in rules.rules:
        if any(word in head for word in rule.title):
            return rule.kind
    # Only the first pages: 佐证材料 may quote a form's labels deep inside.
    body = norm("".join(p.text for p in pages[:2]))
    for rule in rules.rules:
        if any(word in body for word in rule.body):
            return rule.kind
    return DocKind.EVIDENCE
