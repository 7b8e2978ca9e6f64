"""How fast intake reads, and in how much memory, as ratios against a floor, next to how well it reads.
Prints figures; not a test.

    .venv/bin/python bench/reading.py [--n 3] [--rounds 3] [--no-accuracy]

1. Seconds per page, text PDFs (tests/data/samples/*.pdf with a text layer): intake's reader
   (pdfplumber tables and lines → boxes) against bare pdfplumber (`extract_text()` per page).
2. Seconds per page, scanned pages (the image-only samples and tests/data/scans): intake's Engine
   (render at ocr.dpi, lift seals, straighten, OCR, restore ticks, find cells, boxes) against
   bare rapidocr (its defaults, which shrink a page to 2000 px a side) on the same rendered page.
   One thread each: the work per page.
3. A whole pass (`run_pass`) over a mixed mailbox delivered N times with fresh Message-IDs into a
   temporary Maildir, the environment pointed at it as tests/conftest.py does, OCR workers as
   configured (the copies after the first are answered by the readings the first kept, as a resend's
   would be: the figures in the README are for N = 1). The mailbox: the sample mails
   (pipeline/samples/*.eml) and one mail per PDF or photo of the real forms family (tests/data/real:
   text PDFs, scans, photos, several documents in one PDF).
   The floor for the same pages: bare pdfplumber over every text page and bare rapidocr at its
   defaults (each model on all the machine's cores) over every scanned page and photo, one after the
   other in one process (target: pass ÷ floor ≤ 0.8 with two workers). Both are measured --rounds
   times, alternately, and the median ratio reported: on a shared machine either alone varies by a
   fifth. The floor's models are loaded before its clock starts; the pass starts its OCR workers on
   the clock, and finds the rewritten models (pipeline/read/models.py) kept in its output folder, as
   every pass after the first does.
   Peak memory: the pass's own process, and each OCR worker's (as the worker measured it, its VmHWM;
   target ≤ 500 MB).
4. How much two OCR processes gain over one on this machine: the same scanned pages read by one
   Engine alone, then by two at once, one thread each. Two virtual cores that share one physical core
   (or its vector units) read no faster together than one alone.
5. The accuracy the same code reaches (bench/accuracy.py): its summary lines, so that speed and memory
   are never read without it.

Each measurement runs in a fresh child process, so one's memory or loaded models do not touch another.
"""
from __future__ import annotations

import argparse
import email
import io
import json
import os
import re
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
REAL = ROOT / "tests" / "data" / "real"
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


def mail_files(raw: bytes) -> list[bytes]:
    """The PDFs and photos a mail carries."""
    msg = email.message_from_bytes(raw, policy=policy.default)
    payloads = (part.get_payload(decode=True) for part in msg.walk())
    # A multipart container decodes to None: only leaf parts carry bytes.
    return [data for data in payloads if isinstance(data, bytes) and (data[:5] == b"%PDF-" or data[:3] == b"\xff\xd8\xff")]


def mixed_mails() -> list[tuple[str, bytes]]:
    """The sample mails, and one mail per PDF or photo of the real forms family, sent as a recommender
    of the notice would send it (the first mail of tests/data/real/mails.json is the model)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from accuracy import mail_bytes

    from pipeline.demo import samples
    model = json.loads((REAL / "mails.json").read_text(encoding="utf-8"))[0]
    real = [(f"real-{p.name}.eml", mail_bytes(dict(model, id=f"bench-{p.stem}", attachments=[p.name])))
            for p in sorted(REAL.iterdir()) if p.suffix in (".pdf", ".jpg")]
    return samples() + real


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


def floor_ocr(pages: list[tuple[bytes, str, int]], threads: int | None = None) -> tuple[float, int]:
    """Bare rapidocr over the pages: at its defaults (it shrinks to 2000 px a side and runs each model on
    all the machine's cores), or on `threads` threads."""
    from rapidocr_onnxruntime import RapidOCR

    from pipeline.read.ocr import PageJob, raster_of
    # Global counts: rapidocr 1.4 overwrites the per-model ones (det_intra_op_num_threads…) with these.
    engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1) if threads else RapidOCR()
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
    from pipeline import caches
    from pipeline import config as config_mod
    from pipeline.demo import delivery_time
    from pipeline.flow import run_pass
    from pipeline.mail.maildir import deliver, ensure_maildir
    from pipeline.read.ocr import own_peak_kb

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
            for name, raw in mixed_mails():
                # A fresh Message-ID makes each copy a message of its own, not a duplicate.
                copy = re.sub(rb"(?im)^(Message-ID:\s*<)", rb"\g<1>bench%d." % k, raw, count=1)
                deliver(cfg.mailbox.maildir, copy, key=f"bench-{k}-{name}", received_at=delivery_time(raw))
                count += 1
        # The rewritten OCR models kept, as every pass after the first finds them (the first pass's workers
        # rewrite them: about a second and a half more). In a child: the pass's own peak stays its own.
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from pipeline.read.ocr import Engine; "
                        "Engine(1, Path(sys.argv[1]))", str(cfg.output_dir / caches.MODELS)], cwd=ROOT, check=True)
        start = time.perf_counter()
        report = run_pass(cfg)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "messages": count, "fetched": report.fetched, "ocr_pages": report.ocr_pages,
            "peak_self_mb": own_peak_kb() / 1024,
            "peak_workers_mb": report.ocr_peak_mb}


def pass_floor(n: int) -> dict:
    """The floor for the pass's pages: its text pages by bare pdfplumber, its scanned pages and photos by
    bare rapidocr."""
    from pipeline.read.raster import pdf_page_count
    text: list[bytes] = []
    scanned: list[tuple[bytes, str, int]] = []
    for _, raw in mixed_mails():
        for data in mail_files(raw):
            if data[:5] != b"%PDF-":
                scanned.append((data, "photo", 0))
            elif _has_text(data):
                text.append(data)
            else:
                scanned += [(data, "pdf", i) for i in range(pdf_page_count(data))]
    t_text, n_text = floor_text(text)
    t_ocr, n_ocr = floor_ocr(scanned) if scanned else (0.0, 0)
    return {"seconds": n * (t_text + t_ocr), "text_pages": n * n_text, "scanned_pages": n * n_ocr}


def ocr_rate(n: int) -> dict:
    from pipeline.read.ocr import Engine, PageJob, raster_of
    engine = Engine(threads=1)
    rasters = [raster_of(PageJob(data, kind, i, DPI)) for data, kind, i in scanned_pages()[:4]]
    engine.reading(rasters[0])
    start = time.perf_counter()
    for raster in rasters:
        engine.reading(raster)
    return {"seconds": time.perf_counter() - start, "pages": len(rasters)}


PHASES = {
    "text": lambda n: dict(zip(("intake", "pages"), intake_text(text_pdfs())),
                           floor=floor_text(text_pdfs())[0]),
    "ocr": lambda n: dict(zip(("intake", "pages"), intake_ocr(scanned_pages())),
                          floor=floor_ocr(scanned_pages(), threads=1)[0]),
    "pass": intake_pass,
    "pass_floor": pass_floor,
    "ocr_rate": ocr_rate,
}


def child(phase: str, n: int) -> dict:
    return children(phase, n, 1)[0]


def children(phase: str, n: int, count: int) -> list[dict]:
    """`count` children running the phase at once."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    running = [subprocess.Popen([sys.executable, __file__, "--phase", phase, "--n", str(n)], env=env,
                                stdout=subprocess.PIPE, text=True) for _ in range(count)]
    outs = [p.communicate()[0] for p in running]
    if any(p.returncode for p in running):
        raise SystemExit(f"phase {phase} failed")
    return [json.loads(out.strip().splitlines()[-1]) for out in outs]


def scaling() -> float:
    """Pages per second of two OCR processes at once over one alone."""
    alone = child("ocr_rate", 1)
    both = children("ocr_rate", 1, 2)
    one_rate = alone["pages"] / alone["seconds"]
    two_rate = sum(r["pages"] / r["seconds"] for r in both)
    print(f"  two OCR processes at once read {two_rate:.2f} pages/s, one alone {one_rate:.2f} pages/s: "
          f"×{two_rate / one_rate:.2f} (×2 would be two real cores)")
    return two_rate / one_rate


# The lines of bench/accuracy.py's report that sum it up: every medium of both families.
ACCURACY_LINES = ("text PDF", "DOCX", "OCR, ", "scan (OCR)", "photo (OCR)", "multi-document PDF",
                  "from text", "from scans", "key fields from text")


def accuracy() -> list[str]:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "accuracy.py")], check=True,
                         capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.startswith(ACCURACY_LINES) or line.startswith(("read as", "Real forms"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3, help="times the sample mailbox is delivered")
    parser.add_argument("--rounds", type=int, default=3,
                        help="times the whole pass and its floor are measured, one after the other")
    parser.add_argument("--no-accuracy", action="store_true", help="leave out bench/accuracy.py's figures")
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
    # A shared machine's speed drifts by a fifth from one minute to the next: each pass is set against
    # the floor measured right after it, and the median of those ratios reported.
    rounds = [(child("pass", args.n), child("pass_floor", args.n)) for _ in range(max(1, args.rounds))]
    p, f = rounds[0]
    ratios = sorted(one["seconds"] / floor["seconds"] for one, floor in rounds)
    print(f"  whole pass      {p['messages']} messages ({f['text_pages']} text + {f['scanned_pages']} scanned pages "
          f"and photos; {p['ocr_pages']} pages OCR'd), {len(rounds)} round(s): "
          + "; ".join(f"{one['seconds']:.1f} s, floor {floor['seconds']:.1f} s" for one, floor in rounds))
    print(f"                  ratio {ratios[len(ratios) // 2]:.2f} (median; each round "
          f"{', '.join(f'{r:.2f}' for r in ratios)}; target ≤ 0.8)")
    scaling()
    peaks = [one["peak_workers_mb"] for one, _ in rounds]
    workers = (f"at most {max(max(mb) for mb in peaks)} MB (each round: "
               + "; ".join(", ".join(map(str, mb)) for mb in peaks) + ")") if all(peaks) else "none started"
    own = max(one["peak_self_mb"] for one, _ in rounds)
    print(f"  peak memory     pass process {own:.0f} MB; OCR workers {workers}; target ≤ 500 MB each")
    if not args.no_accuracy:
        print("accuracy (bench/accuracy.py)")
        for line in accuracy():
            print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
