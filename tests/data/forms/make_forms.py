"""Generate the reader's fixtures: real DOCX/XLSX/PDF documents and real OCR readings of scans.

Run from the repository root:

    .venv/bin/python tests/data/forms/make_forms.py

Needs what tests/data/make_samples.py needs (LibreOffice, poppler-utils, ImageMagick, CJK fonts) and,
for the OCR readings, rapidocr-onnxruntime. The tests only read the committed outputs:

* ``form-controls.docx``: a 申请表 whose table sits in a block-level content control, with run-, cell-
  and row-level controls, check-box controls for 申报类别 and the credit code in a text box (which
  Word stores twice: DrawingML in mc:Choice, VML in mc:Fallback).
* ``form-merged.docx`` / ``.pdf``: vertical and horizontal merges, a row of labels above a row of values,
  "label：value" in one cell, a spaced-out label, a two-paragraph value, full-width digits, and
  申报类别 ticked after each option (☑ after the text).
* ``form-symbols.docx``: 申报类别 ticked with Wingdings symbols and with old FORMCHECKBOX fields.
* ``audit-form.docx`` / ``.pdf``: an 审验表 (附件5) of an institution on the 附件4 list.
* ``letter-table.docx`` / ``.pdf``: a 推荐函 that lists its two applicants in a table.
* ``form.xlsx``, ``summary.xlsx``: a 申请表 and a 汇总表 made with openpyxl, with merged ranges.
* ``ocr-*.json``: what the OCR engine of pipeline/read/ocr.py sees on scanned pages at 150 dpi, page
  by page: its lines once the page is straightened and its ticks restored (text, pixel rectangle,
  score, and per character [text, x0, x1, score]), the table cells found from the ruling lines, and
  the points per pixel (``ocr.Reading``; the tests gather them into boxes without running OCR). The
  sample scans of tests/data/samples, the 汇总表 scanned, a form whose unit name is full of rare
  characters (镕, 喆, 堃, 犇) scanned 1.5° askew (OCR drops 镕 and reads the name's 堃 as 垫), and
  ``form-merged.pdf`` scanned twice: at 0.7°
  (``ocr-form-merged.json``) OCR reads the ☑ after the first option as 团 (restored to ☑ from the
  pixels) and each □ as 口; at −1.0° (``ocr-form-merged-lost-line.json``) it loses the first line of
  申报类别 altogether and only "基地重新确认口" is left.
* ``*.expected.json`` beside every fixture: what a reader must get from it, written from the values
  this script puts into the documents (never from what the reader returns): the kind, the fields
  (keys of templates/forms/*.yaml; any other field must stay empty), the applicants a letter or
  table lists, and for an OCR reading the fields it cannot get right and must mark as unsure.
  ``--expected`` writes only these, without any of the tools.
"""
from __future__ import annotations

import io
import json
import re
import sys
import tempfile
import unicodedata
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "tests" / "data"))

import make_samples as ms  # noqa: E402  (the samples' helpers: fonts, page setup, LibreOffice profile)

SAVED = datetime(2019, 9, 5, 9, 0, tzinfo=ms.CST)
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
WPS = "http://schemas.microsoft.com/office/word/2010/wordprocessingShape"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
V = "urn:schemas-microsoft-com:vml"

# The units of these fixtures. Credit codes are valid (made as in make_samples).
QUANCHENG = dict(name="济南泉城继续教育研究院", code=ms.credit_code("52370102", "67213490"))
RARE = dict(name="淄博镕喆堃犇职业培训学校", code=ms.credit_code("52370303", "58120467"))
CONTROLS = dict(name="青岛蓝海科技培训中心", code=ms.credit_code("91370212", "73254108"), nature="企业",
                legal_rep="孙海涛", contact="周琳", phone="0532-85967788", track="rural", trainees="2450")
# The Wingdings row (申报类别) ticks 乡村振兴, the FORMCHECKBOX row (申报类型) the general track.
SYMBOLS = dict(name="烟台蓝色海洋继续教育中心", wingdings="rural", legacy="general")
LETTER_UNITS = [("烟台鲁东专业技术人员培训学院", "rural"), ("烟台蓝色海洋继续教育中心", "general")]


# ----------------------------------------------------------------------------------------------
# DOCX helpers
# ----------------------------------------------------------------------------------------------

def run_xml(text: str) -> str:
    return f'<w:r {nsdecls("w")}><w:rPr><w:rFonts w:eastAsia="宋体"/></w:rPr><w:t xml:space="preserve">{text}</w:t></w:r>'


def sdt_run(text: str, tag: str) -> str:
    return (f'<w:sdt {nsdecls("w")}><w:sdtPr><w:tag w:val="{tag}"/><w:text/></w:sdtPr>'
            f'<w:sdtContent>{run_xml(text)}</w:sdtContent></w:sdt>')


def checkbox(checked: bool) -> str:
    glyph = "☒" if checked else "☐"
    return (f'<w:sdt {nsdecls("w")} xmlns:w14="{W14}"><w:sdtPr><w14:checkbox>'
            f'<w14:checked w14:val="{int(checked)}"/><w14:checkedState w14:val="2612" w14:font="MS Gothic"/>'
            f'<w14:uncheckedState w14:val="2610" w14:font="MS Gothic"/></w14:checkbox></w:sdtPr>'
            f'<w:sdtContent><w:r><w:rPr><w:rFonts w:ascii="MS Gothic" w:eastAsia="MS Gothic"/></w:rPr>'
            f'<w:t>{glyph}</w:t></w:r></w:sdtContent></w:sdt>')


def sym(char: str) -> str:
    return f'<w:r {nsdecls("w")}><w:sym w:font="Wingdings" w:char="{char}"/></w:r>'


def text_box(text: str) -> str:
    """A floating text box as Word writes it: DrawingML in mc:Choice, the same text again in VML."""
    para = f'<w:p><w:r><w:rPr><w:rFonts w:eastAsia="宋体"/></w:rPr><w:t>{text}</w:t></w:r></w:p>'
    return (
        f'<w:r {nsdecls("w")} xmlns:mc="{MC}" xmlns:wps="{WPS}" xmlns:wp="{WP}" xmlns:a="{A}" '
        f'xmlns:v="{V}"><mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>'
        f'<wp:anchor distT="0" distB="0" distL="114300" distR="114300" simplePos="0" relativeHeight="2" '
        f'behindDoc="0" locked="0" layoutInCell="1" allowOverlap="1"><wp:simplePos x="0" y="0"/>'
        f'<wp:positionH relativeFrom="column"><wp:posOffset>2500000</wp:posOffset></wp:positionH>'
        f'<wp:positionV relativeFrom="paragraph"><wp:posOffset>0</wp:posOffset></wp:positionV>'
        f'<wp:extent cx="3200000" cy="320000"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
        f'<wp:docPr id="1" name="文本框 1"/><wp:cNvGraphicFramePr/>'
        f'<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
        f'<wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="3200000" cy="320000"/>'
        f'</a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:noFill/></wps:spPr>'
        f'<wps:txbx><w:txbxContent>{para}</w:txbxContent></wps:txbx><wps:bodyPr/></wps:wsp>'
        f'</a:graphicData></a:graphic></wp:anchor></w:drawing></mc:Choice>'
        f'<mc:Fallback><w:pict><v:shape id="文本框 1" style="position:absolute;width:252pt;height:25pt" '
        f'type="#_x0000_t202"><v:textbox><w:txbxContent>{para}</w:txbxContent></v:textbox></v:shape></w:pict>'
        f'</mc:Fallback></mc:AlternateContent></w:r>'
    )


def para_with(cell_or_doc, parts: list[str]):
    """A paragraph made of raw run-level XML pieces (runs, controls, symbols)."""
    p = cell_or_doc.add_paragraph() if not hasattr(cell_or_doc, "paragraphs") or cell_or_doc.paragraphs[0].text \
        else cell_or_doc.paragraphs[0]
    for piece in parts:
        p._p.append(parse_xml(piece))
    return p


def wrap_in_sdt(element, tag: str) -> None:
    """Move a block (table, row or cell) into a content control in its place."""
    sdt = parse_xml(f'<w:sdt {nsdecls("w")}><w:sdtPr><w:tag w:val="{tag}"/></w:sdtPr><w:sdtContent/></w:sdt>')
    element.addprevious(sdt)
    sdt.find(qn("w:sdtContent")).append(element)


def vmerge(cell, restart: bool) -> None:
    tcPr = cell._tc.get_or_add_tcPr()
    tcPr.append(parse_xml(f'<w:vMerge {nsdecls("w")} w:val="restart"/>' if restart
                          else f'<w:vMerge {nsdecls("w")}/>'))


def new_doc(author: str = "王晓梅") -> docx.Document:
    return ms.new_document(author, SAVED)


def title(doc, text: str) -> None:
    ms.add_text(doc, text, face=ms.HEI, size=18, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=12)


def grid_table(doc, rows: int, widths=ms.FORM_WIDTHS_CM):
    table = doc.add_table(rows=rows, cols=len(widths))
    table.style = "Table Grid"
    ms.fix_table_widths(table, list(widths))
    return table


# ----------------------------------------------------------------------------------------------
# The documents
# ----------------------------------------------------------------------------------------------

def build_controls_form() -> bytes:
    u = CONTROLS
    doc = new_doc()
    title(doc, "山东省专业技术人员继续教育基地申请表")
    para_with(doc, [run_xml("编号：2019-QD-07　"), text_box(f"统一社会信用代码：{u['code']}")])
    table = grid_table(doc, 5)
    rows = table.rows
    ms.fill_cell(rows[0].cells[0], "申报单位名称")
    merged = rows[0].cells[1].merge(rows[0].cells[3])
    para_with(merged, [sdt_run(u["name"], "unit_name")])
    ms.fill_cell(rows[1].cells[0], "单位性质")
    para_with(rows[1].cells[1], [sdt_run(u["nature"], "unit_type")])
    ms.fill_cell(rows[1].cells[2], "法定代表人")
    ms.fill_cell(rows[1].cells[3], u["legal_rep"])
    ms.fill_cell(rows[2].cells[0], "联系人")
    ms.fill_cell(rows[2].cells[1], u["contact"])
    ms.fill_cell(rows[2].cells[2], "联系电话")
    ms.fill_cell(rows[2].cells[3], u["phone"])
    ms.fill_cell(rows[3].cells[0], "申报类别")
    merged = rows[3].cells[1].merge(rows[3].cells[3])
    para_with(merged, [checkbox(u["track"] == "general"), run_xml("省级继续教育基地　"), checkbox(u["track"] == "rural"),
                       run_xml("省级继续教育基地（乡村振兴）专项　"), checkbox(u["track"] == "reconfirm"),
                       run_xml("原省级继续教育基地重新确认")])
    ms.fill_cell(rows[4].cells[0], "近三年年均培训专业技术人员人数")
    merged = rows[4].cells[1].merge(rows[4].cells[3])
    ms.fill_cell(merged, u["trainees"])
    # Word wraps these in controls when a form is protected for filling in: a cell, a row, the table.
    wrap_in_sdt(rows[2].cells[3]._tc, "phone")
    wrap_in_sdt(rows[4]._tr, "trainees_row")
    wrap_in_sdt(table._tbl, "form_table")
    return ms.docx_bytes(doc)


# 济南泉城继续教育研究院 on the merged-cell form: what each cell says, and so what a reader must get.
MERGED = dict(address=("济南市历下区", "泉城路180号"), phone="0531-86925566", postcode="250011",
              contact="李文博", mobile="13806418870", email="qcjy@example.cn", nature="培训机构",
              # Two rows beside one merged label: two entries of one list.
              domains=("新一代信息技术、高端装备制造", "现代金融服务、医养健康"),
              fulltime="４６", trainees="３，２００人")


def build_merged_form() -> bytes:
    u, m = QUANCHENG, MERGED
    doc = new_doc()
    title(doc, "山东省专业技术人员继续教育基地申请表")
    table = grid_table(doc, 10)
    r = table.rows
    # One cell "label：value" across the row.
    whole = r[0].cells[0].merge(r[0].cells[3])
    ms.fill_cell(whole, f"单位名称：{u['name']}")
    ms.fill_cell(r[1].cells[0], "统一社会信用代码")
    ms.fill_cell(r[1].cells[1].merge(r[1].cells[3]), u["code"])
    # 通讯地址 over two paragraphs; 联系电话 label and value each merged down over two rows.
    ms.fill_cell(r[2].cells[0], "通讯地址")
    ms.fill_cell(r[2].cells[1], m["address"][0])
    r[2].cells[1].add_paragraph(m["address"][1])
    ms.fill_cell(r[2].cells[2], "联　系　电　话")        # spaced out to fill the cell, as forms do
    ms.fill_cell(r[2].cells[3], m["phone"])
    vmerge(r[2].cells[2], True)
    vmerge(r[3].cells[2], False)
    vmerge(r[2].cells[3], True)
    vmerge(r[3].cells[3], False)
    ms.fill_cell(r[3].cells[0], "邮政编码")
    ms.fill_cell(r[3].cells[1], m["postcode"])
    # Labels above values.
    for cell, text in zip(r[4].cells, ["联系人", "手机", "电子邮箱", "单位性质"]):
        ms.fill_cell(cell, text, align=WD_ALIGN_PARAGRAPH.CENTER)
    for cell, text in zip(r[5].cells, [m["contact"], m["mobile"], m["email"], m["nature"]]):
        ms.fill_cell(cell, text, align=WD_ALIGN_PARAGRAPH.CENTER)
    # 申报类别 ticked after each option, as some offices print the form.
    ms.fill_cell(r[6].cells[0], "申报类别")
    ms.fill_cell(r[6].cells[1].merge(r[6].cells[3]),
                 "省级继续教育基地☑　省级继续教育基地（乡村振兴）专项□　原省级继续教育基地重新确认□")
    # A label merged down over two rows beside a value on each.
    ms.fill_cell(r[7].cells[0], "主要培训领域")
    vmerge(r[7].cells[0], True)
    vmerge(r[8].cells[0], False)
    ms.fill_cell(r[7].cells[1].merge(r[7].cells[3]), m["domains"][0])
    ms.fill_cell(r[8].cells[1].merge(r[8].cells[3]), m["domains"][1])
    # Full-width digits, as an IME in full-width mode types them.
    ms.fill_cell(r[9].cells[0], "专职师资人数")
    ms.fill_cell(r[9].cells[1], m["fulltime"])
    ms.fill_cell(r[9].cells[2], "近三年年均培训人数")
    ms.fill_cell(r[9].cells[3], m["trainees"])
    return ms.docx_bytes(doc)


def legacy_checkbox(checked: bool) -> list[str]:
    """A Word 97-2003 FORMCHECKBOX field: the state is a flag in w:ffData, there is no glyph."""
    state = '<w:checked/>' if checked else ''
    return [f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="begin"><w:ffData><w:name w:val="Check1"/>'
            f'<w:enabled/><w:calcOnExit w:val="0"/><w:checkBox><w:sizeAuto/><w:default w:val="0"/>{state}'
            f'</w:checkBox></w:ffData></w:fldChar></w:r>',
            f'<w:r {nsdecls("w")}><w:instrText xml:space="preserve"> FORMCHECKBOX </w:instrText></w:r>',
            f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="end"/></w:r>']


def build_symbols_form() -> bytes:
    """Two ways Word users tick a box without a check-box control: Insert Symbol (Wingdings) and the
    old FORMCHECKBOX field. Only read as DOCX: without Wingdings LibreOffice cannot render the PDF."""
    doc = new_doc()
    title(doc, "山东省专业技术人员继续教育基地申请表")
    table = grid_table(doc, 3)
    r = table.rows
    ms.fill_cell(r[0].cells[0], "申报单位名称")
    ms.fill_cell(r[0].cells[1].merge(r[0].cells[3]), SYMBOLS["name"])
    ms.fill_cell(r[1].cells[0], "申报类别")
    para_with(r[1].cells[1].merge(r[1].cells[3]),
              [sym("F0A8"), run_xml("省级继续教育基地　"), sym("F0FE"), run_xml("省级继续教育基地（乡村振兴）专项　"),
               sym("F0A8"), run_xml("原省级继续教育基地重新确认")])    # SYMBOLS["wingdings"]
    ms.fill_cell(r[2].cells[0], "申报类型")
    para_with(r[2].cells[1].merge(r[2].cells[3]),
              [*legacy_checkbox(True), run_xml("省级继续教育基地　"), *legacy_checkbox(False),    # SYMBOLS["legacy"]
               run_xml("省级继续教育基地（乡村振兴）专项")])
    return ms.docx_bytes(doc)


AUDIT_ROWS = [
    [("培训机构名称", QUANCHENG["name"])],
    [("统一社会信用代码", QUANCHENG["code"]), ("机构性质", "培训机构")],
    [("主管部门", "济南市人力资源和社会保障局"), ("法定代表人", "高明远")],
    [("通讯地址", "济南市历下区泉城路180号"), ("邮政编码", "250011")],
    [("联系人", "李文博"), ("联系电话", "0531-86925566")],
    [("招募时间", "2016年"), ("电子邮箱", "qcjy@example.cn")],
    [("2016年培训人数", "2900"), ("2017年培训人数", "3100")],
    [("2018年培训人数", "3400"), ("近三年年均培训人数", "3133")],
    [("近三年培训工作开展情况", "围绕新旧动能转换重点领域开展专业技术人员知识更新培训，年均培训3133人。")],
    [("审验意见", "")],
]


def build_audit_form() -> bytes:
    doc = new_doc("李文博")
    title(doc, "山东省专业技术人员继续教育培训机构审验表")
    table = grid_table(doc, len(AUDIT_ROWS))
    for row, pairs in zip(table.rows, AUDIT_ROWS):
        cells = row.cells
        if len(pairs) == 1:
            ms.fill_cell(cells[0], pairs[0][0], align=WD_ALIGN_PARAGRAPH.CENTER)
            ms.fill_cell(cells[1].merge(cells[3]), pairs[0][1])
        else:
            for i, (label, value) in enumerate(pairs):
                ms.fill_cell(cells[2 * i], label, align=WD_ALIGN_PARAGRAPH.CENTER)
                ms.fill_cell(cells[2 * i + 1], value)
    return ms.docx_bytes(doc)


TRACK_TEXT = {"general": "省级继续教育基地", "rural": "省级继续教育基地（乡村振兴）专项"}


def build_letter_table() -> bytes:
    doc = new_doc("刘敏")
    body = dict(size=16, line_pt=28)
    ms.add_text(doc, "推荐函", face=ms.HEI, size=22, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=18)
    ms.add_text(doc, "山东省人力资源和社会保障厅：", **body)
    ms.add_text(doc, f"根据{ms.NOTICE_TITLE}要求，经单位自愿申报、我局审核，现推荐下表所列单位申报山东省"
                     "专业技术人员继续教育基地。", first_indent=32, **body)
    table = grid_table(doc, 1 + len(LETTER_UNITS), widths=[1.5, 8.0, 7.0])
    for cell, text in zip(table.rows[0].cells, ["序号", "单位名称", "申报类别"]):
        ms.fill_cell(cell, text, align=WD_ALIGN_PARAGRAPH.CENTER)
    for k, (name, track) in enumerate(LETTER_UNITS, 1):
        for cell, text in zip(table.rows[k].cells, [str(k), name, TRACK_TEXT[track]]):
            ms.fill_cell(cell, text)
    ms.add_text(doc, "特此推荐。", first_indent=32, **body)
    ms.add_text(doc, "联系人：刘敏　　联系电话：0535-6688123", first_indent=32, **body)
    ms.add_text(doc, "烟台市人力资源和社会保障局", align=WD_ALIGN_PARAGRAPH.RIGHT, **body)
    ms.add_text(doc, "2019年9月16日", align=WD_ALIGN_PARAGRAPH.RIGHT, **body)
    return ms.docx_bytes(doc)


def build_rare_form() -> bytes:
    base = ms.UNITS["jinan-training-college"]
    u = replace(base, name=RARE["name"], credit_code=RARE["code"], contact="王喆", legal_rep="张堃",
                authority="淄博市人力资源和社会保障局", address="淄博市张店区犇腾路66号")
    return ms.docx_bytes(ms.build_form(u))


# ----------------------------------------------------------------------------------------------
# XLSX
# ----------------------------------------------------------------------------------------------

def pinned_xlsx(book) -> bytes:
    book.properties.creator = "王晓梅"
    book.properties.created = book.properties.modified = datetime(2019, 9, 9, 9, 0)
    raw = io.BytesIO()
    book.save(raw)

    def edit(name: str, data: bytes) -> bytes:
        # openpyxl stamps dcterms:modified with the time of saving, whatever the properties say.
        if name == "docProps/core.xml":
            return re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2019-09-09T09:00:00Z", data)
        return data

    return ms.pinned_zip(raw, edit)


def build_form_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    u = ms.UNITS["jinan-training-college"]
    book = Workbook()
    sheet = book.active
    sheet.title = "申请表"
    for col, width in zip("ABCD", (18, 26, 18, 26)):
        sheet.column_dimensions[col].width = width
    sheet["A1"] = "山东省专业技术人员继续教育基地申请表"
    sheet.merge_cells("A1:D1")
    row = 2
    for pairs in ms.form_layout(u):
        if len(pairs) == 1:
            (label, value), = pairs
            sheet.cell(row, 1, label)
            sheet.cell(row, 2, _xlsx_value(label, value))
            sheet.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
        else:
            for i, (label, value) in enumerate(pairs):
                sheet.cell(row, 2 * i + 1, label)
                sheet.cell(row, 2 * i + 2, _xlsx_value(label, value))
        for cell in sheet[row]:
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        row += 1
    # A hidden sheet of drop-down choices, as templates made by offices often have.
    hidden = book.create_sheet("选项")
    for k, text in enumerate(["高等院校", "科研院所", "行业协会", "企业", "培训机构", "其他"], 1):
        hidden.cell(k, 1, text)
    hidden.sheet_state = "hidden"
    return pinned_xlsx(book)


def _xlsx_value(label: str, value: str):
    # Counts typed as numbers, as people do in Excel; the credit code stays text.
    return int(value) if value.isdigit() and label != "统一社会信用代码" and label != "邮政编码" else value


def build_summary_xlsx() -> bytes:
    from openpyxl import Workbook

    s = ms.SUMMARIES["summary-jinan"]
    book = Workbook()
    sheet = book.active
    sheet.title = "汇总表"
    n = len(ms.SUMMARY_COLUMNS)
    sheet.cell(1, 1, "山东省专业技术人员继续教育基地申报汇总表")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
    sheet.cell(2, 1, ms.summary_header_line(s))
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n)
    for c, text in enumerate(ms.SUMMARY_COLUMNS, 1):
        sheet.cell(3, c, text)
    for r, values in enumerate(ms.summary_rows(s), 4):
        for c, text in enumerate(values, 1):
            sheet.cell(r, c, int(text) if text.isdigit() and c in (1, 6) else (text or None))
    for col, width in zip("ABCDEFGHI", ms.SUMMARY_WIDTHS_CM):
        sheet.column_dimensions[col].width = width * 5
    return pinned_xlsx(book)


# ----------------------------------------------------------------------------------------------
# Conversion, scans, OCR
# ----------------------------------------------------------------------------------------------

def scan_pages(pdf: Path, work: Path, rotate: float, seed: int) -> list[Path]:
    out = work / f"{pdf.stem}-scan{rotate}"
    out.mkdir()
    ms.run(["pdftoppm", "-r", "150", "-gray", str(pdf), str(out / "page")])
    pages = []
    for pgm in sorted(out.glob("page-*.pgm")):
        png = pgm.with_suffix(".png")
        ms.run(["convert", str(pgm), "-background", "white", "-rotate", str(rotate), "-seed", str(seed),
                "-attenuate", "0.2", "+noise", "Gaussian", "-blur", "0x0.5", "-colorspace", "Gray", str(png)])
        pages.append(png)
    return pages


def image_only_pages(pdf: Path, work: Path) -> list[Path]:
    """The pages of an already scanned PDF, as the OCR reader rasterises them (150 dpi)."""
    out = work / f"{pdf.stem}-pages"
    out.mkdir()
    ms.run(["pdftoppm", "-r", "150", "-gray", "-png", str(pdf), str(out / "page")])
    return sorted(out.glob("page-*.png"))


def ocr(pages: list[Path]) -> list[dict]:
    """Each page as pipeline/read/ocr.py's Engine sees it at 150 dpi (an ocr.Reading)."""
    import numpy as np
    from PIL import Image

    sys.path.insert(0, str(ROOT))
    from pipeline.read.ocr import Engine
    from pipeline.read.raster import Raster

    engine = Engine(threads=2)
    out = []
    for page in pages:
        with Image.open(page) as img:
            pixels = np.asarray(img.convert("RGB"))
        out.append(engine.reading(Raster(pixels, 150)).to_json())
    return out


def reading_json(pages: list[dict]) -> bytes:
    """One OCR line per text line, so that a re-run's diff shows what the recogniser read differently."""
    parts = []
    for page in pages:
        lines = ",\n".join(json.dumps(line, ensure_ascii=False) for line in page["lines"])
        parts.append(f'{{"scale": {json.dumps(page["scale"])},\n"cells": {json.dumps(page["cells"])},\n'
                     f'"lines": [\n{lines}\n]}}')
    return ("[\n" + ",\n".join(parts) + "\n]\n").encode("utf-8")


# ----------------------------------------------------------------------------------------------
# Truth: what a reader must get from each fixture, from the values put into it above
# ----------------------------------------------------------------------------------------------

def unit_fields(u: ms.Unit) -> dict:
    """A sample unit's 申请表 values under the keys of templates/forms/annex1.yaml."""
    return dict(unit_name=u.name, credit_code=u.credit_code, unit_type=u.nature, supervisor=u.authority,
                address=u.address, postcode=u.postcode, legal_rep=u.legal_rep, contact=u.contact,
                contact_phone=u.phone, mobile=u.mobile, email=u.email, track=u.track, domains=u.fields,
                fulltime_teachers=u.fulltime_teachers, parttime_teachers=u.parttime_teachers,
                senior_teachers=u.senior_teachers, classrooms=u.classrooms, floor_area=u.area,
                platform=u.platform, avg_trainees=u.avg_trainees, funding=u.funding)


def number(text: str) -> int:
    return int("".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isdigit()))


def merged_fields() -> dict:
    m = MERGED
    return dict(unit_name=QUANCHENG["name"], credit_code=QUANCHENG["code"], address="".join(m["address"]),
                contact_phone=m["phone"], postcode=m["postcode"], contact=m["contact"], mobile=m["mobile"],
                email=m["email"], unit_type=m["nature"], track="general", domains="、".join(m["domains"]),
                fulltime_teachers=number(m["fulltime"]), avg_trainees=number(m["trainees"]))


AUDIT_KEYS = {"培训机构名称": "unit_name", "统一社会信用代码": "credit_code", "机构性质": "unit_type",
              "主管部门": "supervisor", "法定代表人": "legal_rep", "通讯地址": "address", "邮政编码": "postcode",
              "联系人": "contact", "联系电话": "contact_phone", "招募时间": "recruited", "电子邮箱": "email",
              "2016年培训人数": "trainees_2016", "2017年培训人数": "trainees_2017",
              "2018年培训人数": "trainees_2018", "近三年年均培训人数": "avg_trainees"}
_INT_KEYS = {"trainees_2016", "trainees_2017", "trainees_2018", "avg_trainees"}


def audit_fields() -> dict:
    pairs = [pair for row in AUDIT_ROWS for pair in row if pair[0] in AUDIT_KEYS]
    return {AUDIT_KEYS[k]: (int(v) if AUDIT_KEYS[k] in _INT_KEYS else v) for k, v in pairs}


def summary_truth(s: ms.Summary) -> dict:
    letter = ms.LETTERS[s.letter]
    listed = [dict(name=u.name, track=u.track,
                   fields=dict(unit_type=u.nature, domains=u.fields, avg_trainees=u.avg_trainees,
                               contact=u.contact, contact_phone=u.phone))
              for u in (ms.UNITS[slug] for slug in letter.units)]
    return dict(kind="summary", fields=dict(recommender=letter.recommender, filler=s.clerk,
                                            filler_phone=s.phone, filled_on=s.date), listed=listed)


def letter_truth(slug: str) -> dict:
    le = ms.LETTERS[slug]
    return dict(kind="letter", fields=dict(contact=le.contact, contact_phone=le.phone),
                listed=[dict(name=ms.UNITS[u].name, track=ms.UNITS[u].track) for u in le.units])


def expected() -> dict[str, dict]:
    """File name → what must be read from it."""
    jinan, dongying = ms.UNITS["jinan-training-college"], ms.UNITS["dongying-petroleum-center"]
    rare = dict(unit_fields(jinan), unit_name=RARE["name"], credit_code=RARE["code"], contact="王喆",
                legal_rep="张堃", supervisor="淄博市人力资源和社会保障局", address="淄博市张店区犇腾路66号")
    c = CONTROLS
    controls = dict(unit_name=c["name"], credit_code=c["code"], unit_type=c["nature"], legal_rep=c["legal_rep"],
                    contact=c["contact"], contact_phone=c["phone"], track=c["track"], avg_trainees=number(c["trainees"]))
    out = {
        "form-controls.docx": dict(kind="form", fields=controls),
        "form-merged.docx": dict(kind="form", fields=merged_fields()),
        "form-merged.pdf": dict(kind="form", fields=merged_fields()),
        "form-symbols.docx": dict(kind="form", fields=dict(unit_name=SYMBOLS["name"], track=SYMBOLS["wingdings"]),
                                  pairs={"申报类别": SYMBOLS["wingdings"], "申报类型": SYMBOLS["legacy"]}),
        "audit-form.docx": dict(kind="audit_form", fields=audit_fields()),
        "audit-form.pdf": dict(kind="audit_form", fields=audit_fields()),
        "letter-table.docx": dict(kind="letter", fields=dict(contact="刘敏", contact_phone="0535-6688123"),
                                  listed=[dict(name=n, track=t) for n, t in LETTER_UNITS]),
        "form.xlsx": dict(kind="form", fields=unit_fields(jinan)),
        "summary.xlsx": summary_truth(ms.SUMMARIES["summary-jinan"]),
        "ocr-form-dongying.json": dict(kind="form", fields=unit_fields(dongying)),
        "ocr-letter-dongying.json": letter_truth("letter-dongying"),
        "ocr-summary-jinan.json": summary_truth(ms.SUMMARIES["summary-jinan"]),
        # The recogniser does not know 镕 (dropped) nor 堃 in the name (read as 垫 at 0.30).
        "ocr-form-rare.json": dict(kind="form", fields=rare, unsure={"unit_name": "单位名称中的罕用字未能识别"}),
        "ocr-form-merged.json": dict(kind="form", fields=merged_fields()),
        # Nothing on the line left says which option was ticked: the reader may guess, never pass it as read.
        "ocr-form-merged-lost-line.json": dict(kind="form", fields=merged_fields(),
                                               unsure={"track": "申报类别的第一行在扫描件上未能识别"}),
    }
    out["letter-table.pdf"] = out["letter-table.docx"]
    return out


def write_expected() -> None:
    for name, want in expected().items():
        text = json.dumps({"file": name, **want}, ensure_ascii=False, indent=2) + "\n"
        write(f"{name}.expected.json", text.encode("utf-8"))


def write(name: str, data: bytes) -> None:
    path = HERE / name
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
        print("wrote", name, len(data))


def main(argv: list[str]) -> int:
    write_expected()
    if "--expected" in argv:
        return 0
    ms.require_tools()
    docs = {"form-controls": build_controls_form(), "form-merged": build_merged_form(),
            "audit-form": build_audit_form(), "letter-table": build_letter_table(),
            "form-symbols": build_symbols_form()}
    for stem, data in docs.items():
        write(f"{stem}.docx", data)
    write("form.xlsx", build_form_xlsx())
    write("summary.xlsx", build_summary_xlsx())
    with tempfile.TemporaryDirectory(prefix="intake-forms-") as tmp:
        work = Path(tmp)
        src = work / "docx"
        src.mkdir()
        for stem in ("form-merged", "audit-form", "letter-table"):
            (src / f"{stem}.docx").write_bytes(docs[stem])
        (src / "form-rare.docx").write_bytes(build_rare_form())
        pdf_dir = work / "pdf"
        pdf_dir.mkdir()
        ms.libreoffice_to_pdf(sorted(src.glob("*.docx")), pdf_dir, work)
        for stem in ("form-merged", "audit-form", "letter-table"):
            write(f"{stem}.pdf", ms.pin_pdf_metadata((pdf_dir / f"{stem}.pdf").read_bytes(), stem))
        samples = ROOT / "tests" / "data" / "samples"
        readings = {
            "ocr-form-dongying.json": image_only_pages(samples / "form-dongying-petroleum-center-scanned.pdf", work),
            "ocr-letter-dongying.json": image_only_pages(samples / "letter-dongying-scanned.pdf", work),
            "ocr-summary-jinan.json": scan_pages(samples / "summary-jinan.pdf", work, -0.8, 23),
            "ocr-form-rare.json": scan_pages(pdf_dir / "form-rare.pdf", work, 1.5, 29),
            # At 0.7° OCR reads the ☑ after the first option as 团 and each □ as 口; at -1.0° it loses
            # the first line of 申报类别 altogether. Both are kept: real readings of one form.
            "ocr-form-merged.json": scan_pages(pdf_dir / "form-merged.pdf", work, 0.7, 31),
            "ocr-form-merged-lost-line.json": scan_pages(pdf_dir / "form-merged.pdf", work, -1.0, 31),
        }
        for name, pages in readings.items():
            write(name, reading_json(ocr(pages)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
