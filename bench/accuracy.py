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

The "real forms" family (tests/data/real, made by make_real.py; issue #10) is reported apart: the
accuracy of the key fields (the fields templates/forms/*.yaml marks required — unit_name, credit_code,
contact, contact_phone, track, avg_trainees; the 审验表 has no track — and domains, which class 2 is
about) and of all fields, by medium and by the class of error each file is made to provoke; the false
flags (a flag a legible document's truth does not expect: low_confidence counts as false when every
field it names, or, naming none, every field of the document, was read right); for each PDF holding
several documents, whether each document's kind and page range were found; and, mail by mail
(tests/data/real/mails.json, run through parse, route, read, assemble and check), the applications
and the flags a careful clerk would note.

    .venv/bin/python bench/accuracy.py [--only fixtures|real]
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import config as config_mod  # noqa: E402
from pipeline import flow  # noqa: E402
from pipeline.config import OcrOptions  # noqa: E402
from pipeline.model import CLERK_ONLY, Attachment, Document, Flag, Submission  # noqa: E402
from pipeline.read.content import read_content  # noqa: E402
from pipeline.read.document import read_attachments  # noqa: E402
from pipeline.read.forms import Forms  # noqa: E402
from pipeline.read.ocr import OcrPool, Reading  # noqa: E402
from pipeline.read.raster import pdf_page_count  # noqa: E402
from pipeline.read.sniff import sniff  # noqa: E402
from pipeline.read.text import norm, norm_label, norm_name  # noqa: E402
from pipeline.route import Directory  # noqa: E402

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


def fixtures_report(forms: Forms, pool: OcrPool) -> None:
    cases: list[tuple[str, Path, dict]] = []
    for name, want in sorted(manifest_truth(forms).items()):
        cases.append((f"samples/{name}", DATA / "samples" / name, want))
    for folder in ("forms", "scans"):
        for exp in sorted((DATA / folder).glob("*" + SUFFIX)):
            name = exp.name.removesuffix(SUFFIX)
            cases.append((f"{folder}/{name}", DATA / folder / name, json.loads(exp.read_text(encoding="utf-8"))))
    files = [(w, p, e) for w, p, e in cases if not p.name.endswith(".json")]
    atts = [Attachment(p.name, "", p.read_bytes(), sniff(p.read_bytes())) for _, p, _ in files]
    by_file = per_file(read_attachments(atts, forms, pool))
    docs = {w: by_file[p.name][0] for w, p, _ in files}
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


# ---- the real forms family (tests/data/real) ----

REAL = DATA / "real"
MEDIA = ("text_pdf", "docx", "scan", "photo", "multi_pdf")
MEDIA_NAMES = {"text_pdf": "text PDF", "docx": "DOCX", "scan": "scan (OCR)", "photo": "photo (OCR)",
               "multi_pdf": "multi-document PDF"}
CLASS_NAMES = {1: "1 near-synonym label / per-year figures", 2: "2 numbered multi-line cells",
               3: "3 several documents in one PDF", 4: "4 the same form twice (DOCX + PDF)",
               5: "5 photos; name and code on one line", 6: "6 审验表 with its own labels",
               7: "7 mail that is not a submission", 8: "8 false flags (legible documents)"}
# The field each class is about, reported beside the key fields.
CLASS_FIELDS = {1: ("avg_trainees",), 2: ("domains",), 5: ("unit_name", "credit_code"), 6: ("avg_trainees",)}
RECEIVED = datetime(2019, 9, 16, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def key_fields(forms: Forms, kind: str) -> tuple[str, ...]:
    """The fields a form's definition marks required, and domains (class 2)."""
    spec = {"form": forms.form, "audit_form": forms.audit}.get(kind)
    return tuple(f.key for f in spec.required) + ("domains",) if spec else ()


@dataclass
class Tally:
    files: int = 0
    key: int = 0
    key_right: int = 0
    fields: int = 0
    fields_right: int = 0
    flagged: int = 0            # key fields wrong, below the confidence threshold
    silent: int = 0             # key fields wrong, passing as read
    own: int = 0                # the class's own field(s)
    own_right: int = 0
    false_flags: int = 0        # documents with a flag their truth does not expect

    def pct(self, right: int, total: int) -> str:
        return f"{100 * right / total:6.1f}%" if total else "      –"


@dataclass
class DocResult:
    name: str
    want: dict
    doc: Document
    wrong: dict[str, tuple[object, object]]      # key → (got, want), every scored field
    key_wrong: dict[str, tuple[object, object]]
    flagged_wrong: set[str]
    false_flag: str                              # "" or what was raised without cause
    parts_got: list[tuple[str, int, int]]


def per_file(docs: Sequence[Document]) -> dict[str, list[Document]]:
    """The reader's documents grouped by the file they came from (a PDF may hold several)."""
    out: dict[str, list[Document]] = defaultdict(list)
    for d in docs:
        out[d.filename].append(d)
    return out


def parts_of(docs: Sequence[Document]) -> list[tuple[str, int, int]]:
    """The documents a reader found in one file, each (kind, first page, last page)."""
    if len(docs) == 1 and not docs[0].part:
        doc = docs[0]
        last = pdf_page_count(doc.data) if doc.data[:5] == b"%PDF-" else max(len(doc.pages), 1)
        return [(doc.kind.value, 1, last)]
    return [(d.kind.value, d.pages[0].number, d.pages[-1].number) for d in docs if d.pages]


def main_document(docs: Sequence[Document], want: dict) -> Document:
    """The document of a file the truth's fields are about: the one of its kind, else the first."""
    return next((d for d in docs if d.kind.value == want["kind"]), docs[0])


def judge(name: str, docs: Sequence[Document], want: dict, forms: Forms) -> DocResult:
    doc = main_document(docs, want)
    same_kind = doc.kind.value == want["kind"]
    if want["kind"] in ("form", "audit_form"):
        spec = forms.form if want["kind"] == "form" else forms.audit
        assert spec is not None
        keys = [f.key for f in spec.fields]
        keyset = set(key_fields(forms, want["kind"]))
    else:       # a letter: its contact, and the applicants it lists
        keys, keyset = list(want["fields"]), set()
    wrong: dict[str, tuple[object, object]] = {}
    for key in keys:
        got = doc.fields.get(key) if same_kind else None
        if not _same(got, want["fields"].get(key)) and not (got in (None, "") and want["fields"].get(key) is None):
            wrong[key] = (got, want["fields"].get(key))
    listed = {norm_name(e.name) for e in doc.listed} if same_kind else set()
    for entry in want.get("listed", []):
        keyset.add(f"listed {entry['name']}")
        if norm_name(entry["name"]) not in listed:
            wrong[f"listed {entry['name']}"] = (None, entry["name"])
    threshold = THRESHOLD
    # Marked for a person: read below the threshold, or named unsure or unread in the document's finding.
    flagged_wrong = {k for k in wrong if (k in doc.field_confidence and doc.field_confidence[k] < threshold)
                     or k in doc.low_confidence or k in doc.missing}
    # The flags the document itself raises: its problem, and low_confidence for required fields left unread.
    raised = {doc.problem.flag} if doc.problem else set()
    if doc.missing:
        raised.add(Flag.LOW_CONFIDENCE)
    false = []
    for flag in sorted(raised - {Flag(f) for f in want.get("flags", [])}):
        named = set(doc.low_confidence) | set(doc.missing)
        justified = bool(named & set(wrong)) if named else bool(wrong)
        if flag is not Flag.LOW_CONFIDENCE or not justified:
            false.append(f"{flag.value}（{doc.problem.detail if doc.problem else '、'.join(doc.missing.values())}）")
    return DocResult(name, want, doc, wrong, {k: v for k, v in wrong.items() if k in keyset}, flagged_wrong,
                     "；".join(false), parts_of(docs))


def tally_doc(t: Tally, r: DocResult, forms: Forms, own: tuple[str, ...] = ()) -> None:
    want = r.want
    keys = (key_fields(forms, want["kind"]) if want["kind"] in ("form", "audit_form")
            else tuple(f"listed {e['name']}" for e in want.get("listed", [])))
    if want["kind"] == "audit_form":
        keys = tuple(k for k in keys if k in want["fields"])     # an 审验表 without 主要培训项目 has no domains
    spec = {"form": forms.form, "audit_form": forms.audit}.get(want["kind"])
    every = [f.key for f in spec.fields] if spec else list(want["fields"]) + list(keys)
    t.files += 1
    t.key += len(keys)
    t.key_right += sum(1 for k in keys if k not in r.wrong)
    t.fields += len(every)
    t.fields_right += sum(1 for k in every if k not in r.wrong)
    t.flagged += sum(1 for k in keys if k in r.wrong and k in r.flagged_wrong)
    t.silent += sum(1 for k in keys if k in r.wrong and k not in r.flagged_wrong)
    t.own += len([k for k in own if k in want["fields"]])
    t.own_right += len([k for k in own if k in want["fields"] and k not in r.wrong])
    t.false_flags += bool(r.false_flag)


def mail_bytes(m: dict) -> bytes:
    msg = EmailMessage()
    msg["From"] = m["sender"]
    msg["To"] = "ymrst@shandong.cn"
    msg["Subject"] = m["subject"]
    msg["Date"] = format_datetime(RECEIVED)
    msg["Message-ID"] = f"<{m['id']}@real.example.cn>"
    msg.set_content(m["body"])
    types = {".pdf": ("application", "pdf"), ".jpg": ("image", "jpeg"),
             ".docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")}
    for name in m["attachments"]:
        path = REAL / name
        main, sub = types[path.suffix]
        msg.add_attachment(path.read_bytes(), maintype=main, subtype=sub, filename=name)
    return bytes(msg)


def run_mail(m: dict, ctx: flow.Context) -> Submission:
    sub = Submission(raw=mail_bytes(m), received_at=RECEIVED)
    for stage in (flow.parse, flow.route, flow.read, flow.assemble_stage, flow.check_stage):
        if stage is not flow.parse and sub.outcome.value != "submission":
            break
        sub = stage(sub, ctx)
    return sub


def real_report(forms: Forms, pool: OcrPool) -> None:
    cases = [(exp.name.removesuffix(SUFFIX), json.loads(exp.read_text(encoding="utf-8")))
             for exp in sorted(REAL.glob("*" + SUFFIX))]
    atts = [Attachment(n, "", (REAL / n).read_bytes(), sniff((REAL / n).read_bytes())) for n, _ in cases]
    by_file = per_file(read_attachments(atts, forms, pool))
    results = [judge(n, by_file[n], w, forms) for n, w in cases]
    by_medium: dict[str, Tally] = defaultdict(Tally)
    by_class: dict[int, Tally] = defaultdict(Tally)
    total, text, ocr = Tally(), Tally(), Tally()
    for r in results:
        tally_doc(by_medium[r.want["medium"]], r, forms)
        tally_doc(total, r, forms)
        scanned = r.want["medium"] in ("scan", "photo") or (r.want["medium"] == "multi_pdf" and r.want.get("scanned"))
        tally_doc(ocr if scanned else text, r, forms)
        for c in r.want["classes"]:
            tally_doc(by_class[c], r, forms, CLASS_FIELDS.get(c, ()))

    print("\nReal forms family (tests/data/real): key fields = required fields of the form definition + domains")
    head = (f"{'':40s} {'files':>5s} {'key':>4s} {'right':>5s} {'key acc.':>8s} {'all acc.':>8s} "
            f"{'flagged':>7s} {'silent':>6s} {'false flags':>11s}")
    print(head)
    for medium in MEDIA:
        t = by_medium[medium]
        if t.files:
            print(f"{MEDIA_NAMES[medium]:40s} {t.files:5d} {t.key:4d} {t.key_right:5d} {t.pct(t.key_right, t.key):>8s} "
                  f"{t.pct(t.fields_right, t.fields):>8s} {t.flagged:7d} {t.silent:6d} {t.false_flags:5d} of {t.files:3d}")
    for label, t in (("from text (text PDF, DOCX)", text), ("from scans and photos (OCR)", ocr), ("all", total)):
        print(f"{label:40s} {t.files:5d} {t.key:4d} {t.key_right:5d} {t.pct(t.key_right, t.key):>8s} "
              f"{t.pct(t.fields_right, t.fields):>8s} {t.flagged:7d} {t.silent:6d} {t.false_flags:5d} of {t.files:3d}")

    print("\nSeveral documents in one PDF: each document's kind and page range")
    parts = parts_right = files_right = kinds_found = 0
    multi = [r for r in results if "parts" in r.want]
    for r in multi:
        want_parts = [(p["kind"], p["pages"][0], p["pages"][1]) for p in r.want["parts"]]
        right = [p for p in want_parts if p in r.parts_got]
        parts += len(want_parts)
        parts_right += len(right)
        files_right += right == want_parts and len(r.parts_got) == len(want_parts)
        kinds_found += {k for k, _, _ in want_parts} <= {k for k, _, _ in r.parts_got}
        print(f"  {r.name}: want {_parts_text(want_parts)}; read {_parts_text(r.parts_got)}")
    if multi:
        print(f"  documents found with kind and pages: {parts_right} of {parts}; files wholly right: {files_right} of "
              f"{len(multi)}; files where every kind was found: {kinds_found} of {len(multi)}")

    wrong_docs = {r.name for r in results if r.wrong}
    config = config_mod.load(environ={"INTAKE_CONFIG": str(ROOT / "inbox_rules.yaml"),
                                      "INTAKE_MAILBOX_URL": "maildir:/nonexistent/inbox",
                                      "INTAKE_OUTBOX_URL": "maildir:/nonexistent/sent",
                                      "INTAKE_OUTPUT_DIR": "/nonexistent/output"})
    ctx = flow.Context(config, forms, Directory(config.recommenders, {}), pool)
    mails = json.loads((REAL / "mails.json").read_text(encoding="utf-8"))
    print("\nMails (tests/data/real/mails.json): outcome, applications, flags")
    mails_false = mails_right = 0
    mail_ok: set[str] = set()
    for m in mails:
        sub = run_mail(m, ctx)
        outcome_ok = sub.outcome.value == m.get("outcome", "submission")
        got_apps = sorted(norm_name(a.applicant) for a in sub.applications)
        apps_ok = got_apps == sorted(norm_name(n) for n in m["applicants"])
        raised = {f.flag for f in sub.findings} | {f.flag for a in sub.applications for f in a.findings}
        raised -= CLERK_ONLY
        expected = {Flag(f) for f in m["flags"]}
        unexpected = raised - expected
        # low_confidence is not false where a document of the mail was in fact read wrong.
        if Flag.LOW_CONFIDENCE in unexpected and set(m["attachments"]) & wrong_docs:
            unexpected.discard(Flag.LOW_CONFIDENCE)
        missing = expected - raised
        ok = outcome_ok and apps_ok and not unexpected and not missing
        mails_right += ok
        if ok:
            mail_ok.add(m["id"])
        mails_false += bool(unexpected)
        details = [f.text() for f in sub.findings if f.flag in unexpected]
        details += [f"{a.applicant}: {f.text()}" for a in sub.applications for f in a.findings if f.flag in unexpected]
        print(f"  {m['id']} (class {', '.join(map(str, m['classes']))}): {'right' if ok else 'WRONG'}; outcome "
              f"{sub.outcome.value}; {len(sub.applications)} application(s) {'right' if apps_ok else 'WRONG'}"
              f"{'; unexpected flags: ' + ', '.join(sorted(f.value for f in unexpected)) if unexpected else ''}"
              f"{'; missing flags: ' + ', '.join(sorted(f.value for f in missing)) if missing else ''}")
        for d in details:
            print("      ", d)
    doc_false = sum(bool(r.false_flag) for r in results)
    print(f"\n{'by class':40s} {'files':>5s} {'key':>4s} {'right':>5s} {'key acc.':>8s} {'its field':>9s} "
          f"{'false flags':>11s} {'mails right':>11s}")
    for c in sorted(set(by_class) | {c for m in mails for c in m["classes"]}):
        t = by_class[c]
        of_class = [m["id"] for m in mails if c in m["classes"]]
        ok_count = sum(1 for i in of_class if i in mail_ok)
        print(f"{CLASS_NAMES[c]:40s} {t.files:5d} {t.key:4d} {t.key_right:5d} {t.pct(t.key_right, t.key):>8s} "
              f"{t.pct(t.own_right, t.own):>9s} {t.false_flags:5d} of {t.files:3d} "
              f"{f'{ok_count} of {len(of_class)}' if of_class else '–':>11s}")
    print(f"  mails right: {mails_right} of {len(mails)}; mails with a false flag: {mails_false} of {len(mails)}")
    print(f"\nfalse-flag rate: documents {doc_false} of {len(results)} ({100 * doc_false / len(results):.1f}%), "
          f"mails {mails_false} of {len(mails)}; together {doc_false + mails_false} of {len(results) + len(mails)} "
          f"({100 * (doc_false + mails_false) / (len(results) + len(mails)):.1f}%)")
    print(f"key fields from text {text.pct(text.key_right, text.key).strip()} (target ≥ 99%), from scans and photos "
          f"{ocr.pct(ocr.key_right, ocr.key).strip()} (target ≥ 97%), false flags ≤ 2%")
    print("\nWrong key fields and false flags, file by file:")
    for r in results:
        for key, (got, want) in r.key_wrong.items():
            mark = "flagged" if key in r.flagged_wrong else "silent"
            print(f"  {r.name}: {key} = {got!r}, should be {want!r} ({mark})")
        if r.doc.kind.value != r.want["kind"]:
            print(f"  {r.name}: read as {r.doc.kind.value}, is {r.want['kind']}")
        if r.false_flag:
            print(f"  {r.name}: false flag {r.false_flag}")


def _parts_text(parts: list[tuple[str, int, int]]) -> str:
    return ", ".join(f"{k} p.{a}" + (f"–{b}" if b != a else "") for k, a, b in parts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--only", choices=("fixtures", "real"), help="only the committed fixtures, or only the real forms family")
    args = ap.parse_args(argv)
    forms = Forms.load(ROOT / "templates")
    with OcrPool(workers=OcrOptions().workers) as pool:
        if args.only != "real":
            fixtures_report(forms, pool)
        if args.only != "fixtures":
            real_report(forms, pool)
    return 0


if __name__ == "__main__":
    sys.exit(main())
