"""Clerk-facing documents: 附件2 汇总表 (DOCX, XLSX) and 受理回执 letters."""
from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import Environment, Template
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ..model import Status
from .sheets import BORDER, FONT, HEAD_FILL, clean, fit_rows, print_setup, text_cell, workbook

SUMMARY_TITLE = "山东省专业技术人员继续教育基地申报汇总表"
PROVINCE_TITLE = SUMMARY_TITLE + "（全省汇总）"     # the province files' own title (file properties)


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

# Sender-controlled text must not lay out the page: docxtpl turns \t, \a and \f into layout, and
# characters XML 1.0 forbids would corrupt the file (sheets.clean removes both).
_clean = clean


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

class _CompiledOnce(Environment):
    """docxtpl compiles a template's XML again for every document; a round's thirty letters are one
    template, and compiling was a third of the time they took. A template edited is new source, compiled
    anew."""

    def __init__(self) -> None:
        # autoescape: an "&" or "<" in a unit name must come out as text, not as broken XML.
        super().__init__(autoescape=True)
        self._compiled: dict[str, Template] = {}

    def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Template:
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        template = self._compiled.get(source)
        if template is None:
            if len(self._compiled) >= 16:       # a console up for weeks while templates are edited
                self._compiled.clear()
            template = self._compiled[source] = super().from_string(source)
        return template


_JINJA = _CompiledOnce()


def _render_docx(template: Path, context: dict[str, Any]) -> bytes:
    doc = DocxTemplate(str(template))
    doc.render(context, _JINJA, autoescape=True)
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

# (header, attribute of SummaryRow, width in Excel character units, centred). Budgeted so the province
# sheet prints at ≥ 9 pt on landscape A4 (sheets.printed_size) with a usual row on three lines.
_COLUMNS: tuple[tuple[str, str, float, bool], ...] = (
    ("序号", "seq", 4, True),
    ("推荐单位", "recommender", 13, False),
    ("申报单位名称", "applicant", 18, False),
    ("单位性质", "unit_type", 9, True),
    ("申报类别", "track", 14, False),
    ("主要培训领域", "domains", 30, False),
    ("近三年年均培训人数", "avg_trainees", 9, True),
    ("联系人", "contact", 8, True),
    ("联系电话", "contact_phone", 13, True),
    ("备注", "remarks", 26, False),
)
_BODY_PT = 10.5
_PLAIN_INT = re.compile(r"(?:0|[1-9][0-9]{0,11})")
_SHEET_FORBIDDEN = re.compile(r"[:/\\?*\[\]]")
_TABLE_TOP = 4                  # 附件2, the title, whose table it is, then the header row


def _is_province(sheet: SummarySheet) -> bool:
    return not sheet.recommender or any(r.recommender for r in sheet.rows)


def _header_line(sheet: SummarySheet) -> str:
    """The line under the form's title: whose table it is."""
    if not sheet.recommender:
        return f"全省汇总　　申报批次：{sheet.round_name}　　生成日期：{sheet.filled_on}"
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


def _number_or_text(ws, row: int, col: int, value: str):
    text = _clean(value).strip()
    if _PLAIN_INT.fullmatch(text):
        cell = ws.cell(row=row, column=col, value=int(text))
        cell.number_format = "0"
        return cell
    return text_cell(ws, row, col, value)


def _fill_sheet(ws, sheet: SummarySheet) -> None:
    """The form as the Word template lays it out: 附件2, its title, whose table, the table."""
    columns = [c for c in _COLUMNS if c[1] != "recommender" or _is_province(sheet)]
    ncols = len(columns)
    last = get_column_letter(ncols)
    wrap_left = Alignment(horizontal="left", vertical="center", wrap_text=True)
    wrap_centre = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for col, (_, _, width, _) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width

    text_cell(ws, 1, 1, "附件2").font = Font(name="黑体", size=14)
    cell = text_cell(ws, 2, 1, SUMMARY_TITLE)
    cell.font = Font(name=FONT, size=18, bold=True)
    cell.alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(f"A2:{last}2")
    cell = text_cell(ws, 3, 1, _header_line(sheet))
    cell.font = Font(name=FONT, size=12)
    cell.alignment = Alignment(horizontal="left", vertical="center", wrap_text=True)
    ws.merge_cells(f"A3:{last}3")

    top = _TABLE_TOP
    for col, (header, _, _, _) in enumerate(columns, start=1):
        cell = text_cell(ws, top, col, header)
        cell.font = Font(name="黑体", size=_BODY_PT)
        cell.alignment = wrap_centre
        cell.border = BORDER
        cell.fill = HEAD_FILL

    body_font = Font(name=FONT, size=_BODY_PT)
    for r, row in enumerate(sheet.rows, start=top + 1):
        for col, (_, attr, _, centred) in enumerate(columns, start=1):
            value = getattr(row, attr)
            if attr == "seq":
                cell = ws.cell(row=r, column=col, value=int(value))
            elif attr == "avg_trainees":
                cell = _number_or_text(ws, r, col, value)
            else:
                cell = text_cell(ws, r, col, value)
            cell.font = body_font
            cell.alignment = wrap_centre if centred else wrap_left
            cell.border = BORDER
    if not sheet.rows:
        cell = text_cell(ws, top + 1, 1, "（暂无申报单位）")
        cell.font = body_font
        cell.alignment = wrap_centre
        for col in range(1, ncols + 1):
            ws.cell(row=top + 1, column=col).border = BORDER
        ws.merge_cells(f"A{top + 1}:{last}{top + 1}")

    fit_rows(ws)
    ws.row_dimensions[2].height = 36
    ws.freeze_panes = f"A{top + 1}"
    print_setup(ws, repeat=f"{top}:{top}")


def summary_xlsx(sheets: Sequence[SummarySheet], title: str) -> bytes:
    """附件2 as a workbook: one worksheet per sheet, every applicant-supplied value stored as text.
    title is the workbook's (its file properties); each worksheet carries the form's own title and,
    below it, whose table it is."""
    wb = workbook()
    wb.remove(wb.active)
    wb.properties.title = _clean(title)
    wb.properties.creator = "intake"
    for sheet, name in zip(sheets, _sheet_names(sheets)):
        _fill_sheet(wb.create_sheet(title=name), sheet)
    if not sheets:
        _fill_sheet(wb.create_sheet(title="汇总表"),
                    SummarySheet(round_name="", recommender="", filler="", phone="", filled_on="", rows=()))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def letter_from_json(text: str) -> ReceiptLetter:
    data = json.loads(text)
    data["items"] = tuple(ReceiptItem(**{**i, "documents": tuple(i["documents"]), "problems": tuple(i["problems"])})
                          for i in data["items"])
    for key in ("message_problems", "other_documents"):
        data[key] = tuple(data.get(key, ()))
    return ReceiptLetter(**data)
