"""Table cells of a scanned page, from its ruling lines: the OCR counterpart of pdfplumber's table cells,
so that a label or value wrapped over two lines is still one box."""
from __future__ import annotations

import cv2
import numpy as np

Rect = tuple[int, int, int, int]   # x0, top, x1, bottom in pixels


def find_cells(grey: np.ndarray) -> list[Rect]:
    """Rectangles enclosed by horizontal and vertical rules. A page without a table has none."""
    h, w = grey.shape
    ink = cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 15)
    # Rules are far longer than any stroke of a character; opening with long thin kernels keeps only them.
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(w // 25, 15), 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(h // 50, 15))))
    # Scans break thin rules into dashes; closing along each rule's own direction mends the gaps.
    horizontal = cv2.morphologyEx(horizontal, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 1)))
    vertical = cv2.morphologyEx(vertical, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (1, 15)))
    rules = cv2.dilate(cv2.bitwise_or(horizontal, vertical), np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_not(rules), connectivity=4)
    cells = []
    for x, y, cw, ch, area in stats[1:count]:
        if x == 0 or y == 0 or x + cw >= w or y + ch >= h:
            continue  # the page around the table
        if cw < w // 40 or ch < h // 120 or area < 0.8 * cw * ch:
            continue  # a speck between rules, or a region that is not a rectangle
        cells.append((int(x), int(y), int(x + cw), int(y + ch)))
    return sorted(cells, key=lambda c: (c[1], c[0]))


def cell_of(cells: list[Rect], x: float, y: float) -> int | None:
    for i, (x0, top, x1, bottom) in enumerate(cells):
        if x0 <= x <= x1 and top <= y <= bottom:
            return i
    return None
