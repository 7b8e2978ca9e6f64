"""The "real forms" family: documents shaped the way offices really fill in and send the forms, each
tagged with the class of reading error it is made to provoke (issue #10) and the medium it comes in.

Run from the repository root:

    .venv/bin/python tests/data/real/make_real.py            # everything (needs the tools below)
    .venv/bin/python tests/data/real/make_real.py --expected # only the *.expected.json and mails.json

How the files are made, and by which tools:

* DOCX with python-docx (tables built cell by cell: two-column, four-column, sectioned with merged and
  multi-line cells, labels above values, tick boxes ☑/□, units in labels such as （人）（万元）);
* text PDF: the DOCX converted by LibreOffice (``soffice --headless --convert-to pdf``, a private
  profile as in tests/data/make_samples.py);
* scan: the PDF page rasterised by poppler's ``pdftoppm`` at 150–200 dpi in grey, then ImageMagick 6
  (``convert``): a small skew, sensor noise, a little blur, JPEG; put into a PDF by ``img2pdf``;
* photo: the page rasterised in colour, laid on a desk-coloured border and bent by ImageMagick's
  ``-distort Perspective``, turned (a few degrees, or a quarter for a phone held sideways), lit
  unevenly, noise, JPEG — kept as ``.jpg``, pasted into a DOCX (python-docx), or put into a PDF
  (``img2pdf``);
* a PDF holding several documents: the pages of a 推荐函 and a 申请表 (and 佐证材料) joined with pypdf
  (text) or scanned one after another into one PDF (``img2pdf``).

The classes (see the issue): 1 near-synonym label beats the right one (per-year figures before the
average; only per-year figures, whose average is the truth, marked ``derived``); 2 numbered multi-line
cells (truth: the items without their numbers, joined with 、); 3 several documents in one PDF (truth:
``parts``, each kind with its page range); 4 the same form twice in one email (DOCX and its PDF);
5 photos, and a unit name with its credit code on one line; 6 the 审验表 (附件5) with its own labels;
7 mail that is not a submission (mail-level only: ``mails.json``, no document); 8 false flags (every
document here is legible: any flag its truth does not list is false).

Beside each file, ``<file>.expected.json``: the kind, the fields as put in (keys of
templates/forms/*.yaml), ``classes``, ``medium`` (text_pdf, docx, scan, photo, multi_pdf), ``flags``
expected (none: all are legible), and for a PDF of several documents its ``parts``. ``mails.json``
lists emails made of these files (and two without any), with the applications and flags a careful
clerk would note. Units, people and codes are fictional; credit codes are valid per GB 32100-2015.
"""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls
from docx.shared import Cm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "tests" / "data"))

import make_samples as ms  # noqa: E402  (fonts, page setup, credit codes, LibreOffice profile)

SAVED = datetime(2019, 9, 12, 9, 0, tzinfo=ms.CST)
FORM_TITLE = "山东省专业技术人员继续教育基地申请表"
AUDIT_TITLE = "山东省专业技术人员继续教育培训机构审验表"
TRACKS = {"general": "省级继续教育基地", "rural": "省级继续教育基地（乡村振兴）专项",
          "reconfirm": "原省级继续教育基地重新确认"}


def tick_line(track: str, on: str = "☑", off: str = "□", after: bool = False) -> str:
    if after:
        return "　".join(f"{label}{on if t == track else off}" for t, label in TRACKS.items())
    return "　".join(f"{on if t == track else off}{label}" for t, label in TRACKS.items())


def numbered(items: list[str], style: str) -> str:
    """The items of a list cell, one per line, numbered as people type them."""
    marks = {"dot": "{n}. ", "dun": "{n}、", "paren": "（{n}）", "circled": "{c}", "chinese": "{z}、"}[style]
    return "\n".join(marks.format(n=i, c="①②③④⑤"[i - 1], z="一二三四五"[i - 1]) + item
                     for i, item in enumerate(items, 1))


# ----------------------------------------------------------------------------------------------
# The units (fictional). Each form below shows some of these values; its truth is what it shows.
# ----------------------------------------------------------------------------------------------

def _unit(name: str, code: tuple[str, str], **kw) -> dict:
    return dict(name=name, code=ms.credit_code(*code), **kw)


U = {
    "huaxin": _unit("济南市历城区华信职业培训学校", ("52370112", "70413826"), nature="培训机构",
                    supervisor="济南市历城区人力资源和社会保障局", legal_rep="韩立新", address="济南市历城区工业北路58号",
                    postcode="250100", contact="苏雅琴", phone="0531-88712406", mobile="13953117462",
                    email="hxpx@example.cn", track="general", domains=["电子商务", "智能制造", "企业管理"],
                    fulltime=38, parttime=64, senior=29, classrooms=16, area=3200, funding=260,
                    years=(3100, 3400, 4000), avg=3500),
    "yuandu": _unit("潍坊市鸢都继续教育培训中心", ("52370702", "31658240"), nature="培训机构",
                    supervisor="潍坊市人力资源和社会保障局", legal_rep="邱振华", address="潍坊市潍城区胜利西街216号",
                    postcode="261041", contact="高晓燕", phone="0536-8236671", mobile="13705363318",
                    email="ydjy@example.cn", track="rural", domains=["现代农业", "畜牧兽医"],
                    fulltime=27, parttime=41, senior=18, classrooms=9, area=2100, funding=150,
                    years=(2600, 2900, 3200), avg=2900),
    "yimeng": _unit("临沂市沂蒙专业技术人员培训学院", ("12371300", "49502173"), nature="事业单位",
                    supervisor="临沂市人力资源和社会保障局", legal_rep="庞建国", address="临沂市兰山区沂蒙路160号",
                    postcode="276002", contact="魏丽华", phone="0539-8112905", mobile="13854902716",
                    email="ymzj@example.cn", track="general", domains=["新一代信息技术", "高端装备制造", "医养健康"],
                    fulltime=52, parttime=88, senior=47, classrooms=22, area=5600, funding=420,
                    years=(2400, 2700, 3000), avg=2700),
    "daizong": _unit("泰安市岱宗职业技能培训学校", ("52370902", "86241375"), nature="培训机构",
                     supervisor="泰安市人力资源和社会保障局", legal_rep="石永强", address="泰安市泰山区东岳大街311号",
                     postcode="271000", contact="侯美玲", phone="0538-6217735", mobile="15853816209",
                     email="dzpx@example.cn", track="general", domains=["文化旅游", "现代金融服务"],
                     fulltime=31, parttime=57, senior=22, classrooms=12, area=2800, funding=190,
                     years=(2800, 3000, 3500), avg=3100),
    "haiqu": _unit("日照市海曲继续教育研究院", ("52371102", "57930416"), nature="培训机构",
                   supervisor="日照市人力资源和社会保障局", legal_rep="卢海波", address="日照市东港区海曲中路89号",
                   postcode="276800", contact="孔令娟", phone="0633-8336214", mobile="13563392805",
                   email="hqjy@example.cn", track="general", domains=["海洋经济", "港口物流"],
                   fulltime=35, parttime=49, senior=26, classrooms=14, area=3000, funding=210,
                   years=(2700, 3000, 3300), avg=3000),
    "derun": _unit("德州市德润专业技术培训中心", ("91371400", "68327514"), nature="企业",
                   supervisor="德州市人力资源和社会保障局", legal_rep="郑国梁", address="德州市德城区天衢路402号",
                   postcode="253000", contact="齐慧敏", phone="0534-2673318", mobile="13793428160",
                   email="drpx@example.cn", track="general", domains=["新能源", "新材料", "节能环保"],
                   fulltime=29, parttime=46, senior=17, classrooms=11, area=2500, funding=175,
                   years=(2300, 2600, 2900), avg=2600),
    "shuicheng": _unit("聊城市水城职业培训学校", ("52371502", "43095128"), nature="培训机构",
                       supervisor="聊城市人力资源和社会保障局", legal_rep="邢志远", address="聊城市东昌府区柳园南路77号",
                       postcode="252000", contact="袁春梅", phone="0635-8427306", mobile="15806359721",
                       email="scpx@example.cn", track="rural", domains=["乡村旅游", "农村电商", "设施园艺"],
                       fulltime=24, parttime=38, senior=15, classrooms=8, area=1900, funding=120,
                       years=(2100, 2400, 2700), avg=2400),
    "mudan": _unit("菏泽市牡丹继续教育中心", ("52371702", "20864519"), nature="培训机构",
                   supervisor="菏泽市人力资源和社会保障局", legal_rep="葛保田", address="菏泽市牡丹区中华路128号",
                   postcode="274000", contact="田晓雯", phone="0530-5627741", mobile="13562001846",
                   email="mdjy@example.cn", track="general", domains=["生物医药", "现代金融服务"],
                   fulltime=33, parttime=51, senior=24, classrooms=13, area=2700, funding=200,
                   years=(2900, 3200, 3800), avg=3300),
    "bohai": _unit("滨州市渤海继续教育培训学校", ("52371602", "75318264"), nature="培训机构",
                   supervisor="滨州市人力资源和社会保障局", legal_rep="柴文斌", address="滨州市滨城区黄河五路519号",
                   postcode="256600", contact="房玉洁", phone="0543-3186520", mobile="13854318077",
                   email="bhpx@example.cn", track="general", domains=["化工安全", "高端装备制造"],
                   fulltime=30, parttime=44, senior=21, classrooms=12, area=2600, funding=180,
                   years=(1200, 1500, 2100), avg=1600, recruited="2016年"),
    "yunhe": _unit("枣庄市运河专业技术人员培训中心", ("12370400", "61872405"), nature="事业单位",
                   supervisor="枣庄市人力资源和社会保障局", legal_rep="龚立伟", address="枣庄市市中区光明西路66号",
                   postcode="277100", contact="黎秀芬", phone="0632-3317428", mobile="13969417385",
                   email="yhzj@example.cn", track="general", domains=["煤炭清洁利用", "智能制造"],
                   fulltime=36, parttime=60, senior=28, classrooms=15, area=3400, funding=240,
                   years=(2500, 2800, 3400), avg=2900, recruited="2016年"),
    "haiyun": _unit("威海市海韵继续教育学院", ("52371002", "39746158"), nature="培训机构",
                    supervisor="威海市人力资源和社会保障局", legal_rep="鲍海军", address="威海市环翠区海滨北路33号",
                    postcode="264200", contact="江雪莲", phone="0631-5213097", mobile="13606318254",
                    email="hyjy@example.cn", track="general", domains=["海洋生物", "医养健康", "精品旅游"],
                    fulltime=34, parttime=47, senior=25, classrooms=13, area=2900, funding=205,
                    years=(2600, 3000, 3400), avg=3000),
    "kongmeng": _unit("济宁市孔孟职业培训学校", ("52370802", "92057134"), nature="培训机构",
                      supervisor="济宁市人力资源和社会保障局", legal_rep="颜世忠", address="济宁市任城区太白楼中路250号",
                      postcode="272000", contact="曾凡英", phone="0537-2231659", mobile="13853773610",
                      email="kmpx@example.cn", track="rural", domains=["农产品加工", "乡村治理"],
                      fulltime=26, parttime=40, senior=16, classrooms=10, area=2200, funding=140,
                      years=(2200, 2500, 2800), avg=2500),
}

# The recommenders of the emails (inbox_rules.yaml knows their addresses).
RECOMMENDERS = {
    "rizhao": dict(name="日照市人力资源和社会保障局", short="日照市人社局", sender="rsj@rizhao.example.cn",
                   contact="冯建军", phone="0633-8781523"),
    "linyi": dict(name="临沂市人力资源和社会保障局", short="临沂市人社局", sender="zjk@linyi.example.cn",
                  contact="单晓光", phone="0539-8721166"),
    "taian": dict(name="泰安市人力资源和社会保障局", short="泰安市人社局", sender="rcb@taian.example.cn",
                  contact="吕红梅", phone="0538-6991208"),
    "weihai": dict(name="威海市人力资源和社会保障局", short="威海市人社局", sender="zjc@weihai.example.cn",
                   contact="谭志国", phone="0631-5287713"),
    "jining": dict(name="济宁市人力资源和社会保障局", short="济宁市人社局", sender="rsj@jining.example.cn",
                   contact="姜文静", phone="0537-2968130"),
}


# ----------------------------------------------------------------------------------------------
# A form as rows of cells: each cell (text, columns spanned); "^" continues the cell above (a
# vertical merge); a text with "\n" is a cell of several paragraphs. truth: key → the value shown.
# ----------------------------------------------------------------------------------------------

class Sheet:
    def __init__(self, title: str, widths: list[float], kind: str = "form"):
        self.title, self.widths, self.kind = title, widths, kind
        self.rows: list[list[tuple[str, int]]] = []
        self.truth: dict[str, object] = {}
        self.before: list[str] = []       # paragraphs between the title and the table
        self.after: list[str] = []

    def row(self, *cells: str | tuple[str, int]) -> Sheet:
        self.rows.append([(c, 1) if isinstance(c, str) else c for c in cells])
        return self

    def put(self, key: str, value: object, shown: str | None = None) -> str:
        self.truth[key] = value
        return str(value) if shown is None else shown

    def to_docx(self, author: str) -> bytes:
        doc = ms.new_document(author, SAVED)
        ms.add_text(doc, self.title, face=ms.HEI, size=16, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=10)
        for text in self.before:
            ms.add_text(doc, text, size=10.5, space_after=4)
        n = len(self.widths)
        table = doc.add_table(rows=len(self.rows), cols=n)
        table.style = "Table Grid"
        ms.fix_table_widths(table, self.widths)
        above: dict[int, object] = {}
        for r, cells in enumerate(self.rows):
            col = 0
            row = table.rows[r]
            row.height = Cm(0.85)
            for text, span in cells:
                start = row.cells[col]
                cell = start.merge(row.cells[col + span - 1]) if span > 1 else start
                if text == "^":
                    _vmerge(above[col], True)
                    _vmerge(cell, False)
                else:
                    lines = text.split("\n")
                    ms.fill_cell(cell, lines[0])
                    for line in lines[1:]:
                        p = cell.add_paragraph()
                        ms.set_fonts(p.add_run(line), ms.SONG, 10.5)
                    above[col] = cell
                col += span
            if col != n:
                raise ValueError(f"{self.title}: row {r} spans {col} of {n} columns")
        for text in self.after:
            ms.add_text(doc, text, size=10.5, space_after=4)
        return ms.docx_bytes(doc)


def _vmerge(cell, restart: bool) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    if restart and tc_pr.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}vMerge") is not None:
        return
    tc_pr.append(parse_xml(f'<w:vMerge {nsdecls("w")} w:val="restart"/>' if restart else f'<w:vMerge {nsdecls("w")}/>'))


def _years_text(years: tuple[int, int, int], sep: str = " ") -> str:
    return sep.join(f"{y}年：{n}人" for y, n in zip((2016, 2017, 2018), years))


# ---- the forms ----

def c1_years_then_average() -> Sheet:
    """Four columns; a row of per-year figures (近三年培训人数) just before the average's own row."""
    u = U["huaxin"]
    s = Sheet(FORM_TITLE, [3.6, 4.9, 3.6, 4.9])
    s.row("申报单位名称", (s.put("unit_name", u["name"]), 3))
    s.row("统一社会信用代码", s.put("credit_code", u["code"]), "单位性质", s.put("unit_type", u["nature"]))
    s.row("主管部门", s.put("supervisor", u["supervisor"]), "法定代表人", s.put("legal_rep", u["legal_rep"]))
    s.row("通讯地址", s.put("address", u["address"]), "邮政编码", s.put("postcode", u["postcode"]))
    s.row("联系人", s.put("contact", u["contact"]), "联系电话", s.put("contact_phone", u["phone"]))
    s.row("手机", s.put("mobile", u["mobile"]), "电子邮箱", s.put("email", u["email"]))
    s.row("申报类别", (s.put("track", u["track"], tick_line(u["track"])), 3))
    s.row("主要培训领域", (s.put("domains", "、".join(u["domains"])), 3))
    s.row("专职师资人数", s.put("fulltime_teachers", u["fulltime"]), "兼职师资人数", s.put("parttime_teachers", u["parttime"]))
    s.row("近三年培训人数", (_years_text(u["years"]), 3))
    s.row("近三年年均培训专业技术人员人数", (s.put("avg_trainees", u["avg"]), 3))
    s.row("单位基本情况", ("我校成立于2008年，常年面向专业技术人员开展知识更新培训。", 3))
    s.row("推荐单位意见", ("", 3))
    return s


def c1_years_only() -> Sheet:
    """Two columns; only the three years' figures in one cell: the truth is their average."""
    u = U["yuandu"]
    s = Sheet(FORM_TITLE, [5.5, 11.5])
    s.row("机构名称", s.put("unit_name", u["name"]))
    s.row("社会信用代码", s.put("credit_code", u["code"]))
    s.row("单位类型", s.put("unit_type", u["nature"]))
    s.row("法人代表", s.put("legal_rep", u["legal_rep"]))
    s.row("单位地址", s.put("address", u["address"]))
    s.row("联系人", s.put("contact", u["contact"]))
    s.row("办公电话", s.put("contact_phone", u["phone"]))
    s.row("申报方向", s.put("track", u["track"], tick_line(u["track"])))
    s.row("培训领域", s.put("domains", "、".join(u["domains"])))
    s.row("专职教师人数（人）", s.put("fulltime_teachers", u["fulltime"]))
    s.row("近三年培训人数（人）", _years_text(u["years"], "；"))
    s.truth["avg_trainees"] = u["avg"]
    s.row("经费投入（万元）", s.put("funding", u["funding"]))
    s.row("推荐单位意见", "")
    return s


def c1_year_table() -> Sheet:
    """Sectioned, a small per-year table (its row label 年培训人数 is itself a synonym of the average)."""
    u = U["yimeng"]
    s = Sheet(FORM_TITLE, [4.2, 4.2, 4.3, 4.3])
    s.row(("一、单位基本信息", 4))
    s.row("单位名称", (s.put("unit_name", u["name"]), 3))
    s.row("统一社会信用代码", (s.put("credit_code", u["code"]), 3))
    s.row("单位性质", s.put("unit_type", u["nature"]), "主管部门", s.put("supervisor", u["supervisor"]))
    s.row("联系人", s.put("contact", u["contact"]), "联系电话", s.put("contact_phone", u["phone"]))
    s.row("申报类别", (s.put("track", u["track"], tick_line(u["track"], "■")), 3))
    s.row(("二、培训能力", 4))
    s.row("主要培训领域", (s.put("domains", "、".join(u["domains"])), 3))
    s.row("年度", "2016年", "2017年", "2018年")
    s.row("年培训人数（人）", *(str(n) for n in u["years"]))
    s.row("近三年年均培训人数（人）", (s.put("avg_trainees", u["avg"]), 3))
    s.row("年度继续教育经费投入（万元）", (s.put("funding", u["funding"]), 3))
    s.row(("三、推荐意见", 4))
    s.row("推荐单位意见", ("", 3))
    return s


def c2_numbered_dot() -> Sheet:
    """Two columns; 主要培训领域 typed as a numbered list, one item a line (1. …)."""
    u = U["yuandu"]
    s = Sheet(FORM_TITLE, [5.5, 11.5])
    s.row("申报单位名称", s.put("unit_name", u["name"]))
    s.row("统一社会信用代码", s.put("credit_code", u["code"]))
    s.row("单位性质", s.put("unit_type", u["nature"]))
    s.row("联系人", s.put("contact", u["contact"]))
    s.row("联系电话", s.put("contact_phone", u["phone"]))
    s.row("申报类别", s.put("track", u["track"], tick_line(u["track"])))
    s.row("主要培训领域", s.put("domains", "、".join(u["domains"]), numbered(u["domains"], "dot")))
    s.row("专职师资人数", s.put("fulltime_teachers", u["fulltime"]))
    s.row("近三年年均培训专业技术人员人数", s.put("avg_trainees", u["avg"]))
    s.row("推荐单位意见", "")
    return s


def c2_numbered_circled() -> Sheet:
    """Four columns; circled numbers ①②③, and 申报类别 ticked after each option."""
    u = U["yimeng"]
    s = Sheet(FORM_TITLE, [3.6, 4.9, 3.6, 4.9])
    s.row("申报单位名称", (s.put("unit_name", u["name"]), 3))
    s.row("统一社会信用代码", s.put("credit_code", u["code"]), "单位性质", s.put("unit_type", u["nature"]))
    s.row("联系人", s.put("contact", u["contact"]), "联系电话", s.put("contact_phone", u["phone"]))
    s.row("申报类别", (s.put("track", u["track"], tick_line(u["track"], after=True)), 3))
    s.row("主要培训领域", (s.put("domains", "、".join(u["domains"]), numbered(u["domains"], "circled")), 3))
    s.row("专职师资人数", s.put("fulltime_teachers", u["fulltime"]), "兼职师资人数", s.put("parttime_teachers", u["parttime"]))
    s.row("近三年年均培训人数", (s.put("avg_trainees", u["avg"]), 3))
    s.row("推荐单位意见", ("", 3))
    return s


def c2_numbered_chinese() -> Sheet:
    """Sectioned; 一、二、三、 numbering in a cell merged over two columns, (1) in another list."""
    u = U["derun"]
    s = Sheet(FORM_TITLE, [4.2, 4.2, 4.3, 4.3])
    s.row(("一、基本情况", 4))
    s.row("申报单位名称", (s.put("unit_name", u["name"]), 3))
    s.row("统一社会信用代码", (s.put("credit_code", u["code"]), 3))
    s.row("单位性质", s.put("unit_type", u["nature"]), "法定代表人", s.put("legal_rep", u["legal_rep"]))
    s.row("联系人", s.put("contact", u["contact"]), "联系电话", s.put("contact_phone", u["phone"]))
    s.row("申报类别", (s.put("track", u["track"], tick_line(u["track"])), 3))
    s.row(("二、培训工作", 4))
    s.row("主要培训领域", (s.put("domains", "、".join(u["domains"]), numbered(u["domains"], "chinese")), 3))
    s.row("网络培训平台", (s.put("platform", "德润在线学习平台"), 3))
    s.row("近三年年均培训人数（人）", (s.put("avg_trainees", u["avg"]), 3))
    s.row("推荐单位意见", ("", 3))
    return s


def standard(u: dict, domains_style: str | None = None) -> Sheet:
    """The form as the notice prints it (four columns), for the letters' emails and the multi-document PDFs."""
    s = Sheet(FORM_TITLE, [3.6, 4.9, 3.6, 4.9])
    s.row("申报单位名称", (s.put("unit_name", u["name"]), 3))
    s.row("统一社会信用代码", s.put("credit_code", u["code"]), "单位性质", s.put("unit_type", u["nature"]))
    s.row("主管部门", s.put("supervisor", u["supervisor"]), "法定代表人", s.put("legal_rep", u["legal_rep"]))
    s.row("通讯地址", s.put("address", u["address"]), "邮政编码", s.put("postcode", u["postcode"]))
    s.row("联系人", s.put("contact", u["contact"]), "联系电话", s.put("contact_phone", u["phone"]))
    s.row("手机", s.put("mobile", u["mobile"]), "电子邮箱", s.put("email", u["email"]))
    s.row("申报类别", (s.put("track", u["track"], tick_line(u["track"])), 3))
    shown = numbered(u["domains"], domains_style) if domains_style else None
    s.row("主要培训领域", (s.put("domains", "、".join(u["domains"]), shown), 3))
    s.row("专职师资人数", s.put("fulltime_teachers", u["fulltime"]), "兼职师资人数", s.put("parttime_teachers", u["parttime"]))
    s.row("其中高级职称人数", s.put("senior_teachers", u["senior"]), "固定教室（间）", s.put("classrooms", u["classrooms"]))
    s.row("教学场地面积（平方米）", s.put("floor_area", u["area"]),
          "年度继续教育经费投入（万元）", s.put("funding", u["funding"]))
    s.row("近三年年均培训专业技术人员人数", (s.put("avg_trainees", u["avg"]), 3))
    s.row("推荐单位意见", ("", 3))
    return s


def c5_name_code_one_cell() -> Sheet:
    """The unit name and its credit code typed in one cell, on one line."""
    u = U["haiqu"]
    s = Sheet(FORM_TITLE, [5.0, 12.0])
    s.truth.update(unit_name=u["name"], credit_code=u["code"])
    s.row("申报单位名称及统一社会信用代码", f"{u['name']}　{u['code']}")
    s.row("单位性质", s.put("unit_type", u["nature"]))
    s.row("通讯地址", s.put("address", u["address"]))
    s.row("联系人", s.put("contact", u["contact"]))
    s.row("联系电话", s.put("contact_phone", u["phone"]))
    s.row("申报类别", s.put("track", u["track"], tick_line(u["track"])))
    s.row("主要培训领域", s.put("domains", "、".join(u["domains"]), numbered(u["domains"], "dun")))
    s.row("近三年年均培训专业技术人员人数（人）", s.put("avg_trainees", u["avg"]))
    s.row("推荐单位意见", "")
    return s


def c5_name_code_one_row() -> Sheet:
    """Four columns with the name and the code side by side: in a photo, one line of text."""
    u = U["daizong"]
    s = Sheet(FORM_TITLE, [2.4, 5.8, 3.6, 5.2])
    s.row("单位名称", s.put("unit_name", u["name"]), "统一社会信用代码", s.put("credit_code", u["code"]))
    s.row("单位性质", s.put("unit_type", u["nature"]), "法定代表人", s.put("legal_rep", u["legal_rep"]))
    s.row("联系人", s.put("contact", u["contact"]), "联系电话", s.put("contact_phone", u["phone"]))
    s.row("申报类别", (s.put("track", u["track"], tick_line(u["track"])), 3))
    s.row("主要培训领域", (s.put("domains", "、".join(u["domains"])), 3))
    s.row("专职师资人数", s.put("fulltime_teachers", u["fulltime"]), "固定教室（间）", s.put("classrooms", u["classrooms"]))
    s.row("近三年年均培训人数", (s.put("avg_trainees", u["avg"]), 3))
    s.row("推荐单位意见", ("", 3))
    return s


def c5_photo_sectioned() -> Sheet:
    """Sectioned, merged label down two rows: photographed at an angle."""
    u = U["mudan"]
    s = Sheet(FORM_TITLE, [4.2, 4.2, 4.3, 4.3])
    s.row(("单位基本情况", 4))
    s.row("申报单位名称", (s.put("unit_name", u["name"]), 3))
    s.row("统一社会信用代码", (s.put("credit_code", u["code"]), 3))
    s.row("联系人", s.put("contact", u["contact"]), "联系电话", s.put("contact_phone", u["phone"]))
    s.row("手机", s.put("mobile", u["mobile"]), "电子邮箱", s.put("email", u["email"]))
    s.row("申报类别", (s.put("track", u["track"], tick_line(u["track"])), 3))
    s.row("主要培训领域", (s.put("domains", "、".join(u["domains"])), 3))
    s.row("师资情况", "专职师资人数", s.put("fulltime_teachers", u["fulltime"]), "")
    s.row("^", "兼职师资人数", s.put("parttime_teachers", u["parttime"]), "")
    s.row("近三年年均培训专业技术人员人数", (s.put("avg_trainees", u["avg"]), 3))
    s.row("推荐单位意见", ("", 3))
    return s


def c8_labels_above() -> Sheet:
    """Labels above values, four to a row; tick boxes; units in labels."""
    u = U["haiyun"]
    s = Sheet(FORM_TITLE, [4.25, 4.25, 4.25, 4.25])
    s.row("申报单位名称", (s.put("unit_name", u["name"]), 3))
    s.row("统一社会信用代码", "单位性质", "联系人", "联系电话")
    s.row(s.put("credit_code", u["code"]), s.put("unit_type", u["nature"]), s.put("contact", u["contact"]),
          s.put("contact_phone", u["phone"]))
    s.row("专职师资人数（人）", "兼职师资人数（人）", "固定教室（间）", "经费投入（万元）")
    s.row(s.put("fulltime_teachers", u["fulltime"]), s.put("parttime_teachers", u["parttime"]),
          s.put("classrooms", u["classrooms"]), s.put("funding", u["funding"]))
    s.row("申报类别", (s.put("track", u["track"], tick_line(u["track"], "√", "□")), 3))
    s.row("主要培训领域", (s.put("domains", "、".join(u["domains"])), 3))
    s.row("近三年年均培训人数（人）", (s.put("avg_trainees", u["avg"]), 3))
    s.row("推荐单位意见", ("", 3))
    return s


def c8_sectioned() -> Sheet:
    """Sectioned, merged labels, a two-paragraph address, units in labels."""
    u = U["kongmeng"]
    s = Sheet(FORM_TITLE, [4.2, 4.2, 4.3, 4.3])
    s.row(("一、申报单位情况", 4))
    s.row("申报单位名称", (s.put("unit_name", u["name"]), 3))
    s.row("统一社会信用代码", (s.put("credit_code", u["code"]), 3))
    s.row("通讯地址", (s.put("address", u["address"], u["address"][:6] + "\n" + u["address"][6:]), 3))
    s.row("联系方式", "联系人", (s.put("contact", u["contact"]), 2))
    s.row("^", "联系电话", (s.put("contact_phone", u["phone"]), 2))
    s.row("申报类别", (s.put("track", u["track"], tick_line(u["track"])), 3))
    s.row(("二、培训条件", 4))
    s.row("主要培训领域（专业方向）", (s.put("domains", "、".join(u["domains"])), 3))
    s.row("教学场地面积（平方米）", s.put("floor_area", u["area"]), "固定教室（间）", s.put("classrooms", u["classrooms"]))
    s.row("近三年年均培训专业技术人员人数（人）", (s.put("avg_trainees", u["avg"]), 3))
    s.row("年度继续教育经费投入（万元）", (s.put("funding", u["funding"]), 3))
    s.row("推荐单位意见", ("", 3))
    return s


def c6_audit(u: dict, years_only: bool) -> Sheet:
    """The 审验表 (附件5) with its own labels; per-year rows, with or without the average's own row."""
    s = Sheet(AUDIT_TITLE, [4.0, 4.5, 4.0, 4.5], kind="audit_form")
    s.row("培训机构名称", (s.put("unit_name", u["name"]), 3))
    s.row("统一社会信用代码", s.put("credit_code", u["code"]), "机构性质", s.put("unit_type", u["nature"]))
    s.row("主管部门", s.put("supervisor", u["supervisor"]), "机构负责人", s.put("legal_rep", u["legal_rep"]))
    s.row("联系人", s.put("contact", u["contact"]), "联系电话", s.put("contact_phone", u["phone"]))
    s.row("招募时间", s.put("recruited", u["recruited"]), "电子邮箱", s.put("email", u["email"]))
    s.row("主要培训项目", (s.put("domains", "、".join(u["domains"]), numbered(u["domains"], "dun")), 3))
    if years_only:
        s.row("近三年培训人数", (_years_text(u["years"]), 3))
        # A careful clerk notes each year's figure under its own key, and their average.
        s.truth.update(zip(("trainees_2016", "trainees_2017", "trainees_2018"), u["years"]), avg_trainees=u["avg"])
    else:
        first, second, third = u["years"]
        s.row("2016年度培训人数", s.put("trainees_2016", first), "2017年度培训人数", s.put("trainees_2017", second))
        s.row("2018年度培训人数", s.put("trainees_2018", third), "近三年年均培训人数（人）", s.put("avg_trainees", u["avg"]))
    s.row("近三年培训工作开展情况", ("围绕重点产业开展专业技术人员知识更新培训。", 3))
    s.row("审验意见", ("", 3))
    return s


# ---- the letters ----

def letter(rec: dict, units: list[dict]) -> tuple[bytes, dict]:
    doc = ms.new_document(rec["contact"], SAVED)
    body = dict(size=15, line_pt=26)
    ms.add_text(doc, "推荐函", face=ms.HEI, size=22, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=18)
    ms.add_text(doc, "山东省人力资源和社会保障厅：", **body)
    ms.add_text(doc, f"根据{ms.NOTICE_TITLE}要求，经单位自愿申报、我局审核，现推荐以下单位申报山东省专业技术"
                     "人员继续教育基地：", first_indent=30, **body)
    for i, u in enumerate(units, 1):
        ms.add_text(doc, f"{i}．{u['name']}（{TRACKS[u['track']]}）", first_indent=30, **body)
    ms.add_text(doc, "特此推荐。", first_indent=30, **body)
    ms.add_text(doc, f"联系人：{rec['contact']}　　联系电话：{rec['phone']}", first_indent=30, **body)
    ms.add_text(doc, rec["name"], align=WD_ALIGN_PARAGRAPH.RIGHT, **body)
    ms.add_text(doc, "2019年9月12日", align=WD_ALIGN_PARAGRAPH.RIGHT, **body)
    truth = dict(kind="letter", fields=dict(contact=rec["contact"], contact_phone=rec["phone"]),
                 listed=[dict(name=u["name"], track=u["track"]) for u in units])
    return ms.docx_bytes(doc), truth


# ----------------------------------------------------------------------------------------------
# The family: each source document, and the files made of it
# ----------------------------------------------------------------------------------------------

# stem → (sheet, classes, the media made of it). Media: docx, pdf (text), scan, photo, photo_pdf, photo_docx.
SOURCES: dict[str, tuple[Sheet, list[int], list[str]]] = {
    "c1-years-then-average": (c1_years_then_average(), [1], ["docx", "pdf", "scan"]),
    "c1-years-only": (c1_years_only(), [1], ["docx", "pdf"]),
    "c1-year-table": (c1_year_table(), [1], ["pdf", "photo"]),
    "c2-numbered-dot": (c2_numbered_dot(), [2], ["docx", "pdf", "scan"]),
    "c2-numbered-circled": (c2_numbered_circled(), [2], ["docx", "photo"]),
    "c2-numbered-chinese": (c2_numbered_chinese(), [2], ["pdf", "scan"]),
    "c5-name-code-one-cell": (c5_name_code_one_cell(), [5, 2], ["docx", "pdf", "photo"]),
    "c5-name-code-one-row": (c5_name_code_one_row(), [5], ["photo", "photo_pdf", "photo_docx"]),
    "c5-sectioned": (c5_photo_sectioned(), [5], ["photo"]),
    "c6-audit": (c6_audit(U["yunhe"], years_only=False), [6, 2], ["docx", "pdf", "scan"]),
    "c6-audit-years-only": (c6_audit(U["bohai"], years_only=True), [6, 1], ["pdf", "photo"]),
    "c8-labels-above": (c8_labels_above(), [8], ["docx", "pdf", "scan"]),
    "c8-sectioned": (c8_sectioned(), [8], ["pdf", "scan"]),
    # The same form as a DOCX and as its PDF, sent together (class 4: one application).
    "c4-form": (standard(U["haiyun"]), [4], ["docx", "pdf"]),
}
# Parts of the PDFs of several documents, in page order: (source, kind).
LETTERS = {
    "letter-rizhao": (RECOMMENDERS["rizhao"], [U["haiqu"]]),
    "letter-taian": (RECOMMENDERS["taian"], [U["daizong"]]),
    "letter-weihai": (RECOMMENDERS["weihai"], [U["haiyun"]]),
    "letter-linyi": (RECOMMENDERS["linyi"], [U["yimeng"]]),
    "letter-jining": (RECOMMENDERS["jining"], [U["kongmeng"]]),
}
EXTRA_FORMS = {"form-haiqu": standard(U["haiqu"], "paren"), "form-daizong": standard(U["daizong"]),
               "form-yimeng": standard(U["yimeng"])}
MULTI = {
    # name → (medium, the parts: source stems in page order)
    "c3-letter-form-scanned.pdf": ("scan", ["letter-rizhao", "form-haiqu"]),
    "c3-form-letter-text.pdf": ("text", ["form-daizong", "letter-taian"]),
    "c3-letter-form-evidence-scanned.pdf": ("scan", ["letter-linyi", "form-yimeng", "evidence"]),
}
# Files beside the family that exist only as material of the emails (a letter on its own).
MAIL_ONLY = {"letter-weihai.pdf": "letter-weihai", "letter-jining.pdf": "letter-jining"}

MEDIUM = {"docx": "docx", "pdf": "text_pdf", "scan": "scan", "photo": "photo", "photo_pdf": "photo",
          "photo_docx": "photo"}
FILE_NAME = {"docx": "{stem}.docx", "pdf": "{stem}.pdf", "scan": "{stem}-scan.pdf", "photo": "{stem}-photo.jpg",
             "photo_pdf": "{stem}-photo.pdf", "photo_docx": "{stem}-photo.docx"}


def form_truth(sheet: Sheet) -> dict:
    return dict(kind=sheet.kind, fields=dict(sheet.truth))


def letter_truth(stem: str) -> dict:
    rec, units = LETTERS[stem]
    return letter(rec, units)[1]


EVIDENCE_TRUTH = dict(kind="evidence", fields={})


def expected() -> dict[str, dict]:
    out: dict[str, dict] = {}
    for stem, (sheet, classes, media) in SOURCES.items():
        for m in media:
            want = dict(classes=sorted(set(classes) | {8}), medium=MEDIUM[m], **form_truth(sheet), flags=[])
            if stem.startswith(("c1-years-only", "c6-audit-years-only")):
                want["derived"] = {"avg_trainees": "只有各年度人数：真值为三年的平均数"}
            out[FILE_NAME[m].format(stem=stem)] = want
    for name, (medium, parts) in MULTI.items():
        truths = [_part_truth(p) for p in parts]
        main = next(t for t in truths if t["kind"] == "form")
        out[name] = dict(classes=[3, 8], medium="multi_pdf", scanned=medium == "scan", kind=main["kind"],
                         fields=main["fields"], flags=[],
                         parts=[dict(kind=t["kind"], pages=[i + 1, i + 1]) for i, t in enumerate(truths)],
                         part_truth=[t for t in truths if t["kind"] == "letter"])
    for name, stem in MAIL_ONLY.items():
        out[name] = dict(classes=[8], medium="text_pdf", **letter_truth(stem), flags=[])
    return out


def _part_truth(stem: str) -> dict:
    if stem == "evidence":
        return EVIDENCE_TRUTH
    if stem in LETTERS:
        return letter_truth(stem)
    return form_truth(EXTRA_FORMS[stem])


def mails() -> list[dict]:
    """Emails made of the files above (attachments by name), with what a careful clerk notes of each."""
    def subject(rec: str) -> str:
        return RECOMMENDERS[rec]["short"] + "继续教育基地申报"

    def sender(rec: str) -> str:
        return RECOMMENDERS[rec]["sender"]

    return [
        dict(id="m3-letter-form-in-one-scan", classes=[3, 8], subject=subject("rizhao"), sender=sender("rizhao"),
             body="您好，附件为我市推荐材料（推荐函及申请表），请查收。", attachments=["c3-letter-form-scanned.pdf"],
             applicants=[U["haiqu"]["name"]], flags=[]),
        dict(id="m3-form-letter-in-one-pdf", classes=[3, 8], subject=subject("taian"), sender=sender("taian"),
             body="附件为申请表和推荐函，请查收。", attachments=["c3-form-letter-text.pdf"],
             applicants=[U["daizong"]["name"]], flags=[]),
        dict(id="m3-letter-form-evidence-in-one-scan", classes=[3, 8], subject=subject("linyi"),
             sender=sender("linyi"), body="推荐函、申请表及佐证材料扫描为一个文件，请查收。",
             attachments=["c3-letter-form-evidence-scanned.pdf"], applicants=[U["yimeng"]["name"]], flags=[]),
        dict(id="m4-docx-and-its-pdf", classes=[4, 8], subject=subject("weihai"), sender=sender("weihai"),
             body="附件为申请表（Word及PDF版）和推荐函。",
             attachments=["letter-weihai.pdf", "c4-form.docx", "c4-form.pdf"],
             applicants=[U["haiyun"]["name"]], flags=[]),
        dict(id="m8-clean-letter-and-form", classes=[8], subject=subject("jining"), sender=sender("jining"),
             body="附件为推荐函及申请表。", attachments=["letter-jining.pdf", "c8-sectioned.pdf"],
             applicants=[U["kongmeng"]["name"]], flags=[]),
        dict(id="m7-reply-thanks", classes=[7], subject="回复：" + subject("jining"), sender=sender("jining"),
             body="收到，谢谢！", attachments=[], applicants=[], flags=[], outcome="ignored"),
        dict(id="m7-cloud-link-only", classes=[7], subject=subject("linyi"), sender=sender("linyi"),
             body="申报材料较大，已上传网盘：https://pan.baidu.com/s/1AbCdEfGhIjK 提取码：x7k2",
             attachments=[], applicants=[], flags=["cloud_attachment_link"], outcome="review"),
    ]


def write_expected() -> None:
    for name, want in expected().items():
        text = json.dumps({"file": name, **want}, ensure_ascii=False, indent=2) + "\n"
        write(f"{name}.expected.json", text.encode("utf-8"))
    write("mails.json", (json.dumps(mails(), ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def write(name: str, data: bytes) -> None:
    path = HERE / name
    if not path.exists() or path.read_bytes() != data:
        path.write_bytes(data)
        print("wrote", name, len(data))


# ----------------------------------------------------------------------------------------------
# Media: PDF by LibreOffice, scans and photos by poppler + ImageMagick, PDFs of images by img2pdf
# ----------------------------------------------------------------------------------------------

def imagemagick() -> str:
    """ImageMagick 6's convert: the first on PATH that says it is ImageMagick's (other tools share the name)."""
    for candidate in (shutil.which("convert"), "/usr/bin/convert"):
        if candidate and "ImageMagick" in subprocess.run([candidate, "-version"], capture_output=True,
                                                         text=True).stdout:
            return candidate
    raise SystemExit("ImageMagick 6 (convert) is needed: apt-get install imagemagick")


def raster(pdf: Path, out: Path, dpi: int, grey: bool, page: int = 1) -> Path:
    ms.run(["pdftoppm", "-r", str(dpi), "-f", str(page), "-l", str(page), "-singlefile",
            *(["-gray"] if grey else []), "-png", str(pdf), str(out.with_suffix(""))])
    return out


def scan(png: Path, out: Path, rotate: float, seed: int, dpi: int) -> Path:
    """A flatbed scan: a little askew, sensor noise, a little blur, grey JPEG."""
    ms.run([imagemagick(), str(png), "-background", "white", "-rotate", str(rotate), "-seed", str(seed),
            "-attenuate", "0.15", "+noise", "Gaussian", "-blur", "0x0.4", "-colorspace", "Gray", "-strip",
            "-units", "PixelsPerInch", "-density", str(dpi), "-quality", "55", str(out)])
    return out


def photo(png: Path, out: Path, seed: int, turn: float, corners: tuple[int, ...]) -> Path:
    """A phone photo of the page on a desk: perspective, turned, uneven light, noise, JPEG.
    corners: how far (pixels) each page corner moves inwards: tl_x, tl_y, tr_x, tr_y, br_x, br_y, bl_x, bl_y."""
    from PIL import Image

    with Image.open(png) as im:
        w, h = im.size
    b = 90
    W, H = w + 2 * b, h + 2 * b
    tlx, tly, trx, try_, brx, bry, blx, bly = corners
    points = (f"{b},{b} {b + tlx},{b + tly}  {W - b},{b} {W - b - trx},{b + try_}  "
              f"{W - b},{H - b} {W - b - brx},{H - b - bry}  {b},{H - b} {b + blx},{H - b - bly}")
    ms.run([imagemagick(), str(png), "-bordercolor", "rgb(118,96,74)", "-border", f"{b}x{b}",
            "-virtual-pixel", "background", "-background", "rgb(118,96,74)", "-distort", "Perspective", points,
            "-rotate", str(turn),
            "(", "+clone", "-sparse-color", "Barycentric", "0,0 gray(100%) %w,%h gray(72%)", ")",
            "-compose", "Multiply", "-composite", "-modulate", "100,85,100",
            "-seed", str(seed), "-attenuate", "0.25", "+noise", "Gaussian", "-resize", "1400x1400>",
            "-strip", "-quality", "62", str(out)])
    return out


def img2pdf(images: list[Path], out: Path) -> None:
    ms.run(["img2pdf", "--engine", "internal", "--nodate", "--producer", "", "-o", str(out), *map(str, images)])


def photo_docx(jpg: Path) -> bytes:
    """A DOCX holding only the phone photo of the form, as people paste one into Word."""
    doc = ms.new_document("手机用户", SAVED)
    doc.add_paragraph().add_run().add_picture(str(jpg), width=Cm(16.0))
    return ms.docx_bytes(doc)


def evidence_docx() -> bytes:
    doc = ms.new_document("魏丽华", SAVED)
    ms.add_text(doc, "佐证材料：近三年培训情况统计", face=ms.HEI, size=16, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=12)
    for i in range(10):
        ms.add_text(doc, f"{2016 + i % 3}年 第{i + 1}期 专业技术人员知识更新培训 参训{150 + 9 * i}人", size=12,
                    space_after=6)
    return ms.docx_bytes(doc)


def one_page(pdf: Path) -> None:
    import pypdf

    n = len(pypdf.PdfReader(pdf).pages)
    if n != 1:
        raise SystemExit(f"{pdf.name} has {n} pages: the truth of the multi-document PDFs counts one each")


def main(argv: list[str]) -> int:
    write_expected()
    if "--expected" in argv:
        return 0
    missing = [t for t in ("soffice", "pdftoppm", "img2pdf") if not shutil.which(t)]
    if missing:
        raise SystemExit(f"missing tools: {', '.join(missing)}")
    imagemagick()
    import pypdf

    with tempfile.TemporaryDirectory(prefix="intake-real-") as tmp:
        work = Path(tmp)
        src, pdfs = work / "docx", work / "pdf"
        src.mkdir()
        pdfs.mkdir()
        docxs = {stem: sheet.to_docx(sheet.truth.get("contact", "王晓梅")) for stem, (sheet, _, _) in SOURCES.items()}
        docxs |= {stem: sheet.to_docx("王晓梅") for stem, sheet in EXTRA_FORMS.items()}
        docxs |= {stem: letter(rec, units)[0] for stem, (rec, units) in LETTERS.items()}
        docxs["evidence"] = evidence_docx()
        for stem, data in docxs.items():
            (src / f"{stem}.docx").write_bytes(data)
        ms.libreoffice_to_pdf(sorted(src.glob("*.docx")), pdfs, work)
        for stem in docxs:
            one_page(pdfs / f"{stem}.pdf")

        for seed, (stem, (_, _, media)) in enumerate(SOURCES.items(), 1):
            pdf = pdfs / f"{stem}.pdf"
            for m in media:
                name = FILE_NAME[m].format(stem=stem)
                if m == "docx":
                    write(name, docxs[stem])
                elif m == "pdf":
                    write(name, ms.pin_pdf_metadata(pdf.read_bytes(), stem))
                elif m == "scan":
                    dpi = 200 if seed % 2 else 150
                    jpg = scan(raster(pdf, work / f"{stem}-s.png", dpi, grey=True), work / f"{stem}-s.jpg",
                               (-0.8, 0.6, 1.2)[seed % 3], seed, dpi)
                    img2pdf([jpg], work / name)
                    write(name, (work / name).read_bytes())
                else:
                    jpg = work / f"{stem}-photo.jpg"
                    if not jpg.exists():
                        # Corners moved in as a phone held above the desk, a little to one side, does.
                        corners = [(40, 30, 10, 70, 60, 20, 0, 50), (10, 60, 50, 20, 30, 40, 70, 0),
                                   (60, 10, 20, 40, 0, 60, 40, 30)][seed % 3]
                        turn = {"c5-name-code-one-row": 90.0}.get(stem, (2.5, -3.0, 4.0)[seed % 3])
                        photo(raster(pdf, work / f"{stem}-p.png", 150, grey=False), jpg, seed, turn, corners)
                    if m == "photo":
                        write(name, jpg.read_bytes())
                    elif m == "photo_pdf":
                        img2pdf([jpg], work / name)
                        write(name, (work / name).read_bytes())
                    else:
                        write(name, photo_docx(jpg))

        for name, (medium, parts) in MULTI.items():
            if medium == "text":
                writer = pypdf.PdfWriter()
                for p in parts:
                    writer.append(str(pdfs / f"{p}.pdf"))
                writer.add_metadata({"/Producer": "LibreOffice"})
                buf = io.BytesIO()
                writer.write(buf)
                write(name, buf.getvalue())
            else:
                jpgs = [scan(raster(pdfs / f"{p}.pdf", work / f"{name}-{k}.png", 150, grey=True),
                             work / f"{name}-{k}.jpg", (0.5, -0.7, 0.9)[k % 3], 40 + k, 150)
                        for k, p in enumerate(parts)]
                img2pdf(jpgs, work / name)
                write(name, (work / name).read_bytes())
        for name, stem in MAIL_ONLY.items():
            write(name, ms.pin_pdf_metadata((pdfs / f"{stem}.pdf").read_bytes(), stem))
    total = 0
    for p in sorted(HERE.iterdir()):
        if p.suffix in (".pdf", ".docx", ".jpg"):
            total += p.stat().st_size
            print(f"{p.name}: {p.stat().st_size // 1024} KB")
    print(f"total {total // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
