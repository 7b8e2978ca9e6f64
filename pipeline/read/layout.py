"""Geometry of positioned boxes: skew, rows, stacked lines, reading order. Pure.

Text-layer and DOCX boxes are axis-aligned; OCR lines come from a page that was scanned a degree
or two askew, so a label and its value on one row can sit at different heights. The page's slope is
measured from the boxes themselves and taken out before any "same row" test.
"""
from __future__ import annotations

import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from ..model import Box


@dataclass(frozen=True)
class Cell(Box):
    """A box that is one whole table cell (text layer, DOCX/XLSX, a ruled scan): its text is complete.
    Cells of one table touch, so a cell is never the wrapped continuation of the cell above it."""


def is_cell(b: Box) -> bool:
    return isinstance(b, Cell)


_MAX_SLOPE = 0.09        # ~5°: beyond that a scan is unusable anyway and pairs are likely wrong rows


def height(b: Box) -> float:
    return max(b.bottom - b.top, 1.0)


def width(b: Box) -> float:
    return max(b.x1 - b.x0, 1.0)


def cy(b: Box) -> float:
    return (b.top + b.bottom) / 2


def cx(b: Box) -> float:
    return (b.x0 + b.x1) / 2


def overlap_y(a: Box, b: Box) -> float:
    return max(0.0, min(a.bottom, b.bottom) - max(a.top, b.top))


def overlap_x(a: Box, b: Box) -> float:
    return max(0.0, min(a.x1, b.x1) - max(a.x0, b.x0))


def same_row(a: Box, b: Box, ratio: float = 0.3) -> bool:
    """On one row: enough vertical overlap, measured against the smaller box (a label beside a
    multi-line value overlaps each of its lines only partly)."""
    return overlap_y(a, b) >= ratio * min(height(a), height(b))


def stacked(upper: Box, lower: Box, gap: float = 0.6) -> bool:
    """`lower` is the next line under `upper` in the same column (a wrapped label or value)."""
    if overlap_x(upper, lower) <= 0 or cy(lower) <= cy(upper):
        return False
    return lower.top - upper.bottom <= gap * max(height(upper), height(lower))


def slope(boxes: Sequence[Box]) -> float:
    """The page's skew as dy/dx, from each box and its nearest neighbour on the right."""
    slopes = []
    for a in boxes:
        right = [b for b in boxes if b is not a and b.x0 >= a.x1 - 0.5 * height(a) and same_row(a, b, 0.2)
                 and cx(b) - cx(a) >= 2 * max(height(a), height(b))]
        if right:
            b = min(right, key=lambda r: r.x0)
            slopes.append((cy(b) - cy(a)) / (cx(b) - cx(a)))
    if len(slopes) < 3:
        return 0.0
    s = statistics.median(slopes)
    return s if 0.002 <= abs(s) <= _MAX_SLOPE else 0.0


def level(boxes: Sequence[Box]) -> list[Box]:
    """The boxes with the page's skew taken out (unchanged when there is none)."""
    s = slope(boxes)
    if not s:
        return list(boxes)
    return [replace(b, top=b.top - s * cx(b), bottom=b.bottom - s * cx(b)) for b in boxes]


def rows(boxes: Iterable[Box]) -> list[list[Box]]:
    """Boxes grouped into rows, top to bottom, each row left to right."""
    out: list[list[Box]] = []
    for b in sorted(boxes, key=lambda b: (cy(b), b.x0)):
        if out and same_row(out[-1][0], b, 0.5):
            out[-1].append(b)
        else:
            out.append([b])
    return [sorted(r, key=lambda b: b.x0) for r in out]


def reading_order(boxes: Sequence[Box]) -> list[Box]:
    return [b for row in rows(level(boxes)) for b in row]


def is_cjk(ch: str) -> bool:
    if len(ch) != 1:
        return False
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\U00020000" <= ch <= "\U0002ffff" \
        or (unicodedata.category(ch).startswith("P") and not ch.isascii())


def join(parts: Sequence[str]) -> str:
    """Pieces of one line: Chinese joins without a space, Latin text (URLs, names) keeps one."""
    out = ""
    for p in parts:
        p = p.strip()
        if not p:
            continue
        if out and not (is_cjk(out[-1]) or is_cjk(p[0])):
            out += " "
        out += p
    return out


def text_of(boxes: Iterable[Box]) -> str:
    """Several boxes read as one text: rows joined by newlines, pieces of a row by join()."""
    return "\n".join(join([b.text for b in row]) for row in rows(boxes))
