"""Fields from positioned text boxes by label anchors: the value is right of its label, else below it.

Pure: knows boxes and a FormSpec, nothing of files. Text layer, DOCX cells and OCR lines all arrive
as boxes, so this is the one place that reads a form.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from ..model import Box, Page, Track
from .forms import FieldSpec, FormSpec
from .text import norm, norm_label


@dataclass(frozen=True)
class Extraction:
    fields: dict[str, object]
    confidence: dict[str, float]
    missing_required: tuple[str, ...]


def extract(pages: Sequence[Page], spec: FormSpec) -> Extraction:
    by_label = {label: f for f in spec.fields for label in f.labels}
    # Longest first, so 联系人姓名 is not read as 联系人 followed by a value.
    prefixes = sorted(by_label, key=len, reverse=True)
    fields: dict[str, object] = {f.key: None for f in spec.fields}
    confidence: dict[str, float] = {f.key: 0.0 for f in spec.fields}
    for page in pages:
        boxes = [b for b in page.boxes if b.text.strip()]
        labels = {i: _label_hit(b.text, by_label, prefixes) for i, b in enumerate(boxes)}
        for i, box in enumerate(boxes):
            hit = labels[i]
            if hit is None:
                continue
            field, inline = hit
            if fields[field.key] is not None:
                continue  # first occurrence wins: later pages repeat labels in notes and summaries
            if inline:
                raw, conf = inline, box.confidence
            else:
                j = _value_index(i, boxes, labels)
                if j is None:
                    continue
                raw, conf = boxes[j].text, min(box.confidence, boxes[j].confidence)
            value = coerce(raw, field, spec)
            if value is not None:
                fields[field.key] = value
                confidence[field.key] = round(conf, 3)
    missing = tuple(f.key for f in spec.fields if f.required and fields[f.key] is None)
    return Extraction(fields, confidence, missing)


def _label_hit(text: str, by_label: dict[str, FieldSpec], prefixes: list[str]) -> tuple[FieldSpec, str] | None:
    t = norm_label(text)
    if t in by_label:
        return by_label[t], ""
    n = norm(text)
    for label in prefixes:
        if n.startswith(label) and len(n) > len(label) and n[len(label)] in ":：":
            return by_label[label], n[len(label) + 1:].strip()
    return None


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _value_index(i: int, boxes: list[Box], labels: dict[int, object]) -> int | None:
    """The box right of label i on the same row, else the nearest below it; a label is no value."""
    label = boxes[i]
    height = max(label.bottom - label.top, 1.0)
    right = [
        j for j, b in enumerate(boxes)
        if j != i and b.x0 >= label.x1 - 2
        and _overlap(label.top, label.bottom, b.top, b.bottom) >= 0.5 * min(height, b.bottom - b.top or 1.0)
    ]
    if right:
        j = min(right, key=lambda k: boxes[k].x0)
        return None if labels.get(j) is not None or _is_other_label(boxes[j].text) else j
    below = [
        j for j, b in enumerate(boxes)
        if j != i and b.top >= label.bottom - 1 and b.top - label.bottom < 3 * height
        and _overlap(label.x0, label.x1, b.x0, b.x1) > 0
    ]
    if below:
        j = min(below, key=lambda k: boxes[k].top)
        return None if labels.get(j) is not None else j
    return None


def _is_other_label(text: str) -> bool:
    # A label cell of the form that is not a field we read (e.g. 推荐单位意见) ends with these words.
    return bool(re.search(r"(意见|情况|说明|签章|盖章)[:：]?$", norm(text)))


def coerce(raw: str, field: FieldSpec, spec: FormSpec) -> object:
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return None
    if field.type == "int":
        m = re.search(r"\d[\d,]*", text)
        return int(m.group().replace(",", "")) if m else None
    if field.type == "number":
        m = re.search(r"\d[\d,]*(\.\d+)?", text)
        if not m:
            return None
        number = float(m.group().replace(",", ""))
        return int(number) if number.is_integer() else number
    if field.type == "credit_code":
        code = re.sub(r"[\s\-—]", "", text).upper()
        return code or None
    if field.type == "track":
        track = parse_track(raw, spec)
        return track.value if track else None
    return re.sub(r"\s*\n\s*", "", text) if _cjk_lines(text) else re.sub(r"\s+", " ", text)


def _cjk_lines(text: str) -> bool:
    # Chinese wrapped across lines joins without a space; Latin text (URLs, names) keeps one.
    return "\n" in text and bool(re.search(r"[\u4e00-\u9fff]\s*\n", text))


def parse_track(text: str, spec: FormSpec) -> Track | None:
    """申报类别 as ticked boxes (☑ … □ …) or as plain words."""
    t = norm(text)
    marks = "".join(re.escape(m) for m in spec.ticked + spec.unticked)
    if re.search(f"[{marks}]", t):
        options = re.findall(f"([{marks}])([^{marks}]*)", t)
        chosen = [option for mark, option in options if mark in spec.ticked]
        if len(chosen) != 1:
            return None  # nothing or several ticked: a person must decide
        t = chosen[0]
    for track, words in spec.tracks:
        if any(w in t for w in words):
            return track
    return None
