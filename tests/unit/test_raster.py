"""Pages to images for OCR, without OCR: rendering, EXIF, red seals, skew, table cells, useless text layers."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from pipeline.read import Unreadable
from pipeline.read.grid import find_cells
from pipeline.read.pdf import read_pdf, usable
from pipeline.read.raster import (
    drop_red,
    load_photo,
    render_dpi,
    render_pdf_page,
    skew_angle,
    straighten,
    straightening,
    turn,
    turning,
)

DATA = Path(__file__).resolve().parent.parent / "data"
SCANS, SAMPLES = DATA / "scans", DATA / "samples"


def grey_page(path: Path, dpi: int = 150) -> np.ndarray:
    return pdfium.PdfDocument(path)[0].render(scale=dpi / 72, grayscale=True).to_numpy()


def test_pdf_page_rendered_at_the_asked_resolution_in_colour():
    path = SCANS / "form-red-seal.pdf"
    width_pt, height_pt = pdfium.PdfDocument(path)[0].get_size()
    raster = render_pdf_page(path.read_bytes(), 0, 200)
    h, w, channels = raster.pixels.shape
    assert channels == 3 and abs(w - width_pt / 72 * 200) <= 1 and abs(h - height_pt / 72 * 200) <= 1
    assert raster.points_per_pixel(w) == pytest.approx(72 / 200)
    # Colour survives rendering: the seal's red is there to be removed later.
    r, g, b = (raster.pixels[..., i].astype(int) for i in range(3))
    assert ((r - np.maximum(g, b)) > 80).sum() > 2000


def test_missing_page_is_a_reason_not_a_crash():
    with pytest.raises(Unreadable, match="第3页"):
        render_pdf_page((SAMPLES / "letter-dongying-scanned.pdf").read_bytes(), 2, 100)


def test_photo_turned_upright_by_its_exif_orientation():
    path = SCANS / "form-photo-exif-rotated.jpg"
    with Image.open(path) as stored:
        assert stored.getexif().get(0x0112) == 6 and stored.width > stored.height  # stored sideways
    raster = load_photo(path.read_bytes(), dpi=200)
    h, w, _ = raster.pixels.shape
    assert h > w                                   # shown upright, as a viewer shows it
    assert raster.points_per_pixel(w) * w == pytest.approx(595.0)   # an A4-wide page in points


def test_large_photo_scaled_to_the_ocr_resolution():
    big = Image.new("RGB", (4032, 3024), "white")
    import io
    buf = io.BytesIO()
    big.save(buf, "JPEG")
    raster = load_photo(buf.getvalue(), dpi=150)
    assert max(raster.pixels.shape[:2]) == round(11.69 * 150)


def test_broken_photo_is_a_reason_not_a_crash():
    data = (SCANS / "form-photo-exif-rotated.jpg").read_bytes()[:600]
    with pytest.raises(Unreadable, match="图片无法打开"):
        load_photo(data, dpi=150)


def test_red_ink_becomes_paper_and_black_under_it_stays():
    page = np.full((120, 400, 3), 250, np.uint8)
    cv2.putText(page, "TEXT", (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2.2, (20, 20, 20), 6)   # black print
    cv2.line(page, (300, 20), (380, 100), (30, 40, 170), 6)                               # blue ink
    seal = np.full_like(page, 255)
    cv2.circle(seal, (130, 60), 55, (215, 30, 35), 8)                                    # red ring
    stamped = (page.astype(np.uint16) * seal // 255).astype(np.uint8)                    # ink on toner
    ring = (seal[..., 1] < 100) & (page[..., 0] > 200)      # red over paper
    under = (seal[..., 1] < 100) & (page[..., 0] < 100)     # red over black print
    grey = drop_red(stamped)
    assert cv2.cvtColor(stamped, cv2.COLOR_RGB2GRAY)[ring].mean() < 120   # the plain grey keeps the seal
    assert grey[ring].min() >= 250                                         # red lifted
    assert grey[under].max() < 100 and under.sum() > 50                    # the print under it kept
    blue = (page[..., 2] > 150) & (page[..., 0] < 100)
    assert grey[blue].max() < 120                                          # blue ink is not red


def test_skew_measured_and_removed():
    page = grey_page(SAMPLES / "form-dongying-petroleum-center.pdf")
    assert skew_angle(page) == pytest.approx(0.0, abs=0.15)
    h, w = page.shape
    tilted = cv2.warpAffine(page, cv2.getRotationMatrix2D((w / 2, h / 2), 2.0, 1.0), (w, h), borderValue=255)
    angle = skew_angle(tilted)
    assert angle == pytest.approx(-2.0, abs=0.15)
    assert skew_angle(straighten(tilted, angle)) == pytest.approx(0.0, abs=0.15)
    # The committed scans were rotated by 1.2° and −1.1° on the "glass" (MANIFEST.md).
    assert abs(skew_angle(grey_page(SAMPLES / "form-dongying-petroleum-center-scanned.pdf"))) == pytest.approx(1.2, abs=0.15)
    assert abs(skew_angle(grey_page(SAMPLES / "letter-dongying-scanned.pdf"))) == pytest.approx(1.1, abs=0.15)


def test_table_cells_found_on_a_scanned_form_and_none_on_a_letter():
    form = straighten(page := grey_page(SAMPLES / "form-dongying-petroleum-center-scanned.pdf"), skew_angle(page))
    cells = find_cells(form)
    # 21 rows; most have 2 or 4 cells (MANIFEST.md lists 22 labels and their values).
    assert 40 <= len(cells) <= 50
    h, w = form.shape
    assert all(0 < x0 < x1 < w and 0 < top < bottom < h for x0, top, x1, bottom in cells)
    assert find_cells(grey_page(SAMPLES / "letter-dongying-scanned.pdf")) == []


def test_text_layer_of_cid_glyphs_is_no_text_layer():
    good = read_pdf((SAMPLES / "form-dongying-petroleum-center.pdf").read_bytes())
    cid = read_pdf((SCANS / "form-cid-text-layer.pdf").read_bytes())
    assert usable(good) and not usable(cid)
    assert "(cid:" in cid[0].text


def test_a_huge_page_is_rendered_within_the_pixel_cap():
    # A 5 m square page (pypdf makes it: poster scans and broken /MediaBox values exist) would be
    # ~24 000 px a side at 200 dpi, about 1.7 GB of RGB.
    import io

    import pypdf
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=14173, height=14173)
    buf = io.BytesIO()
    writer.write(buf)
    raster = render_pdf_page(buf.getvalue(), 0, 200, max_pixels=4_000_000)
    h, w, _ = raster.pixels.shape
    assert h * w <= 4_000_000 and min(h, w) > 1900          # as large as the cap allows, no larger
    assert raster.dpi < 200 and raster.points_per_pixel(w) * w == pytest.approx(14173, rel=0.01)
    # An A4 page stays at the resolution asked for.
    assert render_dpi(595, 842, 200) == 200 and render_dpi(14173, 14173, 200) < 30


def _dot(img: np.ndarray) -> tuple[float, float]:
    ys, xs = np.nonzero(img < 128)
    return float(xs.mean()), float(ys.mean())


def _moved(m: np.ndarray, x: float, y: float) -> tuple[float, float]:
    px, py, w = m @ np.array([x, y, 1.0])
    return px / w, py / w


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_a_quarter_turn_moves_a_point_where_the_page_goes(quarter_turns):
    # What OCR reads off a page it turned is placed back on the page as filed by this map.
    page = np.full((300, 200), 255, np.uint8)
    cv2.circle(page, (40, 70), 6, 0, -1)
    got = _dot(turn(page, quarter_turns))
    want = _moved(turning(page.shape, quarter_turns), *_dot(page))
    assert got == pytest.approx(want, abs=1.0)


def test_straightening_moves_a_point_where_the_page_goes():
    page = np.full((400, 300), 255, np.uint8)
    cv2.circle(page, (30, 350), 6, 0, -1)
    got = _dot(straighten(page, 3.0))
    want = _moved(straightening(page.shape, 3.0), *_dot(page))
    assert got == pytest.approx(want, abs=1.0) and abs(got[0] - 30) > 5     # it did move
    assert (straightening(page.shape, 0.01) == np.eye(3)).all()
