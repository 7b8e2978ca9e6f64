"""Each reader fixture of tests/data/forms and tests/data/scans against the JSON beside it
(<file>.expected.json), written by the fixture's generator from the values it put into the document.

A field the expected JSON lists under "unsure" is one the fixture cannot give right (an OCR line
lost, a rare character the recogniser does not know): the reader may get it wrong, but then it must
say so (confidence below ocr.min_confidence, named in the document's finding). Every other field is
compared exactly, and a field the document does not carry must stay empty.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import OcrOptions
from pipeline.model import Attachment, DocKind, Document
from pipeline.read.content import read_content
from pipeline.read.document import read_attachments
from pipeline.read.doubts import unsure
from pipeline.read.fields import coerce, read_pairs
from pipeline.read.forms import Forms
from pipeline.read.ocr import OcrPool, Reading
from pipeline.read.sniff import sniff

ROOT = Path(__file__).resolve().parent.parent
FORMS_DIR, SCANS_DIR = ROOT / "tests" / "data" / "forms", ROOT / "tests" / "data" / "scans"
SUFFIX = ".expected.json"
THRESHOLD = OcrOptions().min_confidence


def fixtures(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()
                  if p.is_file() and not p.name.endswith((SUFFIX, ".py", ".md")))


def expected(folder: Path, name: str) -> dict:
    return json.loads((folder / (name + SUFFIX)).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def forms() -> Forms:
    return Forms.load(ROOT / "templates")


@pytest.mark.parametrize("folder", [FORMS_DIR, SCANS_DIR], ids=["forms", "scans"])
def test_every_fixture_has_its_expected_json(folder):
    names = fixtures(folder)
    assert names
    assert sorted(p.name.removesuffix(SUFFIX) for p in folder.glob("*" + SUFFIX)) == names


def attachment(path: Path) -> Attachment:
    data = path.read_bytes()
    return Attachment(path.name, "application/octet-stream", data, sniff(data))


def check(doc_kind: DocKind, fields: dict, confidence: dict, listed, flagged: dict, want: dict, forms: Forms):
    assert doc_kind.value == want["kind"]
    spec = {"form": forms.form, "audit_form": forms.audit}.get(want["kind"])
    truth, doubtful = want["fields"], want.get("unsure", {})
    keys = [f.key for f in spec.fields] if spec else list(truth)
    for key in keys:
        if key in doubtful and fields.get(key) != truth.get(key):
            # Wrong, as the fixture makes it: then it must be marked for a person, never pass as read.
            assert confidence.get(key, 0.0) < THRESHOLD, f"{key}: {fields.get(key)!r} passed as read"
            assert key in flagged, f"{key} is not named in the finding"
        else:
            assert fields.get(key) == truth.get(key), key
    got = [{"name": e.name, "track": e.track.value if e.track else None, **({"fields": e.fields} if e.fields else {})}
           for e in listed]
    assert got == want.get("listed", [])


# ---- tests/data/forms: typed documents, and OCR readings gathered into boxes without OCR ----

FORM_CASES = fixtures(FORMS_DIR)


@pytest.mark.parametrize("name", FORM_CASES)
def test_forms_fixture(name, forms):
    want = expected(FORMS_DIR, name)
    path = FORMS_DIR / name
    if name.startswith("ocr-"):
        pages = [Reading.from_json(p).page(n) for n, p in
                 enumerate(json.loads(path.read_text(encoding="utf-8")), 1)]
        content = read_content(pages, forms)
        doc = Document(name, content.kind, "ocr", tuple(pages), content.fields, content.confidence,
                       listed=content.listed)
    else:
        (doc,) = read_attachments([attachment(path)], forms)
        assert doc.method in ("text", "docx")
    flagged = unsure(doc, forms, THRESHOLD)
    check(doc.kind, doc.fields, doc.field_confidence, doc.listed, flagged, want, forms)
    if not name.startswith("ocr-"):
        assert doc.problem is None and not flagged   # typed text is never in doubt here
    for label, value in want.get("pairs", {}).items():
        spec = forms.form
        pairs = [p for page in doc.pages for p in read_pairs(page.boxes, spec) if p.label_box.text.strip() == label]
        assert [coerce(p.raw, p.field, spec) for p in pairs] == [value], label


# ---- tests/data/scans: real OCR, all files in one call across two workers, as a pass reads a mail ----

SCAN_CASES = fixtures(SCANS_DIR)


@pytest.fixture(scope="module")
def scanned(forms):
    with OcrPool(workers=2) as pool:
        docs = read_attachments([attachment(SCANS_DIR / n) for n in SCAN_CASES], forms, pool)
    return dict(zip(SCAN_CASES, docs))


@pytest.mark.ocr
@pytest.mark.parametrize("name", SCAN_CASES)
def test_scans_fixture(name, forms, scanned):
    want = expected(SCANS_DIR, name)
    doc = scanned[name]
    assert doc.method == "ocr"
    flagged = unsure(doc, forms, THRESHOLD)
    check(doc.kind, doc.fields, doc.field_confidence, doc.listed, flagged, want, forms)
    if "pages" in want:
        assert len(doc.pages) == want["pages"]
