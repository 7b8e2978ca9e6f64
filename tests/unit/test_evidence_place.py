"""A value read by OCR off a page it turned, straightened or flattened is boxed where it stands on the
page as its file holds it: the box the console draws on the original holds the value. Checked by reading
the boxed region of the original again, as a viewer shows it (pdfium for a PDF, EXIF-upright for a photo)."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageOps
from rapidfuzz import fuzz

from pipeline.read.fields import extract
from pipeline.read.forms import Forms
from pipeline.read.ocr import Engine, PageJob, raster_of
from pipeline.read.raster import A4_WIDTH_PT

pytestmark = pytest.mark.ocr

DATA = Path(__file__).resolve().parent.parent / "data"
ROOT = DATA.parent.parent
DPI = 200
MARGIN_PT = 4.0


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(threads=2)


@pytest.fixture(scope="module")
def forms() -> Forms:
    return Forms.load(ROOT / "templates")


def original(path: Path) -> tuple[Image.Image, float]:
    """The page as a viewer shows the file, and its pixels per point."""
    data = path.read_bytes()
    if data[:5] == b"%PDF-":
        page = pdfium.PdfDocument(data)[0]
        img = page.render(scale=DPI / 72).to_pil().convert("RGB")
        return img, img.width / page.get_size()[0]
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    return img, img.width / A4_WIDTH_PT


def read_in(engine: Engine, img: Image.Image, scale: float, box) -> str:
    """What the boxed region says, whichever way up it stands."""
    x0, top, x1, bottom = box
    region = img.crop((round((x0 - MARGIN_PT) * scale), round((top - MARGIN_PT) * scale),
                       round((x1 + MARGIN_PT) * scale), round((bottom + MARGIN_PT) * scale))).convert("L")
    grey = np.asarray(region)
    return " ".join("".join(line.text for line in engine.lines(np.ascontiguousarray(np.rot90(grey, k))))
                    for k in range(4)).replace(" ", "")


@pytest.mark.parametrize("name, kind, moved", [
    ("scans/form-sideways.pdf", "pdf", True),                 # turned a quarter by OCR
    ("scans/form-upside-down-skewed.pdf", "pdf", True),       # turned half, a skew undone
    ("scans/form-photo-exif-rotated.jpg", "photo", False),    # EXIF turns it, as a viewer does
    ("real/c5-name-code-one-row-photo.jpg", "photo", True),   # a sheet on a desk, flattened
])
def test_the_box_on_the_original_holds_the_value(engine, forms, name, kind, moved):
    path = DATA / name
    page = engine.reading(raster_of(PageJob(path.read_bytes(), kind, 0, DPI))).page(1)
    assert (page.frame is not None) == moved
    found = extract((page,), forms.form)
    code = str(found.fields["credit_code"])
    assert len(code) == 18
    evidence = found.evidence["credit_code"]
    img, scale = original(path)
    there = read_in(engine, img, scale, page.on_file(evidence.bbox))
    assert fuzz.partial_ratio(code, there) >= 85, there
    if moved:
        # Drawn where OCR read it, in the turned or flattened page, the box misses the value.
        assert fuzz.partial_ratio(code, read_in(engine, img, scale, evidence.bbox)) < 60
