"""Fields from positioned text boxes by label anchors. Pure: knows boxes and a FormSpec, nothing of files.

Text layer, DOCX/XLSX cells and OCR lines all arrive as boxes, so this is the one place that reads a
form, whatever the layout:

- a value right of its label on the same row (two pairs in one row: each value belongs to the
  nearest label on its left), tolerant of skew and of a label centred beside a multi-line value;
- a value below its label when nothing is right of it (labels above values);
- label and value in one box ("单位名称：…", "联系人：… 联系电话：…"), spaced labels ("联 系 人");
- a label wrapped over two OCR lines ("教学场地面积（平" / "方米）");
- a value wrapped over several lines (each a box, for OCR) continues under its first line.

A field's confidence is the lowest of its label's and its value's boxes.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from rapidfuzz import fuzz, process

from ..model import Box, Evidence, Page, Track
from . import uscc
from .forms import FieldSpec, FormSpec, Marks
from .layout import cy, height, is_cell, is_cjk, level, overlap_x, rows, same_row, stacked, text_of
from .text import norm, norm_label

_FUZZY_LABEL = 85       # rapidfuzz ratio for an OCR-mangled label (one wrong character in seven or more)


@dataclass(frozen=True)
class Extraction:
    fields: dict[str, object]
    confidence: dict[str, float]
    missing_required: tuple[str, ...]
    evidence: dict[str, Evidence]


@dataclass(frozen=True)
class Pair:
    """One label and what was read as its value, before coercion."""

    field: FieldSpec
    raw: str
    confidence: float
    label_box: Box
    value_boxes: tuple[Box, ...] = ()     # none when the value is written in the label's own box
    rank: int = 0                         # its label's place in the field's list (0: the form's own); near misses last

    def evidence(self, page: int, confidence: float) -> Evidence:
        label = _rect((self.label_box,))
        return Evidence(page, _rect(self.value_boxes) if self.value_boxes else label, label, self.raw, confidence)


def _rect(boxes: Sequence[Box]) -> tuple[float, float, float, float]:
    return (round(min(b.x0 for b in boxes), 1), round(min(b.top for b in boxes), 1),
            round(max(b.x1 for b in boxes), 1), round(max(b.bottom for b in boxes), 1))


def extract(pages: Sequence[Page], spec: FormSpec) -> Extraction:
    fields: dict[str, object] = {f.key: None for f in spec.fields}
    confidence: dict[str, float] = {f.key: 0.0 for f in spec.fields}
    evidence: dict[str, Evidence] = {}
    rank: dict[str, int] = {}
    for page in pages:
        for pair in read_pairs(page.boxes, spec):
            key = pair.field.key
            # The most specific label wins, the form definition listing a field's labels from the most
            # specific: 年培训人数 or a near 近三年培训人数, rows of yearly figures, come just before
            # 近三年年均培训人数 and are not it. Among equals the first (later pages repeat labels in
            # notes and summaries).
            if fields[key] is not None and rank[key] <= pair.rank:
                continue
            certainty = 1.0
            value: object
            if pair.field.type == "track":
                track, certainty = read_track(pair.raw, spec)
                value = track.value if track else None
            else:
                value = coerce(pair.raw, pair.field, spec)
            if value is not None:
                fields[key] = value
                confidence[key] = round(pair.confidence * certainty, 3)
                found = pair.evidence(page.number, confidence[key])
                if pair.field.type in ("int", "number") and len(_PER_YEAR.findall(pair.raw)) >= 2:
                    found = replace(found, source=DERIVED_FROM_YEARS)
                evidence[key] = found
                rank[key] = pair.rank
    _codes_apart(fields, confidence, evidence, spec)
    missing = tuple(f.key for f in spec.fields if f.required and fields[f.key] is None)
    return Extraction(fields, confidence, missing, evidence)


# A 统一社会信用代码 inside another value: 18 characters of its alphabet, not part of a longer run.
_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")


def _codes_apart(fields: dict[str, object], confidence: dict[str, float], evidence: dict[str, Evidence],
                 spec: FormSpec) -> None:
    """A name and its credit code written in one cell, or read by OCR as one line: the code goes to its
    field (when that is empty), the name keeps what came before it; what follows the code was another
    cell's (单位性质, read into the same line)."""
    code_key = next((f.key for f in spec.fields if f.type == "credit_code"), None)
    if code_key is None:
        return
    for f in spec.fields:
        value = fields.get(f.key)
        if f.type != "text" or not isinstance(value, str):
            continue
        m = _CODE_IN_TEXT.search(value.upper())
        if m is None or not uscc.is_valid(m.group()):
            continue
        before = value[:m.start()].strip(" ：:，,;；/")
        fields[f.key] = before or None
        if fields.get(code_key) is None:
            fields[code_key] = m.group()
            confidence[code_key] = confidence.get(f.key, 1.0)
            if f.key in evidence:
                evidence[code_key] = evidence[f.key]
        if not before:
            evidence.pop(f.key, None)


# ----------------------------------------------------------------------------------------------
# Labels
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Label:
    field: FieldSpec | None       # None: a label of the form that is no field we read (never a value)
    inline: str                   # the value written in the label's own box, after its colon
    confidence: float
    rank: int = 0                 # the label's place among the field's labels; after them all: a near miss


class _Labels:
    """What counts as a label for one FormSpec, compiled once."""

    def __init__(self, spec: FormSpec):
        self.spec = spec
        self.by_label = {label: f for f in spec.fields for label in f.labels}
        self.rank = {label: f.labels.index(label) for label, f in self.by_label.items()}
        # The same labels without a unit in brackets at the end: 专职教师人数（人） is 专职教师人数.
        self.bare = {_without_unit(label): label for label in self.by_label}
        self.other = set(spec.other_labels)
        names = sorted(set(self.by_label) | self.other, key=len, reverse=True)
        self.names = names
        # A label followed by a colon, anywhere in a box: several pairs may share one line.
        self.colon = re.compile("(" + "|".join(re.escape(n) for n in names) + "):") if names else None
        self.fuzzy_choices = [n for n in self.by_label if len(n) >= 5]

    def hit(self, text: str, conf: float, fuzzy: bool = True) -> _Label | None:
        t = norm_label(text)
        if not t:
            return None
        # A label read letter for letter is the field's, however unsure OCR was of its strokes: only
        # the value's own reading can make the field doubtful (and a near miss, below, its likeness).
        if t in self.by_label:
            return _Label(self.by_label[t], "", 1.0, self.rank[t])
        bare = _without_unit(t)
        if bare in self.bare:
            label = self.bare[bare]
            return _Label(self.by_label[label], "", 1.0, self.rank[label])
        n = norm(text)
        m = self.colon.match(n) if self.colon else None
        if m:
            field = self.by_label.get(m.group(1))
            return _Label(field, n[m.end():].strip(), conf, self.rank.get(m.group(1), 0))
        if t in self.other or (len(t) <= 10 and any(t.endswith(e) for e in self.spec.other_endings)):
            return _Label(None, "", conf)
        # Two labels in one: 申报单位名称及统一社会信用代码. The value belongs to the first; a credit code
        # in it is taken out by its pattern (extract).
        parts = _JOINED.split(bare)
        if len(parts) == 2 and all(_without_unit(x) in self.bare for x in parts):
            label = self.bare[_without_unit(parts[0])]
            return _Label(self.by_label[label], "", 1.0, self.rank[label])
        if fuzzy and len(bare) >= 5 and not re.search(r"\d", bare) and self.fuzzy_choices:
            # OCR misreads one character of a long label: 统一社会信用代马.
            best = process.extractOne(bare, self.fuzzy_choices, scorer=fuzz.ratio, score_cutoff=_FUZZY_LABEL)
            if best:
                field = self.by_label[best[0]]
                return _Label(field, "", conf * best[1] / 100, len(field.labels))
        return None

    def is_prefix(self, text: str) -> bool:
        t = norm(text)
        return len(t) >= 2 and any(name.startswith(t) and name != t for name in self.names)


_JOINED = re.compile(r"及|和|与|、|/")
# A unit, or one character in brackets: OCR reads the small （人） of a scan as (V) or (A).
_UNIT = re.compile(r"\((?:人次|万元|平方米|m2|m²|[^()])\)$")


def _without_unit(label: str) -> str:
    return _UNIT.sub("", label)


@lru_cache(maxsize=16)
def _labels(spec: FormSpec) -> _Labels:
    return _Labels(spec)


def _mapped(text: str) -> tuple[str, list[int]]:
    """NFKC text without spaces, and for each of its characters the index it came from."""
    out, where = [], []
    for i, ch in enumerate(text):
        for n in unicodedata.normalize("NFKC", ch):
            if not n.isspace():
                out.append(n)
                where.append(i)
    return "".join(out), where


def _split_pairs(box: Box, labels: _Labels) -> list[Box]:
    """One box per "label：value" when a line carries several ("联系人：… 联系电话：…")."""
    if labels.colon is None:
        return [box]
    n, where = _mapped(box.text)
    starts = [m.start() for m in labels.colon.finditer(n)]
    if not starts or starts == [0]:
        return [box]
    if starts[0] != 0:
        starts.insert(0, 0)
    size = max(len(box.text), 1)
    out = []
    for a, b in zip(starts, starts[1:] + [len(n)]):
        lo, hi = where[a], (where[b] if b < len(n) else len(box.text))
        piece = box.text[lo:hi].strip()
        if piece:
            x0 = box.x0 + (box.x1 - box.x0) * lo / size
            x1 = box.x0 + (box.x1 - box.x0) * hi / size
            out.append(replace(box, text=piece, x0=x0, x1=x1))
    return out


def _merge_wrapped(boxes: list[Box], labels: _Labels) -> list[Box]:
    """OCR reads a label wrapped in a narrow column as two or three lines: put them back together."""
    merged: dict[int, Box] = {}
    used: set[int] = set()
    for i in sorted(range(len(boxes)), key=lambda k: boxes[k].top):
        b = boxes[i]
        # A table cell holds its whole label; only free lines (OCR without ruling) are pieces of one.
        if i in used or is_cell(b) or labels.hit(b.text, b.confidence, False) is not None \
                or not labels.is_prefix(b.text):
            continue
        joined, taken = b, []
        for _ in range(2):
            below = [j for j, c in enumerate(boxes) if j != i and j not in used and j not in taken
                     and not is_cell(c) and stacked(joined, c) and labels.hit(c.text, c.confidence, False) is None]
            if not below:
                break
            c = boxes[min(below, key=lambda k: boxes[k].top)]
            taken.append(boxes.index(c))
            joined = replace(joined, text=norm(joined.text) + norm(c.text), x0=min(joined.x0, c.x0),
                             x1=max(joined.x1, c.x1), bottom=max(joined.bottom, c.bottom),
                             confidence=min(joined.confidence, c.confidence))
            if labels.hit(joined.text, joined.confidence, False) is not None or not labels.is_prefix(joined.text):
                break
        if labels.hit(joined.text, joined.confidence, False) is not None:
            merged[i] = joined
            used.update(taken)
    return [merged.get(i, b) for i, b in enumerate(boxes) if i not in used]


# ----------------------------------------------------------------------------------------------
# Values
# ----------------------------------------------------------------------------------------------

def read_pairs(boxes: Sequence[Box], spec: FormSpec) -> list[Pair]:
    """Every label found on one page with the text of its value, in reading order."""
    labels = _labels(spec)
    flat = [b for b in boxes if b.text.strip()]
    flat = [piece for b in level(flat) for piece in _split_pairs(b, labels)]
    flat = _merge_wrapped(flat, labels)
    hits = {i: labels.hit(b.text, b.confidence) for i, b in enumerate(flat)}
    label_ix = [i for i, h in hits.items() if h is not None]
    value_ix = [i for i, h in hits.items() if h is None]
    owner: dict[int, int] = {}

    # 1. Right of a label on the same row: the nearest label on the value's left owns it.
    for v in value_ix:
        b = flat[v]
        left = [i for i in label_ix
                if flat[i].x1 <= b.x0 + 0.5 * min(height(b), height(flat[i])) and same_row(flat[i], b)]
        if left:
            owner[v] = max(left, key=lambda i: (flat[i].x1, -abs(cy(flat[i]) - cy(b))))

    # 2. A value wrapped over several lines (OCR): the lines stacked under or over an owned one. A
    #    whole table cell is complete in itself: the cells of a table touch, so the value cell of the
    #    next row would otherwise look like the wrapped second line of this one.
    changed = True
    while changed:
        changed = False
        for v in value_ix:
            if v in owner or is_cell(flat[v]):
                continue
            for w, lab in list(owner.items()):
                if is_cell(flat[w]):
                    continue
                if flat[v].x0 >= flat[lab].x1 - 0.5 * height(flat[lab]) and \
                        (stacked(flat[w], flat[v]) or stacked(flat[v], flat[w])):
                    owner[v] = lab
                    changed = True
                    break

    owned: dict[int, list[int]] = {}
    for v, lab in owner.items():
        owned.setdefault(lab, []).append(v)

    # 3. Below the label when nothing is right of it (labels above values).
    for i in label_ix:
        hit = hits[i]
        if i in owned or hit is None or hit.inline or hit.field is None:
            continue
        label = flat[i]
        below = [j for j in range(len(flat)) if j != i and flat[j].top >= cy(label)
                 and overlap_x(label, flat[j]) > 0.3 * min(label.x1 - label.x0, flat[j].x1 - flat[j].x0)
                 and flat[j].top - label.bottom < 2.5 * height(label)]
        if not below:
            continue
        j = min(below, key=lambda k: flat[k].top)
        if j in owner or hits[j] is not None:
            continue  # the next thing down is another label, or some label's value: this one is empty
        chain = [j]
        for _ in range(0 if is_cell(flat[j]) else 20):  # a cell holds the whole value
            nxt = [k for k in value_ix if k not in owner and k not in chain and not is_cell(flat[k])
                   and stacked(flat[chain[-1]], flat[k])]
            if not nxt:
                break
            chain.append(min(nxt, key=lambda k: flat[k].top))
        for k in chain:
            owner[k] = i
        owned[i] = chain

    pairs = []
    for i in label_ix:
        hit = hits[i]
        if hit is None or hit.field is None:
            continue
        parts = [flat[v] for v in owned.get(i, [])]
        raw = "\n".join(t for t in (hit.inline, value_text(parts)) if t)
        conf = min([hit.confidence] + [b.confidence for b in parts])
        pairs.append(Pair(hit.field, raw, conf, flat[i], tuple(parts), hit.rank))
    order = {id(b): k for k, b in enumerate(b for row in rows(flat) for b in row)}
    return sorted(pairs, key=lambda p: order[id(p.label_box)])


def value_text(parts: Sequence[Box]) -> str:
    """The text of a value made of several boxes. Lines of one cell (or wrapped OCR lines) run on;
    the cells of a value spread over several table rows are entries of a list: when the sender
    separates entries with 、 (主要培训领域), the rows are joined with it too, so that a form typed in
    two rows reads like the same list typed in one."""
    text = text_of(parts)
    cells = [b for b in parts if is_cell(b)]
    if len(cells) < 2 or len(cells) != len(parts) or "、" not in "".join(b.text for b in cells):
        return text
    out = ""
    for row in rows(cells):
        piece = clean_text(text_of(row))
        if out and not (out[-1] in _LIST_ENDS or piece[:1] in _LIST_ENDS):
            out += "、"
        out += piece
    return out


_LIST_ENDS = "、，,；;。：:"


# ----------------------------------------------------------------------------------------------
# Coercion
# ----------------------------------------------------------------------------------------------

def coerce(raw: str, field: FieldSpec, spec: FormSpec) -> object:
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return None
    if field.type == "int":
        years = _PER_YEAR.findall(text)
        if len(years) >= 2:
            # Only the figure of each year was written: the average the field asks for is theirs.
            return round(sum(int(n.replace(",", "")) for _, n in years) / len(years))
        m = _COUNT.search(text)
        return int(m.group().replace(",", "")) if m else None
    if field.type == "number":
        m = re.search(r"\d[\d,]*(\.\d+)?", text)
        if not m:
            return None
        number = float(m.group().replace(",", ""))
        return int(number) if number.is_integer() else number
    if field.type == "credit_code":
        # OCR puts stray spaces, dots or a dash into long codes; the code itself is letters and digits.
        code = re.sub(r"[^0-9A-Za-z]", "", text).upper()
        return code or None
    if field.type == "track":
        track = parse_track(raw, spec)
        return track.value if track else None
    items = list_items(raw)
    return "、".join(items) if items else clean_text(text)


# "2016年：3100人 2017年：3400人 …": a year and its figure. A year beside 年 is never the count.
_PER_YEAR = re.compile(r"((?:19|20)\d{2})\s*年(?:度)?\s*[:：]?\s*(?:培训)?\s*(\d[\d,]*)")
_COUNT = re.compile(r"(?<![\d,])\d[\d,]*(?!\s*年|[\d,])")
DERIVED_FROM_YEARS = "各年度人数的平均数"

# A list's numbering: 1. 1、 1) (1) ① 一、 at the start of the value or after a space or line break
# (circled numbers anywhere: they are nothing else).
_ITEM = re.compile(r"(?:(?:^|(?<=\s))(?:[(（]\s*\d{1,2}\s*[)）]|\d{1,2}\s*[.．、)）](?!\d)|[一二三四五六七八九十]{1,3}\s*[、.．])"
                   r"|[\u2460-\u2473\u2776-\u277f\u2780-\u2789])\s*")


def list_items(raw: str) -> list[str]:
    """The entries of a numbered list ("1. 现代农业\n2. 畜牧兽医", "①…②…", "一、…二、…"), without their
    numbers; [] when the value is no such list (two numbered entries at least, the first at the start)."""
    text = (raw or "").strip()
    marks = list(_ITEM.finditer(text))
    if len(marks) < 2 or marks[0].start() != 0:
        return []
    ends = [m.start() for m in marks[1:]] + [len(text)]
    items = [clean_text(text[m.end():end]).strip(" ;；,，、。") for m, end in zip(marks, ends)]
    return [i for i in items if i]


def clean_text(text: str) -> str:
    """A wrapped value back on one line: a line break next to Chinese goes, one between Latin words
    becomes a space; a space inside a line goes only between two Chinese characters (justified text)."""
    pieces = re.split(r"(\s+)", unicodedata.normalize("NFKC", text or "").strip())
    result = pieces[0]
    for space, piece in zip(pieces[1::2], pieces[2::2]):
        a, b = result[-1:], piece[:1]
        glue = (is_cjk(a) or is_cjk(b)) if "\n" in space else (is_cjk(a) and is_cjk(b))
        result += piece if glue else " " + piece
    # A web address is a word of its own: typed "泉城专技学堂 https://…" keeps the space, OCR's boxes
    # often leave none; one form for both, so every reader gives the same value.
    return _URL_AFTER_CJK.sub(" ", result)


_URL_AFTER_CJK = re.compile(r"(?<=[\u3400-\u9fff])(?=(?:https?://|www\.))")


# ----------------------------------------------------------------------------------------------
# 申报类别
# ----------------------------------------------------------------------------------------------

_TICK, _BOX, _OTHER, _NONE = "tick", "box", "other", "none"
_FRAME = str.maketrans("", "", "()[]【】{}<>:;,.、。")


# How sure a 申报类别 reading is, beyond the recogniser's own confidence in the text. A guess (an option
# told only by elimination, or named by words on a line of tick boxes none of which is ticked) is
# worth no more than a coin: it must reach a person, never pass as read.
SURE, GUESSED = 1.0, 0.5


def parse_track(text: str, spec: FormSpec) -> Track | None:
    return read_track(text, spec)[0]


def read_track(text: str, spec: FormSpec) -> tuple[Track | None, float]:
    """申报类别 as ticked boxes (☑ … □ …, or … ☑ after the option) or as plain words, and how sure."""
    t = norm(text)
    if not t:
        return None, 0.0
    marks = spec.marks
    explicit = any(m in t for m in marks.ticked + marks.unticked)
    options = _options_in(t, spec)
    if len(options) >= 2 or (options and explicit):
        return _ticked(t, options, marks)
    if explicit and not spec.options:
        return _ticked_by_marks(t, spec), SURE
    for track, words in spec.tracks:
        if any(w in t for w in words):
            # Typed words ("乡村振兴专项") say what the sender chose. An option beside a box glyph is
            # what is left of a tick-box line whose other options were lost (an OCR line dropped):
            # nothing on it is ticked, so the words only name an option that was printed.
            boxed = bool(options) and any(_glyph(ch, marks) == _BOX for ch in t)
            return track, GUESSED if boxed else SURE
    return None, 0.0


def _options_in(t: str, spec: FormSpec) -> list[tuple[int, int, Track]]:
    phrases = sorted(((p, o.track) for o in spec.options for p in o.texts), key=lambda x: -len(x[0]))
    if not phrases:
        return []
    pattern = re.compile("|".join(re.escape(p) for p, _ in phrases))
    track_of = dict(phrases)
    return [(m.start(), m.end(), track_of[m.group()]) for m in pattern.finditer(t)]


def _glyph(segment: str, marks: Marks) -> str:
    s = segment.translate(_FRAME)
    if not s:
        return _NONE
    if any(m in s for m in marks.ticked):
        return _TICK
    if all(ch in marks.unticked for ch in s):
        return _BOX
    if len(s) <= 2:
        if any(ch in marks.ocr_ticked for ch in s) and not any(ch in marks.unticked for ch in s):
            return _TICK
        if all(ch in marks.unticked + marks.ocr_unticked for ch in s):
            return _BOX
    return _OTHER


def _ticked(t: str, options: list[tuple[int, int, Track]], marks: Marks) -> tuple[Track | None, float]:
    gaps = [t[(options[k - 1][1] if k else 0):start] for k, (start, _, _) in enumerate(options)]
    gaps.append(t[options[-1][1]:])
    # Ticks usually precede their option; a line that starts with an option and ends with a mark
    # was filled in after each option ("省级继续教育基地☑ 乡村振兴专项□").
    after = not gaps[0] and bool(gaps[-1])
    glyphs = [_glyph(gaps[k + 1] if after else gaps[k], marks) for k in range(len(options))]
    ticked = {options[k][2] for k, g in enumerate(glyphs) if g == _TICK}
    if len(ticked) == 1:
        return ticked.pop(), SURE
    if ticked:
        return None, 0.0  # several ticked: a person decides
    # OCR drops ☑ or reads it as anything; the empty boxes it keeps ("口") tell the others apart,
    # but only as a guess: a box that was never ticked looks the same once its neighbours are empty.
    rest = {options[k][2] for k, g in enumerate(glyphs) if g != _BOX}
    if len(rest) == 1 and any(g == _BOX for g in glyphs):
        return rest.pop(), GUESSED
    return None, 0.0


def _ticked_by_marks(t: str, spec: FormSpec) -> Track | None:
    marks = "".join(re.escape(m) for m in spec.ticked + spec.unticked)
    options = re.findall(f"([{marks}])([^{marks}]*)", t)
    chosen = [option for mark, option in options if mark in spec.ticked]
    if len(chosen) != 1:
        return None
    for track, words in spec.tracks:
        if any(w in chosen[0] for w in words):
            return track
    return None
