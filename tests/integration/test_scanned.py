"""The OCR worker pool on real scans: two spawned workers, each loading the models once, pages back in
the order they were asked for; 佐证材料 read no further than its first page; a form longer than
ocr.max_pages says which pages were not read; a hung page is given up with a reason; and a PDF
with a usable text layer never starts a worker."""
from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC
from pathlib import Path

import docx as python_docx
import pypdf
import pytest
from docx.shared import Cm
from PIL import Image

from pipeline.config import OcrOptions
from pipeline.model import Attachment, DocKind, Flag, Page
from pipeline.read.document import read_attachments
from pipeline.read.forms import Forms
from pipeline.read.ocr import Failed, OcrPool, PageJob
from pipeline.read.sniff import sniff

pytestmark = pytest.mark.ocr

ROOT = Path(__file__).resolve().parents[2]
SCANS, SAMPLES = ROOT / "tests" / "data" / "scans", ROOT / "tests" / "data" / "samples"
EVIDENCE = SCANS / "evidence-three-pages.pdf"     # 佐证材料1/2/3 on its three pages (make_scans.py)
FORM_SCAN = SAMPLES / "form-dongying-petroleum-center-scanned.pdf"


@pytest.fixture(scope="module")
def forms() -> Forms:
    return Forms.load(ROOT / "templates")


@pytest.fixture(scope="module")
def pool():
    with OcrPool(workers=2) as p:
        yield p


def attachment(name: str, data: bytes) -> Attachment:
    return Attachment(name, "application/pdf", data, sniff(data))


def test_two_workers_read_the_pages_in_the_order_asked(pool):
    evidence, form = EVIDENCE.read_bytes(), FORM_SCAN.read_bytes()
    jobs = [PageJob(evidence, "pdf", 2, 150), PageJob(form, "pdf", 0, 150),
            PageJob(evidence, "pdf", 0, 150), PageJob(evidence, "pdf", 1, 150)]
    pages = pool.read(jobs)
    assert all(isinstance(p, Page) for p in pages), pages
    assert [p.number for p in pages] == [3, 1, 1, 2]
    texts = ["".join(b.text for b in p.boxes) for p in pages]
    assert "佐证材料3" in texts[0] and "东营石油技术培训中心" in texts[1]
    assert "佐证材料1" in texts[2] and "佐证材料2" in texts[3]
    # Both processes did some of the work: the pages each worker returned, by its process id.
    assert len(pool.by_worker) == 2 and sum(pool.by_worker.values()) == 4 == pool.pages_read


def test_evidence_is_known_from_its_first_page_and_left_there(pool, forms):
    before = pool.pages_read
    (doc,) = read_attachments([attachment("佐证材料.pdf", EVIDENCE.read_bytes())], forms, pool)
    assert doc.kind is DocKind.EVIDENCE and doc.method == "ocr"
    assert len(doc.pages) == 1 and pool.pages_read - before == 1
    assert doc.problem is None    # pages left unread on purpose are no problem


def test_a_form_longer_than_max_pages_says_which_pages_were_not_read(pool, forms):
    # The scanned form with the three pages of 佐证材料 behind it, as one PDF.
    writer = pypdf.PdfWriter()
    for src in (FORM_SCAN, EVIDENCE):
        for page in pypdf.PdfReader(src).pages:
            writer.add_page(page)
    buf = io.BytesIO()
    writer.write(buf)
    before = pool.pages_read
    doc, evidence = read_attachments([attachment("申请表.pdf", buf.getvalue())], forms, pool,
                                     replace(OcrOptions(), max_pages=2))
    assert doc.kind is DocKind.FORM and len(doc.pages) == 1 and pool.pages_read - before == 2
    # The 佐证材料 page read is no page of the form (classify.split): a document of its own.
    assert (evidence.kind, evidence.part) == (DocKind.EVIDENCE, "第2页")
    assert doc.fields["unit_name"] == "东营石油技术培训中心"
    assert doc.problem.flag is Flag.LOW_CONFIDENCE
    assert "第3–4页未识别" in doc.problem.detail and "2页" in doc.problem.detail


def test_a_page_over_the_time_limit_gets_a_reason_and_the_pool_goes_on():
    form = FORM_SCAN.read_bytes()
    # No page is read in a tenth of a second (starting a worker alone takes longer): it times out.
    with OcrPool(workers=1, page_timeout=0.1) as pool:
        (failed,) = pool.read([PageJob(form, "pdf", 0, 100)])
        assert isinstance(failed, Failed) and "第1页文字识别超时" in failed.reason
        assert not pool.started          # the stuck worker was stopped
        pool.page_timeout = 300
        (page,) = pool.read([PageJob(form, "pdf", 0, 100)])
        assert isinstance(page, Page) and pool.pages_read == 1


def test_a_text_pdf_never_starts_the_pool(forms):
    pool = OcrPool(workers=2)
    data = (SAMPLES / "form-dongying-petroleum-center.pdf").read_bytes()
    (doc,) = read_attachments([attachment("申请表.pdf", data)], forms, pool)
    assert doc.method == "text" and doc.fields["unit_name"] == "东营石油技术培训中心"
    assert not pool.started and pool.pages_read == 0
    pool.close()


def test_scans_of_different_emails_share_both_workers(config):
    """Emails with one scanned page each: two are in hand at a time, so the second worker is not idle
    (read one after the other, a second worker would never even start)."""
    from datetime import datetime, timedelta
    from email.message import EmailMessage

    from pipeline.flow import run_pass
    from pipeline.mail.maildir import deliver

    for k in range(4):
        scan = FORM_SCAN.read_bytes() + b"%% copy %d\n" % k      # four files: none is a page read before
        m = EmailMessage()
        m["From"], m["To"] = f"rsj{k}@dongying.example.cn", "ymrst@shandong.cn"
        m["Subject"], m["Message-ID"] = "东营市继续教育基地申报", f"<scan-{k}@dongying.example.cn>"
        m.set_content("请查收。")
        m.add_attachment(scan, maintype="application", subtype="pdf", filename="申请表-东营石油技术培训中心.pdf")
        deliver(config.mailbox.path, m.as_bytes(), key=f"scan-{k}",
                received_at=datetime(2019, 9, 18, 7, 0, tzinfo=UTC) + timedelta(minutes=k))
    result = run_pass(config)
    assert (result.fetched, result.submissions, result.ocr_pages) == (4, 4, 4)
    assert result.ocr_workers == 2


def test_a_message_run_again_is_not_read_by_ocr_again_unless_its_kept_reading_is_unusable(config):
    from datetime import datetime
    from email.message import EmailMessage

    from pipeline.flow import run_pass
    from pipeline.mail.maildir import deliver
    from pipeline.outputs.export import export
    from pipeline.store import Ledger

    m = EmailMessage()
    m["From"], m["To"] = "rsj@dongying.example.cn", "ymrst@shandong.cn"
    m["Subject"], m["Message-ID"] = "东营市继续教育基地申报", "<kept@dongying.example.cn>"
    m.set_content("请查收。")
    m.add_attachment(FORM_SCAN.read_bytes(), maintype="application", subtype="pdf",
                     filename="申请表-东营石油技术培训中心.pdf")
    deliver(config.mailbox.path, m.as_bytes(), key="kept", received_at=datetime(2019, 9, 18, 7, 0, tzinfo=UTC))
    assert run_pass(config).ocr_pages == 1

    def applications():
        with Ledger(config.ledger_path) as ledger:
            return [(a["applicant"], a["fields"], a["field_evidence"]) for a in export(ledger, config.round.name)["applications"]]

    first = applications()
    assert first and first[0][1]["credit_code"] == "91370500165418739P"
    rows = [r["id"] for r in Ledger(config.ledger_path).messages(config.round.name)]
    again = run_pass(config, rerun=rows)
    assert again.retried == 1 and again.ocr_pages == 0            # the kept reading answered
    assert applications() == first
    (kept,) = (config.output_dir / ".cache" / "ocr").rglob("*.json")
    kept.write_text("{not json", encoding="utf-8")                # a torn or damaged file
    assert run_pass(config, rerun=rows).ocr_pages == 1            # read again, and kept again
    assert applications() == first
    assert run_pass(config, rerun=rows).ocr_pages == 0


def test_a_phone_photo_pasted_into_word_is_read_like_the_photo(forms, pool):
    path = Path(__file__).resolve().parents[1] / "data" / "real" / "c5-name-code-one-row-photo.docx"
    data = path.read_bytes()
    (doc,) = read_attachments([Attachment("申请表.docx", "application/octet-stream", data, sniff(data))], forms, pool)
    assert (doc.kind, doc.method, doc.filename, doc.data) == (DocKind.FORM, "ocr", "申请表.docx", data)
    assert doc.fields["unit_name"] == "泰安市岱宗职业技能培训学校" and doc.fields["credit_code"] == "52370902862413757Y"


def test_a_word_file_with_only_a_logo_stays_what_its_text_says(forms, pool):
    logo = io.BytesIO()
    Image.new("RGB", (40, 40), "red").save(logo, "PNG")
    logo.seek(0)
    word = python_docx.Document()
    word.add_paragraph("单位简介：本中心成立于2008年。")
    word.add_picture(logo, width=Cm(1))
    out = io.BytesIO()
    word.save(out)
    (doc,) = read_attachments([Attachment("简介.docx", "", out.getvalue(), sniff(out.getvalue()))], forms, pool)
    assert (doc.kind, doc.method) == (DocKind.EVIDENCE, "docx")
