"""PDF text layers to pages of boxes: one box per table cell, one per line outside tables."""
from __future__ import annotations

import io
import logging

import pdfplumber
import pypdf
from pypdf.errors import PdfReadError

from ..model import Box, Page
from . import Unreadable
from .layout import Cell
from .text import has_cjk, norm

log = logging.getLogger("intake.read")


def open_check(data: bytes) -> int:
    """Page count; raises Unreadable for encrypted or broken files before pdfplumber sees them."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            # Many "protected" PDFs only restrict printing and open with the empty password.
            try:
                if not reader.decrypt(""):
                    raise Unreadable("PDF 文件已加密，无法打开")
            except (NotImplementedError, PdfReadError):
                raise Unreadable("PDF 文件已加密，无法打开") from None
        return len(reader.pages)
    except Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds on damaged files
        raise Unreadable(f"PDF 文件已损坏，无法打开（{type(exc).__name__}）") from None


def read_pdf(data: bytes, max_pages: int = 40) -> tuple[Page, ...]:
    return read_pdf_counted(data, max_pages)[0]


def read_pdf_counted(data: bytes, max_pages: int = 40) -> tuple[tuple[Page, ...], int]:
    """The first max_pages pages, and how many the file has."""
    total = open_check(data)
    pages = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for number, page in enumerate(pdf.pages[:max_pages], start=1):
                pages.append(Page(number, tuple(_boxes(page))))
    except Exception as exc:  # noqa: BLE001 - pdfplumber raises any kind on hostile files: that document's finding
        raise Unreadable(f"PDF 文件无法解析（{type(exc).__name__}）") from None
    return tuple(pages), total


def _boxes(page) -> list[Box]:
    boxes: list[Box] = []
    tables = page.find_tables()
    table_areas = [t.bbox for t in tables]
    for table in tables:
        for cell in table.cells:
            # By the character's centre: a wrapped line may poke a point above its cell's border.
            text = page.filter(lambda obj, cell=cell: _centre_in(obj, cell)).extract_text() if cell else ""
            if text.strip():
                boxes.append(Cell(text, *cell))

    def outside(obj) -> bool:
        return not any(_centre_in(obj, area) for area in table_areas)

    for line in page.filter(outside).extract_text_lines(return_chars=False):
        boxes.append(Box(line["text"], line["x0"], line["top"], line["x1"], line["bottom"]))
    boxes.sort(key=lambda b: (round(b.top), b.x0))
    return boxes


def _centre_in(obj, bbox) -> bool:
    x0, top, x1, bottom = bbox
    return x0 <= (obj["x0"] + obj["x1"]) / 2 <= x1 and top <= (obj["top"] + obj["bottom"]) / 2 <= bottom


def usable(pages: tuple[Page, ...]) -> bool:
    """A text layer worth reading: enough Chinese, no unmapped glyphs (CID fonts without ToUnicode)."""
    text = norm("".join(p.text for p in pages))
    if len(text) < 10 or not has_cjk(text):
        return False
    if "(cid:" in text:
        return False
    return text.count("\ufffd") <= len(text) * 0.01
