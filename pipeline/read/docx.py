"""DOCX documents to boxes, read from the XML so merged cells count once and nothing is hidden.

python-docx's `row.cells` repeats a merged cell once per grid column and its paragraph API skips
content controls and text boxes, so the body is walked as XML:

- paragraphs, tables, and block/row/cell/run-level content controls (`w:sdt`: fill-in forms);
- text boxes (`w:txbxContent`): Word writes each one twice, as DrawingML in `mc:Choice` and as VML
  in `mc:Fallback`; only the Choice is read;
- merged cells: `w:gridSpan` (across) widens one box, `w:vMerge` (down) makes one tall box;
- tick boxes: check-box content controls carry their glyph as text, legacy FORMCHECKBOX fields
  only a flag, and "Insert Symbol" ticks a `w:sym` in a Wingdings font: all become ☑ or □.

Positions are synthetic but consistent: a table cell sits in its grid column, rows go down.
"""
from __future__ import annotations

import io
from typing import Any

from docx import Document as open_docx
from docx.oxml.ns import qn

from ..model import Box, Page
from . import Unreadable
from .layout import Cell

_ROW_STEP, _COL_WIDTH, _LINE = 20.0, 100.0, 10.0
_PAGE_WIDTH = 10 * _COL_WIDTH
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_W14 = "http://schemas.microsoft.com/office/word/2010/wordml"

# Symbol-font code points of tick boxes (Word's Insert Symbol): Wingdings and Wingdings 2.
_SYMBOLS = {
    "F0FE": "☑", "F0FD": "☒", "F0FC": "✓", "F0FB": "✗", "F0A8": "□", "F06F": "□", "F071": "□",
    "F052": "☑", "F053": "☒", "F050": "✓", "F0A3": "□", "F02A": "□", "F0A2": "□",
}
_SKIP = {qn("w:del"), qn("w:delText"), qn("w:instrText"), qn("w:rPr"), qn("w:pPr"), f"{{{_MC}}}Fallback",
         qn("w:txbxContent")}


def read_docx(data: bytes) -> tuple[Page, ...]:
    try:
        body = open_docx(io.BytesIO(data)).element.body
    except Exception as exc:  # noqa: BLE001 - a damaged file raises any kind: it is that document's finding
        raise Unreadable(f"Word 文件已损坏，无法打开（{type(exc).__name__}）") from None
    reader = _Reader()
    reader.blocks(body)
    return (Page(1, tuple(reader.boxes)),)


class _Reader:
    def __init__(self) -> None:
        self.boxes: list[Box] = []
        self.y = 0.0

    def blocks(self, parent) -> None:
        for child in parent.iterchildren():
            tag = child.tag
            if tag == qn("w:p"):
                self.paragraph(child)
            elif tag == qn("w:tbl"):
                self.table(child)
            elif tag == qn("w:sdt"):
                content = child.find(qn("w:sdtContent"))
                if content is not None:
                    self.blocks(content)
            elif tag in (qn("w:customXml"), qn("w:ins")):
                self.blocks(child)

    def paragraph(self, p) -> None:
        text = paragraph_text(p)
        if text.strip():
            self.boxes.append(Box(text, 0.0, self.y, _PAGE_WIDTH, self.y + _LINE))
            self.y += _ROW_STEP
        # Text boxes anchored in this paragraph, each read once (the DrawingML copy).
        for txbx in p.iter(qn("w:txbxContent")):
            if not _inside_fallback(txbx) and txbx.getparent() is not None and not _nested_txbx(txbx):
                self.blocks(txbx)

    def table(self, tbl, x0: float = 0.0, scale: float = 1.0) -> None:
        grid: list[list[tuple[int, int, Any, bool]]] = []
        for tr in _rows(tbl):
            col = int(tr.xpath("string(./w:trPr/w:gridBefore/@w:val)") or 0)
            cells = []
            for tc in _cells(tr):
                span = int(tc.xpath("string(./w:tcPr/w:gridSpan/@w:val)") or 1)
                vmerge = tc.find(f"{qn('w:tcPr')}/{qn('w:vMerge')}")
                continued = vmerge is not None and vmerge.get(qn("w:val")) != "restart"
                cells.append((col, span, tc, continued))
                col += span
            grid.append(cells)
        top = self.y
        for r, cells in enumerate(grid):
            y = top + r * _ROW_STEP
            for col, span, tc, continued in cells:
                if continued:
                    continue
                # A vertically merged cell reaches down over the rows that continue it.
                down = 0
                for below in grid[r + 1:]:
                    if any(c == col and cont for c, _, _, cont in below):
                        down += 1
                    else:
                        break
                text = "\n".join(paragraph_text(p) for p in _cell_paragraphs(tc)).strip()
                left, right = x0 + col * _COL_WIDTH * scale, x0 + (col + span) * _COL_WIDTH * scale
                if text:
                    self.boxes.append(Cell(text, left, y, right, y + down * _ROW_STEP + _LINE))
                for inner in tc.iterchildren(qn("w:tbl")):
                    # A table inside a cell: its cells within the cell's width, below everything so far.
                    saved = self.y
                    self.y = max(self.y, top + len(grid) * _ROW_STEP)
                    ncols = max(len(inner.xpath("./w:tblGrid/w:gridCol")), 1)
                    self.table(inner, left, scale * span / ncols)
                    self.y = max(saved, self.y)
        self.y = max(self.y, top + len(grid) * _ROW_STEP)


def _rows(tbl):
    return tbl.xpath("./w:tr | ./w:sdt/w:sdtContent/w:tr | ./w:customXml/w:tr")


def _cells(tr) -> list[Any]:
    return tr.xpath("./w:tc | ./w:sdt/w:sdtContent/w:tc | ./w:customXml/w:tc")


def _cell_paragraphs(tc):
    return tc.xpath("./w:p | ./w:sdt/w:sdtContent/w:p | ./w:customXml/w:p")


def _inside_fallback(el) -> bool:
    return any(a.tag == f"{{{_MC}}}Fallback" for a in el.iterancestors())


def _nested_txbx(el) -> bool:
    # A text box inside another text box's paragraphs is read with its parent.
    return any(a.tag == qn("w:txbxContent") for a in el.iterancestors())


def paragraph_text(p) -> str:
    out: list[str] = []
    _walk(p, out)
    return "".join(out)


def _walk(el, out: list[str]) -> None:
    for child in el.iterchildren():
        tag = child.tag
        if tag in _SKIP or not isinstance(tag, str):
            continue
        if tag == qn("w:t"):
            out.append(child.text or "")
        elif tag == qn("w:tab"):
            out.append("\t")
        elif tag in (qn("w:br"), qn("w:cr")):
            out.append("\n")
        elif tag == qn("w:sym"):
            out.append(_SYMBOLS.get((child.get(qn("w:char")) or "").upper(), ""))
        elif tag == qn("w:fldChar"):
            box = child.find(f"{qn('w:ffData')}/{qn('w:checkBox')}")
            if box is not None:
                out.append("☑" if _legacy_checked(box) else "□")
        elif tag == f"{{{_W14}}}checkbox":
            continue  # its glyph is in the control's own w:t
        else:
            _walk(child, out)


def _legacy_checked(box) -> bool:
    for name in ("w:checked", "w:default"):
        el = box.find(qn(name))
        if el is not None:
            val = el.get(qn("w:val"))
            if name == "w:checked":
                return val in (None, "1", "true", "on")
            return val in ("1", "true", "on")
    return False
