"""The round as a whole through the CLI, on real emails carrying the sample PDFs: duplicates,
resubmissions, quotas, 多头申报, the receipts that say so, and the clerk's review list and corrections."""
from __future__ import annotations

import email
import json
import os
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from conftest import deliver_samples, make_config, make_environ
from docx import Document as open_docx
from openpyxl import load_workbook

from pipeline.demo import samples
from pipeline.mail.maildir import deliver
from pipeline.read.uscc import check_char

ROUND = "2019年省级专业技术人员继续教育基地申报"
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
BJ = timezone(timedelta(hours=8))
JINAN = "济南市人力资源和社会保障局"
SDUT = "山东理工职业学院继续教育学院"
ENERGY = "山东能源集团技师学院培训中心"
ENERGY_CODE = "91370000163061123"
VALID_ENERGY_CODE = ENERGY_CODE + check_char(ENERGY_CODE)


def intake(environ, *args, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, **environ, "USER": "tester"}
    proc = subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True, env=env)
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def submission(sender: str, subject: str, when: datetime, files: list[tuple[str, str]], message_id: str) -> bytes:
    """An email as a city's Outlook would send it, the documents being the samples made by real tools."""
    msg = EmailMessage()
    msg["Received"] = f"from mail.example.cn by mx.shandong.cn with ESMTPS; {format_datetime(when)}"
    msg["From"] = sender
    msg["To"] = "ymrst@shandong.cn"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when - timedelta(minutes=3))
    msg["Message-ID"] = message_id
    msg.set_content("您好：\n\n现报送继续教育基地申报材料，请查收。\n", charset="utf-8")
    for shown, sample in files:
        msg.add_attachment((SAMPLES / sample).read_bytes(), maintype="application", subtype="pdf", filename=shown)
    return msg.as_bytes()


def sample(name: str) -> bytes:
    return dict(samples())[name]


def export(environ) -> dict:
    return json.loads(intake(environ, "export").stdout)


def outbox(root: Path) -> list[email.message.EmailMessage]:
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted((root / "mail" / "sent" / "new").iterdir())]


def apps_of(data: dict, applicant: str) -> list[dict]:
    return [a for a in data["applications"] if a["applicant"] == applicant]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("round")


@pytest.fixture(scope="module")
def environ(root) -> dict[str, str]:
    return make_environ(root)


@pytest.fixture(scope="module")
def first(environ, root):
    cfg = make_config(environ)
    deliver_samples(cfg, {"01-jinan-city.eml", "02-edu-department.eml", "08-energy-enterprise.eml"})
    inbox = cfg.mailbox.path
    # The same bytes once more: the server delivered the city's email twice.
    deliver(inbox, sample("01-jinan-city.eml"), key="again-01", received_at=datetime(2019, 9, 10, 10, 16, tzinfo=BJ))
    # 济南 also recommends the unit 教育厅 recommends: a second 省级基地 (quota 1) and 多头申报.
    deliver(inbox, submission("济南市人社局 <rsj@jinan.example.cn>", "济南市继续教育基地申报",
                              datetime(2019, 9, 13, 9, 0, tzinfo=BJ),
                              [("申请表-山东理工职业学院继续教育学院.pdf", "form-sdut-continuing-edu.pdf")],
                              "<jinan-2@mail.jinan.example.cn>"),
            key="jinan-2", received_at=datetime(2019, 9, 13, 9, 0, tzinfo=BJ))
    # 章丘's form sent again: it replaces the one of 9月10日.
    deliver(inbox, submission("济南市人社局 <rsj@jinan.example.cn>", "济南市继续教育基地申报",
                              datetime(2019, 9, 14, 15, 30, tzinfo=BJ),
                              [("申请表-章丘农业技术推广培训中心（修改）.pdf", "form-zhangqiu-agri-center.pdf")],
                              "<jinan-3@mail.jinan.example.cn>"),
            key="jinan-3", received_at=datetime(2019, 9, 14, 15, 30, tzinfo=BJ))
    proc = intake(environ, "poll", "--once")
    return proc, export(environ)


def test_the_duplicate_email_produces_nothing(first, root):
    proc, data = first
    assert "收取邮件 6 封" in proc.stdout
    dups = [m for m in data["messages"] if m["outcome"] == "ignored"]
    assert len(dups) == 1
    assert dups[0]["reason"] == "重复邮件" and dups[0]["duplicate_of"] == "<sample-01.jinan@mail.jinan.example.cn>"
    assert dups[0]["receipt_sent"] is False
    # one application per form, whatever came twice; one receipt per distinct email
    assert len(apps_of(data, "济南职业技术培训学院")) == 1
    receipts = outbox(root)
    assert len(receipts) == 5
    assert sorted(m["In-Reply-To"] for m in receipts).count("<sample-01.jinan@mail.jinan.example.cn>") == 1


def test_quota_and_multiple_recommenders(first):
    _, data = first
    jinan_sdut, = [a for a in apps_of(data, SDUT) if a["recommender"] == JINAN]
    edu_sdut, = [a for a in apps_of(data, SDUT) if a["recommender"] == "山东省教育厅"]
    # (a missing_recommendation_letter too, once the 推荐函's list is read: it does not name this unit)
    assert {"quota_exceeded", "duplicate_applicant"} <= set(jinan_sdut["flags"])
    assert jinan_sdut["status"] == "needs_review"
    assert edu_sdut["flags"] == ["duplicate_applicant"] and edu_sdut["status"] == "needs_review"
    first_general, = apps_of(data, "济南职业技术培训学院")
    assert first_general["status"] == "accepted" and first_general["flags"] == []


def test_the_resubmission_supersedes(first):
    _, data = first
    old, new = apps_of(data, "章丘农业技术推广培训中心")
    assert old["superseded_by"] == new["id"] and new["superseded_by"] is None
    assert old["flags"] == ["superseded"] and new["flags"] == []
    assert new["message_id"] == "<jinan-3@mail.jinan.example.cn>"


def test_tables_and_receipts_speak_the_round_findings(first, root):
    rnd = root / "output" / ROUND
    ws = load_workbook(rnd / JINAN / f"附件2_申报汇总表_{JINAN}.xlsx").worksheets[0]
    rows = {r[1]: r for r in ws.iter_rows(min_row=5, values_only=True)}
    assert list(rows) == ["济南职业技术培训学院", "平阴乡村人才学院", SDUT, "章丘农业技术推广培训中心"]
    remark = rows[SDUT][8]
    assert remark.startswith("待核实；")
    assert f"超出推荐名额：{JINAN}已推荐2个省级继续教育基地（限1个）" in remark
    assert "同一单位多头申报：该单位经2个推荐单位申报" in remark and "山东省教育厅" in remark
    # The header line names the 填表人 when a 推荐函/汇总表 gave one; the row count is the standing ones.
    assert rows["章丘农业技术推广培训中心"][8] in ("", None)

    receipt = next(m for m in outbox(root) if m["In-Reply-To"] == "<jinan-2@mail.jinan.example.cn>")
    body = receipt.get_body(("plain",)).get_content()
    assert f"超出推荐名额：{JINAN}已推荐2个省级继续教育基地（限1个）" in body
    assert "受理状态：待核实" in body
    assert receipt["Message-ID"].startswith("<receipt-")     # the same receipt, only its words updated


def test_a_duplicate_by_message_id_in_a_later_pass(first, environ, root):
    raw = sample("02-edu-department.eml").replace(b"16:40:00 +0800", b"17:05:00 +0800", 1)
    deliver(make_config(environ).mailbox.path, raw, key="again-02", received_at=datetime(2019, 9, 12, 17, 5, tzinfo=BJ))
    before = len(outbox(root))
    proc = intake(environ, "poll", "--once")
    assert "收取邮件 1 封" in proc.stdout and "发送回执 0 封" in proc.stdout
    data = export(environ)
    again = [m for m in data["messages"] if m["duplicate_of"] == "<sample-02.edu@mail.edu.example.cn>"]
    assert len(again) == 1 and again[0]["outcome"] == "ignored"
    assert len(apps_of(data, SDUT)) == 2 and len(outbox(root)) == before


def test_review_list_set_import_paper_and_report(first, environ, root):
    rnd = root / "output" / ROUND
    data = export(environ)
    jinan_sdut = next(a for a in apps_of(data, SDUT) if a["recommender"] == JINAN)
    energy, = apps_of(data, ENERGY)

    listing = intake(environ, "review").stdout
    assert f"[A{jinan_sdut['id']}] 申请：{JINAN} / {SDUT}" in listing
    assert f"[A{energy['id']}]" in listing and "统一社会信用代码校验未通过" in listing
    assert "处理：与推荐单位确认保留哪一个" in listing
    assert "附件3" in listing and "已逾期" in listing          # it is long after 2019's deadline
    assert "纸质材料：0/" in listing
    assert "重新报送记录" in listing and "章丘农业技术推广培训中心" in listing
    assert "重复邮件（未再处理、未再回执）" in listing
    sheet = rnd / "待处理.xlsx"
    assert load_workbook(sheet).sheetnames == ["待处理", "纸质材料", "历次报送"]

    # A decision on the command line: 济南 withdraws its second 省级基地.
    proc = intake(environ, "review", "set", f"A{jinan_sdut['id']}", "--status", "不予受理", "--note", "与济南市确认撤回",
                  "--by", "孙沛沛")
    assert "已记录（孙沛沛）" in proc.stdout
    data = export(environ)
    withdrawn = next(a for a in data["applications"] if a["id"] == jinan_sdut["id"])
    edu = next(a for a in apps_of(data, SDUT) if a["recommender"] == "山东省教育厅")
    assert withdrawn["status"] == "rejected"
    assert edu["status"] == "accepted" and edu["flags"] == []       # the 多头申报 is answered by it

    # Corrections typed into 待处理.xlsx, as a clerk would in Excel or WPS.
    intake(environ, "review")
    wb = load_workbook(sheet)
    ws = wb["待处理"]
    header = [c.value for c in ws[3]]
    row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == f"A{energy['id']}")
    row[header.index("更正（字段=值，多项用；分隔）")].value = \
        f"统一社会信用代码={VALID_ENERGY_CODE}；近三年年均培训人数=2100"
    row[header.index("备注")].value = "已与单位电话核实"
    paper = wb["纸质材料"]
    prow = next(r for r in paper.iter_rows(min_row=4) if r[2].value == "济南职业技术培训学院")
    prow[5].value = "2019-09-20"
    wb.save(sheet)
    proc = intake(environ, "review", "import", str(sheet), "--by", "鄢鸣")
    assert f"A{energy['id']} 统一社会信用代码更正为“{VALID_ENERGY_CODE}”" in proc.stdout
    assert "近三年年均培训人数更正为“2100”" in proc.stdout and "纸质材料已收到（2019-09-20，3份）" in proc.stdout
    assert "没有新的变化" in intake(environ, "review", "import", str(sheet), "--by", "鄢鸣").stdout

    def check_corrected() -> None:
        data = export(environ)
        fixed, = apps_of(data, ENERGY)
        assert fixed["fields"]["credit_code"] == VALID_ENERGY_CODE and fixed["fields"]["avg_trainees"] == 2100
        assert fixed["flags"] == ["subject_nonconforming"] and fixed["status"] == "accepted"
        ws = load_workbook(rnd / "山东能源集团有限公司" / "附件2_申报汇总表_山东能源集团有限公司.xlsx").worksheets[0]
        assert ws["F5"].value == 2100

    check_corrected()
    intake(environ, "poll", "--once")           # a later pass keeps every correction
    check_corrected()

    listing = intake(environ, "review", "paper", f"A{energy['id']}", "--by", "鄢鸣").stdout
    assert "纸质材料已收到" in listing
    listing = intake(environ, "review", "--no-file").stdout
    assert f"[A{energy['id']}]" not in listing and "纸质材料：2/" in listing

    wrong = intake(environ, "review", "set", "A999", "avg_trainees=1", ok=False)
    assert wrong.returncode == 2 and "没有编号为 A999 的申请" in wrong.stderr
    wrong = intake(environ, "review", "set", f"A{energy['id']}", "年均培训人数=很多", ok=False)
    assert wrong.returncode == 2 and "应为整数" in wrong.stderr

    report = intake(environ, "report").stdout
    assert f"{JINAN}（设区的市）：" in report and "名额3/3（省级基地1/1，乡村振兴专项2/2）" in report
    assert "另有1份申请已被重新报送替换" in report
    assert "附件4 培训机构审验：0/8家已申请" in report
    with zipfile.ZipFile(rnd / "统计.xlsx") as z:
        charts = [n for n in z.namelist() if n.startswith("xl/charts/chart")]
        assert charts
        chart = z.read(charts[0]).decode()
        assert "<barChart>" in chart and '<grouping val="stacked"/>' in chart
        assert "<f>'统计'!$A$5:$A$" in chart           # one bar per recommender, from the table above
    stats = load_workbook(rnd / "统计.xlsx")["统计"]
    line = next(r for r in stats.iter_rows(min_row=5, values_only=True) if r[0] == JINAN)
    # 省级基地, 乡村振兴, 重新确认, 审验, 合计: the standing applications, the rejected one included…
    assert line[2:7] == (2, 2, 0, 0, 4)
    assert line[9:12] == (3, 0, 1)                # …which the 已受理/待核实/不予受理 columns tell apart


# ---------------------------------------------------------------- a late email, a reply subject, unknown senders

@pytest.fixture(scope="module")
def second_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("round-late")


@pytest.fixture(scope="module")
def second(second_root):
    environ = make_environ(second_root)
    cfg = make_config(environ)
    deliver_samples(cfg, {"07-heze-late.eml", "08-energy-enterprise.eml"})
    # Two senders no recommender uses, both filing the same unit: neither may replace the other.
    for i, sender in enumerate(("张老师 <zhang@163.example.com>", "李老师 <li@qq.example.com>")):
        when = datetime(2019, 9, 15 + i, 9, 0, tzinfo=BJ)
        deliver(cfg.mailbox.path, submission(sender, "山东理工职业学院继续教育学院继续教育基地申报", when,
                                             [("申请表-山东理工职业学院继续教育学院.pdf", "form-sdut-continuing-edu.pdf")],
                                             f"<unknown-{i}@example.com>"), key=f"unknown-{i}", received_at=when)
    intake(environ, "poll", "--once")
    return environ, export(environ)


def test_a_late_emails_receipt_says_it_is_not_accepted_and_wants_no_paper(second, second_root):
    _, data = second
    heze = next(m for m in data["messages"] if m["message_id"] == "<sample-07.heze@mail.heze.example.cn>")
    assert heze["reason"].startswith("逾期报送：邮件于2019年9月23日")        # the message-level problem, in Chinese
    receipt = next(m for m in outbox(second_root) if m["In-Reply-To"] == heze["message_id"])
    body = receipt.get_body(("plain",)).get_content()
    assert "逾期不再受理，本邮件所报材料不予受理，无需邮寄纸质材料" in body
    assert "邮寄至" not in body and "请于2019年9月22日前" not in body
    letter, = (second_root / "output" / ROUND / "菏泽市人力资源和社会保障局" / "受理回执").glob("*.docx")
    text = "\n".join(p.text for p in open_docx(letter).paragraphs)
    assert "逾期不再受理" in text and "邮寄至" not in text


def test_the_receipt_subject_drops_the_reply_prefix(second, second_root):
    receipt = next(m for m in outbox(second_root) if m["In-Reply-To"] == "<sample-08.energy@mail.energy.example.cn>")
    assert receipt["Subject"] == "受理回执：山东能源集团继续教育基地申报材料"


def test_two_unknown_senders_keep_their_own_applications(second):
    _, data = second
    both = apps_of(data, SDUT)
    assert len(both) == 2 and all(a["superseded_by"] is None for a in both)
    assert all(a["status"] == "needs_review" and "unknown_sender" in a["flags"] for a in both)


def test_the_clerk_accepts_the_late_one_and_it_counts_like_a_timely_one(second):
    environ, data = second
    late, = apps_of(data, "郓城乡村振兴人才培训学校")
    assert late["status"] == "rejected"
    intake(environ, "review", "set", f"A{late['id']}", "--status", "accepted", "--note", "邮件系统延误，已核实")
    accepted, = apps_of(export(environ), "郓城乡村振兴人才培训学校")
    assert accepted["status"] == "accepted"
    report = intake(environ, "report").stdout
    assert "菏泽市人力资源和社会保障局（设区的市）：1个（乡村振兴专项1）；名额1/3（省级基地0/1，乡村振兴专项1/2）" in report


def test_round_level_items_are_numbered_and_a_clerk_can_close_them(second):
    environ, _ = second
    listing = intake(environ, "review", "--no-file").stdout
    assert "[S1] 附件4：" in listing and "[R1] 附件3：" in listing
    assert "逾期未报送审验表（附件5）" in listing and "提醒该机构" not in listing     # long after 2019's deadline
    proc = intake(environ, "review", "set", "s1", "--status", "已处理", "--note", "已报处领导", "--by", "鄢鸣")
    assert "S1 核定为“已处理”" in proc.stdout
    assert "[S1]" not in intake(environ, "review", "--no-file").stdout
    intake(environ, "poll", "--once")                   # a later pass keeps the clerk's answer
    listing = intake(environ, "review", "--no-file").stdout
    assert "[S1]" not in listing and "[S2] 附件4：" in listing
    wrong = intake(environ, "review", "set", "S99", "--status", "handled", ok=False)
    assert wrong.returncode == 2 and "没有编号为 S99 的附件4名单机构" in wrong.stderr
    wrong = intake(environ, "review", "set", "R1", "avg_trainees=3000", ok=False)
    assert wrong.returncode == 2 and "没有可更正的字段" in wrong.stderr
