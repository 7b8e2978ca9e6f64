"""DOCX forms to boxes, read from the XML so merged cells count once and content controls are seen."""
from __future__ import annotations

import io

from docx import Document as open_docx
from docx.oxml.ns import qn

from ..model import Box, Page
from . import Unreadable

_ROW_STEP, _COL_WIDTH, _LINE = 20.0, 100.0, 10.0


def read_docx(data: bytes) -> tuple[Page, ...]:
    try:
        body = open_docx(io.BytesIO(data)).element.body
    except Exception as exc:
        raise Unreadable(f"Word 文件已损坏，无法打开（{type(exc).__name__}）") from None
    boxes: list[Box] = []
    y = 0.0
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            text = _text(child)
            if text.strip():
                boxes.append(Box(text, 0.0, y, 10 * _COL_WIDTH, y + _LINE))
                y += _ROW_STEP
        elif child.tag == qn("w:tbl"):
            y = _table(child, boxes, y)
    return (Page(1, tuple(boxes)),)


def _table(tbl, boxes: list[Box], y: float) -> float:
    # python-docx's row.cells repeats a merged cell once per grid column; the XML has it once.
    for tr in tbl.xpath("./w:tr | ./w:sdt/w:sdtContent/w:tr"):
        col = 0
        for tc in tr.xpath("./w:tc | ./w:sdt/w:sdtContent/w:tc"):
            span = int(tc.xpath("string(./w:tcPr/w:gridSpan/@w:val)") or 1)
            vmerge = tc.xpath("./w:tcPr/w:vMerge")
            continued = bool(vmerge) and vmerge[0].get(qn("w:val")) != "restart"
            text = "\n".join(_text(p) for p in tc.xpath("./w:p | ./w:sdt/w:sdtContent/w:p"))
            if text.strip() and not continued:
                boxes.append(Box(text.strip(), col * _COL_WIDTH, y, (col + span) * _COL_WIDTH, y + _LINE))
            col += span
        y += _ROW_STEP
    return y


def _text(element) -> str:
    return "".join(t.text or "" for t in element.iter(qn("w:t")))
