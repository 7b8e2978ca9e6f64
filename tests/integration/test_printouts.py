"""What a clerk prints, as LibreOffice prints it: a province-sized round (51 applications from 33
recommenders) rendered to PDF, then measured — pages, the size every character prints at, and whether
every cell's text is there in full, inside its cell (a row too short for its text is cut off, and the
rest spills over the next row). Needs LibreOffice Writer and Calc with CJK fonts (`make test` installs
them); without them these tests fail, they do not skip."""
from __future__ import annotations

import math
import re
from pathlib import Path

import pdfplumber
import pytest

from pipeline.model import Flag, Status, Track
from pipeline.outputs.pdf import soffice, to_pdf
from pipeline.outputs.render import SummaryRow, SummarySheet, summary_docx, summary_xlsx
from pipeline.round.assess import ListEntry
from pipeline.round.review import ACTIONS, HistoryLine, Item, PaperLine, ReviewList, review_xlsx
from pipeline.round.stats import TRACKS, RecommenderLine, RoundSummary, stats_xlsx

pytestmark = pytest.mark.office

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
ROUND = "2019年省级专业技术人员继续教育基地申报"
READABLE = 9.0 - 0.01   # points: 小五, the smallest size the office prints (less a rounding in the PDF)

CITIES = ["济南", "青岛", "淄博", "枣庄", "东营", "烟台", "潍坊", "济宁", "泰安", "威海", "日照", "临沂", "德州",
          "聊城", "滨州", "菏泽"]
RECOMMENDERS = ([f"{c}市人力资源和社会保障局" for c in CITIES]
                + ["山东省教育厅", "山东省卫生健康委员会", "山东省农业农村厅", "山东省科学技术厅", "山东省住房和城乡建设厅",
                   "山东省交通运输厅", "山东省水利厅", "山东省文化和旅游厅", "山东省自然资源厅", "山东省应急管理厅",
                   "山东省生态环境厅", "山东省工业和信息化厅"]
                + ["山东能源集团有限公司", "山东高速集团有限公司", "山东省港口集团有限公司", "浪潮集团有限公司", "直接报送"])
DOMAINS = [
    "新一代信息技术、高端装备制造、现代金融服务、医养健康、文化创意等新旧动能转换重点领域专业技术人员知识更新培训",
    "设施蔬菜、粮食作物高产栽培、畜禽健康养殖、农产品质量安全及农村电子商务等乡村振兴领域农业技术人员培训",
    "智能制造、工业互联网、新能源汽车、建筑信息模型(BIM)及职业院校“双师型”教师等领域专业技术人员继续教育",
    "水利工程建设与管理、水文水资源、农村供水、河湖长制及水土保持等水利行业专业技术人员继续教育",
    "油气勘探开发、石油化工、安全生产、节能环保及智慧油田等领域工程技术人员知识更新培训",
    "海洋牧场、海洋生物医药、港口物流与航运管理等海洋强省建设领域专业技术人才培训",
]
APPLICANTS = ["职业技术培训学院", "农业技术推广培训中心", "职业学院继续教育学院", "卫生职业学院继续教育中心",
              "工程技术人员培训基地", "海洋科技继续教育中心"]
REMARKS = [
    "", "", "", "", "",
    "待核实；超出推荐名额：该推荐单位已推荐2个省级继续教育基地（限1个），按送达先后本单位列第2个",
    "待核实；年均培训人数低于要求：近三年年均培训1500人，低于每年2000人的申报条件；统一社会信用代码校验未通过："
    "91370000163061123N不符合GB 32100-2015校验规则，请核对",
    "不予受理；逾期报送：邮件于2019年9月23日 09:30送达，截止时间为2019年9月22日 23:59",
]
TRACK_CYCLE = [Track.GENERAL, Track.RURAL, Track.GENERAL, Track.RECONFIRM, Track.GENERAL, Track.AUDIT, Track.RURAL]
N = 51


def _rows() -> tuple[SummaryRow, ...]:
    rows = []
    for i in range(N):
        recommender = RECOMMENDERS[i % len(RECOMMENDERS)]
        place = CITIES[i % len(CITIES)]
        rows.append(SummaryRow(
            seq=i + 1, applicant=f"{place}{APPLICANTS[i % len(APPLICANTS)]}",
            unit_type=["培训机构", "高等院校", "企业", "其他"][i % 4],
            track=TRACK_CYCLE[i % len(TRACK_CYCLE)].label, domains=DOMAINS[i % len(DOMAINS)],
            avg_trainees=str(2000 + 137 * i), contact=["王晓梅", "李红霞", "欧阳建国", "周敏"][i % 4],
            contact_phone=f"0531-8{6000000 + 7919 * i:07d}", remarks=REMARKS[i % len(REMARKS)], recommender=recommender))
    return tuple(rows)


ROWS = _rows()
PROVINCE = SummarySheet(ROUND, "", "", "", "2019年9月23日", ROWS)


def _summary() -> RoundSummary:
    lines = []
    for k, name in enumerate(RECOMMENDERS):
        mine = [r for r in ROWS if r.recommender == name]
        per_track = {t: sum(1 for r in mine if r.track == t.label) for t in TRACKS}
        kind = "设区的市" if name.endswith("人力资源和社会保障局") else "省直部门（单位）" if "厅" in name or "委员会" in name \
            else "直接报送" if name == "直接报送" else "省属企业"
        quota = "—" if kind == "直接报送" else f"{len(mine)}/3（省级基地{min(1, len(mine))}/1，乡村振兴专项0/2）"
        lines.append(RecommenderLine(
            name=name, kind=kind, per_track=per_track, quota=quota, over_quota=k % 3 == 0,
            statuses={Status.ACCEPTED: len(mine), Status.NEEDS_REVIEW: k % 2, Status.REJECTED: k % 5 == 0},
            missing_forms=k % 7 == 0, paper_received=len(mine) // 2))
    reconfirm = tuple(ListEntry(f"{c}继续教育基地（原省级）", ["applied", "missing", "late"][i % 3])
                      for i, c in enumerate(CITIES))
    audit = tuple(ListEntry(f"{c}专业技术人员培训学校", ["missing", "applied"][i % 2]) for i, c in enumerate(CITIES[:8]))
    return RoundSummary(
        round_name=ROUND, generated="2019年9月23日 08:00", deadline="2019年9月22日 23:59", overdue=True,
        mail={"收到邮件": 212, "申报邮件": 187, "重复邮件": 9, "忽略（非申报、自动回复等）": 11, "待人工查看": 5},
        lines=tuple(lines), silent=("山东省商务厅", "山东省民政厅"),
        flags=tuple((f, n) for n, f in enumerate(Flag, start=1) if f is not Flag.SENDER_AUTHENTICATED)[:12],
        superseded=4, reconfirm=reconfirm, audit=audit)


def _review() -> ReviewList:
    flags = [Flag.QUOTA_EXCEEDED, Flag.LATE, Flag.INVALID_CREDIT_CODE, Flag.UNVERIFIED_SENDER, Flag.LOW_CONFIDENCE,
             Flag.DUPLICATE_APPLICANT, Flag.NOT_ON_RECONFIRM_LIST]
    items = []
    for k in range(24):
        row = ROWS[k * 2]
        flag = flags[k % len(flags)]
        problems = (f"{flag.label}：{REMARKS[5 + k % 3].split('；', 1)[1]}",) + (
            ("统一社会信用代码校验未通过：91370000163061123N不符合GB 32100-2015校验规则，请核对",) if k % 4 == 0 else ())
        items.append(Item(
            target=f"A{k * 2 + 1}", category="申请", recommender=row.recommender, what=row.applicant, track=row.track,
            received=f"2019年9月{10 + k % 12}日 09:{k:02d}", status=Status.NEEDS_REVIEW.label, problems=problems,
            actions=(ACTIONS[flag].format(id=f"A{k * 2 + 1}"),
                     "核实后核定：intake review set A1 --status accepted（或 rejected）"),
            notes=("电话核实中（孙沛沛，9月20日）",) if k % 5 == 0 else ()))
    paper = tuple(PaperLine(f"A{r.seq}", r.recommender, r.applicant, r.track, "已受理", "2019-09-20" if r.seq % 2 else "",
                            3 if r.seq % 2 else 0) for r in ROWS)
    history = tuple(HistoryLine(ROWS[k].recommender, ROWS[k].applicant,
                                (f"A{k + 1} 2019年9月10日 10:15 已被替换", f"A{k + 60} 2019年9月12日 16:40 现行"))
                    for k in range(5))
    return ReviewList(ROUND, "2019-09-23 08:00", tuple(items), paper, history,
                      ("M31 2019年9月18日 15:20《东营市继续教育基地申报》与 M30 完全相同",))


SUMMARY = _summary()
REVIEW = _review()


def flat(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "")


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> dict[str, list[dict]]:
    """Each file's pages as printed: the text, the size of every character, the tables' rows."""
    assert soffice(), ("LibreOffice is needed: apt-get install libreoffice-writer-nogui libreoffice-calc-nogui "
                              "fonts-noto-cjk")
    folder = tmp_path_factory.mktemp("printouts")
    files = {
        "province-word.docx": summary_docx(PROVINCE, TEMPLATES / "summary_province.docx"),
        "province-excel.xlsx": summary_xlsx([PROVINCE], "附件2"),
        "stats.xlsx": stats_xlsx(SUMMARY),
        "review.xlsx": review_xlsx(REVIEW),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    written = to_pdf([folder / name for name in files], timeout=300, fontconfig=TEMPLATES / "fonts.conf")
    assert len(written) == len(files), "LibreOffice made no PDF of some file (is libreoffice-calc-nogui installed?)"
    return {p.stem: _pages(p) for p in written}


def _pages(path: Path) -> list[dict]:
    with pdfplumber.open(path) as pdf:
        return [{"text": flat(p.extract_text()), "sizes": [c["size"] for c in p.chars],
                 "rows": [[flat(c) for c in row] for t in p.extract_tables() for row in t]} for p in pdf.pages]


def _smallest(pages: list[dict]) -> float:
    return min(size for p in pages for size in p["sizes"])


def _province_rows(pages: list[dict]) -> list[list[str]]:
    return [r for p in pages for r in p["rows"] if r and r[0].isdigit()]


def _expected(row: SummaryRow) -> list[str]:
    return [str(row.seq), flat(row.recommender), flat(row.applicant), flat(row.unit_type), flat(row.track),
            flat(row.domains), row.avg_trainees, row.contact, row.contact_phone, flat(row.remarks)]


@pytest.mark.parametrize("name", ["province-word", "province-excel"])
def test_province_table_fits_eight_rows_a_page_at_a_readable_size_every_cell_whole(printed, name):
    pages = printed[name]
    assert len(pages) <= math.ceil(N / 8), f"{N} rows took {len(pages)} pages"
    assert _smallest(pages) >= READABLE
    # every row once, in order, none split over two pages, each cell's text whole and inside its cell
    assert _province_rows(pages) == [_expected(r) for r in ROWS]
    assert all("申报单位名称" in p["text"] for p in pages)                  # the header row on every page
    assert flat(f"附件2山东省专业技术人员继续教育基地申报汇总表全省汇总 申报批次：{ROUND}") in pages[0]["text"]


def test_statistics_print_at_a_readable_size_one_table_across_and_the_chart_whole(printed):
    pages = printed["stats"]
    assert _smallest(pages) >= READABLE
    header = ["推荐单位", "类别", "省级基地", "乡村振兴专项", "重新确认", "审验", "合计", "名额使用", "超出名额", "已受理",
              "待核实", "不予受理", "缺申请表", "纸质材料已收"]
    table = [r for p in pages for r in p["rows"] if len(r) == len(header)]
    assert table[0] == header                              # all fourteen columns across one page
    names = [r[0] for r in table if r[0] not in ("推荐单位", "合计")]
    assert names == [flat(n) for n in RECOMMENDERS]
    quota = {r[0]: r[7] for r in table}
    assert all(quota[flat(line.name)] == flat(line.quota) for line in SUMMARY.lines)
    chart = [p for p in pages if "各推荐单位申报数（按申报类别）" in p["text"]]
    assert len(chart) == 1 and all(flat(n) in chart[0]["text"] for n in RECOMMENDERS)


def test_the_lists_print_unit_and_state_side_by_side(printed):
    # 名单: a unit and whether it applied on the same line of the same page, not 情况 on a page of its own
    rows = [r for p in printed["stats"] for r in p["rows"] if len(r) == 3]
    for entry in SUMMARY.reconfirm:
        state = {"applied": "已申请", "late": "逾期申请", "missing": "未申请（已逾期）"}[entry.state]
        assert ["附件3重新确认", flat(entry.name), state] in rows


def test_review_list_prints_at_a_readable_size_every_problem_whole(printed):
    pages = printed["review"]
    assert _smallest(pages) >= READABLE
    rows = {r[0]: r for p in pages for r in p["rows"] if len(r) == 13 and re.fullmatch(r"A\d+", r[0])}
    for item in REVIEW.items:
        got = rows[item.target]
        assert got[:10] == [flat(x) for x in (item.target, item.category, item.recommender, item.what, item.track,
                                              item.received, item.status, "\n".join(item.problems),
                                              "\n".join(item.actions), "\n".join(item.notes))], item.target
    paper = [r for p in pages for r in p["rows"] if len(r) == 7 and r[0].startswith("A")]
    assert len(paper) >= N and {r[2] for r in paper} >= {flat(r.applicant) for r in ROWS}
