"""Worksheets a clerk prints: cells that hold text and only text, A4 pages at a readable size, rows as
tall as their wrapped text.

Neither openpyxl nor Excel sizes a row to wrapped text when a file is opened, so every row's height is
set here from its text. A column's width unit is a digit of the workbook's font, and programs measure
it differently (Excel with 宋体 about 5.3 pt, LibreOffice with a Noto CJK face about 6.2 pt): heights
are estimated with the narrower unit, so no line is cut off in either, and column widths are budgeted
with the wider one (see `printed_size`), so the page still fits at ≥ 9 pt in both.
"""
from __future__ import annotations

import math
import re
import unicodedata

from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

FONT = "宋体"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="D9D9D9")

# Excel reads a cell starting with these as a formula once someone edits it; tab/CR per OWASP.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 forbids (they would corrupt the file) and the ones that would lay out the page.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff\t]")

# A4 in points, and the margins every printed sheet gets (inches, as openpyxl takes them).
A4_LONG, A4_SHORT = 842.0, 595.0
SIDE_MARGIN, END_MARGIN = 0.4, 0.55
# Points per width unit: the narrowest program (estimating heights) and the widest (budgeting widths).
UNIT_NARROW, UNIT_WIDE = 5.25, 6.2
CELL_PADDING = 1.5          # points a cell keeps free left and right of its text (Excel: 2 px)
LINE_SPACING = 1.45         # a Noto CJK line is 1.45 em; SimSun's 1.3 fits within it


def clean(text: object) -> str:
    """Text as it may appear in a cell: line breaks kept (as \\n), other control characters a space."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return _CONTROL.sub(" ", s)


def workbook() -> Workbook:
    """An empty workbook whose default font is 宋体 11, like the cells: the width unit is then the same
    font's digit in Excel, WPS and LibreOffice (a Latin default would fall back to a wide face on a server)."""
    wb = Workbook()
    # openpyxl offers no public setter for the Normal style, which every cell's width unit derives from.
    wb._named_styles["Normal"].font = Font(name=FONT, size=11)
    return wb


def text_cell(ws: Worksheet, row: int, col: int, value: object) -> Cell:
    """A cell that holds text and only text, whatever the sender typed."""
    text = clean(value)
    cell = ws.cell(row=row, column=col)
    cell.value = text
    # openpyxl would take "=..." for a formula; force the string type explicitly.
    cell.data_type = "s"
    cell.number_format = "@"
    if text.startswith(_FORMULA_START):
        # quotePrefix: Excel/WPS keep it text even after the clerk edits the cell.
        cell.quotePrefix = True
    return cell


def text_points(text: str, size: float) -> float:
    """How long a line of text is at this size: a Chinese character is square, others about half."""
    return sum(size if unicodedata.east_asian_width(ch) in "WFA" else 0.55 * size for ch in text)


def lines_needed(text: str, width: float, size: float) -> int:
    """Lines the text wraps to in a column `width` units wide, in the program with the narrowest unit."""
    usable = max(width * UNIT_NARROW - 2 * CELL_PADDING, size)
    # 5 %: a line breaks before a word or a closing mark that would not fit, leaving a gap at its end.
    return sum(max(1, math.ceil(1.05 * text_points(part, size) / usable)) for part in text.split("\n"))


def row_height(lines: int, size: float) -> float:
    return round(lines * size * LINE_SPACING + 4, 1)


def _width(ws: Worksheet, first: int, last: int) -> float:
    # An unset column is Excel's default, about 8.43 units.
    return sum(ws.column_dimensions[get_column_letter(c)].width or 8.43 for c in range(first, last + 1))


def fit_rows(ws: Worksheet, first: int = 1, last: int | None = None) -> None:
    """Every row from first to last as tall as the tallest wrapped text in it (merged cells included)."""
    spans = {(r.min_row, r.min_col): r.max_col for r in ws.merged_cells.ranges if r.min_row == r.max_row}
    covered = {(r.min_row, c) for r in ws.merged_cells.ranges for c in range(r.min_col + 1, r.max_col + 1)}
    for row in ws.iter_rows(min_row=first, max_row=last or ws.max_row):
        tallest = 0.0
        for cell in row:
            if cell.value is None or (cell.row, cell.column) in covered:
                continue
            size = float(cell.font.sz or 11)
            width = _width(ws, cell.column, spans.get((cell.row, cell.column), cell.column))
            text = str(cell.value)
            lines = lines_needed(text, width, size) if cell.alignment.wrap_text else 1 + text.count("\n")
            tallest = max(tallest, row_height(lines, size))
        if tallest:
            ws.row_dimensions[row[0].row].height = tallest


def printed_size(ws: Worksheet, size: float, landscape: bool = True) -> float:
    """The size text of `size` points prints at when the sheet is fitted to the page's width, in the
    program with the widest unit."""
    usable = (A4_LONG if landscape else A4_SHORT) - 2 * 72 * SIDE_MARGIN
    return size * min(1.0, usable / (_width(ws, 1, ws.max_column) * UNIT_WIDE))


def print_setup(ws: Worksheet, *, landscape: bool = True, repeat: str | None = None) -> None:
    """A4, as wide as the page and as many pages long as needed, the header rows on every page, and
    page numbers at the foot in Chinese."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = SIDE_MARGIN
    ws.page_margins.top = ws.page_margins.bottom = END_MARGIN
    ws.page_margins.footer = 0.25
    if repeat:
        ws.print_title_rows = repeat
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    ws.oddFooter.center.size = 11     # scaled with the page, like the cells
