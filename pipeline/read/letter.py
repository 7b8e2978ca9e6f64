"""The applicants a 推荐函 names, from positioned boxes. Pure.

Letters list them as numbered lines, the track in the last brackets:
    1．济南职业技术培训学院（省级继续教育基地）
    2．章丘农业技术推广培训中心（省级继续教育基地（乡村振
    兴）专项）                                  ← a wrapped line: its brackets are still open
or in a table (序号 | 单位名称 | 申报类别), or, for a single applicant, in a sentence:
    现推荐济南职业技术培训学院申报省级继续教育基地。
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from ..model import Box, Listed, Page
from .fields import clean_text, parse_track
from .forms import FormSpec, LetterSpec
from .layout import join, level, rows
from .table import read_table
from .text import norm

_ITEM = re.compile(r"^\s*(?:[(（]\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[)）]|"
                   r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[.．、,，)）])\s*(?P<rest>\S.*)$")
_SENTENCE = re.compile(r"推荐(?P<name>.{4,40}?)(?:申报|作为|参加)(?P<track>.{0,40}?)(?:[。；;,，]|$)")
_TRAILING = "；;。，,、 　"


def read_letter(pages: Sequence[Page], spec: LetterSpec, form: FormSpec) -> tuple[Listed, ...]:
    in_table = read_table(pages, spec.table, form)
    if in_table:
        return in_table
    lines = [(join([b.text for b in row]), row) for page in pages
             for row in rows(level([b for b in page.boxes if b.text.strip()]))]
    found = _numbered(lines, spec, form)
    return found or _sentence(lines, spec, form)


def _numbered(lines: list[tuple[str, list[Box]]], spec: LetterSpec, form: FormSpec) -> tuple[Listed, ...]:
    right = max((b.x1 for _, row in lines for b in row), default=0.0)
    items: list[tuple[str, list[Box]]] = []
    last_x1 = 0.0           # where the item's last line ended
    open_item = False
    for text, row in lines:
        m = _ITEM.match(text)
        if m and not _ends_list(m.group("rest"), spec):
            items.append((m.group("rest"), list(row)))
            last_x1, open_item = max(b.x1 for b in row), True
            continue
        if not open_item or _ends_list(text, spec):
            open_item = False
            continue
        current, boxes = items[-1]
        # A wrapped item: its brackets are still open, or it has none yet and ran to the right margin.
        at_margin = last_x1 >= 0.95 * right and not current.rstrip().endswith((")", "）"))
        if _unbalanced(current) or at_margin:
            items[-1] = (current + text.strip(), boxes + list(row))
            last_x1 = max(b.x1 for b in row)
        else:
            open_item = False
    return tuple(entry for text, boxes in items if (entry := _entry(text, boxes, spec, form)))


def _sentence(lines: list[tuple[str, list[Box]]], spec: LetterSpec, form: FormSpec) -> tuple[Listed, ...]:
    text = "".join(t for t, _ in lines)
    boxes = [b for _, row in lines for b in row]
    out = []
    for m in _SENTENCE.finditer(norm(text)):
        name = m.group("name")
        if any(w in name for w in spec.collective):
            continue
        entry = _entry(name + (f"({m.group('track')})" if m.group("track") else ""), boxes, spec, form)
        if entry:
            out.append(entry)
    return tuple(out)


def _entry(text: str, boxes: list[Box], spec: LetterSpec, form: FormSpec) -> Listed | None:
    text = clean_text(text).strip(_TRAILING)
    name, track = text, None
    inner = _last_brackets(text)
    if inner is not None:
        track = parse_track(inner[1], form)
        if track is not None:
            name = text[:inner[0]].strip(_TRAILING)
    if len(norm(name)) < 2 or any(norm(name) == w for w in spec.collective):
        return None
    return Listed(name, track, confidence=round(min((b.confidence for b in boxes), default=1.0), 3),
                  source="letter")


def _last_brackets(text: str) -> tuple[int, str] | None:
    """Where the last, balanced bracket group at the end of text opens, and what is inside it."""
    t = text.rstrip()
    if not t or t[-1] not in ")）":
        return None
    depth = 0
    for i in range(len(t) - 1, -1, -1):
        if t[i] in ")）":
            depth += 1
        elif t[i] in "(（":
            depth -= 1
            if depth == 0:
                return i, t[i + 1:-1]
    return None


def _unbalanced(text: str) -> bool:
    return sum(text.count(c) for c in "(（") > sum(text.count(c) for c in ")）")


def _ends_list(text: str, spec: LetterSpec) -> bool:
    t = norm(text)
    return any(t.startswith(w) for w in spec.list_ends)
