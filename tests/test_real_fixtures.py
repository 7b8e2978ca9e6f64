"""The real forms family (tests/data/real) is well formed: every file has its expected.json, each says
what bench/accuracy.py needs in terms it knows, and they are what make_real.py writes. Nothing is read
here: how well intake reads these files is measured by bench/accuracy.py, not tested."""
from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pytest

from pipeline.model import DocKind, Flag, Outcome
from pipeline.read.forms import Forms
from pipeline.read.uscc import is_valid

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "tests" / "data" / "real"
SUFFIX = ".expected.json"
MEDIA = {"text_pdf", "docx", "scan", "photo", "multi_pdf"}


def documents() -> list[str]:
    return sorted(p.name for p in REAL.iterdir() if p.suffix in (".pdf", ".docx", ".jpg"))


def truth(name: str) -> dict:
    return json.loads((REAL / (name + SUFFIX)).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def forms() -> Forms:
    return Forms.load(ROOT / "templates")


def test_every_document_has_its_expected_json():
    names = documents()
    assert 25 <= len(names) <= 40
    assert sorted(p.name.removesuffix(SUFFIX) for p in REAL.glob("*" + SUFFIX)) == names


@pytest.mark.parametrize("name", documents())
def test_expected_json_is_well_formed(name, forms):
    want = truth(name)
    assert want["file"] == name
    assert DocKind(want["kind"]) in (DocKind.FORM, DocKind.AUDIT_FORM, DocKind.LETTER)
    assert want["medium"] in MEDIA
    assert want["classes"] and set(want["classes"]) <= set(range(1, 9)) and 7 not in want["classes"]
    assert all(Flag(f) for f in want["flags"])
    spec = {"form": forms.form, "audit_form": forms.audit}.get(want["kind"])
    if spec is not None:
        assert set(want["fields"]) <= {f.key for f in spec.fields}
        assert {f.key for f in spec.required} <= set(want["fields"])
        assert is_valid(want["fields"]["credit_code"])
    else:
        assert want["listed"]
    if want["medium"] == "multi_pdf":
        assert 3 in want["classes"] and len(want["parts"]) >= 2
        pages = [p["pages"] for p in want["parts"]]
        assert pages[0][0] == 1 and all(b[0] == a[1] + 1 for a, b in itertools.pairwise(pages))
        assert {DocKind(p["kind"]) for p in want["parts"]} >= {DocKind.LETTER, DocKind.FORM}


def test_mails_name_files_that_exist():
    mails = json.loads((REAL / "mails.json").read_text(encoding="utf-8"))
    assert len({m["id"] for m in mails}) == len(mails)
    for m in mails:
        assert all((REAL / a).is_file() for a in m["attachments"])
        assert all(Flag(f) for f in m["flags"])
        Outcome(m.get("outcome", "submission"))


def test_the_truth_is_what_the_generator_writes():
    sys.path.insert(0, str(REAL))
    try:
        import make_real
    finally:
        sys.path.remove(str(REAL))
    for name, want in make_real.expected().items():
        assert truth(name) == {"file": name, **json.loads(json.dumps(want, ensure_ascii=False))}
    assert json.loads((REAL / "mails.json").read_text(encoding="utf-8")) == make_real.mails()
