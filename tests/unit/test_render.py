"""The clerk-facing documents: what goes in comes out as the same text, in the right fonts and layout."""
from __future__ import annotations

import dataclasses
import io
import re
import runpy
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from docx.enum.section import WD_ORIENT
from docx.oxml.ns import qn

from pipeline.model import Status, Track
from pipeline.outputs.render import (
    ReceiptItem,
    ReceiptLetter,
    SummaryRow,
    SummarySheet,
    receipt_letter_docx,
    summary_docx,
    summary_xlsx,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"

ROUND = "2019年省级专业技术人员继续教育基地申报"
AMP_LT = "济南市R&D<创新>培训中心"
FORMULA = '=HYPERLINK("http://evil.example","点我")'
CREDIT_CODE = "91370100MA3C8XKX0Q"

ROWS = (
    SummaryRow(1, "山东大学继续教育学院", "高等院校", Track.GENERAL.label,
               "新一代信息技术、高端装备制造、新材料", "5200", "王晓明", "0531-88375011", ""),
    SummaryRow(2, AMP_LT, "培训机构", Track.RURAL.label, "现代农业、乡村规划、农村电子商务",
               "1850", "李娜", "13905310000", "年均培训人数低于要求：1850人，低于2000人"),
    SummaryRow(3, FORMULA, "企业", Track.RECONFIRM.label, "医养健康", "约3000人", "张三",
               "+86 531 86062283", "-缺少推荐函\n统一社会信用代码校验未通过：" + CREDIT_CODE),
    SummaryRow(4, "山东省农业科学院（山东省农业技术推广总站联合培训基地）", "科研院所",
               Track.AUDIT.label, "种业、智慧农业", "0086", "@赵六", "053166659999", "@备注"),
)

SHEET = SummarySheet(
    round_name=ROUND, recommender="济南市人力资源和社会保障局", filler="孙丽",
    phone="0531-51705678", filled_on="2019年9月20日", rows=ROWS,
)

PROVINCE = SummarySheet(
    round_name=ROUND, recommender="", filler="", phone="", filled_on="2019年9月23日 08:00",
    rows=tuple(dataclasses.replace(r, recommender=rec) for r, rec in zip(
        ROWS, ["济南市人力资源和社会保障局", "青岛市人力资源和社会保障局", "山东省教育厅", "山东能源集团有限公司"])),
)

LETTER = ReceiptLetter(
    receipt_no="2019-0007", round_name=ROUND, recommender="济南市人力资源和社会保障局",
    sender="jnrsj@jn.gov.cn", subject="济南市继续教育基地申报", received_at="2019年9月10日 14:32",
    items=(
        ReceiptItem("山东大学继续教育学院", Track.GENERAL.label,
                    ("推荐函（推荐函.pdf）", "申请表（山东大学申请表.pdf）"), Status.ACCEPTED.label, ()),
        ReceiptItem(AMP_LT, Track.RURAL.label, ("申请表（申请表.docx）",), Status.NEEDS_REVIEW.label,
                    ("缺少推荐函", "年均培训人数低于要求：1850人")),
        ReceiptItem(FORMULA, Track.RECONFIRM.label, ("申请表（a&b<c>.pdf）",), Status.REJECTED.label,
                    ("不在原认定省级继续教育基地名单（附件3）中",)),
    ),
    message_problems=("邮件标题不规范：应为“XXXX继续教育基地申报”", "附件无法打开：扫描件<1>.rar"),
    office_name="山东省人力资源和社会保障厅专业技术人员管理处",
    office_address="济南市解放东路16号山东省人力资源和社会保障厅专业技术人员管理处",
    postcode="250014", phone="0531-86062283", contacts="鄢鸣、孙沛沛", paper_copies=3,
    deadline_text="2019年9月22日", issued_on="2019年9月10日",
)


def _open_docx(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def _part(data: bytes, name: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(name).decode("utf-8")


def _all_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def _rows(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def _body_text(document) -> str:
    return "\n".join(p.text for p in document.paragraphs)


# ---------------------------------------------------------------- 汇总表 DOCX

def test_summary_docx_carries_every_value_exactly():
    data = summary_docx(SHEET, TEMPLATES / "summary_table.docx")
    document = _open_docx(data)

    assert len(document.tables) == 1
    rows = _rows(document.tables[0])
    assert rows[0] == ["序号", "申报单位名称", "单位性质", "申报类别", "主要培训领域",
                       "近三年年均培训人数", "联系人", "联系电话", "备注"]
    expected = [[str(r.seq), r.applicant, r.unit_type, r.track, r.domains, r.avg_trainees,
                 r.contact, r.contact_phone, r.remarks] for r in ROWS]
    assert rows[1:] == expected          # the loop and empty-table rows left nothing behind

    text = _body_text(document)
    assert ("推荐单位（盖章）：济南市人力资源和社会保障局　　填表人：孙丽　　联系电话：0531-51705678"
            "　　填报日期：2019年9月20日") in text
    assert "山东省专业技术人员继续教育基地申报汇总表" in text
    assert "附件2" in text
    assert "全省汇总" not in text
    xml = _all_xml(data)
    assert "{{" not in xml and "{%" not in xml and "&amp;lt;" not in xml


def test_summary_docx_layout_landscape_repeated_header_page_numbers():
    data = summary_docx(SHEET, TEMPLATES / "summary_table.docx")
    document = _open_docx(data)
    section = document.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert section.page_width > section.page_height
    assert abs(section.page_width.cm - 29.7) < 0.1 and abs(section.page_height.cm - 21.0) < 0.1

    header_tr = document.tables[0].rows[0]._tr
    assert header_tr.find(qn("w:trPr")).find(qn("w:tblHeader")) is not None

    footer_xml = section.footer._element.xml
    instr = [t.strip() for t in re.findall(r"<w:instrText[^>]*>([^<]*)</w:instrText>", footer_xml)]
    assert instr == ["PAGE", "NUMPAGES"]
    assert "第 " in section.footer.paragraphs[0].text and " 页 共 " in section.footer.paragraphs[0].text


def test_summary_docx_sets_east_asian_fonts():
    data = summary_docx(SHEET, TEMPLATES / "summary_table.docx")
    styles = _part(data, "word/styles.xml")
    body = _part(data, "word/document.xml")
    normal = re.search(r'<w:style [^>]*w:styleId="Normal".*?</w:style>', styles, re.S).group(0)
    assert 'w:eastAsia="宋体"' in normal
    assert 'w:eastAsia="宋体"' in body           # table cells and title
    assert 'w:eastAsia="黑体"' in body           # headings
    # Theme fonts would override the names: none may be left on the defaults.
    defaults = re.search(r"<w:docDefaults>.*?</w:docDefaults>", styles, re.S).group(0)
    assert "eastAsiaTheme" not in defaults and 'w:eastAsia="宋体"' in defaults


def test_summary_docx_without_rows_says_so():
    empty = dataclasses.replace(SHEET, rows=())
    rows = _rows(_open_docx(summary_docx(empty, TEMPLATES / "summary_table.docx")).tables[0])
    assert len(rows) == 2
    assert set(rows[1]) == {"（暂无申报单位）"}   # one merged cell across the row


def test_summary_docx_neutralises_control_characters():
    nasty = dataclasses.replace(ROWS[0], applicant="山东\x00大学\x0b继续\f教育\a学院", remarks="第一行\r\n第二行")
    data = summary_docx(dataclasses.replace(SHEET, rows=(nasty,)), TEMPLATES / "summary_table.docx")
    document = _open_docx(data)                   # would raise on an XML-illegal character
    row = _rows(document.tables[0])[1]
    assert row[1] == "山东 大学 继续 教育 学院"
    assert row[8] == "第一行\n第二行"
    assert 'w:type="page"' not in _part(data, "word/document.xml")


def test_province_docx_has_recommender_column_and_round():
    data = summary_docx(PROVINCE, TEMPLATES / "summary_province.docx")
    document = _open_docx(data)
    rows = _rows(document.tables[0])
    assert rows[0][:3] == ["序号", "推荐单位", "申报单位名称"]
    assert len(rows[0]) == 10
    assert [r[1] for r in rows[1:]] == [r.recommender for r in PROVINCE.rows]
    assert [r[2] for r in rows[1:]] == [r.applicant for r in PROVINCE.rows]
    text = _body_text(document)
    # the form's own title, as on the recommenders' tables; the line below it says whose table it is
    assert text.split("\n")[:3] == ["附件2", "山东省专业技术人员继续教育基地申报汇总表",
                                     f"全省汇总　　申报批次：{ROUND}　　生成日期：2019年9月23日 08:00"]
    assert document.sections[0].orientation == WD_ORIENT.LANDSCAPE


# ---------------------------------------------------------------- 受理回执

def test_receipt_letter_text_and_items():
    data = receipt_letter_docx(LETTER, TEMPLATES / "receipt_letter.docx")
    document = _open_docx(data)
    rows = _rows(document.tables[0])
    assert rows[0] == ["申报单位", "申报类别", "收到材料", "受理状态", "需说明的问题"]
    assert rows[1] == ["山东大学继续教育学院", Track.GENERAL.label,
                       "推荐函（推荐函.pdf）\n申请表（山东大学申请表.pdf）", "已受理", "无"]
    assert rows[2] == [AMP_LT, Track.RURAL.label, "申请表（申请表.docx）", "待核实",
                       "1. 缺少推荐函\n2. 年均培训人数低于要求：1850人"]
    assert rows[3] == [FORMULA, Track.RECONFIRM.label, "申请表（a&b<c>.pdf）", "不予受理",
                       "不在原认定省级继续教育基地名单（附件3）中"]

    text = _body_text(document)
    for line in (
        "受理回执", ROUND, "编号：2019-0007", "济南市人力资源和社会保障局：",
        "你单位于2019年9月10日 14:32发送的邮件《济南市继续教育基地申报》已收到。现将受理情况告知如下：",
        "1．邮件标题不规范：应为“XXXX继续教育基地申报”", "2．附件无法打开：扫描件<1>.rar",
        "请于2019年9月22日前将推荐函、申报汇总表及申请表（一式3份）等书面材料邮寄至"
        "济南市解放东路16号山东省人力资源和社会保障厅专业技术人员管理处，邮编250014。",
        "联系人：鄢鸣、孙沛沛　联系电话：0531-86062283",
    ):
        assert line in text
    paragraphs = [p for p in document.paragraphs if p.text]
    assert [p.text for p in paragraphs[-2:]] == [LETTER.office_name, LETTER.issued_on]
    assert all(p.alignment == 2 for p in paragraphs[-2:])            # WD_ALIGN_PARAGRAPH.RIGHT
    footer = "\n".join(p.text for p in document.sections[0].footer.paragraphs)
    assert "本回执由系统自动生成，仅表示材料已收到，不代表审核结果。" in footer

    section = document.sections[0]
    assert section.orientation == WD_ORIENT.PORTRAIT and section.page_height > section.page_width
    assert "{{" not in _all_xml(data) and "{%" not in _all_xml(data)


def test_a_template_edited_while_running_renders_as_edited(tmp_path):
    """Templates are compiled once per process (a round's letters are one template): an edit is new source."""
    source = TEMPLATES / "receipt_letter.docx"
    assert "已收到" in _body_text(_open_docx(receipt_letter_docx(LETTER, source)))
    edited = tmp_path / "receipt_letter.docx"
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(edited, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "word/document.xml":
                data = data.replace("已收到".encode(), "已妥收".encode())
            new.writestr(item, data)
    text = _body_text(_open_docx(receipt_letter_docx(LETTER, edited)))
    assert "已妥收" in text and "已收到" not in text
    assert "已收到" in _body_text(_open_docx(receipt_letter_docx(LETTER, source)))


LATE = dataclasses.replace(
    LETTER, received_at="2019年9月23日 08:05",
    items=(ReceiptItem("郓城乡村振兴人才培训学校", Track.RURAL.label, ("申请表（申请表.pdf）",), Status.REJECTED.label, ()),),
    message_problems=("逾期报送：邮件于2019年9月23日 08:05送达，截止时间为2019年9月22日 23:59",),
    late_note="本邮件于2019年9月23日 08:05送达，已超过截止时间（2019年9月22日 23:59）。")


def test_receipt_letter_of_a_late_email_says_it_is_not_accepted_and_asks_for_no_paper():
    text = _body_text(_open_docx(receipt_letter_docx(LATE, TEMPLATES / "receipt_letter.docx")))
    assert ("本邮件于2019年9月23日 08:05送达，已超过截止时间（2019年9月22日 23:59）。按通知要求，逾期不再受理，"
            "本邮件所报材料不予受理，无需邮寄纸质材料。") in text
    assert "邮寄至" not in text and "请于" not in text
    texts = [p.text for p in _open_docx(receipt_letter_docx(LATE, TEMPLATES / "receipt_letter.docx")).paragraphs]
    assert not any(t.startswith("{%") for t in texts)


def test_receipt_letter_of_a_late_email_the_office_accepted_asks_for_paper_at_once():
    accepted = dataclasses.replace(LATE, items=(dataclasses.replace(LATE.items[0], status=Status.ACCEPTED.label),))
    assert not accepted.rejected
    text = _body_text(_open_docx(receipt_letter_docx(accepted, TEMPLATES / "receipt_letter.docx")))
    assert "请尽快将推荐函、申报汇总表及申请表（一式3份）等书面材料邮寄至" in text and "不予受理，无需" not in text


def test_receipt_letter_fonts():
    data = receipt_letter_docx(LETTER, TEMPLATES / "receipt_letter.docx")
    styles = _part(data, "word/styles.xml")
    body = _part(data, "word/document.xml")
    normal = re.search(r'<w:style [^>]*w:styleId="Normal".*?</w:style>', styles, re.S).group(0)
    assert 'w:eastAsia="仿宋"' in normal
    assert 'w:eastAsia="仿宋"' in body and 'w:eastAsia="黑体"' in body


def test_receipt_letter_without_message_problems_drops_the_paragraph():
    plain = dataclasses.replace(LETTER, message_problems=())
    document = _open_docx(receipt_letter_docx(plain, TEMPLATES / "receipt_letter.docx"))
    text = _body_text(document)
    assert "此外" not in text and "邮件标题不规范" not in text
    # the {%p %} paragraphs vanish entirely: no blank line where the block was
    texts = [p.text for p in document.paragraphs]
    i = texts.index(next(t for t in texts if t.startswith("你单位于")))
    assert texts[i + 1].startswith("请于")


def test_receipt_letter_lists_the_other_documents_only_when_there_are_some():
    with_others = dataclasses.replace(LETTER, other_documents=("推荐函（推荐函.pdf）", "申报汇总表（汇总.pdf）"))
    text = _body_text(_open_docx(receipt_letter_docx(with_others, TEMPLATES / "receipt_letter.docx")))
    assert "同时收到：推荐函（推荐函.pdf）；申报汇总表（汇总.pdf）。" in text
    without = dataclasses.replace(LETTER, other_documents=())
    assert "同时收到" not in _body_text(_open_docx(receipt_letter_docx(without, TEMPLATES / "receipt_letter.docx")))


def test_receipt_letter_unknown_sender_without_items():
    unknown = dataclasses.replace(LETTER, recommender="", items=(), sender="someone@163.com")
    document = _open_docx(receipt_letter_docx(unknown, TEMPLATES / "receipt_letter.docx"))
    assert "someone@163.com：" in _body_text(document)
    rows = _rows(document.tables[0])
    assert len(rows) == 2 and set(rows[1]) == {"本邮件中未识别到申报单位"}


def test_generator_script_makes_renderable_templates(tmp_path):
    runpy.run_path(str(ROOT / "scripts" / "make_templates.py"), run_name="make_templates")["main"](
        ["make_templates.py", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "receipt_letter.docx", "summary_province.docx", "summary_table.docx"]
    rows = _rows(_open_docx(summary_docx(SHEET, tmp_path / "summary_table.docx")).tables[0])
    assert rows[3][1] == FORMULA
    letter = _open_docx(receipt_letter_docx(LETTER, tmp_path / "receipt_letter.docx"))
    assert _rows(letter.tables[0])[2][0] == AMP_LT


# ---------------------------------------------------------------- 汇总表 XLSX

def _workbook(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def test_summary_xlsx_values_are_text_never_formulas():
    data = summary_xlsx([PROVINCE, SHEET], "山东省专业技术人员继续教育基地申报汇总表")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/"):
                assert "<f>" not in z.read(name).decode() and "<f " not in z.read(name).decode()

    wb = _workbook(data)
    ws = wb["济南市人力资源和社会保障局"]
    assert [ws["A1"].value, ws["A2"].value] == ["附件2", "山东省专业技术人员继续教育基地申报汇总表"]
    assert "A2:I2" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A3"].value == ("推荐单位（盖章）：济南市人力资源和社会保障局　　填表人：孙丽"
                              "　　联系电话：0531-51705678　　填报日期：2019年9月20日")
    assert [c.value for c in ws[4]] == ["序号", "申报单位名称", "单位性质", "申报类别", "主要培训领域",
                                        "近三年年均培训人数", "联系人", "联系电话", "备注"]
    assert ws["A4"].font.name == "黑体"

    values = [[c.value for c in row] for row in ws.iter_rows(min_row=5)]
    assert [v[1] for v in values] == [r.applicant for r in ROWS]
    assert values[2][1] == FORMULA
    assert values[2][8] == "-缺少推荐函\n统一社会信用代码校验未通过：" + CREDIT_CODE
    assert [v[7] for v in values] == ["0531-88375011", "13905310000", "+86 531 86062283", "053166659999"]
    assert [v[0] for v in values] == [1, 2, 3, 4]
    # all digits → a number; anything else (a unit, a leading zero) stays text as typed
    assert [v[5] for v in values] == [5200, 1850, "约3000人", "0086"]
    assert values[3][6] == "@赵六" and values[3][8] == "@备注"

    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f"
            if isinstance(cell.value, str):
                assert cell.data_type == "s"
    assert ws["B7"].quotePrefix                   # =HYPERLINK… stays text after an edit in Excel

    prov = wb.worksheets[0]
    assert prov.title == "全省汇总" and prov["A2"].value == "山东省专业技术人员继续教育基地申报汇总表"
    assert [c.value for c in prov[4]][:3] == ["序号", "推荐单位", "申报单位名称"]
    assert [c.value for c in prov["B"][4:]] == [r.recommender for r in PROVINCE.rows]
    assert prov["A3"].value == f"全省汇总　　申报批次：{ROUND}　　生成日期：2019年9月23日 08:00"


def test_summary_xlsx_every_sheet_is_the_form_and_names_whose_table_it_is():
    # 附件2 and the form's own title, unchanged; the line below says whose table it is
    others = [dataclasses.replace(SHEET, recommender=name) for name in ("青岛市人力资源和社会保障局", "山东省教育厅")]
    wb = _workbook(summary_xlsx([PROVINCE, *others], "附件2_申报汇总表_全省"))
    assert {(ws["A1"].value, ws["A2"].value) for ws in wb.worksheets} == {("附件2", "山东省专业技术人员继续教育基地申报汇总表")}
    assert [ws["A3"].value.split("　　")[0] for ws in wb.worksheets] == [
        "全省汇总", "推荐单位（盖章）：青岛市人力资源和社会保障局", "推荐单位（盖章）：山东省教育厅"]


def test_summary_xlsx_print_setup():
    ws = _workbook(summary_xlsx([SHEET], "汇总表")).worksheets[0]
    assert ws.page_setup.orientation == "landscape"
    assert str(ws.page_setup.paperSize) == str(ws.PAPERSIZE_A4)
    assert ws.print_title_rows == "$4:$4"
    assert ws.freeze_panes == "A5"
    assert ws["B5"].alignment.wrap_text
    assert ws.column_dimensions["B"].width >= 18

    short = dataclasses.replace(ROWS[0], domains="医养健康", remarks="")
    long = dataclasses.replace(short, seq=2, applicant="山东省" + "农业科学院" * 12)
    ws = _workbook(summary_xlsx([dataclasses.replace(SHEET, rows=(short, long))], "汇总表")).worksheets[0]
    # nobody sizes wrapped rows on opening the file: the long name gets room for its lines
    assert ws.row_dimensions[6].height >= 3 * ws.row_dimensions[5].height - 20


def test_summary_xlsx_sheet_names_are_legal_and_unique():
    sheets = [
        dataclasses.replace(SHEET, recommender="青岛市[人社]局:/\\?*"),
        dataclasses.replace(SHEET, recommender="青岛市人社局"),
        dataclasses.replace(SHEET, recommender="山东省" + "某" * 40 + "有限公司"),
        dataclasses.replace(SHEET, recommender="山东省" + "某" * 40 + "有限责任公司"),
        dataclasses.replace(SHEET, recommender="", rows=()),
    ]
    wb = _workbook(summary_xlsx(sheets, "汇总表"))
    names = wb.sheetnames
    assert len(names) == 5 and len({n.lower() for n in names}) == 5
    assert names[0] == "青岛市人社局" and names[1] == "青岛市人社局(2)"
    assert all(len(n) <= 31 and not re.search(r"[:/\\?*\[\]]", n) for n in names)
    assert names[4] == "全省汇总"
    assert wb.worksheets[4]["A5"].value == "（暂无申报单位）"


@pytest.mark.parametrize("bad", ["\x00", "\x1b[31m", "\ufffe"])
def test_summary_xlsx_survives_illegal_characters(bad):
    row = dataclasses.replace(ROWS[0], applicant=f"山东{bad}大学")
    ws = _workbook(summary_xlsx([dataclasses.replace(SHEET, rows=(row,))], "汇总表")).worksheets[0]
    assert ws["B5"].value.startswith("山东") and ws["B5"].value.endswith("大学")


def test_every_printed_sheet_is_budgeted_to_print_at_nine_points_or_more(config):
    # The width budget, without LibreOffice: fitted to the page in the program with the widest unit,
    # the body text (10.5 pt) prints at 9 pt or more (tests/integration/test_printouts.py measures it).
    from pipeline.outputs.sheets import printed_size
    from pipeline.round import review, stats

    empty_review = review.ReviewList("轮次", "2019-09-23 08:00", (), (), (), ())
    summary = stats.RoundSummary("轮次", "", "", False, {}, (), (), (), 0, (), ())
    books = {"附件2": summary_xlsx([PROVINCE, SHEET], "附件2"), "待处理": review.review_xlsx(empty_review),
             "统计": stats.stats_xlsx(summary)}
    for name, data in books.items():
        for ws in _workbook(data).worksheets:
            landscape = ws.page_setup.orientation == "landscape"
            assert printed_size(ws, 10.5, landscape) >= 9.0, (name, ws.title)
