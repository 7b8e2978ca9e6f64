"""Where a page's text lines are, found cheaply: the whole page at a reduced size, then again at the
page's own size only across the rows where ink was left outside every line found.

Detection is most of an OCR worker's memory: the detector's activations grow with the pixels it sees
(about 500 MB for an A4 page at 2000 px a side, less than half of it at 1280). At 1280 px it finds
nearly every line, but loses some a person needs: a row of tick boxes beside its label, or joins a
ticked box to the next option. What it left out still shows on the page as ink no line box covers, and
what it joined as a character the recogniser is unsure of (ocr.py); those rows, and only those, are
detected again at full size, in bands of a few hundred rows, which cost a fraction of the page. Pure
functions on arrays; the Engine in ocr.py runs the model."""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

# The longer side of the page as the detector first sees it.
COARSE_SIDE = 1280
# Rows above and below uncovered ink that a band takes in: more than a line of body text at 2000 px
# a side (about 40 px), so a line half covered is detected whole.
MARGIN = 48
# A band is never fewer rows than this: on a band of a line or two the detector joins and cuts lines
# otherwise than it does on the page; on 256 rows it found the tick-box rows of the fixtures as on the
# whole page.
LEAST_ROWS = 256
# A band is detected in pieces at most this tall, overlapping by more than a line, so that the
# memory of a band stays a fraction of the page's whatever the ink left over.
MOST_ROWS = 448
OVERLAP = 112
# Ink smaller than this, once characters are joined, is a speck, a dot of a rule or a stamp's dust.
LEAST_HEIGHT, LEAST_WIDTH, LEAST_INK = 10, 12, 80


def uncovered_rows(grey: np.ndarray, boxes: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    """Bands of rows (top, bottom) holding ink that looks like writing and lies outside every box:
    table rules are not writing, and neither is a speck."""
    height = grey.shape[0]
    ink = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 20)
    rules = cv2.bitwise_or(
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (60, 1))),
        cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 60))))
    covered = np.zeros_like(ink)
    for box in boxes:
        cv2.fillPoly(covered, [np.round(box).astype(np.int32)], 255)
    away = cv2.bitwise_or(cv2.dilate(rules, np.ones((3, 3), np.uint8)), cv2.dilate(covered, np.ones((7, 7), np.uint8)))
    ink = cv2.bitwise_and(ink, cv2.bitwise_not(away))
    joined = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (21, 5)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    spans = []
    for label in range(1, count):
        x, y, w, h, _area = stats[label]
        if h < LEAST_HEIGHT or w < LEAST_WIDTH:
            continue
        if int(np.count_nonzero(ink[y:y + h, x:x + w][labels[y:y + h, x:x + w] == label])) < LEAST_INK:
            continue
        spans.append(band(y, y + h, height))
    return _merged(spans)


def around(boxes: Sequence[np.ndarray], height: int) -> list[tuple[int, int]]:
    """The bands of rows, merged, that hold these boxes with room around them."""
    return _merged([band(int(box[:, 1].min()), int(np.ceil(box[:, 1].max())), height) for box in boxes])


def band(top: int, bottom: int, height: int) -> tuple[int, int]:
    """Rows top..bottom with MARGIN around them, at least LEAST_ROWS in all: the detector reads a
    line differently with less of the page around it (its channel attention pools over all it sees)."""
    top, bottom = int(top) - MARGIN, int(bottom) + MARGIN
    extra = max(0, LEAST_ROWS - (bottom - top))
    return max(0, top - extra // 2), min(height, bottom + extra - extra // 2)


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for top, bottom in sorted(spans):
        if out and top <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], bottom))
        else:
            out.append((top, bottom))
    return out


def pieces(top: int, bottom: int) -> list[tuple[int, int]]:
    """A band cut into pieces of at most MOST_ROWS, each overlapping the next by OVERLAP."""
    if bottom - top <= MOST_ROWS:
        return [(top, bottom)]
    out, start = [], top
    while True:
        end = min(start + MOST_ROWS, bottom)
        out.append((start, end))
        if end == bottom:
            return out
        start = end - OVERLAP


def whole_in(box: np.ndarray, top: int, bottom: int, page_height: int) -> bool:
    """A box found in rows top..bottom that is not cut by the piece's edge (a page edge cuts nothing)."""
    ys = box[:, 1]
    return (top == 0 or ys.min() > top + 2) and (bottom == page_height or ys.max() < bottom - 2)


def once(fine: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The boxes of overlapping pieces, a line found in two of them counted once."""
    kept: list[np.ndarray] = []
    for box in fine:
        if not any(_overlap(box, other) > 0.5 for other in kept):
            kept.append(box)
    return kept


def superseded(coarse: Sequence[np.ndarray], fine: Sequence[np.ndarray], spans: Sequence[tuple[int, int]],
               page_height: int) -> list[int]:
    """Which coarse boxes the full-size ones replace: every one within the rows detected again
    (spans), and those elsewhere that a full-size box found the same line for."""
    return [i for i, box in enumerate(coarse)
            if any(whole_in(box, top, bottom, page_height) for top, bottom in spans)
            or any(_overlap(box, other) > 0.3 for other in fine)]


def reading_order(boxes: Sequence[np.ndarray]) -> list[int]:
    """rapidocr's sorted_boxes, as indices: top to bottom, left to right within 10 px of a row."""
    order = sorted(range(len(boxes)), key=lambda i: (boxes[i][0][1], boxes[i][0][0]))
    for i in range(len(order) - 1):
        for j in range(i, -1, -1):
            a, b = boxes[order[j]], boxes[order[j + 1]]
            if abs(b[0][1] - a[0][1]) < 10 and b[0][0] < a[0][0]:
                order[j], order[j + 1] = order[j + 1], order[j]
            else:
                break
    return order


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """The share of the smaller box that the two boxes' bounding rectangles have in common."""
    ax0, ay0, ax1, ay1 = a[:, 0].min(), a[:, 1].min(), a[:, 0].max(), a[:, 1].max()
    bx0, by0, bx1, by1 = b[:, 0].min(), b[:, 1].min(), b[:, 0].max(), b[:, 1].max()
    w, h = min(ax1, bx1) - max(ax0, bx0), min(ay1, by1) - max(ay0, by0)
    if w <= 0 or h <= 0:
        return 0.0
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return float(w * h / smaller) if smaller > 0 else 0.0
