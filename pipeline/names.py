"""Whether two unit names are the same unit: the only place that says so. Pure.

Every rule that needs the answer asks here: pairing an email's subject, 推荐函, 汇总表 and 申请表
(assemble, reconcile); resubmissions and 多头申报 (round/assess, by key together with the 统一社会信用代码);
a 推荐函 or a form sent in another email answering a missing one; a subject naming its applicant;
the 附件3/附件4 lists; and the ledger keeping an application's number when its message is read again.

The rules, in the order they apply:

1. Spelling is not identity. Full-width and half-width, spaces, brackets of any kind, punctuation at
   the ends and the case of Latin letters are normalised away: 山东能源集团（技师学院）培训中心 is
   山东能源集团技师学院培训中心, ＡＢＣ培训中心 is abc培训中心.
2. A track noted in brackets at the end is not part of the name: a 推荐函 writes 乙乡村学院（乡村振兴）
   for the form's 乙乡村学院 (the notice's track labels and their short forms: 省级继续教育基地,
   乡村振兴, 乡村振兴专项, 重新确认, 审验…). Any other bracket at the end is: 山东大学（威海） is a
   campus, not 山东大学.
3. The legal form at the end is not part of the name: 济南某某科技, 济南某某科技有限公司,
   …有限责任公司 and …股份有限公司 are one company. Senders drop it when they type a list, and
   registration does not allow two companies whose names differ only in their form.
4. A different number or place is a different unit, however close: 济南市第一职业培训学校 and
   济南市第二职业培训学校 score 90.9 and are two schools (0–9, 一二三…, 甲乙丙丁); so are 历城区 and
   历下区, 市中区 and 市北区 (the character before 省/市/区/县/旗/镇/乡). OCR invents a number least of
   all, and a place is the first thing a name says. (山东 and 山西 elsewhere in a name stay one slip:
   nearly every unit here begins with 山东, and OCR reading 东 wrong once must not split them all.)
5. A different word is a different unit: names that differ in two or more characters in a row
   (理工 for 水利, 技术 inserted). So a part of a university is not the university: 山东大学,
   山东大学继续教育学院, 山东大学（威海）分校 and 某某大学某某分院 are four units. A school, campus or
   branch applies under its own name and is counted on its own.
6. One slip is forgiven. OCR drops or swaps the rare characters unit names love (镕, 喆, 堃, 犇) and
   sometimes a bracket; one slip in a ten-character name still scores 90 with rapidfuzz's ratio, two
   in eight about 75, and CUTOFF is 80.

key() applies rules 1–3: equal keys are the same unit, and it is the key to group and index by.
same_unit() applies all six. Pairing (pair, best) is best-first over all pairs, so an exact twin
always wins over a near one.

A whole round is grouped by key and valid credit code, not by same_unit: a merge takes an
application out of the tables, one character may be another district (历城区, 历下区), and every
pair of a province's names is quadratic. A misread twin joins its group by its credit code, or
once the clerk corrects its name.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from .model import TRACK_LABELS
from .read.text import norm, norm_name

CUTOFF = 80.0
# Characters that make a name a different unit when they differ: digits, numerals, ordinal stems.
_NUMBERS = set("0123456789〇零一二三四五六七八九十百千两壹贰叁肆伍陆柒捌玖拾甲乙丙丁")
_PLACE_ENDS = set("省市区县旗镇乡")   # a character differing just before one of these names another place
_WORD = 2       # differing characters in a row that make a distinct word
# What a list writes in brackets after a name to say its track (rule 2), compared without brackets.
_TRACK_NOTES = frozenset({norm_name(label) for label in TRACK_LABELS.values()}
                         | {"省级基地", "乡村振兴", "乡村振兴专项", "重新确认", "审验"})
_OPEN, _CLOSE = "([{【〔", ")]}】〕"
_LEGAL_FORM = re.compile(r"(?:股份有限公司|有限责任公司|有限公司)$")
_SHORTEST = 2   # what must remain of a name once a note or a legal form is taken off
_TRAILING = "·.,，。;；:：、-—_"


# A round compares each applicant with every name its recommender's letters list, again at every pass.
@lru_cache(maxsize=1 << 16)
def key(name: str) -> str:
    """The name as identity sees it (rules 1–3): equal keys, the same unit."""
    text = norm_name(_without_track_note(norm(name))).casefold()
    stem = _LEGAL_FORM.sub("", text)
    return stem if len(stem) >= _SHORTEST else text


def _without_track_note(text: str) -> str:
    """text less the bracketed track notes at its end; nested ones (省级继续教育基地（乡村振兴）专项) too."""
    text = text.rstrip(_TRAILING)
    while (opening := _last_group(text)) is not None:
        note = norm_name(text[opening:]).removeprefix("申报")
        rest = text[:opening].rstrip(_TRAILING)
        if note not in _TRACK_NOTES or len(rest) < _SHORTEST:
            break
        text = rest
    return text


def _last_group(text: str) -> int | None:
    """Where the balanced bracket group that ends text opens (brackets of any kind count alike)."""
    if not text or text[-1] not in _CLOSE:
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] in _CLOSE:
            depth += 1
        elif text[i] in _OPEN:
            depth -= 1
            if depth == 0:
                return i
    return None


def similarity(a: str, b: str) -> float:
    """How alike two names are, 0–100: 100 for equal keys, 0 for a different number or word."""
    x, y = key(a), key(b)
    if not x or not y:
        return 0.0
    if x == y:
        return 100.0
    if distinct(x, y):
        return 0.0
    return fuzz.ratio(x, y)


def distinct(x: str, y: str) -> bool:
    """Keys that differ in a number, a place or a whole word (rules 4 and 5): never one unit."""
    for op in Levenshtein.opcodes(x, y):
        if op.tag == "equal":
            continue
        left, right = x[op.src_start:op.src_end], y[op.dest_start:op.dest_end]
        if _NUMBERS & set(left + right):
            return True
        if x[op.src_end:op.src_end + 1] in _PLACE_ENDS:
            return True
        if max(len(left), len(right)) >= _WORD:
            return True
    return False


def same_unit(a: str, b: str, cutoff: float = CUTOFF) -> bool:
    return similarity(a, b) >= cutoff


def on_list(name: str, names: Iterable[str]) -> bool:
    """Whether a list (附件3, 附件4, a 推荐函's applicants) names this unit."""
    return any(same_unit(name, n) for n in names)


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
