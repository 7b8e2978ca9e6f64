"""OCR of scanned pages and photos into positioned Boxes, and the worker pool that runs it during a pass.

rapidocr-onnxruntime carries the PP-OCR models in its wheel and never reaches the network. A page is
turned upright (sideways and upside-down scans), straightened, freed of red seals, read line by line,
its tick boxes restored (the recogniser has no ☑), and its lines gathered per table cell like the text
layer's boxes, so that fields.py reads a scan exactly as it reads a Word-made PDF.
"""
from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import multiprocessing
import os
import resource
import sys
import threading
import types
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from .. import caches
from ..filing import write_atomic
from ..model import Box, Frame, Page
from . import Unreadable, detect, models
from .grid import Rect, cell_of, find_cells
from .layout import Cell
from .raster import Raster, drop_red, load_photo, render_pdf_page, scaling, skew_angle, straighten, straightening, turn, turning
from .rectify import rectified
from .text import has_cjk

log = logging.getLogger("intake.read")

TICKED, UNTICKED = "☑", "□"
# Seconds one page may take in a worker: a page reads in 5–10 s on one core, so this only ends a
# worker stuck on a pathological file (ocr.page_timeout in inbox_rules.yaml).
PAGE_TIMEOUT = 300.0
# A character read with less confidence than this is a guess, whatever its line's average says.
GUESS = 0.5
# A line read with less confidence than this is read again from its rows detected at full size.
DOUBT = 0.85
# Below this share of a page's lines turned over by rapidocr's angle classifier, the page is upright.
UPRIGHT = 0.25
# Columns one recognition batch may hold (its lines × the widest, at the recogniser's 48 px height): six
# lines up to the recogniser's least width (320), fewer of wider ones. rapidocr batches six whatever
# their width, so a page's six longest lines (one a whole table row, 1400 columns) went through together,
# each padded to the longest: on bench/reading.py's scanned pages that batch alone raised a worker by
# 170 MB, and the budget makes recognition a fifth faster.
BATCH_COLUMNS = 1920


@dataclass(frozen=True)
class PageJob:
    """One page to read: the whole file travels, so rendering happens in the worker too."""

    data: bytes
    kind: str        # "pdf" | "photo"
    index: int       # 0-based page of the PDF; 0 for a photo
    dpi: int

    @property
    def number(self) -> int:
        return self.index + 1


@dataclass(frozen=True)
class Failed:
    """A page that could not be read, with the reason for the clerk."""

    reason: str
    transient: bool = False   # the worker died under it: the machine's fault (memory), tried again later


@dataclass(frozen=True)
class Line:
    """One recognised line in page pixels; words are (text, x0, x1, score), characters for Chinese."""

    text: str
    rect: tuple[float, float, float, float]
    score: float
    words: tuple[tuple[str, float, float, float], ...] = ()


@dataclass(frozen=True)
class Reading:
    """One page as the recogniser saw it, before its lines are gathered into boxes: kept as a fixture
    (tests/data/forms/ocr-*.json), it lets the tests read a real scan without running OCR."""

    lines: tuple[Line, ...]
    cells: tuple[Rect, ...]
    scale: float                 # points per pixel
    frame: Frame | None = None   # see Page.frame

    def page(self, number: int) -> Page:
        return Page(number, tuple(to_boxes(self.lines, list(self.cells), self.scale)), self.frame)

    def to_json(self, exact: bool = False) -> dict:
        """Rounded for a fixture a person reads; `exact` to read back the very same page (Readings)."""
        def r(v: float, places: int) -> float:
            return float(v) if exact else round(v, places)

        out = {"scale": self.scale, "cells": [list(c) for c in self.cells],
               "lines": [[line.text, *(r(v, 1) for v in line.rect), r(line.score, 4),
                          [[w, r(x0, 1), r(x1, 1), r(sc, 4)] for w, x0, x1, sc in line.words]]
                         for line in self.lines]}
        if self.frame:
            out["frame"] = list(self.frame)
        return out

    @classmethod
    def from_json(cls, data: dict) -> Reading:
        lines = tuple(Line(text, (x0, top, x1, bottom), score, tuple(tuple(w) for w in words))
                      for text, x0, top, x1, bottom, score, words in data["lines"])
        frame = tuple(data["frame"]) if data.get("frame") else None
        return cls(lines, tuple(tuple(c) for c in data["cells"]), data["scale"], frame)


class OcrUnavailable(Exception):
    """The OCR engine could not be loaded in the worker (a missing system library, a broken install)."""


class Engine:
    """rapidocr with the page preparation around it. Loading takes about half a second, and a worker holds
    ~165 MB once loaded (the interpreter included): one per worker process, kept for the whole pass."""

    def __init__(self, threads: int = 1, models_kept: Path | None = None):
        from rapidocr_onnxruntime import RapidOCR  # heavy (onnxruntime, OpenCV): only where OCR runs

        # rapidocr shrinks the page to 2000 px a side before anything, so recognition sees that page (a fifth
        # faster than the whole 200 dpi page, as many lines found). Detection at that size was most of a
        # worker's memory (~460 MB for an A4 page); the detector now sees the page at 1280 px and only the
        # rows where it left ink uncovered, or read a line with a guess, at full size (detect.py): less than
        # half the memory, and the fixtures and real forms read as well or better. Each simpler way tried read
        # them worse (bench/accuracy.py): the whole page at 1280 or 1600 px alone lost the tick-box rows;
        # bands of 800 rows over the whole page moved the line boxes and misread a fixture's 场地面积 (the
        # detector's 40 squeeze-and-excitation blocks pool over all they see: even bands of 640 rows
        # overlapping by 256 change 2 % of the text map, which is why a row is detected again with at least
        # LEAST_ROWS around it); reading the lines from the unshrunk page raised more false flags; recognising
        # two lines per batch instead of six (a fifth faster, less padding) misread one more credit code.
        # The threads are set for the whole engine: rapidocr 1.4 overwrites det_/cls_/rec_ thread counts
        # with the global ones, so per-model counts left every session on all the machine's cores.
        self._ocr = RapidOCR(max_side_len=2000, intra_op_num_threads=threads, inter_op_num_threads=1)
        for holder in (self._ocr.text_det.infer, self._ocr.text_cls.infer, self._ocr.text_rec.session):
            holder.session = models.session_like(holder.session, models_kept)

    def read(self, raster: Raster, number: int) -> Page:
        return self.reading(raster).page(number)

    def reading(self, raster: Raster) -> Reading:
        """What the page shows once prepared: its lines (ticks restored) and its table cells."""
        grey, moved = _straight(drop_red(raster.pixels))
        lines, turns = self._lines(grey, settle=True)
        if turns:  # rare: read the right way up rather than probe every page twice
            turned = turning(grey.shape, turns)
            grey, again = _straight(turn(grey, turns))
            moved = again @ turned @ moved
            lines = self.lines(grey)
        rects = [line.rect for line in lines]
        lines = [restore_ticks(grey, line, rects[:i] + rects[i + 1:]) for i, line in enumerate(lines)]
        give_back()
        scale = raster.points_per_pixel(grey.shape[1])
        frame = raster.to_source() @ np.linalg.inv(moved) @ scaling(1 / scale)
        return Reading(tuple(lines), tuple(find_cells(grey)), scale, as_frame(frame))

    def lines(self, grey: np.ndarray) -> list[Line]:
        """The lines of an image read as it lies."""
        return self._lines(grey, settle=False)[0]

    def _lines(self, grey: np.ndarray, settle: bool) -> tuple[list[Line], int]:
        """The page's lines; or, settling which way up the page lies, none and the quarter turns that
        make it upright when it does not (see _read)."""
        result, turns = self._read(grey, settle)
        out = []
        for quad, text, score, *word_info in result:
            xs, ys = [p[0] for p in quad], [p[1] for p in quad]
            rect = (min(xs), min(ys), max(xs), max(ys))
            words: tuple = ()
            if len(word_info) == 3 and word_info[1]:
                words = tuple((w, min(p[0] for p in q), max(p[0] for p in q), float(s))
                              for q, w, s in zip(*word_info))
                if "".join(w for w, *_ in words) == text.replace(" ", ""):
                    text = _join(words, rect[3] - rect[1])
            if text.strip():
                out.append(Line(text, rect, float(score), words))
        return out, turns

    def _read(self, grey: np.ndarray, settle: bool) -> tuple[list, int]:
        """rapidocr's __call__ with return_word_box, step by step. Settling, the page's way up is
        decided between the angle classifier and recognition, from the line boxes and the share of the
        lines the classifier turned over (it reads each line upside down or not): on every upright
        scan and photo of the fixtures and the real forms at most 2 lines in 27 were turned, on the
        upside-down scan 56 of 57. A page lying otherwise is not recognised before it is turned."""
        ocr = self._ocr
        img = ocr.load_img(grey)
        raw_h, raw_w = img.shape[:2]
        img, ratio_h, ratio_w = ocr.preprocess(img)
        record: dict = {"preprocess": {"ratio_h": ratio_h, "ratio_w": ratio_w}}
        img, record = ocr.maybe_add_letterbox(img, record)
        boxes, spans = self._detect(img)
        if not boxes:
            return [], 0
        classified = self._classify(img, boxes)
        if settle:
            angles = classified[2]
            flipped = sum(1 for label, score in angles if label == "180" and score > ocr.text_cls.cls_thresh)
            quads = ocr._get_origin_points(np.array(boxes), record, raw_h, raw_w)
            rects = [(float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max()))
                     for q in quads]
            turns = self.quarter_turns(grey, rects, flipped / len(angles))
            if turns:
                return [], turns
        angles, read = self._recognise(boxes, classified)
        boxes, angles, read = self._doubts_again(img, spans, boxes, angles, read)
        for one in read:
            if one[2]:
                one[2] = ocr._get_origin_points(one[2], record, raw_h, raw_w).astype(np.int32).tolist()
        result, _ = ocr.get_final_res(ocr._get_origin_points(np.array(boxes), record, raw_h, raw_w),
                                      angles, read, 0, 0, 0)
        return result or [], 0

    def _doubts_again(self, img: np.ndarray, spans: Sequence[tuple[int, int]], boxes: list[np.ndarray],
                      angles: list, read: list) -> tuple[list[np.ndarray], list, list]:
        """The page's lines with those read with a guess read again from their rows detected at full
        size, unless they were already (spans): a coarse box that cut a tick box off its line or
        joined two lines shows as a character the recogniser is unsure of."""
        height = img.shape[0]
        doubtful = [box for box, one in zip(boxes, read) if _doubtful(one)
                    and not any(detect.whole_in(box, top, bottom, height) for top, bottom in spans)]
        if not doubtful:
            return boxes, angles, read
        again = [piece for top, bottom in detect.around(doubtful, height) for piece in detect.pieces(top, bottom)]
        fine = self._fine(img, again)
        if not fine:
            return boxes, angles, read
        gone = set(detect.superseded(boxes, fine, again, height))
        more_angles, more = self._recognise(fine, self._classify(img, fine))
        keep = [i for i in range(len(boxes)) if i not in gone]
        boxes = [boxes[i] for i in keep] + fine
        angles = [angles[i] for i in keep] + more_angles
        read = [read[i] for i in keep] + more
        order = detect.reading_order(boxes)
        return [boxes[i] for i in order], [angles[i] for i in order], [read[i] for i in order]

    def _classify(self, img: np.ndarray, boxes: list[np.ndarray]) -> tuple[list, list, list]:
        """Each box's crop, the crop as the angle classifier turned it, and its angle."""
        crops = self._ocr.get_crop_img_list(img, boxes)
        shown, angles, _ = self._ocr.text_cls(list(crops))
        return crops, list(shown), list(angles)

    def _recognise(self, boxes: list[np.ndarray], classified: tuple[list, list, list]) -> tuple[list, list]:
        """Each box's angle and reading (text, score, word boxes, words, scores)."""
        ocr = self._ocr
        crops, shown, angles = classified
        read = self._text(shown)
        # The classifier now and then turns over a long upright line (0.91 sure on a tick-box row of a
        # photo), which then reads as nothing: a line it turned that reads doubtfully is read as it lies
        # too, and the better reading kept.
        again = [i for i, (label, score) in enumerate(angles)
                 if label == "180" and score > ocr.text_cls.cls_thresh and _doubtful(read[i], empty=True)]
        if again:
            lying = self._text([crops[i] for i in again])
            for i, one in zip(again, lying):
                if one[1] > read[i][1]:
                    read[i], angles[i], shown[i] = one, ["0", 1.0], crops[i]
        return angles, list(ocr.cal_rec_boxes(shown, boxes, read))

    def _text(self, crops: Sequence[np.ndarray]) -> list:
        """rapidocr's recogniser over the crops (text, score, word boxes), in batches of BATCH_COLUMNS."""
        rec = self._ocr.text_rec
        _, height, least = rec.rec_image_shape
        read: list = [None] * len(crops)
        for batch in width_batches([max(least, height * c.shape[1] / max(1, c.shape[0])) for c in crops],
                                   BATCH_COLUMNS, rec.rec_batch_num):
            got, _ = rec([crops[i] for i in batch], True)
            for i, one in zip(batch, got):
                read[i] = one
        return read

    def _detect(self, img: np.ndarray) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
        """The page's line boxes in reading order, and the bands of rows detected at full size: the
        whole page at COARSE_SIDE, then again the rows where ink was left outside every box (see
        detect.py)."""
        give_back()     # what the last recognition freed, before detection asks for its own
        coarse = self._boxes(img, detect.COARSE_SIDE)
        give_back()
        spans = [piece for top, bottom in detect.uncovered_rows(img[:, :, 0], coarse)
                 for piece in detect.pieces(top, bottom)]
        fine = self._fine(img, spans)
        gone = set(detect.superseded(coarse, fine, spans, img.shape[0]))
        boxes = [box for i, box in enumerate(coarse) if i not in gone] + fine
        give_back()     # the detector's memory, before recognition asks for its own
        return [boxes[i] for i in detect.reading_order(boxes)], spans

    def _fine(self, img: np.ndarray, spans: Sequence[tuple[int, int]]) -> list[np.ndarray]:
        """The boxes found in these bands of rows at the page's own size, each line once."""
        fine = []
        for top, bottom in spans:
            give_back()
            for box in self._boxes(img[top:bottom], None):
                box = box + np.array([0, top], dtype=box.dtype)
                if detect.whole_in(box, top, bottom, img.shape[0]):
                    fine.append(box)
        return detect.once(fine)

    def _boxes(self, img: np.ndarray, side: int | None) -> list[np.ndarray]:
        """The detector's boxes on img, in img's pixels: seen at most `side` px on its longer side, or
        as it is (padded to the network's multiple of 32). rapidocr's own preparation goes through
        float64 copies of the page (two of 67 MB for an A4 page) and, on a narrow band, would enlarge
        it to 736 px; here the page is normalised in float32 (the values differ in the seventh
        decimal)."""
        det = self._ocr.text_det
        height, width = img.shape[:2]
        if side and max(height, width) > side:
            k = side / max(height, width)
            resized = cv2.resize(img, (max(32, round(width * k / 32) * 32), max(32, round(height * k / 32) * 32)),
                                 interpolation=cv2.INTER_AREA)
            shape = (height, width)
        else:
            pad_h, pad_w = -height % 32, -width % 32
            resized = cv2.copyMakeBorder(img, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=(255, 255, 255))
            shape = resized.shape[:2]
        std = np.asarray(det.std, np.float32)
        x = resized.astype(np.float32)
        x *= 1 / (255 * std)
        x -= np.asarray(det.mean, np.float32) / std
        preds = det.infer(np.ascontiguousarray(x.transpose(2, 0, 1)[np.newaxis]))[0]
        del x
        boxes, _ = det.postprocess_op(preds, shape)
        boxes = det.filter_tag_det_res(boxes, (height, width)) if len(boxes) else boxes
        return list(boxes)

    def quarter_turns(self, grey: np.ndarray, rects: Sequence[tuple[float, float, float, float]],
                      flipped: float = 1.0) -> int:
        """Counter-clockwise quarter turns that make the page upright: on a sideways page most lines are
        tall; upside-down lines read with far less confidence than the same lines turned over. A page
        lying the right way whose lines the angle classifier left as they were (`flipped`, the share it
        turned over, below UPRIGHT) is upright without that second reading: a sixth of a page's time."""
        long_ = [(x1 - x0, y1 - y0) for x0, y0, x1, y1 in rects if max(x1 - x0, y1 - y0) >= 2 * min(x1 - x0, y1 - y0)]
        turns = 0
        if long_ and sum(h > w for w, h in long_) > len(long_) / 2:
            turns = 1
            width = grey.shape[1]
            grey = turn(grey, 1)
            rects = [(y0, width - x1, y1, width - x0) for x0, y0, x1, y1 in rects]
        elif flipped < UPRIGHT:
            return 0
        if self._upside_down(grey, rects):
            turns += 2
        return turns % 4

    def _upside_down(self, grey: np.ndarray, rects: Sequence[tuple[float, float, float, float]]) -> bool:
        crops = []
        for x0, y0, x1, y1 in sorted(rects, key=lambda r: r[2] - r[0], reverse=True)[:6]:
            x0, y0, y1 = int(max(x0, 0)), int(max(y0, 0)), int(y1)
            x1 = int(min(x1, x0 + 8 * (y1 - y0)))  # a few characters tell which way up; whole lines cost time
            if y1 - y0 >= 6 and x1 - x0 >= 6:
                crops.append(cv2.cvtColor(np.ascontiguousarray(grey[y0:y1, x0:x1]), cv2.COLOR_GRAY2BGR))
        if not crops:
            return False
        upright, _ = self._ocr.text_rec(crops)
        flipped, _ = self._ocr.text_rec([np.ascontiguousarray(c[::-1, ::-1]) for c in crops])
        return _cjk_confidence(flipped) > 1.5 * _cjk_confidence(upright)


def _doubtful(reading: Sequence, empty: bool = False) -> bool:
    """A line read with less confidence than ocr.min_confidence's default, or holding a guess; a line
    read as nothing only when `empty` says so (most are specks, not lines)."""
    text, score, *rest = reading
    scores = rest[2] if len(rest) == 3 and rest[2] else ()
    if not text.strip():
        return empty
    return score < DOUBT or any(s < GUESS for s in scores)


def width_batches(widths: Sequence[float], columns: float, most: int) -> list[list[int]]:
    """The lines' indices, narrowest first as rapidocr orders them, in batches of at most `most` lines
    whose count times their widest stays within `columns` (a line wider than that alone)."""
    batches: list[list[int]] = []
    for i in sorted(range(len(widths)), key=lambda k: widths[k]):
        batch = batches[-1] if batches else []
        if not batch or len(batch) >= most or (len(batch) + 1) * widths[i] > columns:
            batches.append([i])
        else:
            batch.append(i)
    return batches


def _libc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):   # not glibc: nothing to ask
        return None


_TRIM = _libc_trim()


def give_back() -> None:
    """Return the memory a page's inference freed to the system. glibc keeps freed large blocks in the
    heap (its mmap threshold rises after the first big free), so a worker's resident size would stay at
    detection's peak and recognition's come on top of it: measured over bench/reading.py's pass, a
    worker's peak falls from about 880 MB to 790–830 MB. Forcing every large block to be mmapped instead
    (MALLOC_MMAP_THRESHOLD_) brings it to 670 MB but nearly doubles a pass's time."""
    if _TRIM is not None:
        _TRIM(0)


def _straight(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The page with its small skew undone, and where that moved its pixels (3×3)."""
    angle = skew_angle(grey)
    return straighten(grey, angle), straightening(grey.shape, angle)


def as_frame(m: np.ndarray) -> Frame | None:
    """A Page.frame; None when the page was read as its file holds it (a text PDF, an upright clean
    scan): a sub-point difference is rounding, not a move."""
    m = m / m[2, 2]
    if np.allclose(m, np.eye(3), atol=1e-3):
        return None
    return tuple(round(float(v), 8) for v in m.flat)


def _cjk_confidence(results) -> float:
    """Confident Chinese characters: upside-down lines read as a few unsure Latin marks or nothing."""
    return sum(score * sum(has_cjk(ch) for ch in text) for text, score, *_ in results)


def restore_ticks(grey: np.ndarray, line: Line, others: Sequence[tuple[float, float, float, float]] = ()) -> Line:
    """Put ☑/□ back where the recogniser skipped a tick box: its dictionary has no ☑, and a ticked box
    vanishes from the text, which would leave 申报类别 naming the wrong option. others: the page's other
    lines; a box one of them holds is theirs (the box that ends one option's line is no tick before the
    option whose line starts right after it)."""
    if not line.words:
        return line
    x0, top, x1, bottom = (round(v) for v in line.rect)
    height = bottom - top
    left = max(0, x0 - height)
    region = grey[max(top, 0):bottom, left:x1]
    if region.size == 0 or height < 8:
        return line
    _, ink = cv2.threshold(region, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    words = list(line.words)
    marks: list[tuple[float, str]] = []
    for bx, by, bw, bh, _area in stats[1:count]:
        if not (0.45 * height <= bh <= 1.05 * height and 0.75 <= bw / bh <= 1.33):
            continue
        box = ink[by:by + bh, bx:bx + bw] > 0
        edge = max(2, bh // 8)
        # How much of each side the outline covers: a scanned rule is one or two pixels thick and
        # wanders within the band, so a column (or row) with ink anywhere in the band counts.
        sides = (box[:edge].any(axis=0).mean(), box[-edge:].any(axis=0).mean(),
                 box[:, :edge].any(axis=1).mean(), box[:, -edge:].any(axis=1).mean())
        if min(sides) < 0.75:
            continue  # not a square outline
        inner = box[bh // 4: bh - bh // 4, bw // 4: bw - bw // 4].mean()
        mark = TICKED if inner > 0.12 else UNTICKED
        centre = left + bx + bw / 2
        covering = [i for i, (_, wx0, wx1, _) in enumerate(words) if wx0 - 1 <= centre <= wx1 + 1]
        if covering:
            i = covering[0]
            # The box read as the character 口: only a visibly ticked one is corrected; an empty one
            # stays 口, which the form definition counts as an empty box in 申报类别. Either way its
            # outline decided, as for a box the recogniser skipped: its score for 口 says nothing of it.
            if words[i][0] in ("口", UNTICKED):
                words[i] = (TICKED if mark == TICKED else words[i][0], words[i][1], words[i][2], 1.0)
            continue
        middle = max(top, 0) + by + bh / 2
        if any(ox0 <= centre <= ox1 and oy0 <= middle <= oy1 for ox0, oy0, ox1, oy1 in others):
            continue
        marks.append((centre, mark))
    if not marks and words == list(line.words):
        return line
    for centre, mark in marks:
        at = next((i for i, w in enumerate(words) if (w[1] + w[2]) / 2 > centre), len(words))
        words.insert(at, (mark, centre - height / 2, centre + height / 2, 1.0))
    return replace(line, text=_join(words, height), words=tuple(words))


def _join(words: Sequence[tuple[str, float, float, float]], height: float) -> str:
    """Words back into text with a space where the page shows one (between 学堂 and a URL, between the
    options of a tick-box line); between Chinese characters the recogniser's boxes leave no such gap."""
    out = []
    for i, (w, wx0, _, _) in enumerate(words):
        if i and wx0 - words[i - 1][2] > 0.45 * height:
            out.append(" ")
        out.append(w)
    return "".join(out)


def to_boxes(lines: Sequence[Line], cells: list[Rect], scale: float) -> list[Box]:
    """One box per table cell holding text (lines joined top to bottom), one per line outside tables;
    coordinates in points, confidence the lowest of the lines it holds."""
    in_cell: dict[int, list[Line]] = {}
    free: list[Line] = []
    for line in lines:
        for part in _split_at_cells(line, cells):
            x0, top, x1, bottom = part.rect
            i = cell_of(cells, (x0 + x1) / 2, (top + bottom) / 2)
            (in_cell.setdefault(i, []) if i is not None else free).append(part)
    boxes: list[Box] = []
    for i, members in in_cell.items():
        x0, top, x1, bottom = (v * scale for v in cells[i])
        boxes.append(Cell(_reading_order(members), x0, top, x1, bottom, round(min(map(confidence, members)), 3)))
    for line in free:
        x0, top, x1, bottom = (v * scale for v in line.rect)
        boxes.append(Box(line.text, x0, top, x1, bottom, round(confidence(line), 3)))
    boxes.sort(key=lambda b: (round(b.top), b.x0))
    return boxes


def confidence(line: Line) -> float:
    """The line's score, unless one of its characters is a guess: the recogniser's line score is an
    average, and one rare character it does not know (镕, 堃 read as 垫 at 0.30) hides in ten sure ones."""
    guesses = [score for _, _, _, score in line.words if score < GUESS]
    return min([line.score, *guesses])


def _split_at_cells(line: Line, cells: list[Rect]) -> list[Line]:
    """A detected line that runs across a rule into the next cell belongs to two cells."""
    if not line.words or not cells:
        return [line]
    mid = (line.rect[1] + line.rect[3]) / 2
    groups: list[tuple[int | None, list]] = []
    for word in line.words:
        cell = cell_of(cells, (word[1] + word[2]) / 2, mid)
        if groups and groups[-1][0] == cell:
            groups[-1][1].append(word)
        else:
            groups.append((cell, [word]))
    if len(groups) == 1:
        return [line]
    parts = []
    for _, words in groups:
        text = _join(words, line.rect[3] - line.rect[1])
        score = float(np.mean([w[3] for w in words]))
        parts.append(Line(text, (words[0][1], line.rect[1], words[-1][2], line.rect[3]), score, tuple(words)))
    return parts


def _reading_order(lines: list[Line]) -> str:
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (ln.rect[1] + ln.rect[3]) / 2):
        mid = (line.rect[1] + line.rect[3]) / 2
        if rows and abs(mid - _mid(rows[-1][0])) < 0.5 * (rows[-1][0].rect[3] - rows[-1][0].rect[1]):
            rows[-1].append(line)
        else:
            rows.append([line])
    return "\n".join(" ".join(ln.text for ln in sorted(row, key=lambda ln: ln.rect[0])) for row in rows)


def _mid(line: Line) -> float:
    return (line.rect[1] + line.rect[3]) / 2


def raster_of(job: PageJob) -> Raster:
    pdf = job.kind == "pdf"
    raster = render_pdf_page(job.data, job.index, job.dpi) if pdf else load_photo(job.data, job.dpi, job.index)
    return rectified(raster, job.dpi)     # a phone photo of the sheet on a desk, also inside a PDF or DOCX


def _succeeded(future: Future) -> bool:
    return future.done() and not future.cancelled() and future.exception() is None


# ---- the worker side: one engine per process, loaded by the pool's initializer ----

_engine: Engine | None = None
_load_error = ""


def _start_worker(threads: int, memory: int = 0, models_kept: Path | None = None) -> None:
    global _engine, _load_error  # noqa: PLW0603 - the pool's initializer: each worker keeps one engine
    if memory:
        # A page or photo that would take more (a decompression bomb past the pixel checks) meets
        # MemoryError here, in the worker: the page is a finding, the pass goes on.
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        _engine = Engine(threads, models_kept)
    except Exception as exc:  # noqa: BLE001 - e.g. ImportError: libGL.so.1 on a minimal Debian without libgl1
        _load_error = f"{type(exc).__name__}: {exc}"


def _read_job(job: PageJob) -> tuple[int, int, Reading]:
    """The worker's process id and its peak resident memory so far (KB) travel with each page: the pool
    reports both, so the memory a worker needs is measured where it is spent."""
    if _engine is None:
        raise OcrUnavailable(_load_error or "engine not loaded")
    reading = _engine.reading(raster_of(job))
    return os.getpid(), own_peak_kb(), reading


def own_peak_kb() -> int:
    """This process's peak resident memory in KB. Not getrusage's ru_maxrss: Linux carries that over
    exec from the process that started this one, so a worker spawned by a big parent would report the
    parent's peak; VmHWM belongs to this process's own address space."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def reading_sources() -> list[Path]:
    """The source files of this module and of every module of the read package it uses, and they use
    (detect.py, raster.py, …): found from the code itself, so a module added later counts too."""
    package = __name__.rpartition(".")[0]
    seen: dict[str, Path] = {}
    todo = [sys.modules[__name__]]
    while todo:
        module = todo.pop()
        if module.__name__ in seen or module.__file__ is None:
            continue
        seen[module.__name__] = Path(module.__file__)
        for value in vars(module).values():
            used = value if isinstance(value, types.ModuleType) else sys.modules.get(getattr(value, "__module__", "") or "")
            if used is not None and (used.__name__ == package or used.__name__.startswith(package + ".")):
                todo.append(used)
    return sorted(seen.values())


@lru_cache(maxsize=1)
def reading_version() -> str:
    """What a kept reading was made by: the code that prepares and reads a page, and the engine's
    versions. Any change to either and pages are read again."""
    from importlib.metadata import PackageNotFoundError, version
    digest = hashlib.sha256()
    for path in reading_sources():
        digest.update(path.read_bytes())
    for package in ("rapidocr_onnxruntime", "onnxruntime", "opencv-python-headless", "pypdfium2"):
        try:
            digest.update(f"{package} {version(package)}".encode())
        except PackageNotFoundError:    # not installed under that name: the sources still decide
            digest.update(package.encode())
    return digest.hexdigest()[:16]


class Readings:
    """Pages already read, kept under output_dir/.cache/ocr by what the page is (its file's bytes, the
    page, the resolution) and what read it (reading_version): a message run again (intake retry, 重新处理)
    or sent twice with the same files is not read by OCR twice. A kept reading that cannot be used is
    read again; one that cannot be kept is only not kept."""

    def __init__(self, folder: Path):
        self.folder = folder

    def places(self, jobs: Sequence[PageJob]) -> list[Path]:
        """Where each job's reading is kept; a file of many pages is hashed once."""
        hashed: dict[int, str] = {}
        out = []
        for job in jobs:
            if id(job.data) not in hashed:     # the jobs hold their files: an id is not reused meanwhile
                hashed[id(job.data)] = hashlib.sha256(job.data).hexdigest()
            sha = hashed[id(job.data)]
            key = hashlib.sha256(f"{sha} {job.kind} {job.index} {job.dpi} {reading_version()}".encode()).hexdigest()
            out.append(self.folder / key[:2] / f"{key}.json")
        return out

    @staticmethod
    def get(place: Path) -> Reading | None:
        try:
            reading = Reading.from_json(json.loads(place.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("a kept OCR reading could not be used (%s): the page is read again", exc)
            return None
        caches.used(place)
        return reading

    @staticmethod
    def put(place: Path, reading: Reading) -> None:
        try:
            write_atomic(place, json.dumps(reading.to_json(exact=True), ensure_ascii=False).encode())
        except OSError as exc:
            log.warning("an OCR reading could not be kept (%s)", exc)


def _out_of_memory(exc: BaseException) -> bool:
    """The worker's address-space limit was met: Python says MemoryError, onnxruntime's C++ says
    bad_alloc inside its own exception type, depending on which allocation failed first."""
    return isinstance(exc, MemoryError) or "bad_alloc" in str(exc)


class OcrPool:
    """The pass's OCR workers. Nothing starts until the first scan is met, so a pass without scans never
    loads the models; each worker loads them once; close() at the end of the pass stops the workers.

    Several messages of a pass may read at once (each from its own thread): their pages share the
    workers, so one message's single scanned page does not leave the other worker idle."""

    def __init__(self, workers: int = 2, threads_per_worker: int = 1, page_timeout: float = PAGE_TIMEOUT,
                 memory: int = 0, kept: Readings | None = None, models: Path | None = None):
        self.workers = max(1, workers)
        self.kept = kept
        self.models = models    # where the workers keep the rewritten models (models.py)
        self.memory = memory    # each worker's address space; 0: unlimited
        self.threads = max(1, threads_per_worker)
        self.page_timeout = page_timeout
        self._executor: ProcessPoolExecutor | None = None
        self._unavailable = ""
        self.pages_read = 0
        self.by_worker: Counter[int] = Counter()   # pages read per worker process id: the load spread
        self.peak_kb: dict[int, int] = {}          # peak resident memory per worker process id
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._executor is not None

    def read(self, jobs: Sequence[PageJob]) -> list[Page | Failed]:
        """All jobs at once across the workers; results in the order of the jobs."""
        results: dict[int, Page | Failed] = {}
        places = self.kept.places(jobs) if self.kept is not None else []
        pending = []
        for i, job in enumerate(jobs):
            known = Readings.get(places[i]) if places else None
            if known is None:
                pending.append(i)
            else:
                results[i] = known.page(job.number)
        while pending:
            if self._unavailable:
                results.update((i, Failed(self._unavailable)) for i in pending)
                break
            executor = self._start()
            try:
                futures: list[tuple[int, Future]] = [(i, executor.submit(_read_job, jobs[i])) for i in pending]
            except RuntimeError:  # another message's thread stopped this pool a moment ago
                continue
            retry = []
            for i, future in futures:
                if self._executor is not executor and not _succeeded(future):
                    # The pool was stopped under this page (a page hung, or a worker died): it goes to
                    # fresh workers. The page that stopped it is settled, so every round makes progress.
                    retry.append(i)
                    continue
                result = self._result(jobs[i], future, executor)
                if result is None:
                    retry.append(i)
                elif isinstance(result, Reading):
                    if places:
                        Readings.put(places[i], result)
                    results[i] = result.page(jobs[i].number)
                else:
                    results[i] = result
            pending = retry
        return [results[i] for i in range(len(jobs))]

    def _result(self, job: PageJob, future: Future, executor: ProcessPoolExecutor) -> Reading | Failed | None:
        """The page as read, or why it could not be read; None: read it again (the pool was restarted under it)."""
        try:
            pid, peak_kb, reading = future.result(timeout=self.page_timeout)
        except CancelledError:
            return None   # cancelled by a restart of the pool: read again
        except Unreadable as exc:
            return Failed(str(exc))
        except OcrUnavailable as exc:
            log.error("OCR engine could not be loaded: %s", exc)
            self._unavailable = f"文字识别组件无法加载（{exc}），请联系系统管理员"
            return Failed(self._unavailable)
        except FutureTimeout:
            # A page that takes minutes is a pathological file, not a slow one; its worker cannot be
            # interrupted, only stopped, and the pass must go on.
            log.error("OCR of page %d took over %.0f s; its worker is stopped", job.number, self.page_timeout)
            self._drop(kill=True)
            return Failed(f"第{job.number}页文字识别超时（超过{self.page_timeout:.0f}秒）")
        except BrokenProcessPool:
            if self._executor is not executor:
                return None   # another message's page stopped the pool: this one was not at fault
            log.error("an OCR worker died while reading page %d; the pool is restarted", job.number)
            self._drop()
            return Failed(f"第{job.number}页文字识别时进程意外退出", transient=True)
        except Exception as exc:  # one page's failure must not end the pass
            if _out_of_memory(exc):
                log.error("OCR of page %d needed more memory than a worker may take", job.number)
                return Failed(f"第{job.number}页文字识别所需内存超过上限（ocr.worker_memory），页面可能异常")
            log.exception("OCR of page %d failed", job.number)
            return Failed(f"第{job.number}页文字识别失败（{type(exc).__name__}）")
        with self._lock:
            self.pages_read += 1
            self.by_worker[pid] += 1
            self.peak_kb[pid] = max(peak_kb, self.peak_kb.get(pid, 0))
        return reading

    def _start(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                log.info("starting %d OCR worker(s)", self.workers)
                # spawn, not fork: `intake run` has scheduler and IMAP threads, and forking a threaded
                # process can leave a lock held forever in the child.
                self._executor = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_worker, initargs=(self.threads, self.memory, self.models))
            return self._executor

    def _drop(self, kill: bool = False) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            if kill:
                # shutdown() waits for a running call to finish; a hung one never does.
                for process in list(getattr(executor, "_processes", {}).values()):
                    process.terminate()
            executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
            log.info("OCR workers stopped after %d page(s), per worker %s, peak memory per worker %s MB",
                     self.pages_read, sorted(self.by_worker.values(), reverse=True), self.peak_mb())

    def peak_mb(self) -> list[int]:
        """Each worker's peak resident memory in MB, largest first (workers that read a page)."""
        return sorted((kb // 1024 for kb in self.peak_kb.values()), reverse=True)

    def __enter__(self) -> OcrPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
