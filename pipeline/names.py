"""Unit names compared the way a clerk would: after normalising, and forgiving OCR's slips. Pure.

OCR drops or swaps the rare characters unit names love (镕, 喆, 堃, 犇) and sometimes a bracket; one
slip in a ten-character name still scores 90 with rapidfuzz's ratio, two in eight about 75. Two
different units of one email rarely come that close, and pairing is best-first over all pairs, so
an exact twin always wins over a near one.

What a score cannot see is *where* two names differ. 济南市第一职业培训学校 and 济南市第二职业培训学校
score 90.9 and are two schools: names that differ in a number (0–9, 一二三…, 甲乙丙丁) or in a whole
word (two or more characters in a row: 理工 for 水利, 技术 inserted) are different units, whatever
the score. OCR's slips are single characters, and a number is what it is least likely to invent.
"""
from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .read.text import norm_name

CUTOFF = 80.0
# Characters that make a name a different unit when they differ: digits, numerals, ordinal stems.
_NUMBERS = set("0123456789〇零一二三四五六七八九十百千两壹贰叁肆伍陆柒捌玖拾甲乙丙丁")
_WORD = 2       # differing characters in a row that make a distinct word


def similarity(a: str, b: str) -> float:
    x, y = norm_name(a), norm_name(b)
    if not x or not y:
        return 0.0
    if x == y:
        return 100.0
    if distinct(x, y):
        return 0.0
    return fuzz.ratio(x, y)


def distinct(x: str, y: str) -> bool:
    """Normalised names that differ in a number or in a whole word: never one unit."""
    for op in Levenshtein.opcodes(x, y):
        if op.tag == "equal":
            continue
        left, right = x[op.src_start:op.src_end], y[op.dest_start:op.dest_end]
        if _NUMBERS & set(left + right):
            return True
        if max(len(left), len(right)) >= _WORD:
            return True
    return False


def same_unit(a: str, b: str, cutoff: float = CUTOFF) -> bool:
    return similarity(a, b) >= cutoff


def pair(left: Sequence[str], right: Sequence[str], cutoff: float = CUTOFF) -> list[tuple[int, int, float]]:
    """Best-first one-to-one pairing of two lists of names: (left index, right index, score)."""
    scored = sorted(((similarity(a, b), i, j) for i, a in enumerate(left) for j, b in enumerate(right)),
                    key=lambda s: (-s[0], s[1], s[2]))
    used_l: set[int] = set()
    used_r: set[int] = set()
    out = []
    for score, i, j in scored:
        if score < cutoff:
            break
        if i in used_l or j in used_r:
            continue
        used_l.add(i)
        used_r.add(j)
        out.append((i, j, score))
    return sorted(out)


def best(name: str, candidates: Sequence[str], cutoff: float = CUTOFF) -> tuple[int, float] | None:
    """The one candidate closest to name; None when none is close or two are equally close."""
    scored = sorted(((similarity(name, c), k) for k, c in enumerate(candidates)), reverse=True)
    if not scored or scored[0][0] < cutoff:
        return None
    if len(scored) > 1 and scored[1][0] == scored[0][0] and norm_name(candidates[scored[1][1]]) != \
            norm_name(candidates[scored[0][1]]):
        return None
    return scored[0][1], scored[0][0]
