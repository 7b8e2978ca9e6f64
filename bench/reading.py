"""How fast intake reads, as ratios against a floor. Prints figures; not a test.

    .venv/bin/python bench/reading.py [--n 3]

1. Seconds per page, text PDFs (tests/data/samples/*.pdf with a text layer): intake's reader
   (pdfplumber tables and lines → boxes) against bare pdfplumber (`extract_text()` per page).
2. Seconds per page, scanned pages (the image-only samples and tests/data/scans): intake's Engine
   (render at ocr.dpi, lift seals, straighten, OCR, restore ticks, find cells, boxes) against bare
   bare rapidocr (its defaults, which shrink a page to 2000 px a side) on the same rendered page.
   One thread each.
3. A whole pass (`run_pass`) over the sample mailbox (pipeline/samples/*.eml) delivered N times with
   fresh Message-IDs into a temporary Maildir, the environment pointed at it as tests/conftest.py
   does, OCR workers as configured; against the floor for the same pages: bare pdfplumber over every
   text page and bare rapidocr over every scanned page of the N submissions, one after the other.
   Peak memory from resource.getrusage: the pass's own process, and its largest child (an OCR worker).

Each measurement runs in a fresh child process, so one's memory or loaded models do not touch another.
"""
from __future__ import annotations

import argparse
import email
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from email import policy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SAMPLES = ROOT / "tests" / "data" / "samples"
SCANS = ROOT / "tests" / "data" / "scans"
MAILBOX = ROOT / "pipeline" / "samples"
DPI = 200   # ocr.dpi's default (pipeline/config.py OcrOptions)


def _has_text(data: bytes) -> bool:
    from pipeline.read.pdf import read_pdf, usable
    return usable(read_pdf(data))


def text_pdfs() -> list[bytes]:
    return [p.read_bytes() for p in sorted(SAMPLES.glob("*.pdf")) if _has_text(p.read_bytes())]


def scanned_pages() -> list[tuple[bytes, str, int]]:
    """(file bytes, pdf|photo, page index) of every scanned page of the fixtures."""
    from pipeline.read.raster import pdf_page_count
    out = []
    for p in sorted(SAMPLES.glob("*-scanned.pdf")) + sorted(SCANS.glob("*.pdf")):
        data = p.read_bytes()
        if p.name == "form-cid-text-layer.pdf" or not _has_text(data):
            out += [(data, "pdf", i) for i in range(pdf_page_count(data))]
    out += [(p.read_bytes(), "photo", 0) for p in sorted(SCANS.glob("*.jpg"))]
    return out


def mail_pdfs(raw: bytes) -> list[bytes]:
    msg = email.message_from_bytes(raw, policy=policy.default)
    payloads = (part.get_payload(decode=True) for part in msg.walk())
    # A multipart container decodes to None: only leaf parts carry bytes.
    return [data for data in payloads if isinstance(data, bytes) and data[:5] == b"%PDF-"]


# ---- floors ----

def floor_text(pdfs: list[bytes]) -> tuple[float, int]:
    import pdfplumber
    start, pages = time.perf_counter(), 0
    for data in pdfs:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                page.extract_text()
                pages += 1
    return time.perf_counter() - start, pages


def floor_ocr(pages: list[tuple[bytes, str, int]]) -> tuple[float, int]:
    from rapidocr_onnxruntime import RapidOCR

    from pipeline.read.ocr import PageJob, raster_of
    # One thread, as each intake worker has; otherwise rapidocr's defaults (it shrinks to 2000 px a side).
    one = {f"{part}_{key}": 1 for part in ("det", "cls", "rec") for key in ("intra_op_num_threads", "inter_op_num_threads")}
    engine = RapidOCR(**one)
    images = [raster_of(PageJob(data, kind, i, DPI)).pixels for data, kind, i in pages]
    engine(images[0])   # the first call pays for loading the sessions; a pass pays that per worker
    start = time.perf_counter()
    for img in images:
        engine(img)
    return time.perf_counter() - start, len(images)


# ---- intake ----

def intake_text(pdfs: list[bytes]) -> tuple[float, int]:
    from pipeline.read.pdf import read_pdf
    start, pages = time.perf_counter(), 0
    for data in pdfs:
        pages += len(read_pdf(data))
    return time.perf_counter() - start, pages


def intake_ocr(pages: list[tuple[bytes, str, int]]) -> tuple[float, int]:
    from pipeline.read.ocr import Engine, PageJob, raster_of
    engine = Engine(threads=1)
    jobs = [PageJob(data, kind, i, DPI) for data, kind, i in pages]
    engine.read(raster_of(jobs[0]), 1)
    start = time.perf_counter()
    for job in jobs:
        engine.read(raster_of(job), job.number)   # rendering included: a worker renders its own pages
    return time.perf_counter() - start, len(jobs)


def intake_pass(n: int) -> dict:
    from pipeline import config as config_mod
    from pipeline.demo import delivery_time, samples
    from pipeline.flow import run_pass
    from pipeline.mail.maildir import deliver, ensure_maildir

    with tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp:
        root = Path(tmp)
        environ = {"INTAKE_CONFIG": str(ROOT / "inbox_rules.yaml"),
                   "INTAKE_MAILBOX_URL": f"maildir:{root / 'mail' / 'inbox'}",
                   "INTAKE_OUTBOX_URL": f"maildir:{root / 'mail' / 'sent'}",
                   "INTAKE_OUTPUT_DIR": str(root / "output")}
        cfg = config_mod.load(environ=environ)
        ensure_maildir(cfg.mailbox.maildir)
        count = 0
        for k in range(n):
            for name, raw in samples():
                # A fresh Message-ID makes each copy a message of its own, not a duplicate.
                copy = re.sub(rb"(?im)^(Message-ID:\s*<)", rb"\g<1>bench%d." % k, raw, count=1)
                deliver(cfg.mailbox.maildir, copy, key=f"bench-{k}-{name}", received_at=delivery_time(raw))
                count += 1
        start = time.perf_counter()
        report = run_pass(cfg)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "messages": count, "fetched": report.fetched,
            "peak_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_child_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def pass_floor(n: int) -> dict:
    """The floor for the pass's pages: its text pages by bare pdfplumber, its scanned pages by bare rapidocr."""
    from pipeline.demo import samples
    from pipeline.read.raster import pdf_page_count
    text, scanned = [], []
    for _, raw in samples():
        for data in mail_pdfs(raw):
            if _has_text(data):
                text.append(data)
            else:
                scanned += [(data, "pdf", i) for i in range(pdf_page_count(data))]
    t_text, n_text = floor_text(text)
    t_ocr, n_ocr = floor_ocr(scanned) if scanned else (0.0, 0)
    return {"seconds": n * (t_text + t_ocr), "text_pages": n * n_text, "scanned_pages": n * n_ocr}


PHASES = {
    "text": lambda n: dict(zip(("intake", "pages"), intake_text(text_pdfs())),
                           floor=floor_text(text_pdfs())[0]),
    "ocr": lambda n: dict(zip(("intake", "pages"), intake_ocr(scanned_pages())),
                          floor=floor_ocr(scanned_pages())[0]),
    "pass": intake_pass,
    "pass_floor": pass_floor,
}


def child(phase: str, n: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--phase", phase, "--n", str(n)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3, help="times the sample mailbox is delivered")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args.n)))
        return 0
    print(f"intake reading bench — {os.cpu_count()} CPU(s), ocr.dpi {DPI}, N = {args.n}")
    for phase, what in (("text", "text-PDF pages"), ("ocr", "scanned pages")):
        r = child(phase, args.n)
        per, floor = r["intake"] / r["pages"], r["floor"] / r["pages"]
        print(f"  {what:15s} {r['pages']:3d} pages: intake {per:.3f} s/page, floor {floor:.3f} s/page, "
              f"ratio {per / floor:.2f}")
    p, f = child("pass", args.n), child("pass_floor", args.n)
    print(f"  whole pass      {p['messages']} messages ({f['text_pages']} text + {f['scanned_pages']} scanned pages): "
          f"{p['seconds']:.1f} s, floor {f['seconds']:.1f} s, ratio {p['seconds'] / f['seconds']:.2f}")
    print(f"  peak memory     pass process {p['peak_self_mb']:.0f} MB, largest OCR worker {p['peak_child_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
