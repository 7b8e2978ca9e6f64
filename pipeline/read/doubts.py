"""What a person must check in a document read with doubt, and how that changes once typed sources
settle some of it. Pure: a Document and the form definitions in, a finding's words out."""
from __future__ import annotations

from dataclasses import replace

from ..model import DocKind, Document, Finding
from . import uscc
from .forms import Forms


def unsure(doc: Document, forms: Forms, threshold: float) -> dict[str, str]:
    """What a person must check, key → how the clerk names it: the form's required fields read below
    the threshold, except a credit code whose check characters agree (uscc.checks_out); the names a
    推荐函 or 汇总表 lists and the cells of its rows. Typed text is read at 1.0, so for it only a guessed
    申报类别 can fall below."""
    out: dict[str, str] = {}
    if doc.kind in (DocKind.FORM, DocKind.AUDIT_FORM):
        spec = forms.audit if doc.kind is DocKind.AUDIT_FORM and forms.audit else forms.form
        for f in spec.fields:
            value = doc.fields.get(f.key)
            if f.type == "credit_code" and isinstance(value, str) and uscc.checks_out(value):
                continue    # its check characters vouch for each character, the doubtful one too
            if f.required and value is not None and doc.field_confidence.get(f.key, 0.0) < threshold:
                out[f.key] = f.label
    elif doc.kind in (DocKind.LETTER, DocKind.SUMMARY):
        table = forms.summary if doc.kind is DocKind.SUMMARY else (forms.letter.table if forms.letter else None)
        labels = {c.key: c.label for c in table.columns} if table else {}
        source = doc.kind.label
        for n, entry in enumerate(doc.listed, 1):
            if entry.confidence < threshold:
                out[f"listed.{n}.name"] = f"{source}所列第{n}个单位名称“{entry.name}”"
            for key, conf in entry.field_confidence.items():
                if conf < threshold:
                    out[f"listed.{n}.{key}"] = f"{source}中“{entry.name}”的{labels.get(key, key)}"
    return out


def note(what: str, labels) -> str:
    by = f"由{what}识别，" if what else ""
    return f"以下信息{by}置信度较低，请核对：{'、'.join(labels)}"


def confirmed(doc: Document, keys: set[str]) -> Document:
    """The document once typed sources (the 推荐函, the 汇总表) settled some of the fields it was unsure
    of: they leave its finding, which then says only what is still unsure."""
    gone = keys & set(doc.low_confidence)
    if not gone or doc.problem is None:
        return doc
    left = {k: v for k, v in doc.low_confidence.items() if k not in gone}
    detail = doc.problem.detail
    for what in ("扫描件", "图片", ""):
        old = note(what, doc.low_confidence.values())
        if detail.startswith(old):
            rest = detail[len(old):].lstrip("；")
            new = "；".join(p for p in ((note(what, left.values()) if left else ""), rest) if p)
            problem = Finding(doc.problem.flag, new) if new else None
            return replace(doc, low_confidence=left, problem=problem)
    return replace(doc, low_confidence=left)
