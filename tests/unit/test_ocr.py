"""OCR of real scans, in this process, and where what it read lies on the page as its file holds it.
The worker pool is tested in tests/integration/test_scanned.py; every scan of tests/data/scans (red
seal, sideways, upside down and askew, a phone photo, a broken text layer) is read
against its expected JSON by tests/test_forms.py.

The scan here is the sample form 东营石油技术培训中心 (tests/data/samples/MANIFEST.md), image-only.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageOps
from rapidfuzz import fuzz

from pipeline.model import Page
from pipeline.read.fields import extract, parse_track
from pipeline.read.forms import Forms
from pipeline.read.ocr import (
    BATCH_COLUMNS,
    GUESS,
    TICKED,
    Engine,
    Line,
    PageJob,
    Reading,
    raster_of,
    reading_sources,
    to_boxes,
    width_batches,
)
from pipeline.read.raster import A4_WIDTH_PT
from pipeline.web.images import draw_crop

pytestmark = pytest.mark.ocr

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
SAMPLES = DATA / "samples"
# MANIFEST.md, 东营石油技术培训中心
TRUTH = {"unit_name": "东营石油技术培训中心", "credit_code": "91370500165418739P", "track": "general",
         "avg_trainees": 2600, "contact": "杜鹏", "contact_phone": "0546-83017725", "legal_rep": "高建华",
         "postcode": "257000", "floor_area": 9800, "funding": 380,
         "supervisor": "东营市人民政府国有资产监督管理委员会"}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(threads=2)


@pytest.fixture(scope="module")
def forms() -> Forms:
    return Forms.load(ROOT / "templates")


@pytest.fixture(scope="module")
def scan(engine) -> Reading:
    path = SAMPLES / "form-dongying-petroleum-center-scanned.pdf"
    return engine.reading(raster_of(PageJob(path.read_bytes(), "pdf", 0, 200)))


def test_image_only_scan_reads_like_the_text_layer(scan, forms):
    page = scan.page(1)
    found = extract((page,), forms.form)
    assert {k: found.fields[k] for k in TRUTH} == TRUTH
    # One box per table cell: the two-line 主管部门 value is one box, in points on an A4 page.
    supervisor = next(b for b in page.boxes if b.text.startswith("东营市人民政府"))
    assert "\n" in supervisor.text
    assert all(0 <= b.x0 < b.x1 <= 596 and 0 <= b.top < b.bottom <= 842 for b in page.boxes)
    assert all(0.5 <= b.confidence <= 1.0 for b in page.boxes)


def test_ticked_box_restored_where_the_recogniser_drops_it(scan, forms):
    line = next(b.text for b in scan.page(1).boxes if "乡村振兴" in b.text)
    # ☑ is not in the recogniser's dictionary: without restoring it the line names no ticked option.
    assert line.lstrip().startswith(TICKED) and line.count(TICKED) == 1
    assert parse_track(line, forms.form).value == "general"


def test_a_reading_kept_as_json_gives_the_same_page(engine, scan):
    # What tests/data/forms/ocr-*.json hold: the page is rebuilt from it without running OCR.
    again = Reading.from_json(json.loads(json.dumps(scan.to_json())))
    assert [b.text for b in again.page(1).boxes] == [b.text for b in scan.page(1).boxes]
    assert [b.confidence for b in again.page(1).boxes] == pytest.approx([b.confidence for b in scan.page(1).boxes], abs=2e-3)


def test_one_guessed_character_makes_its_box_a_guess():
    # The recogniser scores a line by its average: 垫 read for 堃 at 0.30 hides among ten sure characters.
    words = tuple((ch, 10.0 * k, 10.0 * k + 9, 0.30 if ch == "垫" else 0.99) for k, ch in enumerate("淄博喆垫犇职业培训学校"))
    line = Line("淄博喆垫犇职业培训学校", (0, 0, 110, 12), 0.935, words)
    sure = Line("东营石油技术培训中心", (0, 20, 100, 32), 0.93, tuple((c, 0, 1, 0.8) for c in "东营"))
    boxes = {b.text: b.confidence for b in to_boxes([line, sure], [], 0.5)}
    assert boxes["淄博喆垫犇职业培训学校"] == 0.3 < GUESS
    assert boxes["东营石油技术培训中心"] == 0.93        # unsure characters above the guess level: the line's score


def test_letter_lines_outside_tables_are_single_lines(engine):
    path = SAMPLES / "letter-dongying-scanned.pdf"
    page: Page = engine.read(raster_of(PageJob(path.read_bytes(), "pdf", 0, 200)), 1)
    text = "".join(b.text for b in page.boxes)
    assert "推荐函" in text and "东营市人力资源和社会保障局" in text and "0546-83220916" in text
    assert all("\n" not in b.text for b in page.boxes)


def test_recognition_batches_hold_six_short_lines_or_fewer_long_ones():
    widths = [320, 1400, 320, 700, 330, 320, 320, 320, 320, 1357, 400, 2500, 650]
    batches = width_batches(widths, BATCH_COLUMNS, 6)
    assert sorted(i for batch in batches for i in batch) == list(range(len(widths)))   # each line once
    order = [widths[i] for batch in batches for i in batch]
    assert order == sorted(widths)                                                      # narrowest first
    assert [len(b) for b in batches] == [6, 2, 2, 1, 1, 1]
    assert all(len(b) * max(widths[i] for i in b) <= BATCH_COLUMNS for b in batches if len(b) > 1)
    assert width_batches([], BATCH_COLUMNS, 6) == []


def test_a_worker_past_its_memory_limit_fails_the_page_not_the_pass():
    from pipeline.read.ocr import Failed, OcrPool, PageJob

    data = (SAMPLES / "form-dongying-petroleum-center-scanned.pdf").read_bytes()
    with OcrPool(1, memory=800 * 1024 ** 2) as pool:   # loads in ~700 MB of address space; a page needs more
        (result,) = pool.read([PageJob(data, "pdf", 0, 200)])
    assert isinstance(result, Failed) and "内存超过上限" in result.reason and not result.transient


def test_a_box_read_as_the_character_kou_is_what_its_outline_shows_whatever_the_score():
    # A phone photo's ticked box read as 口 at 0.42: the outline decides, as for a box the recogniser
    # skipped, and the 申报类别 line is no guess for it. An empty box read as 口 stays 口.
    import cv2
    import numpy as np

    from pipeline.read.ocr import restore_ticks

    grey = np.full((60, 200), 255, np.uint8)
    for x0, ticked in ((20, True), (120, False)):
        cv2.rectangle(grey, (x0, 15), (x0 + 26, 41), 0, 2)
        if ticked:
            cv2.line(grey, (x0 + 5, 28), (x0 + 11, 36), 0, 3)
            cv2.line(grey, (x0 + 11, 36), (x0 + 22, 19), 0, 3)
    words = (("口", 18.0, 48.0, 0.42), ("基", 50.0, 116.0, 0.99), ("口", 118.0, 148.0, 0.45), ("地", 150.0, 190.0, 0.99))
    line = restore_ticks(grey, Line("口基口地", (15, 12, 195, 44), 0.7, words))
    assert line.text == f"{TICKED}基口地"
    assert [w[3] for w in line.words] == [1.0, 0.99, 1.0, 0.99]
    assert to_boxes([line], [], 0.5)[0].confidence >= GUESS


def test_a_tick_box_another_line_holds_is_not_put_before_this_one():
    # A row of options read as two lines, the ticked box ending the first: the second line's search to
    # its left finds that box, which is the first line's.
    import cv2
    import numpy as np

    from pipeline.read.ocr import restore_ticks

    grey = np.full((60, 260), 255, np.uint8)
    cv2.rectangle(grey, (100, 15), (126, 41), 0, 2)
    cv2.line(grey, (105, 28), (111, 36), 0, 3)
    cv2.line(grey, (111, 36), (122, 19), 0, 3)
    first = Line("基地口", (10, 12, 128, 44), 0.95, (("基", 10.0, 50.0, 0.99), ("地", 52.0, 96.0, 0.99),
                                                    ("口", 98.0, 128.0, 0.6)))
    second = Line("专项", (130, 12, 220, 44), 0.99, (("专", 130.0, 174.0, 0.99), ("项", 176.0, 220.0, 0.99)))
    assert restore_ticks(grey, second).text.startswith(TICKED)            # alone, it would take the box
    assert restore_ticks(grey, second, [first.rect]).text == "专项"
    assert restore_ticks(grey, first, [second.rect]).text == f"基地{TICKED}"


def test_the_float32_detection_finds_the_boxes_rapidocr_finds(engine):
    # Engine._boxes is rapidocr's auto_text_det without its float64 copies of the page (a page whose
    # sides are multiples of 32, which neither resizes).
    path = SAMPLES / "form-dongying-petroleum-center-scanned.pdf"
    img = raster_of(PageJob(path.read_bytes(), "pdf", 0, 200)).pixels
    img = np.ascontiguousarray(img[:img.shape[0] // 32 * 32, :img.shape[1] // 32 * 32])
    ours = engine._boxes(img, None)
    theirs, _ = engine._ocr.auto_text_det(img)
    assert len(ours) == len(theirs) > 40
    theirs = sorted(theirs, key=lambda b: (float(b[0][1]), float(b[0][0])))
    ours = sorted(ours, key=lambda b: (float(b[0][1]), float(b[0][0])))
    assert max(float(abs(a - b).max()) for a, b in zip(ours, theirs)) <= 1.0


@pytest.mark.parametrize("name, line", [
    # Detected at 1280 px, the row of tick boxes is lost: the ink left outside every box is detected
    # again at full size.
    ("c5-name-code-one-row-photo.jpg", f"{TICKED}省级继续教育基地 口省级继续教育基地（乡村振兴）专项"),
    # At 1280 px the row is two boxes, the ticked box ending the first: it is the first option's tick,
    # not one before the second option too.
    ("c2-numbered-circled-photo.jpg", f"省级继续教育基地{TICKED} 省级继续教育基地（乡村振兴）专项口"),
    # At 1280 px the ticked box and the next option join in one box read with a guess: the row is
    # read again from its full-size detection.
    ("c8-labels-above-scan.pdf", "口省级继续教育基地（乡村振兴）专项"),
])
def test_the_rows_a_coarse_detection_misses_or_misreads_are_read_at_full_size(engine, name, line):
    data = (DATA / "real" / name).read_bytes()
    reading = engine.reading(raster_of(PageJob(data, "pdf" if data[:5] == b"%PDF-" else "photo", 0, 200)))
    texts = [one.text for one in reading.lines]
    # The row's options in order, whether read as one line or as one per box (reading order keeps a row's
    # lines together).
    assert line.replace(" ", "") in "".join(texts).replace(" ", ""), texts
    assert not any("也" in text for text in texts)


# ---- a value OCR read off a page it turned, straightened or flattened is boxed where it stands on the page
# as its file holds it: the box the console draws on the original holds the value. Checked by reading the
# boxed region of the original again, as a viewer shows it (pdfium for a PDF, EXIF-upright for a photo).

MARGIN_PT = 4.0


def original(path: Path) -> tuple[Image.Image, float]:
    """The page as a viewer shows the file, and its pixels per point."""
    data = path.read_bytes()
    if data[:5] == b"%PDF-":
        page = pdfium.PdfDocument(data)[0]
        img = page.render(scale=200 / 72).to_pil().convert("RGB")
        return img, img.width / page.get_size()[0]
    img = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    return img, img.width / A4_WIDTH_PT


def read_in(engine: Engine, img: Image.Image, scale: float, box, turns=range(4)) -> str:
    """What the boxed region says turned by each of `turns` quarter turns anticlockwise (by default
    whichever way up it stands)."""
    x0, top, x1, bottom = box
    region = img.crop((round((x0 - MARGIN_PT) * scale), round((top - MARGIN_PT) * scale),
                       round((x1 + MARGIN_PT) * scale), round((bottom + MARGIN_PT) * scale))).convert("L")
    grey = np.asarray(region)
    return " ".join("".join(line.text for line in engine.lines(np.ascontiguousarray(np.rot90(grey, k))))
                    for k in turns).replace(" ", "")


@pytest.mark.parametrize("name, kind, moved, upright", [
    ("scans/form-sideways.pdf", "pdf", True, 1),                 # turned a quarter by OCR
    ("scans/form-upside-down-skewed.pdf", "pdf", True, 2),       # turned half, a skew undone
    ("scans/form-photo-exif-rotated.jpg", "photo", False, 0),    # EXIF turns it, as a viewer does
    ("real/c5-name-code-one-row-photo.jpg", "photo", True, 1),   # a sheet lying sideways on a desk, flattened
])
def test_the_box_on_the_original_holds_the_value(engine, forms, name, kind, moved, upright):
    path = DATA / name
    page = engine.reading(raster_of(PageJob(path.read_bytes(), kind, 0, 200))).page(1)
    assert (page.frame is not None) == moved
    found = extract((page,), forms.form)
    code = str(found.fields["credit_code"])
    assert len(code) == 18
    evidence = found.evidence["credit_code"]
    img, scale = original(path)
    # Turned as the page says, the boxed region reads level: the console shows the crop so.
    assert page.upright() == upright
    there = read_in(engine, img, scale, page.on_file(evidence.bbox), [upright])
    assert fuzz.partial_ratio(code, there) >= 85, there
    drawn = draw_crop(path.read_bytes(), 0, page.on_file(evidence.bbox), page.on_file(evidence.label_bbox), upright)
    crop = Image.open(io.BytesIO(drawn.png))
    level = "".join(line.text for line in engine.lines(np.asarray(crop.convert("L")))).replace(" ", "")
    assert crop.width > crop.height and fuzz.partial_ratio(code, level) >= 85, level
    if moved:
        # Drawn where OCR read it, in the turned or flattened page, the box misses the value.
        assert fuzz.partial_ratio(code, read_in(engine, img, scale, evidence.bbox)) < 60


def test_a_kept_reading_is_made_by_every_module_of_the_read_package_ocr_uses():
    # detect.py decides which lines a page gives: a change there must read kept pages again.
    names = {path.name for path in reading_sources()}
    assert {"ocr.py", "detect.py", "raster.py", "rectify.py", "grid.py", "text.py"} <= names
    assert all(path.parent.name == "read" for path in reading_sources())


@pytest.mark.parametrize("threads", [1, 2])
def test_each_model_runs_on_the_threads_asked(threads):
    # rapidocr 1.4 puts its global thread counts over the per-model ones: asked per model, every session
    # ran on all the machine's cores, and two workers fought over them.
    engine = Engine(threads=threads)
    ocr = engine._ocr
    for holder in (ocr.text_det.infer, ocr.text_cls.infer, ocr.text_rec.session):
        options = holder.session.get_session_options()
        assert (options.intra_op_num_threads, options.inter_op_num_threads) == (threads, 1)
