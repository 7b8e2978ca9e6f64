"""Field accuracy of intake's readers on the committed fixtures, by how the text was read. Prints a table.

    .venv/bin/python bench/accuracy.py

Truth: tests/data/samples/MANIFEST.md for the sample forms, letters and 汇总表 (the generator's list of
every value); the <file>.expected.json beside each fixture of tests/data/forms and tests/data/scans
(written by their generators from the values put in). A field counts once per document: every key
the truth gives a value, plus the application form's other keys, which must stay empty. An applicant
a 推荐函 or 汇总表 lists counts as its name, its track and each cell of its row.

"wrong, flagged" are errors the reader marked for a person (confidence below ocr.min_confidence);
"wrong, silent" are the ones that would pass as read. Scanned files are read by real OCR through the
worker pool, as a pass reads them (tests/data/forms/ocr-*.json are OCR readings kept as data).
"""
from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import OcrOptions  # noqa: E402
from pipeline.model import Attachment, Document  # noqa: E402
from pipeline.read.content import read_content  # noqa: E402
from pipeline.read.document import read_attachments  # noqa: E402
from pipeline.read.forms import Forms  # noqa: E402
from pipeline.read.ocr import OcrPool, Reading  # noqa: E402
from pipeline.read.sniff import sniff  # noqa: E402
from pipeline.read.text import norm, norm_label  # noqa: E402

DATA = ROOT / "tests" / "data"
THRESHOLD = OcrOptions().min_confidence
SUFFIX = ".expected.json"


# ---- truth ----

def manifest_truth(forms: Forms) -> dict[str, dict]:
    """File name under tests/data/samples → expected, from MANIFEST.md."""
    text = (DATA / "samples" / "MANIFEST.md").read_text(encoding="utf-8")
    by_label = {norm_label(label): f for f in forms.form.fields for label in f.labels}
    out: dict[str, dict] = {}
    units: dict[str, tuple[str, str]] = {}       # name → (track, unit_type) for the letters
    for section in re.split(r"\n### ", text)[1:]:
        head, _, body = section.partition("\n")
        stems = re.findall(r"`([^`]+)\.docx`", head)
        found = re.search(r"Track: `(\w+)`", body)
        if found is None:
            raise ValueError(f"MANIFEST.md: no Track line under {head!r}")
        track = found.group(1)
        fields = {}
        for label, value in re.findall(r"^\| ([^|]+?) \| (.*?) \|$", body, re.M):
            f = by_label.get(norm_label(label))
            if f is None or label == "Label":
                continue
            value = None if value == "(empty)" else value
            if f.type == "track":
                value = track
            elif f.type in ("int", "number") and value is not None:
                value = int(value)
            fields[f.key] = value
        for stem in stems:
            for ext in ("docx", "pdf"):
                out[f"{stem}.{ext}"] = dict(kind="form", fields=fields)
        if "form-dongying-petroleum-center" in stems:
            out["form-dongying-petroleum-center-scanned.pdf"] = dict(kind="form", fields=fields)
        units[fields["unit_name"]] = (track, fields["unit_type"])
    letters = text.split("## Recommendation letters")[1].split("\n## ")[0]
    for row in re.findall(r"^\| `(letter-[\w-]+)\.pdf` \| ([^|]+) \| ([^|]+) \| ([^|]+) \| ([^|]+) \| (.+) \|$",
                          letters, re.M):
        stem, _, _, contact, phone, lines = row
        names = [re.sub(r"^\d+．", "", line).rsplit("（", 2)[0] for line in lines.split("<br>")]
        listed = [dict(name=n, track=units[n][0]) for n in names]
        want = dict(kind="letter", fields=dict(contact=contact, contact_phone=phone), listed=listed)
        for ext in ("docx", "pdf"):
            out[f"{stem}.{ext}"] = want
        if stem == "letter-dongying":
            out["letter-dongying-scanned.pdf"] = want
    summary = text.split("## Summary table")[1].split("\n## ")[0]
    header = dict(re.findall(r"(推荐单位（盖章）|填表人|联系电话|填报日期)：(\S+)", summary))
    rows = []
    for cells in re.findall(r"^\| (\d+) \| (.+) \|$", summary, re.M):
        c = [x.strip() for x in cells[1].split("|")]
        rows.append(dict(name=c[0], track=units[c[0]][0],
                         fields=dict(unit_type=c[1], domains=c[3], avg_trainees=int(c[4]), contact=c[5],
                                     contact_phone=c[6])))
    want = dict(kind="summary", fields=dict(recommender=header["推荐单位（盖章）"], filler=header["填表人"],
                                            filler_phone=header["联系电话"], filled_on=header["填报日期"]),
                listed=rows)
    for ext in ("docx", "pdf"):
        out[f"summary-jinan.{ext}"] = want
    return out


# ---- scoring ----

class Score:
    def __init__(self) -> None:
        self.total = self.right = self.flagged = 0
        self.files = 0
        self.silent: list[str] = []

    def add(self, where: str, key: str, got, want, confidence: float) -> None:
        self.total += 1
        if _same(got, want):
            self.right += 1
        elif confidence < THRESHOLD:
            self.flagged += 1
        else:
            self.silent.append(f"{where}: {key} = {got!r}, should be {want!r}")


def _same(got, want) -> bool:
    if isinstance(want, str) and isinstance(got, str):
        return norm(got) == norm(want)
    return got == want


def score(doc: Document, want: dict, forms: Forms, s: Score, where: str) -> None:
    s.files += 1
    if doc.kind.value != want["kind"]:
        for key in want["fields"]:
            s.add(where, key, None, want["fields"][key], 1.0)
        return
    spec = {"form": forms.form, "audit_form": forms.audit}.get(want["kind"])
    keys = [f.key for f in spec.fields] if spec else list(want["fields"])
    for key in keys:
        s.add(where, key, doc.fields.get(key), want["fields"].get(key), doc.field_confidence.get(key, 0.0))
    got = {e.name: e for e in doc.listed}
    for entry in want.get("listed", []):
        e = got.get(entry["name"])
        conf = e.confidence if e else 1.0
        s.add(where, "listed name", e.name if e else None, entry["name"], conf)
        s.add(where, f"{entry['name']} track", e.track.value if e and e.track else None, entry["track"], conf)
        for key, value in entry.get("fields", {}).items():
            s.add(where, f"{entry['name']} {key}", e.fields.get(key) if e else None, value,
                  e.field_confidence.get(key, 0.0) if e else 1.0)


def method_of(name: str, doc: Document) -> str:
    if doc.method == "ocr":
        return "OCR, reading kept as data" if name.endswith(".json") else "OCR, scanned PDF/photo"
    if name.endswith(".pdf"):
        return "text PDF"
    return "DOCX/XLSX"


def main() -> int:
    forms = Forms.load(ROOT / "templates")
    cases: list[tuple[str, Path, dict]] = []
    for name, want in sorted(manifest_truth(forms).items()):
        cases.append((f"samples/{name}", DATA / "samples" / name, want))
    for folder in ("forms", "scans"):
        for exp in sorted((DATA / folder).glob("*" + SUFFIX)):
            name = exp.name.removesuffix(SUFFIX)
            cases.append((f"{folder}/{name}", DATA / folder / name, json.loads(exp.read_text(encoding="utf-8"))))
    files = [(w, p, e) for w, p, e in cases if not p.name.endswith(".json")]
    with OcrPool(workers=OcrOptions().workers) as pool:
        atts = [Attachment(p.name, "", p.read_bytes(), sniff(p.read_bytes())) for _, p, _ in files]
        docs = dict(zip([w for w, _, _ in files], read_attachments(atts, forms, pool)))
    scores: dict[str, Score] = defaultdict(Score)
    for where, path, want in cases:
        if path.name.endswith(".json"):
            pages = [Reading.from_json(p).page(n) for n, p in enumerate(json.loads(path.read_text("utf-8")), 1)]
            c = read_content(pages, forms)
            doc = Document(path.name, c.kind, "ocr", tuple(pages), c.fields, c.confidence, listed=c.listed)
        else:
            doc = docs[where]
        score(doc, want, forms, scores[method_of(path.name, doc)], where)
    print(f"{'read as':28s} {'files':>5s} {'fields':>6s} {'right':>6s} {'accuracy':>8s} "
          f"{'wrong, flagged':>14s} {'wrong, silent':>13s}")
    for method in ("text PDF", "DOCX/XLSX", "OCR, scanned PDF/photo", "OCR, reading kept as data"):
        s = scores[method]
        if s.total:
            print(f"{method:28s} {s.files:5d} {s.total:6d} {s.right:6d} {100 * s.right / s.total:7.1f}% "
                  f"{s.flagged:14d} {len(s.silent):13d}")
    for s in scores.values():
        for line in s.silent:
            print("  silent:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
