"""One attachment to one Document: the reader for its real type, its kind, and its fields."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

from ..model import Attachment, DocKind, Document, Finding, Flag
from . import Unreadable
from .classify import classify
from .docx import read_docx
from .fields import extract
from .forms import FormSpec, KindRules, load_form, load_kinds
from .pdf import read_pdf, usable

log = logging.getLogger("intake.read")

# Types a clerk can open but this build cannot read yet: kept, and said so.
_NOT_READ = {
    "jpeg": "图片", "png": "图片", "zip": "压缩包", "rar": "压缩包", "7z": "压缩包",
    "ole": "旧版 Office 文件（.doc/.xls）", "tnef": "Outlook 专用格式附件（winmail.dat）",
}


@dataclass(frozen=True)
class Forms:
    form: FormSpec
    kinds: KindRules

    @classmethod
    def load(cls, templates_dir: Path) -> "Forms":
        return cls(load_form(templates_dir / "forms" / "annex1.yaml"),
                   load_kinds(templates_dir / "forms" / "kinds.yaml"))


def read_attachment(att: Attachment, forms: Forms) -> Document:
    base = Document(filename=att.filename, kind=DocKind.UNREAD, method="none", data=att.data)
    try:
        if att.sniffed == "pdf":
            pages, method = read_pdf(att.data), "text"
            if not usable(pages):
                # Scanned: the text lives in the image only. OCR is the reader that belongs here.
                return replace(base, problem=Finding(
                    Flag.LOW_CONFIDENCE, f"《{att.filename}》为扫描件，未能自动识别文字"))
        elif att.sniffed == "docx":
            pages, method = read_docx(att.data), "docx"
        elif att.sniffed in _NOT_READ:
            what = _NOT_READ[att.sniffed]
            flag = Flag.LOW_CONFIDENCE if att.sniffed in ("jpeg", "png") else Flag.UNREADABLE_ATTACHMENT
            return replace(base, problem=Finding(flag, f"《{att.filename}》为{what}，未能自动读取，原件已保存"))
        else:
            return replace(base, problem=Finding(
                Flag.UNREADABLE_ATTACHMENT, f"《{att.filename}》不是可识别的文件类型，原件已保存"))
    except Unreadable as exc:
        return replace(base, problem=Finding(Flag.UNREADABLE_ATTACHMENT, f"《{att.filename}》：{exc}"))
    kind = classify(pages, forms.kinds)
    doc = replace(base, kind=kind, method=method, pages=pages)
    if kind in (DocKind.FORM, DocKind.AUDIT_FORM):
        found = extract(pages, forms.form)
        doc = replace(doc, fields=found.fields, field_confidence=found.confidence)
    log.info("read %s: %s by %s, %d page(s)", att.filename, kind.value, method, len(pages))
    return doc
