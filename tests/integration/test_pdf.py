"""The 汇总表 and 受理回执 as LibreOffice renders them: the text that comes out of the PDF, the page
shapes, page numbers and the Chinese fonts. Needs LibreOffice (Debian: libreoffice-writer-nogui,
fonts-noto-cjk — `make test` installs them); without it these tests fail, they do not skip."""
from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import pdfplumber
import pytest

from pipeline.model import Status, Track
from pipeline.outputs.pdf import soffice, to_pdf
from pipeline.outputs.render import ReceiptItem, ReceiptLetter, SummaryRow, SummarySheet, receipt_letter_docx, summary_docx

pytestmark = pytest.mark.office

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
ROUND = "2019年省级专业技术人员继续教育基地申报"
QUOTA = "超出推荐名额：济南市人力资源和社会保障局已推荐2个省级继续教育基地（限1个），按送达先后本单位列第2个"

ROWS = tuple(
    SummaryRow(i, name, "培训机构", track.label, "新一代信息技术、乡村振兴", str(trainees), "王晓梅", "0531-88016235",
               remark, recommender="济南市人力资源和社会保障局")
    for i, (name, track, trainees, remark) in enumerate([
        ("济南职业技术培训学院", Track.GENERAL, 3200, ""),
        ("章丘农业技术推广培训中心", Track.RURAL, 800, ""),
        ("山东理工职业学院继续教育学院", Track.GENERAL, 4100, "待核实；" + QUOTA),
    ] * 6, start=1)                  # 18 rows: more than one landscape page
)
SHEET = SummarySheet(ROUND, "济南市人力资源和社会保障局", "赵志刚", "0531-86195062", "2019年9月20日",
                     tuple(dataclasses.replace(r, recommender="") for r in ROWS[:3]))
PROVINCE = SummarySheet(ROUND, "", "", "", "2019年9月23日", ROWS)
LETTER = ReceiptLetter(
    receipt_no="2019-0002", round_name=ROUND, recommender="济南市人力资源和社会保障局", sender="rsj@jinan.example.cn",
    subject="济南市继续教育基地申报", received_at="2019年9月13日 09:00",
    items=(ReceiptItem("山东理工职业学院继续教育学院", Track.GENERAL.label, ("申请表（申请表-山东理工.pdf）",),
                       Status.NEEDS_REVIEW.label, (QUOTA,)),),
    message_problems=(), office_name="山东省人力资源和社会保障厅专业技术人员管理处",
    office_address="济南市解放东路16号山东省人力资源和社会保障厅专业技术人员管理处", postcode="250014",
    phone="0531-86062283", contacts="鄢鸣、孙沛沛", paper_copies=3, deadline_text="2019年9月22日", issued_on="2019年9月13日",
)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> dict[str, Path]:
    assert soffice(), "LibreOffice is needed: apt-get install libreoffice-writer-nogui fonts-noto-cjk"
    folder = tmp_path_factory.mktemp("office")
    docs = {
        "summary": summary_docx(SHEET, TEMPLATES / "summary_table.docx"),
        "province": summary_docx(PROVINCE, TEMPLATES / "summary_province.docx"),
        "letter": receipt_letter_docx(LETTER, TEMPLATES / "receipt_letter.docx"),
    }
    paths = []
    for name, data in docs.items():
        (folder / f"{name}.docx").write_bytes(data)
        paths.append(folder / f"{name}.docx")
    written = to_pdf(paths, timeout=180, fontconfig=TEMPLATES / "fonts.conf")
    assert sorted(p.name for p in written) == ["letter.pdf", "province.pdf", "summary.pdf"]
    return {p.stem: p for p in written}


def pages(path: Path) -> list:
    """Per page: width, height, its text, its table cells (whitespace removed: cells wrap), the CJK fonts."""
    with pdfplumber.open(path) as pdf:
        return [(p.width, p.height, p.extract_text() or "",
                 [flat(c or "") for t in p.extract_tables() for row in t for c in row],
                 {c["fontname"] for c in p.chars if "\u4e00" <= c["text"] <= "\u9fff"})
                for p in pdf.pages]


def test_summary_table_text_layout_and_fonts(pdfs):
    [(width, height, text, cells, fonts)] = pages(pdfs["summary"])
    assert width > height and abs(width - 842) < 3 and abs(height - 595) < 3      # A4 landscape, in points
    t = flat(text)
    assert "附件2" in t and "山东省专业技术人员继续教育基地申报汇总表" in t
    assert flat("推荐单位（盖章）：济南市人力资源和社会保障局 填表人：赵志刚 联系电话：0531-86195062 "
                "填报日期：2019年9月20日") in t
    for row in SHEET.rows:
        assert {row.applicant, row.track, row.avg_trainees, row.contact_phone} <= set(cells)
    assert flat("待核实；" + QUOTA) in cells
    assert "第1页共1页" in t
    # 宋体 is not on a Linux server: fonts.conf sends it to a Chinese serif, 黑体 to a Chinese sans.
    assert any("SerifCJK" in f for f in fonts) and any("SansCJK" in f for f in fonts)
    assert not any("DejaVu" in f for f in fonts)


def test_province_table_runs_over_pages_with_numbers_and_repeated_header(pdfs):
    got = pages(pdfs["province"])
    assert len(got) >= 2
    for number, (width, height, text, _, _) in enumerate(got, start=1):
        assert width > height
        assert f"第{number}页共{len(got)}页" in flat(text)
        assert "申报单位名称" in flat(text)               # the header row repeats on every page
    everything = flat("".join(p[2] for p in got))
    assert "全省汇总申报批次" in everything
    cells = [c for p in got for c in p[3]]
    assert cells.count("山东理工职业学院继续教育学院") == 6 and cells.count("济南市人力资源和社会保障局") == 18
    assert [c for c in cells if c.isdigit() and len(c) <= 2] == [str(i) for i in range(1, 19)]   # 序号, in order


def test_receipt_letter_text_and_shape(pdfs):
    [(width, height, text, cells, fonts)] = pages(pdfs["letter"])
    assert height > width and abs(width - 595) < 3                 # A4 portrait
    t = flat(text)
    for line in ("受理回执", "编号：2019-0002", "济南市人力资源和社会保障局：",
                 "你单位于2019年9月13日09:00发送的邮件《济南市继续教育基地申报》已收到",
                 "请于2019年9月22日前将推荐函、申报汇总表及申请表（一式3份）",
                 "本回执由系统自动生成", "第1页共1页"):
        assert flat(line) in t, line
    assert {"山东理工职业学院继续教育学院", "待核实", flat(QUOTA)} <= set(cells)
    assert any("SerifCJK" in f for f in fonts)                      # 仿宋 → a Chinese serif


def test_without_libreoffice_no_pdf_and_a_log_line(tmp_path, monkeypatch, caplog):
    doc = tmp_path / "letter.docx"
    doc.write_bytes(receipt_letter_docx(LETTER, TEMPLATES / "receipt_letter.docx"))
    monkeypatch.setenv("PATH", str(tmp_path))          # nothing called soffice on this PATH
    with caplog.at_level(logging.INFO, logger="intake.report"):
        assert to_pdf([doc]) == []
    assert "soffice not installed" in caplog.text
    assert not doc.with_suffix(".pdf").exists()


def test_a_conversion_that_hangs_is_ended(tmp_path, caplog):
    assert soffice()
    doc = tmp_path / "letter.docx"
    doc.write_bytes(receipt_letter_docx(LETTER, TEMPLATES / "receipt_letter.docx"))
    with caplog.at_level(logging.WARNING, logger="intake.report"):
        assert to_pdf([doc], timeout=0.05) == []
    assert "no PDF copies this time" in caplog.text
    assert not doc.with_suffix(".pdf").exists()
