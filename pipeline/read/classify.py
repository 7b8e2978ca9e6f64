"""Which document this is — 推荐函, 申请表, 汇总表, 审验表 or 佐证材料 — from its text, not its file name."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..model import DocKind, Page
from .forms import KindRules
from .layout import reading_order
from .text import norm


def page_text(page: Page) -> str:
    """The page's text in reading order: OCR lists lines in detection order, not top to bottom."""
    return "".join(b.text for b in reading_order(page.boxes))


def titled(page: Page, rules: KindRules) -> DocKind | None:
    """The kind a page's own heading announces (推荐函, 申请表…), if it has one."""
    head = norm(page_text(page))[: rules.heading_chars]
    hits = [(head.find(word), order, rule.kind) for order, rule in enumerate(rules.rules)
            for word in rule.title if word in head]
    return min(hits)[2] if hits else None


def split(pages: Sequence[Page], rules: KindRules,
          labels: Mapping[DocKind, Sequence[str]] | None = None) -> list[tuple[Page, ...]]:
    """The documents one file holds, each a run of pages: a sender who scans the 推荐函 and the 申请表
    into one PDF. A page whose title announces a kind other than its run's starts a new document; a
    page without a title (a form's second page, an appendix) belongs to the run before it, except
    after a form (a kind in `labels`) when it carries none of the form's labels: 佐证材料 scanned behind
    the 申请表 without a heading (a training record, a certificate) is no page of the form, and read
    with it would lend the form its text. Such a page starts a document of its own."""
    labels = labels or {}
    runs: list[list[Page]] = []
    kind: DocKind | None = None
    for page in pages:
        announced = titled(page, rules)
        if runs and announced is None and kind is not None and kind in labels and not _continues(page, labels[kind]):
            runs.append([page])
            kind = DocKind.EVIDENCE     # untitled pages after it stay with it; a title starts anew
            continue
        if runs and (announced is None or announced is kind):
            runs[-1].append(page)
            continue
        if runs and kind is None:       # untitled pages before the first title stay with it
            runs[-1].append(page)
            kind = announced
            continue
        runs.append([page])
        kind = announced
    return [tuple(r) for r in runs]


def _continues(page: Page, labels: Sequence[str]) -> bool:
    """Whether an untitled page may be a form's later page: it prints one of the form's labels, or
    nothing at all (a blank back of a duplex scan has nothing to lend)."""
    text = norm(page_text(page))
    return not text or any(label in text for label in labels)


def classify(pages: Sequence[Page], rules: KindRules) -> DocKind:
    if not pages:
        return DocKind.EVIDENCE
    head = norm(page_text(pages[0]))[: rules.title_chars]
    # The title word that comes first: a letter may mention 申请表 and 汇总表 in its opening sentence.
    hits = [(head.find(word), order, rule.kind) for order, rule in enumerate(rules.rules)
            for word in rule.title if word in head]
    if hits:
        return min(hits)[2]
    # Only the first pages: 佐证材料 may quote a form's labels deep inside. Several distinct words,
    # so a business licence that prints 统一社会信用代码 is not taken for a form.
    body = norm("".join(page_text(p) for p in pages[:2]))
    for rule in rules.rules:
        if rule.body and sum(word in body for word in rule.body) >= rule.body_min:
            return rule.kind
    return DocKind.EVIDENCE
