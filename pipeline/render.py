"""Clerk-facing documents: 附件2 汇总表 (DOCX, XLSX) and 受理回执 letters."""
from __future__ import annotations

import dataclasses
import io
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from .model import Status

SUMMARY_TITLE = "山东省专业技术人员继续教育基地申报汇总表"
PROVINCE_TITLE = SUMMARY_TITLE + "（全省汇总）"


@dataclass(frozen=True)
class SummaryRow:
    """One applicant's line in 附件2; every value already formatted for a person to read."""

    seq: int
    applicant: str
    unit_type: str
    track: str
    domains: str
    avg_trainees: str
    contact: str
    contact_phone: str
    remarks: str
    recommender: str = ""       # filled on the province-wide table only


@dataclass(frozen=True)
class SummarySheet:
    """One 汇总表: a recommender's (recommender set) or the province's (recommender empty)."""

    round_name: str
    recommender: str
    filler: str
    phone: str
    filled_on: str
    rows: tuple[SummaryRow, ...]


@dataclass(frozen=True)
class ReceiptItem:
    applicant: str
    track: str
    documents: tuple[str, ...]
    status: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ReceiptLetter:
    receipt_no: str
    round_name: str
    recommender: str
    sender: str
    subject: str
    received_at: str
    items: tuple[ReceiptItem, ...]
    message_problems: tuple[str, ...]
    office_name: str
    office_address: str
    postcode: str
    phone: str
    contacts: str
    paper_copies: int
    deadline_text: str
    issued_on: str
    other_documents: tuple[str, ...] = ()   # letters and tables received with the email
    # The email came after the deadline: "本邮件于…送达，已超过截止时间（…）。" (empty when in time).
    late_note: str = ""
    # What is posted: a recommender sends its 推荐函 and 汇总表 with the forms; a base re-confirming sends its
    # 申请表, an institution its 审验表 (通知三（三）、三（四）、四（六）).
    paper_forms: str = "推荐函、申报汇总表及申请表"

    @property
    def rejected(self) -> bool:
        """Nothing of the email is accepted: every applicant 不予受理, or (none read) the email came late.
        Then the receipt says so and asks for no paper copies (通知四（六）：逾期不再受理)."""
        if self.items:
            return all(i.status == Status.REJECTED.label for i in self.items)
        return bool(self.late_note)

    @property
    def rejection(self) -> str:
        if self.late_note:
            return f"{self.late_note}按通知要求，逾期不再受理，本邮件所报材料不予受理，无需邮寄纸质材料。"
        return "本邮件所报申请均不予受理（原因见上），无需邮寄纸质材料。"

    @property
    def paper_due(self) -> str:
        """When the paper copies are due: by the deadline, or at once for a late one the office accepted."""
        return "请尽快" if self.late_note else f"请于{self.deadline_text}前"

    @property
    def paper_request(self) -> str:
        """What to post, or why nothing: a rejected email is not asked for paper; a direct applicant has
        no 推荐函 or 汇总表 to send."""
        if self.rejected:
            return self.rejection
        copies = f"（一式{self.paper_copies}份）" if self.paper_forms.endswith("申请表") else ""
        return (f"{self.paper_due}将{self.paper_forms}{copies}等书面材料邮寄至{self.office_address}，"
                f"邮编{self.postcode}。")

    @property
    def footer(self) -> str:
        """The line at the foot: a receipt that rejects does not say it only acknowledges."""
        if self.rejected:
            return "本回执由系统自动生成。"
        return "本回执由系统自动生成，仅表示材料已收到，不代表审核结果。"


# ---------------------------------------------------------------- text hygiene

# Characters XML 1.0 forbids (they would corrupt the DOCX/XLSX) and the ones docxtpl turns into
# layout (\t tab, \a new paragraph, \f page break): sender-controlled text must not lay out the page.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff\t]")


def _clean(text: object) -> str:
    """Text as it may appear in a cell: line breaks kept (as \\n), other control characters a space."""
    s = "" if text is None else str(text)
    s = s.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    return _CONTROL.sub(" ", s)


def _context(value: Any) -> Any:
    """The same dataclass with every string cleaned. Not a dict: in Jinja `letter.items` would
    find dict.items before the key."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return type(value)(**{f.name: _context(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if isinstance(value, (tuple, list)):
        return tuple(_context(v) for v in value)
    if isinstance(value, str):
        return _clean(value)
    return value


# ---------------------------------------------------------------- DOCX

def _render_docx(template: Path, context: dict[str, Any]) -> bytes:
    doc = DocxTemplate(str(template))
    # autoescape: an "&" or "<" in a unit name must come out as text, not as broken XML.
    doc.render(context, autoescape=True)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def summary_docx(sheet: SummarySheet, template: Path) -> bytes:
    """附件2 from a Word template (templates/summary_table.docx or summary_province.docx)."""
    return _render_docx(template, {"sheet": _context(sheet)})


def receipt_letter_docx(letter: ReceiptLetter, template: Path) -> bytes:
    """受理回执 from a Word template (templates/receipt_letter.docx)."""
    return _render_docx(template, {"letter": _context(letter)})


# ---------------------------------------------------------------- XLSX

# (header, attribute of SummaryRow, width in Excel character units, centred)
_COLUMNS: tuple[tuple[str, str, float, bool], ...] = (
    ("序号", "seq", 6, True),
    ("推荐单位", "recommender", 20, False),
    ("申报单位名称", "applicant", 32, False),
    ("单位性质", "unit_type", 11, True),
    ("申报类别", "track", 22, False),
    ("主要培训领域", "domains", 28, False),
    ("近三年年均培训人数", "avg_trainees", 12, True),
    ("联系人", "contact", 10, True),
    ("联系电话", "contact_phone", 16, True),
    ("备注", "remarks", 32, False),
)

_FONT = "宋体"
_THIN = Side(style="thin", color="000000")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
# Excel reads a cell starting with these as a formula once someone edits it; tab/CR per OWASP.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_INT = re.compile(r"(?:0|[1-9][0-9]{0,11})")
_SHEET_FORBIDDEN = re.compile(r"[:/\\?*\[\]]")


def _is_province(sheet: SummarySheet) -> bool:
    return not sheet.recommender or any(r.recommender for r in sheet.rows)


def sheet_title(sheet: SummarySheet) -> str:
    """A1 of a worksheet: the form's title, naming whose table it is."""
    return f"{SUMMARY_TITLE}（{sheet.recommender}）" if sheet.recommender else PROVINCE_TITLE


def _header_line(sheet: SummarySheet) -> str:
    if not sheet.recommender:
        return f"申报批次：{sheet.round_name}　　生成日期：{sheet.filled_on}"
    return (f"推荐单位（盖章）：{sheet.recommender}　　填表人：{sheet.filler}"
            f"　　联系电话：{sheet.phone}　　填报日期：{sheet.filled_on}")


def _sheet_names(sheets: Sequence[SummarySheet]) -> list[str]:
    """Excel's rules: ≤31 characters, none of : / \\ ? * [ ], not quoted, unique ignoring case."""
    names: list[str] = []
    taken: set[str] = set()
    for sheet in sheets:
        base = _SHEET_FORBIDDEN.sub("", _clean(sheet.recommender).replace("\n", " "))
        base = base.strip().strip("'").strip() or ("全省汇总" if not sheet.recommender else "汇总表")
        if base.lower() == "history":          # reserved by Excel
            base += "_"
        name, n = base[:31], 1
        while name.lower() in taken:
            n += 1
            suffix = f"({n})"
            name = base[: 31 - len(suffix)] + suffix
        taken.add(name.lower())
        names.append(name)
    return names


def _text_cell(ws, row: int, col: int, value: object):
    """A cell that holds text and only text, whatever the sender typed."""
    text = _clean(value)
    cell = ws.cell(row=row, column=col)
    cell.value = text
    # openpyxl would take "=..." for a formula; force the string type explicitly.
    cell.data_type = "s"
    cell.number_format = "@"
    if text.startswith(_FORMULA_START):
        # quotePrefix: Excel/WPS keep it text even after the clerk edits the cell.
        cell.quotePrefix = True
    return cell


text_cell = _text_cell      # for the other workbooks (统计, 待处理): the same text-only cells


def _number_or_text(ws, row: int, col: int, value: str):
    text = _clean(value).strip()
    if _PLAIN_INT.fullmatch(text):
        cell = ws.cell(row=row, column=col, value=int(text))
        cell.number_format = "0"
        return cell
    return _text_cell(ws, row, col, value)


def _display_width(text: str) -> int:
    """Width in Excel's character units: a Chinese character is about two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def _row_height(texts_and_widths: list[tuple[str, float]], line_pt: float = 14.0) -> float:
    """Neither openpyxl nor LibreOffice sizes rows to wrapped text, so estimate the lines needed."""
    lines = 1
    for text, width in texts_and_widths:
        usable = max(width - 1.5, 1.0)     # cell padding, and words that wrap early
        n = sum(max(1, math.ceil(_display_width(part) / usable)) for part in text.split("\n"))
        lines = max(lines, n)
    return lines * line_pt + 6


def _fill_sheet(ws, sheet: SummarySheet, title: str) -> None:
    columns = [c for c in _COLUMNS if c[1] != "recommender" or _is_province(sheet)]
    ncols = len(columns)
    last = get_column_letter(ncols)
    wrap_left = Alignment(horizontal="left", vertical="center", wrap_text=True)
    wrap_centre = Alignment(horizontal="center", vertical="center", wrap_text=True)

    cell = _text_cell(ws, 1, 1, title)
    cell.font = Font(name=_FONT, size=18, bold=True)
    cell.alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A1:{last}1")
    ws.row_dimensions[1].height = 36

    cell = _text_cell(ws, 2, 1, _header_line(sheet))
    cell.font = Font(name=_FONT, size=11)
    cell.alignment = Alignment(horizontal="left", vertical="center")
    ws.merge_cells(f"A2:{last}2")
    ws.row_dimensions[2].height = 24

    for col, (header, _, width, _) in enumerate(columns, start=1):
        cell = _text_cell(ws, 3, col, header)
        cell.font = Font(name=_FONT, size=11, bold=True)
        cell.alignment = wrap_centre
        cell.border = _BORDER
        cell.fill = _HEADER_FILL
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.row_dimensions[3].height = 32

    body_font = Font(name=_FONT, size=10.5)
    for i, row in enumerate(sheet.rows):
        r = 4 + i
        for col, (_, attr, _, centred) in enumerate(columns, start=1):
            value = getattr(row, attr)
            if attr == "seq":
                cell = ws.cell(row=r, column=col, value=int(value))
            elif attr == "avg_trainees":
                cell = _number_or_text(ws, r, col, value)
            else:
                cell = _text_cell(ws, r, col, value)
            cell.font = body_font
            cell.alignment = wrap_centre if centred else wrap_left
            cell.border = _BORDER
        ws.row_dimensions[r].height = _row_height(
            [(_clean(getattr(row, attr)), width) for _, attr, width, _ in columns])
    if not sheet.rows:
        cell = _text_cell(ws, 4, 1, "（暂无申报单位）")
        cell.font = body_font
        cell.alignment = wrap_centre
        for col in range(1, ncols + 1):
            ws.cell(row=4, column=col).border = _BORDER
        ws.merge_cells(f"A4:{last}4")

    ws.freeze_panes = "A4"
    ws.print_title_rows = "3:3"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0            # as many pages tall as needed
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    ws.oddFooter.center.size = 9


def summary_xlsx(sheets: Sequence[SummarySheet], title: str) -> bytes:
    """附件2 as a workbook: one worksheet per sheet, every applicant-supplied value stored as text.
    title is the workbook's; each worksheet's own title names its recommender (sheet_title)."""
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = _clean(title)
    wb.properties.creator = "intake"
    for sheet, name in zip(sheets, _sheet_names(sheets)):
        _fill_sheet(wb.create_sheet(title=name), sheet, sheet_title(sheet))
    if not sheets:
        _fill_sheet(wb.create_sheet(title="汇总表"),
                    SummarySheet(round_name="", recommender="", filler="", phone="", filled_on="", rows=()),
                    title)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
