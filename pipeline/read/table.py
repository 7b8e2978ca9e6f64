"""Rows of an applicants table (汇总表, or a 推荐函's list as a table) from positioned boxes. Pure.

The header row is found by its cells' labels (templates/forms/summary.yaml); each column spans from
its header cell's centre halfway to its neighbours'. Rows start at the 序号 cells: a cell that wraps
over several OCR lines still lands in its row, because its lines sit between two row numbers.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from ..model import Box, Listed, Page, Track
from .fields import _Labels, _merge_wrapped, coerce
from .forms import FieldSpec, FormSpec, TableSpec
from .layout import cx, cy, height, level, rows, same_row, text_of
from .text import norm

_ROW_NUMBER = re.compile(r"^[(（]?(\d{1,3}|[一二三四五六七八九十]{1,3})[)）.．、]?$")


@dataclass(frozen=True)
class _Column:
    field: FieldSpec
    left: float
    right: float


def read_table(pages: Sequence[Page], spec: TableSpec, form: FormSpec) -> tuple[Listed, ...]:
    """Each row that names an applicant, with its other cells as fields (keys as on the form)."""
    out: list[Listed] = []
    columns: list[_Column] | None = None
    for page in pages:
        boxes = level([b for b in page.boxes if b.text.strip()])
        found = _header(boxes, spec)
        if found:
            columns, bottom = found
        elif columns is not None:
            bottom = float("-inf")  # a table running on from the previous page, header not repeated
        else:
            continue
        body = [b for b in boxes if b.top >= bottom - 1 and not _spans(b, columns)]
        out.extend(_rows(body, columns, spec, form))
    return tuple(out)


def _header(boxes: list[Box], spec: TableSpec) -> tuple[list[_Column], float] | None:
    column_spec = FormSpec(spec.kind, "", spec.columns)
    labels = _Labels(column_spec)
    boxes = _merge_wrapped(boxes, labels)
    hits = [(b, labels.hit(b.text, b.confidence)) for b in boxes]
    cells = [(b, h.field) for b, h in hits if h is not None and h.field is not None and not h.inline]
    best: list[tuple[Box, FieldSpec]] = []
    for b, _ in cells:
        row = [(c, f) for c, f in cells if same_row(b, c)]
        if len({f.key for _, f in row}) > len({f.key for _, f in best}):
            best = row
    keys = {f.key for _, f in best}
    if len(keys) < spec.min_columns or spec.name_key not in keys:
        return None
    best.sort(key=lambda cf: cx(cf[0]))
    seen: set[str] = set()
    unique = []
    for b, f in best:                   # the leftmost column of each field
        if f.key not in seen:
            seen.add(f.key)
            unique.append((b, f))
    centres = [cx(b) for b, _ in unique]
    columns = []
    for k, (_, f) in enumerate(unique):
        left = (centres[k - 1] + centres[k]) / 2 if k else float("-inf")
        right = (centres[k] + centres[k + 1]) / 2 if k + 1 < len(unique) else float("inf")
        columns.append(_Column(f, left, right))
    return columns, max(b.bottom for b, _ in unique)


def _spans(b: Box, columns: list[_Column]) -> bool:
    """A line across several columns (a note under the table, the signature) is no cell."""
    return sum(b.x0 <= (c.left + c.right) / 2 <= b.x1 for c in columns[1:-1]) >= 2


def _column(b: Box, columns: list[_Column]) -> _Column | None:
    x = cx(b)
    for c in columns:
        if c.left <= x < c.right:
            return c
    return None


def _rows(body: list[Box], columns: list[_Column], spec: TableSpec, form: FormSpec) -> list[Listed]:
    keys = {c.field.key for c in columns}
    anchor_key = spec.index_key if spec.index_key in keys else spec.name_key
    anchors = sorted((b for b in body if (c := _column(b, columns)) and c.field.key == anchor_key
                      and (anchor_key != spec.index_key or _ROW_NUMBER.match(norm(b.text)))),
                     key=cy)
    if anchor_key == spec.name_key:
        # Without 序号, a name cell's wrapped second line must not start a row of its own.
        anchors = [r[0] for r in rows(anchors)]
        anchors = [a for k, a in enumerate(anchors) if not k or cy(a) - cy(anchors[k - 1]) > 1.2 * height(a)]
    if not anchors:
        return []
    bounds = [(cy(a) + cy(b)) / 2 for a, b in pairwise(anchors)]
    pitch = (cy(anchors[-1]) - cy(anchors[0])) / (len(anchors) - 1) if len(anchors) > 1 else 3 * height(anchors[0])
    lows = [float("-inf")] + bounds
    highs = bounds + [max(anchors[-1].bottom, cy(anchors[-1]) + pitch / 2)]
    cells: list[dict[str, list[Box]]] = [{} for _ in anchors]
    for b in body:
        c = _column(b, columns)
        if c is None:
            continue
        for k, (lo, hi) in enumerate(zip(lows, highs)):
            if lo <= cy(b) < hi:
                cells[k].setdefault(c.field.key, []).append(b)
                break
    out = []
    for row in cells:
        name_boxes = row.get(spec.name_key, [])
        name = coerce(text_of(name_boxes), FieldSpec(spec.name_key, ("",)), form) if name_boxes else None
        if not name:
            continue
        fields: dict[str, object] = {}
        confidence: dict[str, float] = {}
        for c in columns:
            if c.field.key in (spec.index_key, spec.name_key) or c.field.key not in row:
                continue
            value = coerce(text_of(row[c.field.key]), c.field, form)
            if value is not None:
                fields[c.field.key] = value
                confidence[c.field.key] = round(min(b.confidence for b in row[c.field.key]), 3)
        track = fields.pop("track", None)
        confidence.pop("track", None)
        out.append(Listed(str(name), Track(str(track)) if track else None, fields, confidence,
                          round(min(b.confidence for b in name_boxes), 3), spec.kind.value))
    return out
