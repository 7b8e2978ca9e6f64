"""What a document says, once its pages are boxes: its kind, and by kind its fields or the applicants
it names. Pure; the same for text layers, DOCX, XLSX and OCR."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..model import DocKind, Evidence, Listed, Page
from .classify import classify
from .fields import extract
from .forms import Forms
from .letter import read_letter
from .table import read_table


@dataclass(frozen=True)
class Content:
    kind: DocKind
    fields: dict[str, object] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    listed: tuple[Listed, ...] = ()
    missing: dict[str, str] = field(default_factory=dict)     # required fields not read: key → label
    evidence: dict[str, Evidence] = field(default_factory=dict)


def read_content(pages: Sequence[Page], forms: Forms) -> Content:
    kind = classify(pages, forms.kinds)
    if kind in (DocKind.FORM, DocKind.AUDIT_FORM):
        spec = forms.audit if kind is DocKind.AUDIT_FORM and forms.audit else forms.form
        found = extract(pages, spec)
        labels = {f.key: f.label for f in spec.fields}
        return Content(kind, found.fields, found.confidence,
                       missing={k: labels[k] for k in found.missing_required}, evidence=found.evidence)
    if kind is DocKind.SUMMARY and forms.summary:
        header = extract(pages, forms.summary.header) if forms.summary.header else None
        return Content(kind, header.fields if header else {}, header.confidence if header else {},
                       read_table(pages, forms.summary, forms.form), evidence=header.evidence if header else {})
    if kind is DocKind.LETTER and forms.letter:
        header = extract(pages, forms.letter.header)
        return Content(kind, header.fields, header.confidence, read_letter(pages, forms.letter, forms.form),
                       evidence=header.evidence)
    return Content(kind)
