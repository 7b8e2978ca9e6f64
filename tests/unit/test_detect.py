"""Which rows of a page are detected again at full size, and how the boxes of both detections combine
(pipeline/read/detect.py). Pages drawn with OpenCV; no model."""
from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np

from pipeline.read import detect


def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float32)


def page() -> np.ndarray:
    """A white A4 page at 2000 px with a table's rules and two lines of 'writing' (rows of blobs)."""
    grey = np.full((2000, 1400), 255, np.uint8)
    for y in (300, 600, 900):
        cv2.line(grey, (100, y), (1300, y), 0, 2)
    for x in (100, 700, 1300):
        cv2.line(grey, (x, 300), (x, 900), 0, 2)
    for x in range(150, 650, 40):           # a line of characters in the first row of the table
        cv2.rectangle(grey, (x, 430), (x + 28, 462), 0, 3)
    for x in range(750, 1250, 40):          # and one in the second row
        cv2.putText(grey, "8", (x, 762), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 3)
    return grey


def test_only_the_rows_with_writing_outside_every_box_are_detected_again():
    grey = page()
    first, second = box(140, 420, 660, 470), box(740, 720, 1260, 770)
    assert detect.uncovered_rows(grey, [first, second]) == []     # the rules are not writing
    (top, bottom), = detect.uncovered_rows(grey, [first])
    assert top <= 720 and bottom >= 770 and bottom - top >= detect.LEAST_ROWS
    assert top > 470    # the covered line is not in it
    (a_top, a_bottom), (b_top, b_bottom) = detect.uncovered_rows(grey, [])
    assert a_top <= 430 and a_bottom >= 462 and b_top <= 735 and b_bottom >= 762


def test_specks_are_not_writing():
    grey = np.full((2000, 1400), 255, np.uint8)
    for x, y in ((200, 200), (900, 1500), (400, 1800)):
        cv2.circle(grey, (x, y), 2, 0, -1)
    assert detect.uncovered_rows(grey, []) == []


def test_a_tall_band_is_cut_into_overlapping_pieces_that_cover_it():
    assert detect.pieces(100, 300) == [(100, 300)]
    parts = detect.pieces(0, 1500)
    assert parts[0][0] == 0 and parts[-1][1] == 1500
    assert all(bottom - top <= detect.MOST_ROWS for top, bottom in parts)
    assert all(a[1] - b[0] == detect.OVERLAP for a, b in pairwise(parts))


def test_a_box_cut_by_a_pieces_edge_is_not_whole_but_the_page_edge_cuts_nothing():
    assert detect.whole_in(box(0, 120, 50, 160), 100, 300, 2000)
    assert not detect.whole_in(box(0, 280, 50, 320), 100, 300, 2000)
    assert detect.whole_in(box(0, 0, 50, 30), 0, 300, 2000)
    assert detect.whole_in(box(0, 1980, 50, 2000), 1800, 2000, 2000)


def test_full_size_boxes_replace_the_coarse_ones_of_their_rows_and_count_once():
    coarse = [box(100, 50, 500, 90), box(100, 400, 900, 440), box(950, 405, 1000, 440), box(100, 1000, 600, 1040)]
    # The same row found in two overlapping pieces, and a line the coarse detection joined to its neighbour.
    fine = detect.once([box(100, 398, 600, 440), box(101, 399, 600, 441), box(620, 400, 1000, 440)])
    assert len(fine) == 2
    gone = detect.superseded(coarse, fine, [(300, 550)], 2000)
    assert gone == [1, 2]
    # Outside the rows detected again, a coarse box goes only when a full-size box holds its line.
    assert detect.superseded(coarse, [box(90, 45, 510, 95)], [(300, 550)], 2000) == [0, 1, 2]


def test_reading_order_is_top_to_bottom_then_left_to_right_within_a_row():
    boxes = [box(500, 105, 600, 140), box(100, 300, 200, 340), box(100, 100, 200, 140)]
    assert detect.reading_order(boxes) == [2, 0, 1]
