"""Generate the Word templates (附件2 汇总表, 受理回执) with docxtpl tags; a clerk may then edit them in Word/WPS.

Run from the project root:  .venv/bin/python scripts/make_templates.py [templates_dir]

Rules the templates keep, so that docxtpl can render them after a clerk's edits too:
- every Jinja tag sits in one run (one ``add_run`` each): Word would otherwise split it across runs;
- ``{%tr ... %}`` sits alone in its own table row, ``{%p ... %}`` alone in its own paragraph;
- East Asian fonts are set through ``w:rFonts/@w:eastAsia`` (python-docx's ``font.name`` sets only
  the Latin ones), on the document defaults, the styles and every run.
"""
from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

SONG = "宋体"        # tables, summary title
FANGSONG = "仿宋"    # letter body (Windows ships 仿宋; 仿宋_GB2312 is not everywhere)
HEI = "黑体"         # headings, table headers
LATIN = "Times New Roman"

SUMMARY_TITLE = "山东省专业技术人员继续教育基地申报汇总表"


# ---------------------------------------------------------------- fonts

def _set_rfonts(rpr, east_asia: str, latin: str = LATIN) -> None:
    """Explicit fonts on an rPr; theme attributes would win over names, so they go."""
    rfonts = rpr.find(qn("w:rFonts"))
    if rfonts is None:
        rfonts = OxmlElement("w:rFonts")
        rpr.insert(0, rfonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        if rfonts.get(qn(attr)) is not None:
            del rfonts.attrib[qn(attr)]
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:cs"), latin)
    rfonts.set(qn("w:eastAsia"), east_asia)
    # “” and — are shared by both scripts: the hint makes Word take the Chinese font for them.
    rfonts.set(qn("w:hint"), "eastAsia")


def _set_lang(rpr) -> None:
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")


def _style_fonts(style, east_asia: str, size: float | None = None, bold: bool | None = None) -> None:
    style.font.name = LATIN
    if size is not None:
        style.font.size = Pt(size)
    if bold is not None:
        style.font.bold = bold
    _set_rfonts(style.element.get_or_add_rPr(), east_asia)


def _setup_document(body_font: str, body_size: float):
    doc = Document()
    styles = doc.styles.element
    rpr_default = styles.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_rfonts(rpr_default, body_font)
    _set_lang(rpr_default)
    # No "space after 10pt, 1.15 lines" default: Chinese forms are set solid.
    ppr_default = styles.find(qn("w:docDefaults")).find(qn("w:pPrDefault")).find(qn("w:pPr"))
    spacing = ppr_default.find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "240")
    spacing.set(qn("w:lineRule"), "auto")

    normal = doc.styles["Normal"]
    _style_fonts(normal, body_font, body_size)
    normal.paragraph_format.space_after = Pt(0)
    for name in ("Header", "Footer"):
        _style_fonts(doc.styles[name], SONG, 9)
    _style_fonts(doc.styles["Table Grid"], SONG)
    for name in ("Title", "Heading 1"):
        _style_fonts(doc.styles[name], HEI, bold=True)
    doc.core_properties.author = "intake"
    _cjk_font_table(doc)
    return doc


# What Word itself writes for the Chinese system fonts: the English alternative name lets Word and WPS
# on an English system find SimSun for 宋体; charset 86 (GB2312) and the panose/signature tell any
# substituting program that a Chinese serif (Song) or sans (Hei) face is wanted. LibreOffice on Linux
# substitutes through fontconfig instead: templates/fonts.conf maps the names there (pipeline/office.py).
_CJK_FONTS = {
    SONG: ("SimSun", "02010600030101010101", "auto", "variable", ("00000003", "288F0000", "00000016")),
    FANGSONG: ("FangSong", "02010609060101010101", "modern", "fixed", ("800002BF", "38CF7CFA", "00000016")),
    HEI: ("SimHei", "02010609060101010101", "modern", "fixed", ("800002BF", "38CF7CFA", "00000016")),
}


def _cjk_font_table(doc) -> None:
    from lxml import etree

    part = next(p for p in doc.part.package.iter_parts() if p.partname == "/word/fontTable.xml")
    root = etree.fromstring(part.blob)
    present = {f.get(qn("w:name")) for f in root.findall(qn("w:font"))}
    for name, (alt, panose, family, pitch, (usb0, usb1, usb2)) in _CJK_FONTS.items():
        if name in present:
            continue
        font = etree.SubElement(root, qn("w:font"))
        font.set(qn("w:name"), name)
        for tag, value in (("w:altName", alt), ("w:panose1", panose), ("w:charset", "86"), ("w:family", family),
                           ("w:pitch", pitch)):
            etree.SubElement(font, qn(tag)).set(qn("w:val"), value)
        sig = etree.SubElement(font, qn("w:sig"))
        for attr, value in (("w:usb0", usb0), ("w:usb1", usb1), ("w:usb2", usb2), ("w:usb3", "00000000"),
                            ("w:csb0", "00040001"), ("w:csb1", "00000000")):
            sig.set(qn(attr), value)
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _run(paragraph, text: str, font: str, size: float, bold: bool = False):
    """One run = one piece of text or one whole Jinja tag."""
    run = paragraph.add_run(text)
    run.font.name = LATIN
    run.font.size = Pt(size)
    run.font.bold = bold
    _set_rfonts(run._element.get_or_add_rPr(), font)
    return run


def _para(container, parts, font: str, size: float, *, bold: bool = False,
          align=WD_ALIGN_PARAGRAPH.LEFT, indent_chars: int = 0, before: float = 0,
          after: float = 0, line: float | None = None):
    """A paragraph made of several runs; parts are strings, each tag its own string."""
    p = container.add_paragraph()
    fmt = p.paragraph_format
    fmt.alignment = align
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    if line is not None:
        fmt.line_spacing = Pt(line)       # exact: a Chinese official letter keeps a fixed grid
    if indent_chars:
        fmt.first_line_indent = Pt(size * indent_chars)
        # Word also honours the character-based indent, which survives a change of font size.
        ind = p._p.get_or_add_pPr().get_or_add_ind()
        ind.set(qn("w:firstLineChars"), str(indent_chars * 100))
    for part in parts:
        _run(p, part, font, size, bold)
    return p


# ---------------------------------------------------------------- page & fields

def _page(section, landscape: bool, top: float, bottom: float, left: float, right: float) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    a4_w, a4_h = Cm(21.0), Cm(29.7)
    section.page_width, section.page_height = (a4_h, a4_w) if landscape else (a4_w, a4_h)
    section.top_margin, section.bottom_margin = Cm(top), Cm(bottom)
    section.left_margin, section.right_margin = Cm(left), Cm(right)
    section.header_distance = Cm(1.2)
    section.footer_distance = Cm(1.0)


def _field(paragraph, instr: str, font: str, size: float) -> None:
    """A complex field (PAGE, NUMPAGES): Word and WPS update it when printing."""
    def piece(kind: str):
        run = _run(paragraph, "", font, size)
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instr} "
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        run._r.append(el)
        return run

    piece("begin")
    piece("instr")
    piece("separate")
    _run(paragraph, "1", font, size)      # cached result shown until the field is updated
    piece("end")


def _page_numbers(section, before: list[str] | None = None) -> None:
    footer = section.footer
    footer.is_linked_to_previous = False
    p = footer.paragraphs[0]
    p.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in before or []:
        _run(p, line, SONG, 9)
        p.add_run().add_break(WD_BREAK.LINE)
    _run(p, "第 ", SONG, 9)
    _field(p, "PAGE", SONG, 9)
    _run(p, " 页 共 ", SONG, 9)
    _field(p, "NUMPAGES", SONG, 9)
    _run(p, " 页", SONG, 9)


# ---------------------------------------------------------------- tables

def _cell_width(cell, cm: float) -> None:
    cell.width = Cm(cm)


def _cell_text(cell, parts, font: str, size: float, *, bold: bool = False,
               align=WD_ALIGN_PARAGRAPH.LEFT, line: float | None = None) -> None:
    p = cell.paragraphs[0]
    p.paragraph_format.alignment = align
    if line:
        p.paragraph_format.line_spacing = Pt(line)     # exact: no font's own leading decides the rows
    for part in parts:
        _run(p, part, font, size, bold)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _repeat_header(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    tr_pr.append(el)


def _cant_split(row) -> None:
    tr_pr = row._tr.get_or_add_trPr()
    tr_pr.append(OxmlElement("w:cantSplit"))


def _fixed_layout(table, widths: list[float]) -> None:
    table.autofit = False            # python-docx writes <w:tblLayout w:type="fixed"/>
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    tbl_pr = table._tbl.tblPr
    tbl_w = tbl_pr.find(qn("w:tblW"))
    if tbl_w is None:
        tbl_w = OxmlElement("w:tblW")
        tbl_pr.append(tbl_w)
    tbl_w.set(qn("w:type"), "dxa")
    tbl_w.set(qn("w:w"), str(int(sum(widths) / 2.54 * 1440)))
    for col, w in zip(table.columns, widths):
        col.width = Cm(w)
    # A little air inside cells; Table Grid's default is 0.19 cm left/right, nothing top/bottom.
    mar = OxmlElement("w:tblCellMar")
    for side, val in (("top", 40), ("bottom", 40), ("left", 80), ("right", 80)):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(val))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    # Schema order matters to Word: tblCellMar comes just before tblLook.
    look = tbl_pr.find(qn("w:tblLook"))
    if look is not None:
        look.addprevious(mar)
    else:
        tbl_pr.append(mar)


def _tag_row(table, tag: str, widths: list[float]) -> None:
    """A row holding only a {%tr %} tag: docxtpl replaces the whole row with the tag."""
    row = table.add_row()
    for cell, w in zip(row.cells, widths):
        _cell_width(cell, w)
    _cell_text(row.cells[0], [tag], SONG, 10.5)


def _loop_table(container, columns: list[tuple[str, float, str, str]], loop: str, empty_text: str,
                empty_test: str, size: float = 10.5, line: float | None = None):
    """Header row + a {%tr for %} row loop + an "empty" row shown when there is nothing to list.

    columns: (header, width in cm, cell content with tags, alignment "l"/"c"); line: exact line pitch.
    """
    widths = [c[1] for c in columns]
    table = container.add_table(rows=1, cols=len(columns))
    table.style = "Table Grid"
    _fixed_layout(table, widths)

    header = table.rows[0]
    _cant_split(header)          # schema order: cantSplit before tblHeader
    _repeat_header(header)
    for cell, (title, w, _, _) in zip(header.cells, columns):
        _cell_width(cell, w)
        _cell_text(cell, [title], HEI, size, align=WD_ALIGN_PARAGRAPH.CENTER, line=line)

    _tag_row(table, "{%tr for " + loop + " %}", widths)
    row = table.add_row()
    _cant_split(row)
    for cell, (_, w, content, align) in zip(row.cells, columns):
        _cell_width(cell, w)
        _cell_text(cell, [content], SONG, size,
                   align=WD_ALIGN_PARAGRAPH.CENTER if align == "c" else WD_ALIGN_PARAGRAPH.LEFT, line=line)
    _tag_row(table, "{%tr endfor %}", widths)

    _tag_row(table, "{%tr if " + empty_test + " %}", widths)
    row = table.add_row()
    for cell, w in zip(row.cells, widths):
        _cell_width(cell, w)
    merged = row.cells[0].merge(row.cells[-1])
    _cell_text(merged, [empty_text], SONG, size, align=WD_ALIGN_PARAGRAPH.CENTER)
    _tag_row(table, "{%tr endif %}", widths)
    return table


# ---------------------------------------------------------------- 附件2 汇总表

def _summary_columns(province: bool) -> list[tuple[str, float, str, str]]:
    if province:
        # Fifty rows and more, for the office's leaders: 小五 (9 pt) on a 12 pt pitch in 27.3 cm (1.2 cm
        # margins), the columns sized to what they hold (a cell keeps 0.28 cm; a character is 0.32 cm):
        # 主要培训领域 of about fifty characters in three lines, 推荐单位 and 申报类别 in two.
        return [
            ("序号", 0.8, "{{ r.seq }}", "c"),
            ("推荐单位", 2.6, "{{ r.recommender }}", "l"),
            ("申报单位名称", 3.4, "{{ r.applicant }}", "l"),
            ("单位性质", 1.6, "{{ r.unit_type }}", "c"),
            ("申报类别", 2.6, "{{ r.track }}", "l"),
            ("主要培训领域", 5.6, "{{ r.domains }}", "l"),
            ("近三年年均培训人数", 1.6, "{{ r.avg_trainees }}", "c"),
            ("联系人", 1.6, "{{ r.contact }}", "c"),
            ("联系电话", 2.7, "{{ r.contact_phone }}", "c"),
            ("备注", 4.8, "{{ r.remarks }}", "l"),
        ]
    # Landscape A4 is 29.7 cm; with 1.9 cm margins 25.9 cm remain for the table.
    return [
        ("序号", 1.1, "{{ r.seq }}", "c"),
        ("申报单位名称", 4.8, "{{ r.applicant }}", "l"),
        ("单位性质", 2.0, "{{ r.unit_type }}", "c"),
        ("申报类别", 3.2, "{{ r.track }}", "l"),
        ("主要培训领域", 4.2, "{{ r.domains }}", "l"),
        ("近三年年均培训人数", 2.2, "{{ r.avg_trainees }}", "c"),
        ("联系人", 1.8, "{{ r.contact }}", "c"),
        ("联系电话", 2.8, "{{ r.contact_phone }}", "c"),
        ("备注", 3.8, "{{ r.remarks }}", "l"),
    ]


def summary_template(province: bool) -> Document:
    doc = _setup_document(SONG, 10.5)
    section = doc.sections[0]
    if province:
        _page(section, landscape=True, top=1.5, bottom=1.4, left=1.2, right=1.2)
    else:
        _page(section, landscape=True, top=2.0, bottom=1.8, left=1.9, right=1.9)
    _page_numbers(section)

    _para(doc, ["附件2"], HEI, 14)
    # The form's own title on both: the line below it says whose table it is.
    _para(doc, [SUMMARY_TITLE], SONG, 18, bold=True, align=WD_ALIGN_PARAGRAPH.CENTER, before=6,
          after=6 if province else 12)
    if province:
        parts = ["全省汇总　　申报批次：", "{{ sheet.round_name }}", "　　生成日期：", "{{ sheet.filled_on }}"]
    else:
        parts = ["推荐单位（盖章）：", "{{ sheet.recommender }}",
                 "　　填表人：", "{{ sheet.filler }}",
                 "　　联系电话：", "{{ sheet.phone }}",
                 "　　填报日期：", "{{ sheet.filled_on }}"]
    _para(doc, parts, SONG, 12, after=6)
    _loop_table(doc, _summary_columns(province), "r in sheet.rows", "（暂无申报单位）", "not sheet.rows",
                size=9 if province else 10.5, line=12 if province else None)
    doc.core_properties.title = SUMMARY_TITLE + ("（全省汇总）" if province else "")
    return doc


# ---------------------------------------------------------------- 受理回执

_ITEM_DOCUMENTS = '{{ it.documents|join("\\n") }}'
# One problem per line, numbered when there are several; "无" when there are none.
_ITEM_PROBLEMS = (
    '{% for p in it.problems %}{% if not loop.first %}{{ "\\n" }}{% endif %}'
    '{% if it.problems|length > 1 %}{{ loop.index }}. {% endif %}{{ p }}{% else %}无{% endfor %}'
)


def receipt_template() -> Document:
    body = 14  # 四号
    line = 26  # exact line pitch for 四号 仿宋
    doc = _setup_document(FANGSONG, body)
    section = doc.sections[0]
    _page(section, landscape=False, top=3.0, bottom=2.5, left=2.8, right=2.6)
    _page_numbers(section, before=["{{ letter.footer }}"])

    _para(doc, ["受理回执"], HEI, 22, align=WD_ALIGN_PARAGRAPH.CENTER, after=4)
    _para(doc, ["{{ letter.round_name }}"], FANGSONG, 14, align=WD_ALIGN_PARAGRAPH.CENTER, after=8)
    _para(doc, ["编号：", "{{ letter.receipt_no }}"], FANGSONG, 12, align=WD_ALIGN_PARAGRAPH.RIGHT, after=8)

    # An unknown sender has no recommender: greet the address it wrote from.
    _para(doc, ["{{ letter.recommender or letter.sender }}", "："], FANGSONG, body, line=line)
    _para(doc, ["你单位于", "{{ letter.received_at }}", "发送的邮件《", "{{ letter.subject }}",
                "》已收到。现将受理情况告知如下："], FANGSONG, body, indent_chars=2, line=line, after=6)

    # Portrait A4 less 2.8 + 2.6 cm margins leaves 15.6 cm.
    columns = [
        ("申报单位", 3.3, "{{ it.applicant }}", "l"),
        ("申报类别", 2.5, "{{ it.track }}", "l"),
        ("收到材料", 4.0, _ITEM_DOCUMENTS, "l"),
        ("受理状态", 1.8, "{{ it.status }}", "c"),
        ("需说明的问题", 4.0, _ITEM_PROBLEMS, "l"),
    ]
    _loop_table(doc, columns, "it in letter.items", "本邮件中未识别到申报单位", "not letter.items", size=10.5)

    _para(doc, ["{%p if letter.other_documents %}"], FANGSONG, body, line=line)
    _para(doc, ["同时收到：", "{{ letter.other_documents | join('；') }}", "。"], FANGSONG, body,
          indent_chars=2, line=line, before=6)
    _para(doc, ["{%p endif %}"], FANGSONG, body, line=line)

    _para(doc, ["{%p if letter.message_problems %}"], FANGSONG, body, line=line)
    _para(doc, ["此外，本邮件存在以下问题："], FANGSONG, body, indent_chars=2, line=line, before=6)
    _para(doc, ["{%p for p in letter.message_problems %}"], FANGSONG, body, line=line)
    _para(doc, ["{{ loop.index }}", "．", "{{ p }}"], FANGSONG, body, indent_chars=2, line=line)
    _para(doc, ["{%p endfor %}"], FANGSONG, body, line=line)
    _para(doc, ["{%p endif %}"], FANGSONG, body, line=line)

    # What to post, or (rejected, 通知四（六）：逾期不再受理) why nothing: ReceiptLetter.paper_request.
    _para(doc, ["{{ letter.paper_request }}"], FANGSONG, body, indent_chars=2, line=line, before=6)
    _para(doc, ["联系人：", "{{ letter.contacts }}", "　联系电话：", "{{ letter.phone }}"],
          FANGSONG, body, indent_chars=2, line=line)

    _para(doc, ["{{ letter.office_name }}"], FANGSONG, body, align=WD_ALIGN_PARAGRAPH.RIGHT,
          line=line, before=28)
    _para(doc, ["{{ letter.issued_on }}"], FANGSONG, body, align=WD_ALIGN_PARAGRAPH.RIGHT, line=line)
    doc.core_properties.title = "受理回执"
    return doc


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "templates"
    out.mkdir(parents=True, exist_ok=True)
    made = {
        "summary_table.docx": summary_template(province=False),
        "summary_province.docx": summary_template(province=True),
        "receipt_letter.docx": receipt_template(),
    }
    for name, doc in made.items():
        doc.save(out / name)
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
