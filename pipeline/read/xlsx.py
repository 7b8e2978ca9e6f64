"""XLSX workbooks to boxes: one page per sheet, one box per cell, a merged range once over its area."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from ..model import Box, Page
from . import Unreadable
from .layout import Cell

_DEFAULT_WIDTH = 8.43        # Excel's default column width, in characters
_CHAR = 7.0                  # pixels per character of width at the default font
_DEFAULT_HEIGHT = 15.0       # points
_MAX_CELLS = 20000           # a 申请表 or 汇总表 has a few hundred; beyond this it is not one


def read_xlsx(data: bytes) -> tuple[Page, ...]:
    try:
        book = load_workbook(io.BytesIO(data), data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise Unreadable(f"Excel 文件已损坏，无法打开（{type(exc).__name__}）") from None
    pages = []
    for number, sheet in enumerate(book.worksheets, start=1):
        if sheet.sheet_state != "visible":
            continue  # hidden sheets hold lookup lists for drop-downs, not what the sender filled in
        boxes = _boxes(sheet)
        if boxes:
            pages.append(Page(number, tuple(boxes)))
    return tuple(pages)


def _boxes(sheet) -> list[Box]:
    xs = _edges([sheet.column_dimensions[get_column_letter(c)].width for c in range(1, sheet.max_column + 2)],
                _DEFAULT_WIDTH, _CHAR)
    ys = _edges([sheet.row_dimensions[r].height for r in range(1, sheet.max_row + 2)], _DEFAULT_HEIGHT, 1.0)
    merged: dict[tuple[int, int], tuple[int, int]] = {}
    covered: set[tuple[int, int]] = set()
    for rng in sheet.merged_cells.ranges:
        merged[(rng.min_row, rng.min_col)] = (rng.max_row, rng.max_col)
        covered.update((r, c) for r in range(rng.min_row, rng.max_row + 1)
                       for c in range(rng.min_col, rng.max_col + 1) if (r, c) != (rng.min_row, rng.min_col))
    boxes: list[Box] = []
    for row in sheet.iter_rows(max_row=min(sheet.max_row, _MAX_CELLS // max(sheet.max_column, 1))):
        for cell in row:
            if (cell.row, cell.column) in covered or cell.value is None:
                continue
            text = cell_text(cell.value, cell.number_format)
            if not text.strip():
                continue
            last_row, last_col = merged.get((cell.row, cell.column), (cell.row, cell.column))
            boxes.append(Cell(text, xs[cell.column - 1], ys[cell.row - 1], xs[last_col], ys[last_row]))
    return boxes


def _edges(sizes: list[float | None], default: float, unit: float) -> list[float]:
    edges = [0.0]
    for size in sizes:
        edges.append(edges[-1] + (size if size else default) * unit)
    return edges


def cell_text(value, number_format: str = "General") -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        # An 18-digit 统一社会信用代码 typed into a General cell is stored as a float and loses its
        # last digits (Excel keeps 15); it still reads as the digits Excel kept, and the check
        # character then says it is wrong.
        return str(value)
    if isinstance(value, datetime):
        return f"{value.year}年{value.month}月{value.day}日" if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date):
        return f"{value.year}年{value.month}月{value.day}日"
    return str(value)
