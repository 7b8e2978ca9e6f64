"""Generate the sample submissions: real DOCX/PDF documents and the sample mailbox.

Run from the repository root:

    .venv/bin/python tests/data/make_samples.py

It needs, on PATH: LibreOffice (``soffice``), ImageMagick 6 (``convert``), poppler-utils
(``pdftoppm``), ``img2pdf``, and CJK fonts (fonts-noto-cjk and/or fonts-wqy-zenhei) for
LibreOffice to substitute for 宋体/黑体. From Python: python-docx, pdfplumber, pypdf.

It writes:

* ``tests/data/samples/``: the source documents (``*.docx``, the ``*.pdf`` LibreOffice made from
  them, two scanned-looking image-only ``*-scanned.pdf``) and ``MANIFEST.md``, which lists every
  field value used, i.e. the truth for the parser and the golden tests.
* ``pipeline/samples/NN-name.eml``: the sample mailbox used by ``intake demo`` and the tests.
  Those only read the committed ``.eml`` files, so they never need LibreOffice.

Re-running gives the same ``.eml`` bytes as long as the PDFs come out the same: Message-IDs,
dates, MIME boundaries, DOCX zip timestamps and the volatile PDF metadata are all pinned. A
different LibreOffice/poppler/ImageMagick version may still lay out or render a PDF differently;
that is accepted. Every PDF's text layer is checked with pdfplumber after conversion, and the script
stops with an error if the Chinese does not come back exactly.
"""
from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as DEFAULT_POLICY
from email.utils import format_datetime
from pathlib import Path

import docx
import pdfplumber
import pypdf
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

ROOT = Path(__file__).resolve().parents[2]
SAMPLES_DIR = ROOT / "tests" / "data" / "samples"
MAILBOX_DIR = ROOT / "pipeline" / "samples"

CST = timezone(timedelta(hours=8))
OFFICE_ADDRESS = "ymrst@shandong.cn"
NOTICE_TITLE = "《山东省人力资源和社会保障厅关于开展省级专业技术人员继续教育基地申报工作的通知》"

# Explicit policy so a change of Python's default cannot silently alter the committed bytes.
POLICY = DEFAULT_POLICY.clone(linesep="\n", max_line_length=78)

SONG = "宋体"
HEI = "黑体"

MIME_DOCX = ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document")
MIME_PDF = ("application", "pdf")

# --------------------------------------------------------------------------------------------
# 统一社会信用代码 (GB 32100-2015) and its embedded 组织机构代码 (GB 11714-1997)
# --------------------------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


def uscc_check(first17: str) -> str:
    total = sum(w * USCC_ALPHABET.index(c) for w, c in zip(USCC_WEIGHTS, first17, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code(digits8: str) -> str:
    """A 9-character organisation code: real codes carry their own GB 11714 check character."""
    check = 11 - sum(w * int(d) for w, d in zip(ORG_WEIGHTS, digits8, strict=True)) % 11
    return digits8 + {10: "X", 11: "0"}.get(check, str(check))


def credit_code(prefix8: str, digits8: str, *, valid: bool = True) -> str:
    first17 = prefix8 + org_code(digits8)
    check = uscc_check(first17)
    if not valid:
        # Shift the check character by one so the code is wrong yet still well-formed.
        check = USCC_ALPHABET[(USCC_ALPHABET.index(check) + 1) % 31]
    return first17 + check


# The worked example printed in GB 32100-2015 guards against a typo in the weights.
assert uscc_check("91350100M000100Y4") == "3"

# --------------------------------------------------------------------------------------------
# The facts: units, letters, the summary, the mails
# --------------------------------------------------------------------------------------------

TRACK_LABELS = {
    "general": "省级继续教育基地",
    "rural": "省级继续教育基地（乡村振兴）专项",
    "reconfirm": "原省级继续教育基地重新确认",
}


def track_line(track: str) -> str:
    return "　".join(("☑" if t == track else "□") + label for t, label in TRACK_LABELS.items())


@dataclass(frozen=True)
class Unit:
    slug: str
    name: str
    track: str
    credit_code: str
    credit_code_valid: bool
    nature: str
    authority: str
    legal_rep: str
    address: str
    postcode: str
    contact: str
    phone: str
    mobile: str
    email: str
    fields: str
    fulltime_teachers: int
    parttime_teachers: int
    senior_teachers: int
    classrooms: int
    area: int
    funding: int
    platform: str
    avg_trainees: int
    profile: str
    author: str                 # who "saved" the DOCX: shows up in the PDF's /Author
    saved: datetime             # when the DOCX was "saved"

    @property
    def track_line(self) -> str:
        return track_line(self.track)


def unit(*, code: tuple[str, str], valid: bool = True, **kw) -> Unit:
    return Unit(credit_code=credit_code(*code, valid=valid), credit_code_valid=valid, **kw)


UNITS = {
    u.slug: u
    for u in [
        unit(
            slug="jinan-training-college", name="济南职业技术培训学院", track="general",
            code=("52370100", "49300117"), nature="培训机构", authority="济南市人力资源和社会保障局",
            legal_rep="刘建国", address="济南市历城区工业北路88号", postcode="250100",
            contact="王晓梅", phone="0531-88016235", mobile="13905316721", email="jnzypx@example.cn",
            fields="新一代信息技术、高端装备制造、现代金融服务、医养健康、文化创意等新旧动能转换"
                   "重点领域专业技术人员知识更新培训",
            fulltime_teachers=46, parttime_teachers=128, senior_teachers=57, classrooms=24,
            area=8600, funding=320, platform="泉城专技学堂 https://px.example.cn", avg_trainees=3200,
            profile="济南职业技术培训学院成立于2003年，是经济南市人力资源和社会保障局批准设立的专业技术人员"
                    "继续教育施教机构。学院现有专兼职教师174人，建有实训基地3处，开发继续教育课程260余门。"
                    "近三年年均培训专业技术人员3200人，承办省、市级高级研修班12期。学院建成“泉城专技学堂”"
                    "网络培训平台，实现线上线下融合培训。",
            author="王晓梅", saved=datetime(2019, 9, 5, 16, 20, tzinfo=CST),
        ),
        unit(
            slug="zhangqiu-agri-center", name="章丘农业技术推广培训中心", track="rural",
            code=("12370114", "49571026"), nature="其他", authority="济南市章丘区农业农村局",
            legal_rep="孙立军", address="济南市章丘区明水街道汇泉路1566号", postcode="250200",
            contact="李红霞", phone="0531-83216078", mobile="13853112408", email="zqnjpx@example.cn",
            fields="设施蔬菜、粮食作物高产栽培、畜禽健康养殖、农产品质量安全及农村电子商务等乡村振兴"
                   "领域农业技术人员培训",
            fulltime_teachers=12, parttime_teachers=45, senior_teachers=18, classrooms=6,
            area=2400, funding=85, platform="章丘农技云课堂 https://nj.example.cn", avg_trainees=800,
            profile="章丘农业技术推广培训中心是章丘区农业农村局所属公益一类事业单位，承担全区农业技术推广"
                    "和农技人员培训任务。中心现有专职教师12人、兼职教师45人，建有设施蔬菜、粮食高产等实训"
                    "基地5处。近三年年均培训基层农业技术人员800人，培训合格率保持在98%以上。",
            author="李红霞", saved=datetime(2019, 9, 4, 10, 5, tzinfo=CST),
        ),
        unit(
            slug="pingyin-rural-college", name="平阴乡村人才学院", track="rural",
            code=("52370124", "57036218"), nature="培训机构", authority="平阴县人力资源和社会保障局",
            legal_rep="赵德明", address="济南市平阴县榆山街道翠屏街36号", postcode="250400",
            contact="张玉洁", phone="0531-87881932", mobile="13688823175", email="pyxcrc@example.cn",
            fields="玫瑰种植与深加工、阿胶产业、乡村旅游、基层医疗卫生和农村中小学教师等乡村振兴领域"
                   "专业技术人才培训",
            fulltime_teachers=9, parttime_teachers=38, senior_teachers=11, classrooms=5,
            area=1800, funding=60, platform="平阴乡村人才在线 https://pyrc.example.cn", avg_trainees=650,
            profile="平阴乡村人才学院由平阴县人力资源和社会保障局指导设立，专门面向乡村振兴一线开展专业技术"
                    "人才培训。学院依托玫瑰、阿胶等特色产业，与12家龙头企业共建实训合作基地。近三年年均培训"
                    "乡村专业技术人才650人，学员覆盖全县8个镇街。",
            author="张玉洁", saved=datetime(2019, 9, 6, 9, 40, tzinfo=CST),
        ),
        unit(
            slug="sdut-continuing-edu", name="山东理工职业学院继续教育学院", track="general",
            code=("12370000", "49520361"), nature="高等院校", authority="山东省教育厅",
            legal_rep="陈志强", address="济南市长清区大学路3166号", postcode="250300",
            contact="周敏", phone="0531-87190265", mobile="13791125836", email="sdlgjxjy@example.cn",
            fields="智能制造、工业互联网、新能源汽车、建筑信息模型（BIM）及职业院校“双师型”教师等领域"
                   "专业技术人员继续教育",
            fulltime_teachers=68, parttime_teachers=150, senior_teachers=92, classrooms=40,
            area=15000, funding=560, platform="山理工继续教育在线 https://jxjy.example.cn",
            avg_trainees=4100,
            profile="山东理工职业学院继续教育学院是学院统筹开展继续教育和社会培训的二级学院。学院依托6个"
                    "省级品牌专业群，建有智能制造、工业互联网等实训中心8个。近三年年均培训专业技术人员4100人，"
                    "承担省级职业院校教师素质提高计划项目15项。学院自建网络培训平台，累计上线课程420门。",
            author="周敏", saved=datetime(2019, 9, 10, 15, 30, tzinfo=CST),
        ),
        unit(
            slug="sd-water-continuing-edu", name="山东水利职业学院继续教育学院", track="reconfirm",
            code=("12370000", "49307245"), nature="高等院校", authority="山东省水利厅",
            legal_rep="马成林", address="日照市东港区烟台北路677号", postcode="276826",
            contact="韩雪", phone="0633-87960418", mobile="13562318904", email="sdslxy@example.cn",
            fields="水利工程建设与管理、水文水资源、农村供水、河湖长制及水土保持等水利行业专业技术人员"
                   "继续教育",
            fulltime_teachers=35, parttime_teachers=86, senior_teachers=49, classrooms=18,
            area=6200, funding=210, platform="水利专技e学堂 https://sl.example.cn", avg_trainees=2800,
            profile="山东水利职业学院继续教育学院于2013年被认定为省级专业技术人员继续教育基地。学院面向全省"
                    "水利行业开展专业技术人员继续教育，建有水工实训场、水文监测站等实训场所。近三年年均培训"
                    "专业技术人员2800人，完成水利部、省水利厅委托培训项目36项。",
            author="韩雪", saved=datetime(2019, 9, 12, 11, 15, tzinfo=CST),
        ),
        unit(
            slug="dongying-petroleum-center", name="东营石油技术培训中心", track="general",
            code=("91370500", "16541873"), nature="企业",
            authority="东营市人民政府国有资产监督管理委员会",
            legal_rep="高建华", address="东营市东营区济南路108号", postcode="257000",
            contact="杜鹏", phone="0546-83017725", mobile="13954602217", email="dysypx@example.cn",
            fields="油气勘探开发、石油化工、安全生产、节能环保及智慧油田等领域工程技术人员知识更新培训",
            fulltime_teachers=40, parttime_teachers=110, senior_teachers=52, classrooms=22,
            area=9800, funding=380, platform="黄河口石油学堂 https://syxt.example.cn", avg_trainees=2600,
            profile="东营石油技术培训中心是东营市属国有企业设立的专业培训机构，长期承担油田及石化企业工程"
                    "技术人员培训任务。中心建有钻井、采油、石化工艺仿真实训室10个。近三年年均培训专业技术"
                    "人员2600人，其中高级工程师以上人员占比23%。",
            author="杜鹏", saved=datetime(2019, 9, 16, 14, 0, tzinfo=CST),
        ),
        unit(
            slug="yuncheng-rural-school", name="郓城乡村振兴人才培训学校", track="rural",
            code=("52371725", "31859604"), nature="培训机构", authority="郓城县人力资源和社会保障局",
            legal_rep="杨春生", address="菏泽市郓城县郓州街道金河路29号", postcode="274700",
            contact="宋文静", phone="0530-86581207", mobile="13953061728", email="ycxcpx@example.cn",
            fields="特色种养殖、农产品加工、农村电商、乡村规划建设及基层农技推广人员等乡村振兴领域专业"
                   "技术人才培训",
            fulltime_teachers=10, parttime_teachers=42, senior_teachers=13, classrooms=6,
            area=2100, funding=55, platform="郓城乡村振兴云课堂 https://ycxc.example.cn", avg_trainees=900,
            profile="郓城乡村振兴人才培训学校成立于2017年，是郓城县乡村振兴人才培养的主要阵地。学校与县农业"
                    "农村局、县人民医院等单位共建实训基地7处。近三年年均培训乡村专业技术人才900人，"
                    "培训满意度达96%。",
            author="宋文静", saved=datetime(2019, 9, 19, 17, 10, tzinfo=CST),
        ),
        unit(
            slug="energy-technician-center", name="山东能源集团技师学院培训中心", track="general",
            code=("91370000", "16306112"), valid=False, nature="企业", authority="山东能源集团有限公司",
            legal_rep="王立新", address="济南市高新区工业南路57号", postcode="250101",
            contact="刘洋", phone="0531-86627439", mobile="13864188215", email="sdnyjs@example.cn",
            fields="煤矿安全生产、智能化采掘、机电运输、新能源与储能技术及企业工程技术人员等领域继续教育",
            fulltime_teachers=28, parttime_teachers=75, senior_teachers=33, classrooms=15,
            area=5600, funding=180, platform="能源云学堂 https://nyxt.example.cn", avg_trainees=1500,
            profile="山东能源集团技师学院培训中心是集团公司专业技术人员继续教育的实施机构。中心建有智能"
                    "采掘、机电运输等实训车间6个，与集团所属23家矿井建立实训合作关系。近三年年均培训专业"
                    "技术人员1500人。",
            author="刘洋", saved=datetime(2019, 9, 17, 9, 25, tzinfo=CST),
        ),
    ]
}


@dataclass(frozen=True)
class Letter:
    slug: str
    recommender: str
    we: str                     # how the recommender refers to itself: 我局 / 我厅 / 我公司
    units: tuple[str, ...]      # unit slugs, in the order listed
    contact: str
    phone: str
    date: str
    saved: datetime


LETTERS = {
    le.slug: le
    for le in [
        Letter("letter-jinan", "济南市人力资源和社会保障局", "我局",
               ("jinan-training-college", "zhangqiu-agri-center", "pingyin-rural-college"),
               "赵志刚", "0531-86195062", "2019年9月9日", datetime(2019, 9, 9, 10, 30, tzinfo=CST)),
        Letter("letter-edu", "山东省教育厅", "我厅", ("sdut-continuing-edu",),
               "孙建华", "0531-81916537", "2019年9月11日", datetime(2019, 9, 11, 15, 0, tzinfo=CST)),
        Letter("letter-dongying", "东营市人力资源和社会保障局", "我局", ("dongying-petroleum-center",),
               "马丽", "0546-83220916", "2019年9月17日", datetime(2019, 9, 17, 10, 45, tzinfo=CST)),
        Letter("letter-heze", "菏泽市人力资源和社会保障局", "我局", ("yuncheng-rural-school",),
               "陈刚", "0530-85316602", "2019年9月20日", datetime(2019, 9, 20, 16, 30, tzinfo=CST)),
        Letter("letter-energy", "山东能源集团有限公司", "我公司", ("energy-technician-center",),
               "张伟", "0531-86627001", "2019年9月18日", datetime(2019, 9, 18, 9, 50, tzinfo=CST)),
    ]
}


def letter_lines(letter: Letter) -> list[str]:
    return [f"{i}．{UNITS[s].name}（{TRACK_LABELS[UNITS[s].track]}）" for i, s in enumerate(letter.units, 1)]


@dataclass(frozen=True)
class Summary:
    slug: str
    letter: str                 # the letter whose units and signer it repeats
    clerk: str
    phone: str
    date: str
    saved: datetime


SUMMARIES = {
    "summary-jinan": Summary("summary-jinan", "letter-jinan", "赵志刚", "0531-86195062", "2019年9月9日",
                             datetime(2019, 9, 9, 10, 50, tzinfo=CST)),
}

SUMMARY_COLUMNS = ["序号", "申报单位名称", "单位性质", "申报类别", "主要培训领域", "近三年年均培训人数",
                   "联系人", "联系电话", "备注"]
SUMMARY_WIDTHS_CM = [1.2, 4.2, 2.0, 3.6, 5.5, 2.2, 1.8, 3.0, 2.2]


def summary_rows(summary: Summary) -> list[list[str]]:
    rows = []
    for i, slug in enumerate(LETTERS[summary.letter].units, 1):
        u = UNITS[slug]
        rows.append([str(i), u.name, u.nature, TRACK_LABELS[u.track], u.fields, str(u.avg_trainees),
                     u.contact, u.phone, ""])
    return rows


# Scanned-looking copies: (source PDF slug, rotation in degrees, noise seed).
SCANS = {
    "letter-dongying-scanned": ("letter-dongying", -1.1, 11),
    "form-dongying-petroleum-center-scanned": ("form-dongying-petroleum-center", 1.2, 17),
}


@dataclass(frozen=True)
class Attach:
    filename: str               # as the sender names it in the mail
    source: str                 # file name under tests/data/samples


@dataclass(frozen=True)
class Mail:
    number: int
    slug: str
    sender_name: str
    sender: str
    subject: str
    body: str
    delivered: datetime
    minutes_in_transit: int     # Date: is this much earlier than delivery
    relay: tuple[str, str]      # sender's outgoing server and its (documentation-range) IP
    mailer: str
    attachments: tuple[Attach, ...] = ()
    legacy_gb: bool = False     # subject/display name in gb2312 words, body in gbk
    extra_headers: tuple[tuple[str, str], ...] = ()
    notes: str = ""

    @property
    def filename(self) -> str:
        return f"{self.number:02d}-{self.slug}.eml"

    @property
    def message_id(self) -> str:
        # Tests and golden files refer to these ids: keep them stable.
        return f"<sample-{self.number:02d}.{self.slug.split('-')[0]}@{self.relay[0]}>"


def form_attach(slug: str, ext: str = "pdf") -> Attach:
    return Attach(f"申请表-{UNITS[slug].name}.{ext}", f"form-{slug}.{ext}")


def at(month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(2019, month, day, hour, minute, tzinfo=CST)


MAILS = [
    Mail(
        1, "jinan-city", "济南市人社局专技处", "rsj@jinan.example.cn", "济南市继续教育基地申报",
        "省人社厅专业技术人员管理处：\n\n"
        "　　根据《关于开展省级专业技术人员继续教育基地申报工作的通知》要求，现将我市推荐的3家"
        "继续教育基地备选单位申报材料报上，包括推荐函、申报汇总表和申请表，纸质材料已另行寄送，请查收。\n\n"
        "济南市人力资源和社会保障局专业技术人员管理处\n赵志刚　0531-86195062\n2019年9月10日\n",
        at(9, 10, 10, 15), 3, ("mail.jinan.example.cn", "192.0.2.21"),
        "Coremail Webmail Server Version XT5.0.13 build 20190723(a8b5d3b9)",
        (Attach("推荐函.pdf", "letter-jinan.pdf"), Attach("附件2申报汇总表.pdf", "summary-jinan.pdf"),
         form_attach("jinan-training-college"), form_attach("zhangqiu-agri-center"),
         form_attach("pingyin-rural-college")),
        notes="City: letter + 汇总表 + 3 forms (1 general, 2 rural), within quota.",
    ),
    Mail(
        2, "edu-department", "山东省教育厅人事处", "rsc@edu.example.cn", "山东省教育厅继续教育基地申报",
        "专技处：\n\n　　现报送我厅推荐的省级专业技术人员继续教育基地申报材料（推荐函、申请表），"
        "请审核。申请表为Word版，盖章纸质件随后寄送。\n\n山东省教育厅人事处　孙建华\n0531-81916537\n",
        at(9, 12, 16, 40), 6, ("mail.edu.example.cn", "198.51.100.14"),
        "Microsoft Outlook 14.0",
        (Attach("推荐函.pdf", "letter-edu.pdf"), form_attach("sdut-continuing-edu", "docx")),
        legacy_gb=True,
        notes="Department: Subject and From name as `=?gb2312?B?…?=`, body `charset=gbk`; "
              "the form is a DOCX, not a PDF.",
    ),
    Mail(
        3, "reconfirm-direct", "", "jxjy@sdslzy.example.com",
        "山东水利职业学院继续教育学院继续教育基地申报（重新确认）",
        "您好：\n\n　　我院为原认定的省级专业技术人员继续教育基地，现按通知要求报送重新确认申请表"
        "（附件1），请审核。\n\n山东水利职业学院继续教育学院　韩雪\n0633-87960418\n",
        at(9, 15, 9, 5), 2, ("smtp.sdslzy.example.com", "203.0.113.45"),
        "Foxmail 7.2.13.365[cn]",
        (form_attach("sd-water-continuing-edu"),),
        notes="Direct re-confirmation by a unit on lists.reconfirm (附件3); sender not configured; "
              "no letter; subject has a suffix after 申报.",
    ),
    Mail(
        4, "not-a-submission", "李娜", "lina1988@qq.example.com", "关于专业技术人员继续教育学时登记的咨询",
        "老师您好！\n\n　　我是一名中学教师，想咨询一下：2019年度的专业技术人员继续教育学时应该在"
        "哪个平台登记？公需科目和专业科目的学时是否可以自行申报？单位组织的校本培训能否计入学时？\n\n"
        "谢谢！\n李娜\n",
        at(9, 11, 8, 30), 1, ("smtp.qq.example.com", "198.51.100.77"),
        "Foxmail 7.2.13.365[cn]",
        notes="Not a submission: a question, no attachments.",
    ),
    Mail(
        5, "auto-reply", "孙丽", "sunli@weifang.example.cn", "自动回复：关于继续教育基地申报",
        "您好，我于9月16日至9月20日外出参加培训，期间不便查收邮件，急事请致电0536-88216590。\n"
        "（此邮件为自动回复）\n",
        at(9, 16, 12, 0), 1, ("mail.weifang.example.cn", "203.0.113.9"),
        "Coremail Webmail Server Version XT5.0.13 build 20190723(a8b5d3b9)",
        extra_headers=(("In-Reply-To", "<reminder-20190916@shandong.cn>"),
                       ("References", "<reminder-20190916@shandong.cn>"),
                       ("Auto-Submitted", "auto-replied"), ("X-Autoreply", "yes")),
        notes="Out-of-office from a configured sender domain; subject even ends with 继续教育基地申报.",
    ),
    Mail(
        6, "dongying-scanned", "", "zjk@dongying.example.cn", "东营市继续教育基地申报",
        "省人社厅专技处：\n\n　　附件为东营市继续教育基地申报材料扫描件（推荐函、申请表），请查收。\n\n"
        "东营市人社局专技科　马丽\n0546-83220916\n",
        at(9, 18, 15, 20), 4, ("mail.dongying.example.cn", "192.0.2.56"),
        "Coremail Webmail Server Version XT5.0.13 build 20190723(a8b5d3b9)",
        (Attach("推荐函.pdf", "letter-dongying-scanned.pdf"),
         Attach("申请表-东营石油技术培训中心.pdf", "form-dongying-petroleum-center-scanned.pdf")),
        notes="Both PDFs are image-only scans (no text layer): needs OCR or a person.",
    ),
    Mail(
        7, "heze-late", "", "rsj@heze.example.cn", "菏泽市继续教育基地申报",
        "省人社厅专技处：\n\n　　附件为菏泽市推荐的继续教育基地申报材料。因盖章流程延误，报送较晚，"
        "敬请谅解。\n\n菏泽市人社局专技科　陈刚\n0530-85316602\n",
        at(9, 23, 9, 30), 5, ("mail.heze.example.cn", "192.0.2.88"),
        "Coremail Webmail Server Version XT5.0.13 build 20190723(a8b5d3b9)",
        (Attach("推荐函.pdf", "letter-heze.pdf"), form_attach("yuncheng-rural-school")),
        notes="Delivered after the deadline (2019-09-22T23:59:59+08:00).",
    ),
    Mail(
        8, "energy-enterprise", "", "hr@energy.example.cn", "Re: 山东能源集团继续教育基地申报材料",
        "您好：\n\n　　按照通知要求，报送山东能源集团继续教育基地申报材料，请审核。\n\n"
        "山东能源集团人力资源部　张伟\n0531-86627001\n",
        at(9, 20, 11, 0), 7, ("mail.energy.example.cn", "198.51.100.130"),
        "Microsoft Outlook 16.0",
        (Attach("推荐函.pdf", "letter-energy.pdf"), form_attach("energy-technician-center")),
        notes="Enterprise: near-miss subject (Re: …材料); trainees 1500 < 2000; "
              "credit code has a wrong check character.",
    ),
]

# --------------------------------------------------------------------------------------------
# DOCX building
# --------------------------------------------------------------------------------------------


def set_fonts(run, face: str = SONG, size: float | None = None, bold: bool = False) -> None:
    # font.name only covers ASCII/hAnsi; without w:eastAsia LibreOffice picks a Latin font for the
    # Chinese and the glyphs fall back unpredictably.
    run.font.name = face
    run._element.rPr.rFonts.set(qn("w:eastAsia"), face)
    if size:
        run.font.size = Pt(size)
    if bold:
        run.bold = True


def new_document(author: str, saved: datetime, *, landscape: bool = False) -> docx.Document:
    doc = docx.Document()
    normal = doc.styles["Normal"]
    normal.font.name = SONG
    normal.font.size = Pt(10.5)
    rpr = normal.element.get_or_add_rPr()
    rpr.rFonts.set(qn("w:eastAsia"), SONG)
    # Tag the text zh-CN as Chinese Word does; LibreOffice's Asian typography settings key off it.
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    rpr.append(lang)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)

    # python-docx's template is US Letter; Chinese forms are A4.
    section = doc.sections[0]
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Cm(29.7), Cm(21.0)
        section.left_margin = section.right_margin = Cm(2.0)
        section.top_margin = section.bottom_margin = Cm(2.0)
    else:
        section.page_width, section.page_height = Cm(21.0), Cm(29.7)
        section.left_margin = section.right_margin = Cm(2.0)
        section.top_margin = section.bottom_margin = Cm(2.2)

    # The template's Word-2010 stylesWithEffects part and its blank-page thumbnail are a third of
    # every file and mean nothing to a reader; Word and LibreOffice open the file fine without them.
    for rels, kind in ((doc.part.rels, "/stylesWithEffects"), (doc.part.package.rels, "/thumbnail")):
        for rid in [rid for rid, rel in rels.items() if rel.reltype.endswith(kind)]:
            rels.pop(rid)

    # Pinned so the DOCX bytes (and the PDF's /Author) do not depend on the day the script runs.
    cp = doc.core_properties
    cp.author = author
    cp.last_modified_by = author
    cp.created = saved.astimezone(UTC).replace(tzinfo=None)
    cp.modified = saved.astimezone(UTC).replace(tzinfo=None)
    cp.revision = 1
    cp.title = ""
    return doc


def add_text(container, text: str, *, face: str = SONG, size: float = 10.5, bold: bool = False,
             align=None, first_indent: float | None = None, line_pt: float | None = None,
             space_after: float = 0):
    para = container.add_paragraph()
    run = para.add_run(text)
    set_fonts(run, face, size, bold)
    pf = para.paragraph_format
    if align is not None:
        para.alignment = align
    if first_indent:
        pf.first_line_indent = Pt(first_indent)
    if line_pt:
        pf.line_spacing = Pt(line_pt)
    pf.space_after = Pt(space_after)
    return para


def fill_cell(cell, text: str, *, align=WD_ALIGN_PARAGRAPH.LEFT, width: float | None = None,
              size: float = 10.5) -> None:
    para = cell.paragraphs[0]
    para.alignment = align
    if text:
        set_fonts(para.add_run(text), SONG, size)
    cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
    if width is not None:
        cell.width = Cm(width)


def fix_table_widths(table, widths_cm: list[float]) -> None:
    # LibreOffice lays out from tblGrid, Word from tcW; set both so both agree.
    table.autofit = False
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for col, w in zip(table.columns, widths_cm, strict=True):
        col.width = Cm(w)
    for row in table.rows:
        for cell, w in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(w)


FORM_WIDTHS_CM = [3.5, 5.0, 3.5, 5.0]


def form_layout(u: Unit) -> list[list[tuple[str, str]]]:
    """The 申请表 rows: one (label, value) pair means the value spans columns 2-4."""
    return [
        [("申报单位名称", u.name)],
        [("统一社会信用代码", u.credit_code), ("单位性质", u.nature)],
        [("主管部门", u.authority), ("法定代表人", u.legal_rep)],
        [("通讯地址", u.address), ("邮政编码", u.postcode)],
        [("联系人", u.contact), ("联系电话", u.phone)],
        [("手机", u.mobile), ("电子邮箱", u.email)],
        [("申报类别", u.track_line)],
        [("主要培训领域", u.fields)],
        [("专职师资人数", str(u.fulltime_teachers)), ("兼职师资人数", str(u.parttime_teachers))],
        [("其中高级职称人数", str(u.senior_teachers)), ("固定教室（间）", str(u.classrooms))],
        [("教学场地面积（平方米）", str(u.area)), ("年度继续教育经费投入（万元）", str(u.funding))],
        [("网络培训平台（名称/网址）", u.platform)],
        [("近三年年均培训专业技术人员人数", str(u.avg_trainees))],
        [("单位基本情况", u.profile)],
        [("推荐单位意见", "")],
    ]


# Rows that carry a paragraph or a signature space in a real form are drawn tall.
FORM_TALL_ROWS_CM = {"单位基本情况": 4.6, "推荐单位意见": 3.2}


def build_form(u: Unit) -> docx.Document:
    doc = new_document(u.author, u.saved)
    add_text(doc, "山东省专业技术人员继续教育基地申请表", face=HEI, size=18,
             align=WD_ALIGN_PARAGRAPH.CENTER, space_after=12)
    layout = form_layout(u)
    table = doc.add_table(rows=len(layout), cols=4)
    table.style = "Table Grid"
    fix_table_widths(table, FORM_WIDTHS_CM)
    for row, pairs in zip(table.rows, layout, strict=True):
        cells = row.cells
        row.height = Cm(FORM_TALL_ROWS_CM.get(pairs[0][0], 0.9))
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        if len(pairs) == 1:
            (label, value), = pairs
            fill_cell(cells[0], label, align=WD_ALIGN_PARAGRAPH.CENTER)
            merged = cells[1].merge(cells[3])
            fill_cell(merged, value, align=WD_ALIGN_PARAGRAPH.JUSTIFY, width=sum(FORM_WIDTHS_CM[1:]))
        else:
            for i, (label, value) in enumerate(pairs):
                fill_cell(cells[2 * i], label, align=WD_ALIGN_PARAGRAPH.CENTER)
                fill_cell(cells[2 * i + 1], value)
    return doc


def build_letter(le: Letter) -> docx.Document:
    doc = new_document(le.contact, le.saved)
    body = dict(size=16, line_pt=28)
    add_text(doc, "推荐函", face=HEI, size=22, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=18)
    add_text(doc, "山东省人力资源和社会保障厅：", **body)
    add_text(doc, f"根据{NOTICE_TITLE}要求，经单位自愿申报、{le.we}审核，现推荐以下单位申报山东省专业技术"
                  "人员继续教育基地：", first_indent=32, **body)
    for line in letter_lines(le):
        add_text(doc, line, first_indent=32, **body)
    add_text(doc, "特此推荐。", first_indent=32, **body)
    add_text(doc, f"联系人：{le.contact}　　联系电话：{le.phone}", first_indent=32, **body)
    add_text(doc, "", **body)
    add_text(doc, le.recommender, align=WD_ALIGN_PARAGRAPH.RIGHT, **body)
    add_text(doc, le.date, align=WD_ALIGN_PARAGRAPH.RIGHT, **body)
    return doc


def summary_header_line(s: Summary) -> str:
    return (f"推荐单位（盖章）：{LETTERS[s.letter].recommender}　　填表人：{s.clerk}　　"
            f"联系电话：{s.phone}　　填报日期：{s.date}")


def build_summary(s: Summary) -> docx.Document:
    doc = new_document(s.clerk, s.saved, landscape=True)
    add_text(doc, "山东省专业技术人员继续教育基地申报汇总表", face=HEI, size=18,
             align=WD_ALIGN_PARAGRAPH.CENTER, space_after=12)
    add_text(doc, summary_header_line(s), size=12, space_after=6)
    rows = summary_rows(s)
    table = doc.add_table(rows=1 + len(rows), cols=len(SUMMARY_COLUMNS))
    table.style = "Table Grid"
    fix_table_widths(table, SUMMARY_WIDTHS_CM)
    for row, values in zip(table.rows, [SUMMARY_COLUMNS, *rows], strict=True):
        row.height = Cm(1.0)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
        for cell, value in zip(row.cells, values, strict=True):
            # 小五 (9 pt), as such wide tables usually are: at 10.5 pt the phone numbers wrap.
            fill_cell(cell, value, align=WD_ALIGN_PARAGRAPH.CENTER, size=9)
    return doc


DOCX_ZIP_TIME = (2019, 9, 9, 9, 0, 0)


def pinned_zip(saved: io.BytesIO, edit=lambda name, data: data) -> bytes:
    """An Office file (a zip) with fixed member timestamps, so that regenerating it changes no byte;
    edit(name, data) may also pin what the writer stamps inside a member."""
    out = io.BytesIO()
    with zipfile.ZipFile(saved) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=DOCX_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            zout.writestr(fixed, edit(info.filename, zin.read(info.filename)))
    return out.getvalue()


def docx_bytes(doc: docx.Document) -> bytes:
    """Saved DOCX with fixed zip timestamps: python-docx stamps every member with 'now'."""
    raw = io.BytesIO()
    doc.save(raw)
    return pinned_zip(raw)


# --------------------------------------------------------------------------------------------
# Conversion, normalisation, scanning
# --------------------------------------------------------------------------------------------


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
    return proc


def require_tools() -> None:
    missing = [t for t in ("soffice", "pdftoppm", "convert", "img2pdf") if not shutil.which(t)]
    if missing:
        raise SystemExit(f"missing tools on PATH: {', '.join(missing)} (see the module docstring)")


# LibreOffice's font replacement table, seeded into the private profile. Without it the fallback
# for 宋体/黑体 is whatever fontconfig offers first (here the Japanese face of Noto Sans CJK, whose
# CFF outlines make every PDF ~60% larger). WenQuanYi Zen Hei is a Simplified Chinese font with
# compact TrueType outlines; where it is missing LibreOffice falls back as before.
FONT_REPLACEMENTS = {SONG: "WenQuanYi Zen Hei", HEI: "WenQuanYi Zen Hei"}


def seed_profile(profile: Path) -> None:
    pairs = "".join(
        '<item oor:path="/org.openoffice.Office.Common/Font/Substitution/FontPairs">'
        f'<node oor:name="_{i}" oor:op="replace">'
        '<prop oor:name="Always" oor:op="fuse"><value>true</value></prop>'
        '<prop oor:name="OnScreenOnly" oor:op="fuse"><value>false</value></prop>'
        f'<prop oor:name="ReplaceFont" oor:op="fuse"><value>{old}</value></prop>'
        f'<prop oor:name="SubstituteFont" oor:op="fuse"><value>{new}</value></prop>'
        "</node></item>\n"
        for i, (old, new) in enumerate(FONT_REPLACEMENTS.items())
    )
    user = profile / "user"
    user.mkdir(parents=True)
    (user / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        '<item oor:path="/org.openoffice.Office.Common/Font/Substitution">'
        '<prop oor:name="Replacement" oor:op="fuse"><value>true</value></prop></item>\n'
        f"{pairs}</oor:items>\n",
        encoding="utf-8",
    )


def libreoffice_to_pdf(docx_paths: list[Path], outdir: Path, workdir: Path) -> None:
    # A private profile: the user's own LibreOffice (or a parallel run) would otherwise hold the lock
    # and soffice would silently hand the job to that instance or exit without converting.
    profile = workdir / "lo-profile"
    seed_profile(profile)
    run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(outdir), *map(str, docx_paths)], timeout=600)
    for p in docx_paths:
        if not (outdir / (p.stem + ".pdf")).exists():
            raise SystemExit(f"LibreOffice did not produce a PDF for {p.name}")


def pin_pdf_metadata(data: bytes, seed: str) -> bytes:
    """Replace LibreOffice's per-run date, /ID and /DocChecksum with fixed values of equal length.

    Equal length keeps every xref offset valid, so the file needs no rewriting by a PDF library.
    """
    def same_len_hex(m: re.Match, salt: str) -> bytes:
        digest = hashlib.md5(f"{seed}:{salt}".encode()).hexdigest().upper().encode()
        return digest[: len(m.group(1))].ljust(len(m.group(1)), b"0")

    data = re.sub(rb"(?<=/CreationDate\(D:)\d{14}", b"20190909090000", data)
    data = re.sub(rb"(?<=/ModDate\(D:)\d{14}", b"20190909090000", data)
    data = re.sub(rb"(?<=/DocChecksum /)([0-9A-F]+)", lambda m: same_len_hex(m, "sum"), data)
    data = re.sub(rb"(?<=/ID \[ <)([0-9A-F]+)(?=>)", lambda m: same_len_hex(m, "id"), data)
    data = re.sub(rb"(?<=>\n<)([0-9A-F]{32})(?=> \])", lambda m: same_len_hex(m, "id"), data)
    pypdf.PdfReader(io.BytesIO(data), strict=True)  # raises if the edit broke the file
    return data


def scan_pdf(src: Path, workdir: Path, rotate: float, seed: int) -> bytes:
    """An image-only PDF that looks scanned: 150 dpi grey, slightly skewed, noisy, JPEG."""
    from PIL import Image  # pillow comes with pdfplumber

    pages_dir = workdir / f"{src.stem}-pages"
    pages_dir.mkdir()
    run(["pdftoppm", "-r", "150", "-gray", str(src), str(pages_dir / "page")])
    jpegs = []
    for pgm in sorted(pages_dir.glob("page-*.pgm")):
        with Image.open(pgm) as im:
            w, h = im.size
        jpg = pgm.with_suffix(".jpg")
        # Rotate first, then add noise: a scanner's sensor noise covers the whole glass,
        # including the corners the skew uncovers. -seed makes the noise repeatable. The slight
        # blur (scanner optics) and quality 65 keep a form page near 140 KB instead of 210 KB,
        # so the two-scan mail stays under 400 KB; the text is still crisp enough for OCR.
        run(["convert", str(pgm), "-background", "white", "-rotate", str(rotate),
             "-gravity", "center", "-extent", f"{w}x{h}",
             "-seed", str(seed), "-attenuate", "0.2", "+noise", "Gaussian", "-blur", "0x0.5",
             "-colorspace", "Gray", "-strip", "-units", "PixelsPerInch", "-density", "150",
             "-quality", "65", str(jpg)])
        jpegs.append(jpg)
    out = pages_dir / "scan.pdf"
    # The internal engine writes a fixed /ID; the default pikepdf engine picks a random one.
    run(["img2pdf", "--engine", "internal", "--nodate", "--producer", "", "-o", str(out),
         *map(str, jpegs)])
    return out.read_bytes()


# --------------------------------------------------------------------------------------------
# Verification of the text layers
# --------------------------------------------------------------------------------------------


def squash(text: str | None) -> str:
    # pdfplumber inserts spaces and line breaks where the layout wrapped; U+3000 also counts.
    return "".join((text or "").split())


def pdf_text(path: Path) -> str:
    with pdfplumber.open(path) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


def raw_table_rows(path: Path) -> list[list[str | None]]:
    with pdfplumber.open(path) as pdf:
        return [row for page in pdf.pages for table in page.extract_tables() for row in table]


def pdf_table_rows(path: Path) -> list[list[str]]:
    return [[squash(c) for c in row if c is not None] for row in raw_table_rows(path)]


def wrapped_labels(path: Path) -> list[str]:
    """Labels that the layout broke over two lines: worth knowing when matching labels."""
    return [squash(row[i]) for row in raw_table_rows(path) for i in (0, 2)
            if i < len(row) and row[i] and "\n" in row[i]]


def fail(path: Path, what: str, expected, got) -> None:
    raise SystemExit(f"text layer check failed for {path.name}: {what}\n  expected: {expected!r}\n"
                     f"  got:      {got!r}")


def expect_in_text(path: Path, needles: list[str]) -> None:
    text = squash(pdf_text(path))
    for needle in needles:
        if squash(needle) not in text:
            fail(path, "text missing", needle, text)


def check_form_pdf(path: Path, u: Unit) -> None:
    # Only strings that sit on one line: a wrapped cell interleaves with its row neighbours in
    # extract_text(), so everything else is compared cell by cell below.
    expect_in_text(path, ["山东省专业技术人员继续教育基地申请表", "申报单位名称", u.name, u.credit_code,
                          "统一社会信用代码"])
    expected = [[squash(t) for pair in pairs for t in pair] for pairs in form_layout(u)]
    got = pdf_table_rows(path)
    # A merged value cell comes back as the value followed by None placeholders (dropped above),
    # except an empty one: pdfplumber gives '' for it.
    if got != expected:
        fail(path, "table cells differ", expected, got)


def check_letter_pdf(path: Path, le: Letter) -> None:
    expect_in_text(path, ["推荐函", "山东省人力资源和社会保障厅：", NOTICE_TITLE, *letter_lines(le),
                          "特此推荐。", le.contact, le.phone, le.recommender, le.date])


def check_summary_pdf(path: Path, s: Summary) -> None:
    expect_in_text(path, ["山东省专业技术人员继续教育基地申报汇总表", summary_header_line(s)])
    expected = [[squash(c) for c in r] for r in [SUMMARY_COLUMNS, *summary_rows(s)]]
    got = pdf_table_rows(path)
    if got != expected:
        fail(path, "table cells differ", expected, got)


def check_image_only(path: Path) -> None:
    with pdfplumber.open(path) as pdf:
        chars = sum(len(p.chars) for p in pdf.pages)
        images = sum(len(p.images) for p in pdf.pages)
        text = "".join(p.extract_text() or "" for p in pdf.pages)
    if chars or text.strip() or not images:
        raise SystemExit(f"{path.name} should be image-only: {chars} chars, {images} images")


# --------------------------------------------------------------------------------------------
# Mail
# --------------------------------------------------------------------------------------------


def gb_word(text: str) -> str:
    return f"=?gb2312?B?{base64.b64encode(text.encode('gb2312')).decode('ascii')}?="


def received_header(m: Mail, when: datetime, *, hop: str) -> str:
    """A Received value, pre-folded with tabs the way Postfix/Coremail write it."""
    stamp = format_datetime(when) + " (CST)"
    queue = hashlib.sha1(f"{m.slug}:{hop}".encode()).hexdigest()[:12].upper()
    host, ip = m.relay
    if hop == "mx":
        lines = [f"from {host} ({host} [{ip}])",
                 f"\tby mx.shandong.cn (Postfix) with ESMTPS id {queue}",
                 f"\tfor <{OFFICE_ADDRESS}>; {stamp}"]
        if len("Received: ") + len(lines[0]) > POLICY.max_line_length:
            # Fold before the comment ourselves: an over-long first line makes the policy refold
            # the whole value and the tabs end up inside the lines.
            lines[0:1] = [f"from {host}", f"\t({host} [{ip}])"]
    else:
        lines = [f"from [10.{m.number}.3.17] (unknown [10.{m.number}.3.17])",
                 f"\tby {host} with ESMTPSA id {queue}",
                 f"\tfor <{OFFICE_ADDRESS}>; {stamp}"]
    return "\n".join(lines)


def boundary(m: Mail) -> str:
    token = hashlib.sha1(m.slug.encode()).hexdigest()[:16].upper()
    return f"----=_NextPart_{m.number:03d}_{token[:8]}_{token[8:]}"


def build_mail(m: Mail) -> bytes:
    msg = EmailMessage(policy=POLICY)
    sent = m.delivered - timedelta(minutes=m.minutes_in_transit)
    # Two hops, newest on top, as a real mailbox has them; the top one is the delivery time.
    msg.set_raw("Received", received_header(m, m.delivered, hop="mx"))
    msg.set_raw("Received", received_header(m, min(sent + timedelta(seconds=20), m.delivered),
                                            hop="submit"))
    msg["Date"] = format_datetime(sent)
    if m.legacy_gb:
        # set_raw keeps the gb2312 encoded-words verbatim; the policy would re-encode them as UTF-8.
        msg.set_raw("From", f"{gb_word(m.sender_name)} <{m.sender}>")
    else:
        msg["From"] = Address(display_name=m.sender_name, addr_spec=m.sender)
    msg["To"] = OFFICE_ADDRESS
    if m.legacy_gb:
        msg.set_raw("Subject", gb_word(m.subject))
    else:
        msg["Subject"] = m.subject
    msg["Message-ID"] = m.message_id
    for name, value in m.extra_headers:
        msg[name] = value
    msg["X-Mailer"] = m.mailer
    msg.set_content(m.body, charset="gbk" if m.legacy_gb else "utf-8", cte="base64")
    for a in m.attachments:
        data = (SAMPLES_DIR / a.source).read_bytes()
        maintype, subtype = MIME_DOCX if a.source.endswith(".docx") else MIME_PDF
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=a.filename)
    for part in msg.iter_parts():
        # EmailMessage stamps MIME-Version on every part it creates; mail clients only put it on top.
        del part["MIME-Version"]
    if msg.is_multipart():
        msg.set_boundary(boundary(m))
    return msg.as_bytes(policy=POLICY)


def check_mail(m: Mail, raw: bytes) -> None:
    from email import message_from_bytes
    from email.utils import parsedate_to_datetime

    msg = message_from_bytes(raw, policy=DEFAULT_POLICY)
    top = msg.get_all("Received")[0]
    problems = []
    if parsedate_to_datetime(top.rsplit(";", 1)[1].strip()) != m.delivered:
        problems.append(f"top Received date {top!r}")
    if str(msg["Subject"]) != m.subject:
        problems.append(f"subject {msg['Subject']!r}")
    names = [p.get_filename() for p in msg.iter_attachments()]
    if names != [a.filename for a in m.attachments]:
        problems.append(f"attachments {names!r}")
    if msg.get_body(("plain",)).get_content() != m.body:
        problems.append("body does not round-trip")
    head = raw.split(b"\n\n", 1)[0].decode("ascii")
    long_lines = [line for line in head.splitlines() if len(line) > POLICY.max_line_length]
    if long_lines or "\t" in "".join(line.lstrip("\t") for line in head.splitlines()):
        problems.append(f"badly folded header lines {long_lines!r}")
    if problems:
        raise SystemExit(f"{m.filename}: " + "; ".join(problems))


# --------------------------------------------------------------------------------------------
# MANIFEST.md
# --------------------------------------------------------------------------------------------


def md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def manifest(wrapped: list[str]) -> str:
    out = [
        "# Sample submissions: what is in them",
        "",
        "Generated by `tests/data/make_samples.py`; do not edit by hand, re-run the script.",
        "The `.eml` files live in `pipeline/samples/`; the documents they carry are here.",
        "Times are Asia/Shanghai (+08:00). The deadline in `inbox_rules.yaml` is 2019-09-22T23:59:59+08:00.",
        "Every mail has two `Received:` headers; the **top** one carries the delivery time below, "
        "the second (the sender's own server) is a few minutes earlier, close to `Date:`.",
        "",
        "## Mailbox",
        "",
        "| File | From | Subject | Delivered (top `Received:`) | `Date:` "
        "| Attachments (as named in the mail → file here) | Notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in MAILS:
        sender = f"{m.sender_name} <{m.sender}>" if m.sender_name else f"<{m.sender}>"
        sent = m.delivered - timedelta(minutes=m.minutes_in_transit)
        atts = "<br>".join(f"{a.filename} → `{a.source}`" for a in m.attachments) or "—"
        extra = "; ".join(f"`{k}: {v}`" for k, v in m.extra_headers if not k.startswith(("In-", "Ref")))
        notes = m.notes + (f" Headers: {extra}." if extra else "")
        out.append(f"| `{m.filename}` | {md_escape(sender)} | {md_escape(m.subject)} | "
                   f"{m.delivered.isoformat()} | {sent.isoformat()} | {atts} | {md_escape(notes)} |")
    out += ["", "Message-IDs: " + ", ".join(f"`{m.message_id}`" for m in MAILS) + ".", ""]

    out += ["## Recommendation letters (推荐函)", "",
            "| File | Signed by | Date | Contact | Phone | Units listed (exact lines) |", "|---|---|---|---|---|---|"]
    for le in LETTERS.values():
        out.append(f"| `{le.slug}.pdf` | {le.recommender} | {le.date} | {le.contact} | {le.phone} | "
                   + "<br>".join(letter_lines(le)) + " |")
    out += ["", "`letter-dongying-scanned.pdf` and `form-dongying-petroleum-center-scanned.pdf` are image-only "
            "scans (150 dpi grey JPEG, skewed −1.1° / +1.2°, no text layer) of the text PDFs with the same stem.", ""]

    for s in SUMMARIES.values():
        out += [f"## Summary table (申报汇总表): `{s.slug}.pdf`", "",
                f"Header line: {summary_header_line(s)}", "",
                "| " + " | ".join(SUMMARY_COLUMNS) + " |", "|" + "---|" * len(SUMMARY_COLUMNS)]
        out += ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in summary_rows(s)]
        out.append("")

    out += [
        "## What pdfplumber reads from these PDFs",
        "",
        "Checked by the script on every run (it fails otherwise): `page.extract_tables()` on a form or the "
        "汇总表 gives back every cell; with all whitespace removed each cell equals the value listed here. "
        "Merged value cells come back followed by `None`; the empty 推荐单位意见 cell is `''`.",
        "",
        "- Labels broken over two lines by the 3.5 cm label column: "
        + ("、".join(f"`{w}`" for w in wrapped) if wrapped else "none") + ".",
        "- Cells are vertically centred, so next to a two-line value the label's `top` lies *between* the "
        "value's lines, and `extract_text()` interleaves them (`济南市人力资源和社会保障` / `主管部门 法定代表人 "
        "刘建国` / `局`). Long values (地址, 主管部门, 申报类别, 主要培训领域, 单位基本情况) wrap too.",
        "- `☑` comes from a different embedded font (DejaVu Sans) than `□` and the Chinese, but both map "
        "back to U+2611 / U+25A1. The U+3000 ideographic spaces between the options are in `page.chars`, "
        "but `extract_words()` splits on them and `extract_text()` prints an ASCII space.",
        "- Justified lines (单位基本情况) may get an ASCII space inside the text where the line was "
        "stretched, e.g. `专业技术人员 3200`.",
        "- The `-scanned.pdf` files have no characters at all, only one JPEG image per page.",
        "",
    ]
    out += ["## Application forms (申请表)", "",
            "Labels are exactly as in the form. `申报类别` shows the full checkbox line. Credit codes: "
            "the 9 characters after the 8-character prefix are an organisation code with a valid GB 11714 "
            "check; the 18th character is the GB 32100 check unless marked INVALID.", ""]
    for u in UNITS.values():
        valid = "valid" if u.credit_code_valid else (
            f"**INVALID**: check character should be `{uscc_check(u.credit_code[:17])}`")
        out += [f"### {u.name} (`form-{u.slug}.docx` / `.pdf`)", "",
                f"Track: `{u.track}` ({TRACK_LABELS[u.track]}); credit code {valid}.", "",
                "| Label | Value |", "|---|---|"]
        for pairs in form_layout(u):
            for label, value in pairs:
                out.append(f"| {label} | {md_escape(value) if value else '(empty)'} |")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------------------------


def write_if_changed(path: Path, data: bytes) -> bool:
    """Leave an identical file untouched, so a re-run shows exactly what moved."""
    if path.exists() and path.read_bytes() == data:
        return False
    path.write_bytes(data)
    return True


def main() -> int:
    require_tools()
    SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
    MAILBOX_DIR.mkdir(parents=True, exist_ok=True)
    changed: list[str] = []

    docs: dict[str, docx.Document] = {}
    for u in UNITS.values():
        docs[f"form-{u.slug}"] = build_form(u)
    for le in LETTERS.values():
        docs[le.slug] = build_letter(le)
    for s in SUMMARIES.values():
        docs[s.slug] = build_summary(s)

    with tempfile.TemporaryDirectory(prefix="intake-samples-") as tmp:
        work = Path(tmp)
        docx_dir = work / "docx"
        pdf_dir = work / "pdf"
        docx_dir.mkdir()
        pdf_dir.mkdir()
        for stem, doc in docs.items():
            (docx_dir / f"{stem}.docx").write_bytes(docx_bytes(doc))

        libreoffice_to_pdf(sorted(docx_dir.glob("*.docx")), pdf_dir, work)

        # Everything is checked in the work folder first, so a failed check leaves the
        # committed samples as they were.
        for stem in docs:
            pdf = pdf_dir / f"{stem}.pdf"
            pdf.write_bytes(pin_pdf_metadata(pdf.read_bytes(), stem))
        for u in UNITS.values():
            check_form_pdf(pdf_dir / f"form-{u.slug}.pdf", u)
        for le in LETTERS.values():
            check_letter_pdf(pdf_dir / f"{le.slug}.pdf", le)
        for s in SUMMARIES.values():
            check_summary_pdf(pdf_dir / f"{s.slug}.pdf", s)
        found = {w for u in UNITS.values() for w in wrapped_labels(pdf_dir / f"form-{u.slug}.pdf")}
        any_unit = next(iter(UNITS.values()))
        wrapped = [label for pairs in form_layout(any_unit) for label, _ in pairs if label in found]
        for stem, (source, rotate, seed) in SCANS.items():
            scan = pdf_dir / f"{stem}.pdf"
            scan.write_bytes(scan_pdf(pdf_dir / f"{source}.pdf", work, rotate, seed))
            check_image_only(scan)

        for path in [*sorted(docx_dir.glob("*.docx")), *sorted(pdf_dir.glob("*.pdf"))]:
            if write_if_changed(SAMPLES_DIR / path.name, path.read_bytes()):
                changed.append(path.name)

    for m in MAILS:
        raw = build_mail(m)
        check_mail(m, raw)
        if write_if_changed(MAILBOX_DIR / m.filename, raw):
            changed.append(m.filename)

    if write_if_changed(SAMPLES_DIR / "MANIFEST.md", manifest(wrapped).encode("utf-8")):
        changed.append("MANIFEST.md")

    total = 0
    for path in sorted([*SAMPLES_DIR.iterdir(), *MAILBOX_DIR.glob("*.eml")]):
        size = path.stat().st_size
        total += size
        print(f"{size:>9,d}  {path.relative_to(ROOT)}")
    print(f"{total:>9,d}  total")
    print("changed: " + (", ".join(changed) if changed else "nothing (byte-identical to the last run)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
