"""The attachments of one message to Documents: the reader for each real type, OCR for pages without a
usable text layer (all of the message's scanned pages at once, across the OCR workers), kind, fields."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from .. import cage
from ..cage import CageError, Limits
from ..config import AttachmentLimits, OcrOptions
from ..faults import Transient
from ..model import Attachment, DocKind, Document, Evidence, Finding, Flag, Page
from . import Unreadable, ooxml
from .classify import classify, split
from .content import read_content
from .docx import read_docx
from .doubts import note, unsure
from .forms import Forms
from .ocr import Failed, OcrPool, PageJob
from .pdf import read_pdf_counted, usable
from .raster import pdf_page_count, photo_page_count
from .sniff import sniff
from .xlsx import read_xlsx

# A reader waiting for the CPU on a loaded machine is given this many times its limit on the wall clock.
READER_PATIENCE = 4.0
_DEFAULT_OCR, _DEFAULT_LIMITS = OcrOptions(), AttachmentLimits()     # frozen: one instance serves every call

log = logging.getLogger("intake.read")

# Types a clerk can open but this build cannot read yet: kept, and said so.
_NOT_READ = {
    "zip": "压缩包", "rar": "压缩包", "7z": "压缩包", "gzip": "压缩包",
    "doc": "旧版 Word 文件（.doc）", "xls": "旧版 Excel 文件（.xls）", "ppt": "PowerPoint 文件", "pptx": "PowerPoint 文件",
    "xlsx": "Excel 表格", "ole": "旧版 Office 文件（.doc/.xls）", "encrypted": "加密的 Office 文件",
    "msg": "Outlook 邮件文件（.msg）", "tnef": "Outlook 专用格式附件（winmail.dat）", "eml": "邮件文件",
}
_PHOTOS = ("jpeg", "png", "gif", "tiff", "bmp")
# Kinds whose pages all matter; anything else (佐证材料) is known from its first page and left there.
_READ_WHOLLY = (DocKind.FORM, DocKind.LETTER, DocKind.SUMMARY, DocKind.AUDIT_FORM)


@dataclass
class _Scan:
    """An attachment some of whose pages need OCR, while its pages come back from the workers."""

    att: Attachment
    kind: str                                   # pdf | photo
    pages: dict[int, Page]                      # by 0-based index: text-layer pages now, OCR pages later
    todo: list[int]                             # 0-based pages that need OCR, in order
    data: bytes = b""                           # what is read: the attachment, or its readable copy
    failures: list[str] = field(default_factory=list)
    beyond: list[int] = field(default_factory=list)   # 0-based pages past ocr.max_pages: never read

    def job(self, index: int, dpi: int) -> PageJob:
        return PageJob(self.data, self.kind, index, dpi)


def read_attachments(attachments: Sequence[Attachment], forms: Forms, ocr: OcrPool | None = None,
                     options: OcrOptions = _DEFAULT_OCR, limits: AttachmentLimits = _DEFAULT_LIMITS
                     ) -> tuple[Document, ...]:
    """The Documents of the attachments, in order: one per attachment, or one per document a PDF holds
    (a 推荐函 and a 申请表 scanned into one file). Without an OCR pool (or with OCR off) scans stay unread.
    Each attachment's parsing (PDF text and tables, DOCX, XLSX, images) runs caged (pipeline/cage.py)."""
    look = options if ocr else replace(options, enabled=False)
    firsts: list[Document | tuple[Document, ...] | _Scan] = [_first_look(a, forms, look, limits) for a in attachments]
    scans = [s for s in firsts if isinstance(s, _Scan)]
    if scans and ocr is not None:     # without a pool, OCR was off for the first look: no scans
        # Round one: page 1 of every scan, all at once; enough to tell a form from 佐证材料.
        _ocr(ocr, [(s, s.todo[0]) for s in scans if s.todo and s.todo[0] == 0], options.dpi)
        # Round two: the other pages, only of what is worth reading whole.
        rest = [(s, i) for s in scans if _worth_more(s, forms) for i in s.todo if i not in s.pages]
        _ocr(ocr, rest, options.dpi)
    out: list[Document] = []
    for d in firsts:
        if isinstance(d, _Scan):
            out += _finish(d, forms, options)
        elif isinstance(d, tuple):
            out += d
        else:
            out.append(d)
    return tuple(out)


def read_attachment(att: Attachment, forms: Forms, ocr: OcrPool | None = None,
                    options: OcrOptions = _DEFAULT_OCR, limits: AttachmentLimits = _DEFAULT_LIMITS) -> Document:
    return read_attachments((att,), forms, ocr, options, limits)[0]    # a file's first document


def _first_look(att: Attachment, forms: Forms, options: OcrOptions, limits: AttachmentLimits
                ) -> Document | tuple[Document, ...] | _Scan:
    """What needs no OCR is read to the end, in a cage; a scan comes back as the pages still to OCR."""
    base = Document(filename=att.filename, kind=DocKind.UNREAD, method="none", data=att.data)
    if att.problem:  # unpacking or conversion already failed, and said why
        return replace(base, problem=att.problem)
    try:
        return cage.run(_look, att, forms, options, limits,
                        limits=Limits(limits.parser_memory, limits.parser_timeout.total_seconds(),
                                      patience=READER_PATIENCE))
    except CageError as exc:
        log.warning("reading %s stopped: %s", att.filename, exc)
        return replace(base, problem=Finding(Flag.UNREADABLE_ATTACHMENT,
                                             f"《{att.filename}》解析时{exc.text}，未能自动读取，原件已保存，请人工查看"))


def _look(att: Attachment, forms: Forms, options: OcrOptions, limits: AttachmentLimits
          ) -> Document | tuple[Document, ...] | _Scan:
    base = Document(filename=att.filename, kind=DocKind.UNREAD, method="none", data=att.data)
    # An old .doc comes with a converted copy; the original stays what is filed.
    data, sniffed = (att.readable, sniff(att.readable)) if att.readable else (att.data, att.sniffed)
    try:
        if sniffed in ("docx", "xlsx"):
            trouble = ooxml.check(data, limits)
            if trouble:
                return replace(base, problem=Finding(Flag.UNREADABLE_ATTACHMENT,
                                                     f"《{att.filename}》{trouble}，未自动读取，原件已保存，请人工查看"))
        if sniffed == "pdf":
            pages, total = read_pdf_counted(data, limits.max_pdf_pages)
            return _look_pdf(base, att, data, pages, total, forms, options)
        if sniffed in _PHOTOS:
            if not options.enabled:
                return replace(base, problem=Finding(Flag.LOW_CONFIDENCE, f"《{att.filename}》为图片，未能自动读取，原件已保存"))
            # A fax or office scanner may send one multi-page TIFF.
            frames = list(range(photo_page_count(data)))
            return _Scan(att, "photo", {}, frames[: options.max_pages], data, beyond=frames[options.max_pages:])
        if sniffed in ("docx", "xlsx"):
            # Cells are typed text, like a PDF's text layer: "text" keeps the export's method values.
            pages = read_docx(data) if sniffed == "docx" else read_xlsx(data)
            doc = _finish_text(base, pages, "docx" if sniffed == "docx" else "text", forms, options)
            photo = ooxml.largest_image(data) if doc.kind is DocKind.EVIDENCE and options.enabled else None
            if photo is not None and sniff(photo) in _PHOTOS:
                # No form in its text, but a picture big enough to be a page: a phone photo of the form
                # pasted into Word is read like the photo it is. The Word file stays what is filed.
                return _Scan(att, "photo", {}, [0], photo)
            return doc
        if sniffed in _NOT_READ:
            return replace(base, problem=Finding(
                Flag.UNREADABLE_ATTACHMENT, f"《{att.filename}》为{_NOT_READ[sniffed]}，未能自动读取，原件已保存"))
        return replace(base, problem=Finding(
            Flag.UNREADABLE_ATTACHMENT, f"《{att.filename}》不是可识别的文件类型，原件已保存"))
    except Unreadable as exc:
        return replace(base, problem=Finding(Flag.UNREADABLE_ATTACHMENT, f"《{att.filename}》：{exc}"))


def _look_pdf(base: Document, att: Attachment, data: bytes, pages: tuple[Page, ...], total: int, forms: Forms,
              options: OcrOptions) -> tuple[Document, ...] | _Scan:
    todo = [i for i, p in enumerate(pages) if not usable((p,))]
    if not todo:
        docs = _documents(base, pages, "text", forms, options)
        if total <= len(pages):
            return docs
        # A form, letter or table runs to a few pages; one of hundreds is read as far as the limit, and said so.
        cut = f"《{att.filename}》共{total}页，只读取了前{len(pages)}页（attachments.max_pdf_pages），其余请人工查看"
        return _with_problem(docs, cut)
    if not options.enabled:
        return (replace(base, problem=Finding(Flag.LOW_CONFIDENCE, f"《{att.filename}》为扫描件，未能自动识别文字")),)
    count = max(len(pages), pdf_page_count(data))
    todo = [i for i in range(count) if i >= len(pages) or i in todo]
    return _Scan(att, "pdf", {i: p for i, p in enumerate(pages) if i not in todo},
                 todo[: options.max_pages], data, beyond=todo[options.max_pages:])


def _ocr(pool: OcrPool, wanted: list[tuple[_Scan, int]], dpi: int) -> None:
    results = pool.read([scan.job(index, dpi) for scan, index in wanted])
    for (scan, index), result in zip(wanted, results):
        if isinstance(result, Failed) and result.transient:
            raise Transient(result.reason)  # the whole message waits for a later attempt
        if isinstance(result, Failed):
            scan.failures.append(result.reason)
            log.warning("OCR of %s page %d failed: %s", scan.att.filename, index + 1, result.reason)
        else:
            scan.pages[index] = result


def _worth_more(scan: _Scan, forms: Forms) -> bool:
    pages = _in_order(scan)
    return bool(pages) and classify(pages, forms.kinds) in _READ_WHOLLY


def _in_order(scan: _Scan) -> tuple[Page, ...]:
    return tuple(scan.pages[i] for i in sorted(scan.pages))


def _finish(scan: _Scan, forms: Forms, options: OcrOptions) -> tuple[Document, ...]:
    base = Document(filename=scan.att.filename, kind=DocKind.UNREAD, method="none", data=scan.att.data)
    pages = _in_order(scan)
    what = "图片" if scan.kind == "photo" else "扫描件"
    if not pages:
        reason = "；".join(dict.fromkeys(scan.failures)) or "未能识别文字"
        flag = Flag.UNREADABLE_ATTACHMENT if scan.kind == "photo" and "无法打开" in reason else Flag.LOW_CONFIDENCE
        return (replace(base, problem=Finding(flag, f"《{scan.att.filename}》为{what}，{reason}，原件已保存")),)
    docs = _documents(base, pages, "ocr", forms, options, what)
    problems = []
    if scan.failures:
        problems.append(f"《{scan.att.filename}》部分页面未能识别（{'；'.join(dict.fromkeys(scan.failures))}）")
    if scan.beyond and any(d.kind in _READ_WHOLLY for d in docs):
        # 佐证材料 is left after its first page on purpose; a form or table cut short is not.
        problems.append(f"《{scan.att.filename}》超过每份文件识别{options.max_pages}页的上限，"
                        f"{_page_list(scan.beyond)}未识别，请人工查看")
    return _with_problem(docs, "；".join(problems)) if problems else docs


def _documents(base: Document, pages: tuple[Page, ...], method: str, forms: Forms, options: OcrOptions,
               what: str = "") -> tuple[Document, ...]:
    """The file's documents: itself, or each run of pages split() finds, named by its pages."""
    runs = split(pages, forms.kinds, forms.page_labels())
    if len(runs) == 1:
        return (_finish_text(base, pages, method, forms, options, what),)
    return tuple(replace(_finish_text(base, run, method, forms, options, what),
                         part=_page_list([p.number - 1 for p in run]))
                 for run in runs)


def _with_problem(docs: tuple[Document, ...], text: str) -> tuple[Document, ...]:
    """What is said of the whole file goes with its first document."""
    first = docs[0]
    detail = "；".join([first.problem.detail, text] if first.problem else [text])
    return (replace(first, problem=Finding(Flag.LOW_CONFIDENCE, detail)), *docs[1:])


def _page_list(indices: Sequence[int]) -> str:
    """0-based page indices as the clerk counts them: 第11页, 第11–14页, 第3、第5–6页."""
    runs: list[list[int]] = []
    for i in sorted(indices):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return "、".join(f"第{r[0] + 1}页" if len(r) == 1 else f"第{r[0] + 1}–{r[-1] + 1}页" for r in runs)


def _on_file(e: Evidence, pages: Sequence[Page]) -> Evidence:
    """Evidence placed on the page as the file holds it, where OCR read the page turned or flattened."""
    page = next((p for p in pages if p.number == e.page), None)
    if page is None or page.frame is None:
        return e
    return replace(e, bbox=page.on_file(e.bbox) if e.bbox else None,
                   label_bbox=page.on_file(e.label_bbox) if e.label_bbox else None, upright=page.upright())


def _finish_text(base: Document, pages: tuple[Page, ...], method: str, forms: Forms,
                 options: OcrOptions = _DEFAULT_OCR, what: str = "") -> Document:
    content = read_content(pages, forms)
    kind = content.kind
    evidence = {k: _on_file(replace(e, document=base.filename, method=method), pages)
                for k, e in content.evidence.items()}
    doc = replace(base, kind=kind, method=method, pages=pages, fields=content.fields,
                  field_confidence=content.confidence, field_evidence=evidence, listed=content.listed,
                  missing=content.missing)
    low = unsure(doc, forms, options.min_confidence)
    if low:
        doc = replace(doc, low_confidence=low, problem=Finding(Flag.LOW_CONFIDENCE, note(what, low.values())))
    log.debug("read %s: %s by %s, %d page(s)", base.filename, kind.value, method, len(pages))
    return doc
