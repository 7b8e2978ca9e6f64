"""A phone photo's sheet found on the desk and flattened before OCR; a scan left as it is. No OCR."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from pipeline.read.ocr import PageJob, raster_of
from pipeline.read.raster import A4_WIDTH_PT, Raster, load_photo, render_pdf_page
from pipeline.read.rectify import paper_corners, rectified

DATA = Path(__file__).resolve().parent.parent / "data"
REAL, SCANS = DATA / "real", DATA / "scans"
A4_AT_200 = round(595 / 72 * 200)     # an A4 page's width in pixels at the OCR resolution


def desk_photo(corners: list[tuple[int, int]], paper: int = 235, desk: int = 95) -> np.ndarray:
    """A sheet with a ruled table seen in perspective on a brown desk: the table drawn on a flat sheet,
    then warped to `corners` (top-left, top-right, bottom-right, bottom-left) as a camera would."""
    sheet = np.full((1400, 1000, 3), paper, np.uint8)
    for y in range(200, 1000, 80):
        cv2.line(sheet, (100, y), (900, y), (20, 20, 20), 3)
    for x in (100, 400, 900):
        cv2.line(sheet, (x, 200), (x, 920), (20, 20, 20), 3)
    flat = np.array([[0, 0], [999, 0], [999, 1399], [0, 1399]], np.float32)
    m = cv2.getPerspectiveTransform(flat, np.array(corners, np.float32))
    ground = np.empty((1400, 1100, 3), np.uint8)
    ground[:] = (desk + 10, desk, desk - 20)
    return cv2.warpPerspective(sheet, m, (1100, 1400), dst=ground, borderMode=cv2.BORDER_TRANSPARENT)


def test_a_sheet_in_perspective_is_found_by_its_corners():
    corners = [(160, 90), (990, 160), (900, 1310), (70, 1250)]
    found = paper_corners(desk_photo(corners))
    assert found is not None and np.abs(found - np.array(corners)).max() <= 8


def test_the_flattened_sheet_knows_where_it_lies_on_the_photo_as_sent():
    # The console draws a value's box on the photo the sender sent: the sheet's corners go back to the
    # photo's, in the photo's points (an A4-wide page, 1100 px across).
    corners = [(160, 90), (990, 160), (900, 1310), (70, 1250)]
    flat = rectified(Raster(desk_photo(corners), None), 200)
    h, w = flat.pixels.shape[:2]
    back = flat.to_source() @ np.array([[0, w, w, 0], [0, 0, h, h], [1, 1, 1, 1]], dtype=float)
    back = (back[:2] / back[2]).T / (A4_WIDTH_PT / 1100)
    assert np.abs(back - np.array(corners)).max() <= 10


def test_a_sheet_in_perspective_comes_out_flat_with_its_rules_level_and_upright():
    photo = Raster(desk_photo([(160, 90), (990, 160), (900, 1310), (70, 1250)]), None)
    flat = rectified(photo, 200)
    h, w, _ = flat.pixels.shape
    assert flat.dpi is None and w == A4_AT_200 and h > w       # enlarged to an A4 width at 200 dpi
    grey = cv2.cvtColor(flat.pixels, cv2.COLOR_RGB2GRAY)
    # Each horizontal rule now lies in one band of rows: its ink is found within a few rows along
    # the whole table, where in the photo it climbs over tens of rows.
    ink_rows = (grey[:, int(0.2 * w):int(0.85 * w)] < 100).mean(axis=1)
    assert (ink_rows > 0.8).sum() >= 10
    # And the desk is gone: the corners are paper.
    assert all(grey[y, x] > 180 for y, x in ((5, 5), (5, w - 6), (h - 6, 5), (h - 6, w - 6)))


def test_a_sheet_photographed_sideways_stays_sideways():
    # Turning it upright is the OCR engine's business (Engine.quarter_turns), as for a sideways scan.
    photo = load_photo((REAL / "c5-name-code-one-row-photo.jpg").read_bytes(), 200)
    flat = rectified(photo, 200)
    h, w, _ = flat.pixels.shape
    assert flat is not photo and w > h and h == A4_AT_200
    assert w / h == pytest.approx(297 / 210, abs=0.06)      # the sheet's own proportions, A4


@pytest.mark.parametrize("name, kind", [("c1-year-table-photo.jpg", "photo"), ("c5-name-code-one-row-photo.pdf", "pdf")])
def test_the_real_familys_photos_are_flattened_as_a_jpeg_or_inside_a_pdf(name, kind):
    raster = raster_of(PageJob((REAL / name).read_bytes(), kind, 0, 200))
    # A photo now, its sheet A4-wide in points; at least as wide as an A4 page at 200 dpi in pixels.
    assert raster.dpi is None and min(raster.pixels.shape[:2]) >= A4_AT_200


@pytest.mark.parametrize("path", [SCANS / "form-red-seal.pdf", SCANS / "form-upside-down-skewed.pdf",
                                  REAL / "c2-numbered-dot-scan.pdf"])
def test_a_scan_whose_paper_fills_the_image_is_left_as_it_is(path):
    page = render_pdf_page(path.read_bytes(), 0, 200)
    assert rectified(page, 200) is page


def test_a_photo_without_a_clear_sheet_is_left_as_it_is():
    # A grey sheet on a grey desk, or a close-up with no desk at all: no edge to trust.
    dim = Raster(desk_photo([(160, 90), (990, 160), (900, 1310), (70, 1250)], paper=120, desk=105), None)
    assert rectified(dim, 200) is dim
    close = load_photo((SCANS / "form-photo-exif-rotated.jpg").read_bytes(), 200)
    assert rectified(close, 200) is close


def test_a_scanned_page_with_a_dark_picture_to_its_edge_is_not_cut_to_its_light_part():
    # 佐证材料 scanned with a photograph running off the page's foot: the light part above is no sheet on
    # a desk (the page's other edges are paper), and flattening it would drop the picture's page.
    page = np.full((2339, 1654, 3), 245, np.uint8)
    page[1400:, :] = 60
    for y in range(200, 1300, 60):
        cv2.line(page, (150, y), (1500, y), (20, 20, 20), 3)
    scan = Raster(page, 200.0)
    assert paper_corners(page) is None and rectified(scan, 200) is scan
