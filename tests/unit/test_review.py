"""The clerk's review list and the round summary from an assessment, and what a clerk types. Pure."""
from __future__ import annotations

import io
import shutil
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook
from test_assess import AFTER, BEFORE, EDU, JINAN, QINGDAO, Round

from pipeline.model import Page, ReceiptState, Track
from pipeline.read.forms import field_names
from pipeline.round import review, stats
from pipeline.round.assess import Named
from pipeline.round.facts import Mail
from pipeline.round.target import Target

T = Target.parse

BJ = timezone(timedelta(hours=8))
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FIELDS = field_names(TEMPLATES)          # the form definition the project ships (templates/forms/annex1.yaml)


def mails(rnd: Round, outcome_of=None) -> list[Mail]:
    counts = {}
    for a in rnd.apps:
        counts[a.message] = counts.get(a.message, 0) + 1
    return [Mail(m.id, f"邮件{m.id}", "x@example.cn", m.received_at, (outcome_of or {}).get(m.id, m.outcome),
                             "无法识别" if (outcome_of or {}).get(m.id) == "review" else "", f"raw/{m.id}.eml",
                             m.recommender, (), counts.get(m.id, 0)) for m in rnd.messages]


@pytest.fixture
def rnd(config) -> Round:
    r = Round(config)
    r.mail(JINAN, 10, named=(Named("丁学院", Track.RURAL, "推荐函"),),
           apps=[("甲培训学院", Track.GENERAL), ("乙乡村学院", Track.RURAL)])
    r.mail(JINAN, 12, apps=[("丙培训学院", Track.GENERAL)])                       # over the quota: A3
    r.mail(JINAN, 13, apps=[("乙乡村学院", Track.RURAL)])                        # resubmission: A4 replaces A2
    r.mail(JINAN, 13, 11, sha="sha3", apps=[("乙乡村学院", Track.RURAL)])       # same bytes as the third
    r.mail(QINGDAO, 14)                                                          # to look at by hand
    return r


def test_the_list_says_what_why_and_what_to_do(rnd, config):
    result = rnd.run(AFTER)
    listing = review.build(result, mails(rnd, {5: "review"}), config, AFTER)
    by_target = {i.target: i for i in listing.items if i.target}
    assert set(by_target) >= {"A3", "M5"} and "A1" not in by_target and "A4" not in by_target
    quota = by_target["A3"]
    assert quota.category == "申请" and quota.status == "待核实"
    assert quota.problems[0].startswith(f"超出推荐名额：{JINAN}已推荐2个省级继续教育基地（限1个）")
    assert quota.actions[0].startswith("与推荐单位确认保留哪一个") and "--status accepted" in quota.actions[-1]
    assert by_target["M5"].actions[0] == "查看原始邮件 raw/5.eml，人工处理"
    missing = [i for i in listing.items if i.category == "缺申请表"]
    assert [(i.recommender, i.what) for i in missing] == [(JINAN, "丁学院")]
    assert "截止时间已过仍未收到" in missing[0].problems[0]
    lists = [i for i in listing.items if i.category in ("附件3", "附件4")]
    assert len(lists) == len(config.reconfirm_list) + len(config.audit_list)
    assert all(i.problems[0].startswith("已逾期") for i in lists)
    assert [(h.applicant, len(h.versions)) for h in listing.history] == [("乙乡村学院", 2)]
    assert "A2" in listing.history[0].versions[0] and "现行" in listing.history[0].versions[1]
    assert len(listing.duplicates) == 1 and listing.duplicates[0].startswith("M4")
    assert [p.target for p in listing.paper_missing] == ["A1", "A3", "A4"]

    printed = review.text(listing)
    assert f"[A3] 申请：{JINAN} / 丙培训学院（省级继续教育基地） — 待核实" in printed
    assert "纸质材料：0/3个申请已收到；尚未收到：A1 甲培训学院、A3 丙培训学院、A4 乙乡村学院" in printed


def test_the_quota_advice_names_the_application(rnd, config):
    listing = review.build(rnd.run(BEFORE), mails(rnd), config, BEFORE)
    quota = next(i for i in listing.items if i.target == "A3")
    assert "intake review set A3 --status rejected" in quota.actions[0] and "编号" not in quota.actions[0]


def test_round_level_items_have_numbers_and_the_clerk_can_close_them(rnd, config):
    listing = review.build(rnd.run(BEFORE), mails(rnd), config, BEFORE)
    by_target = {i.target: i for i in listing.items}
    assert by_target["F1-1"].category == "缺申请表" and by_target["F1-1"].what == "丁学院"
    assert [by_target[f"R{n}"].what for n in range(1, len(config.reconfirm_list) + 1)] == list(config.reconfirm_list)
    assert [by_target[f"S{n}"].what for n in range(1, len(config.audit_list) + 1)] == list(config.audit_list)
    assert by_target["S2"].actions[-1] == "处理完毕后：intake review set S2 --status handled --note 处理情况"
    assert not any(i.target == "" for i in listing.items)

    seen = lambda item: review.round_item_state(item, False)      # noqa: E731 — what record() stores
    result = rnd.run(BEFORE)
    rnd.correct("S2", "status", {"status": "handled", "seen": seen(result.round_item(T("S2")))}, by="鄢鸣")
    rnd.correct("S2", "note", "已电话提醒")
    rnd.correct("F1-1", "status", {"status": "handled", "seen": seen(result.round_item(T("F1-1")))})
    result = rnd.run(BEFORE)
    assert result.round_item(T("S2")).decision.by == "鄢鸣" and not result.unknown_targets
    open_items = {i.target for i in review.build(result, mails(rnd), config, BEFORE).items}
    assert not {"S2", "F1-1"} & open_items and "S1" in open_items
    # The reminder was before the deadline; after it, the office has something else to do.
    after = review.build(rnd.run(AFTER), mails(rnd), config, AFTER)
    s2 = next(i for i in after.items if i.target == "S2")
    assert "之后情况有变" in s2.problems[0] and s2.notes == ("已电话提醒",)


def test_list_advice_before_and_after_the_deadline(rnd, config):
    before = {i.target: i for i in review.build(rnd.run(BEFORE), mails(rnd), config, BEFORE).items}
    after = {i.target: i for i in review.build(rnd.run(AFTER), mails(rnd), config, AFTER).items}
    assert before["S1"].actions[0].startswith("提醒该机构于截止时间前报送")
    assert before["S1"].problems == ("未报送审验表",)
    assert after["S1"].actions[0].startswith("逾期未报送审验表（附件5）") and "提醒" not in after["S1"].actions[0]
    assert after["S1"].problems == ("已逾期，未报送审验表",) and after["S1"].status == "逾期"
    assert after["R1"].actions[0].startswith("逾期未申请重新确认：按通知三（三），不再保留省级继续教育基地资格")


def test_decided_items_leave_the_list_until_something_new_comes(rnd, config):
    rnd.correct("A3", "status", {"status": "accepted", "flags": ["quota_exceeded"]})
    rnd.correct("M5", "status", "handled")
    listing = review.build(rnd.run(BEFORE), mails(rnd, {5: "review"}), config, BEFORE)
    assert not {"A3", "M5"} & {i.target for i in listing.items}
    rnd.mail(EDU, 15, apps=[("丙培训学院", Track.GENERAL)])        # now a 多头申报 case as well
    listing = review.build(rnd.run(BEFORE), mails(rnd, {5: "review"}), config, BEFORE)
    reopened = next(i for i in listing.items if i.target == "A3")
    assert reopened.problems[0].startswith("人工核定（孙沛沛，") and "之后出现新问题" in reopened.problems[0]


def test_workbook_round_trip_records_only_what_the_clerk_typed(rnd, config):
    result = rnd.run(BEFORE)
    listing = review.build(result, mails(rnd), config, BEFORE)
    wb = load_workbook(io.BytesIO(review.review_xlsx(listing)))
    assert wb.sheetnames == ["待处理", "纸质材料", "历次报送"]
    ws = wb["待处理"]
    header = [c.value for c in ws[3]]
    assert header[-3:] == ["核定状态", "更正（字段=值，多项用；分隔）", "备注"]
    assert ws.data_validations.dataValidation[0].formula1 == '"已受理,待核实,不予受理,已处理"'
    # Untouched, the file means nothing new.
    untouched, problems = review.read_workbook(review.review_xlsx(listing), 2019, FIELDS)
    assert untouched == [] and problems == []

    row = next(r for r in ws.iter_rows(min_row=4) if r[0].value == "A3")
    row[header.index("核定状态")].value = "不予受理"
    row[header.index("更正（字段=值，多项用；分隔）")].value = ("年均培训人数=2,600；申报类别=乡村振兴专项\n"
                                                          "信用代码=52370100 4930 01174x")
    row[header.index("备注")].value = "=与济南市确认"
    paper = wb["纸质材料"]
    paper["F4"].value = datetime(2019, 9, 20)          # Excel turns a typed date into a date
    buf = io.BytesIO()
    wb.save(buf)
    changes, problems = review.read_workbook(buf.getvalue(), 2019, FIELDS)
    assert problems == []
    assert changes == [
        review.Change(T("A3"), "status", "rejected"),
        review.Change(T("A3"), "avg_trainees", 2600),
        review.Change(T("A3"), "track", "rural"),
        review.Change(T("A3"), "credit_code", "52370100493001174X"),
        review.Change(T("A3"), "note", "=与济南市确认"),
        review.Change(T(paper["A4"].value), "paper", {"copies": 0, "on": "2019-09-20"}),
    ]
    fresh = review.new_changes(changes, result, config.office.paper_copies)
    assert fresh[-1].value == {"copies": 3, "on": "2019-09-20"}        # the notice's 一式三份 by default


def test_the_same_values_again_are_not_new(rnd, config):
    rnd.correct("A1", "avg_trainees", 2600)
    rnd.correct("A1", "note", "已核实")
    rnd.correct("A1", "paper", {"copies": 3, "on": "2019-09-20"})
    result = rnd.run(BEFORE)
    same = [review.Change(T("A1"), "avg_trainees", 2600), review.Change(T("A1"), "note", "已核实"),
            review.Change(T("A1"), "paper", {"copies": 0, "on": "2019-09-20"}), review.Change(T("A1"), "applicant", "甲培训学院")]
    assert review.new_changes(same, result, 3) == []
    other = [review.Change(T("A1"), "avg_trainees", 2700), review.Change(T("A1"), "paper", {"copies": 0, "on": "", "undo": True})]
    assert review.new_changes(other, result, 3) == other


def test_a_row_that_cannot_be_read_is_named(rnd, config):
    listing = review.build(rnd.run(BEFORE), mails(rnd), config, BEFORE)
    wb = load_workbook(io.BytesIO(review.review_xlsx(listing)))
    ws = wb["待处理"]
    ws.cell(row=4, column=11).value = "大概可以"
    buf = io.BytesIO()
    wb.save(buf)
    _, problems = review.read_workbook(buf.getvalue(), 2019, FIELDS)
    assert len(problems) == 1 and problems[0].startswith("“待处理”第4行") and "状态“大概可以”无法识别" in problems[0]
    with pytest.raises(review.ReviewError, match="无法打开该文件"):
        review.read_workbook(b"not a workbook", 2019, FIELDS)


@pytest.mark.parametrize("text, expected", [("12", "A12"), (" a7 ", "A7"), ("M5", "M5"), ("m05", "M5"),
                                            ("r2", "R2"), ("S8", "S8"), ("f12-3", "F12-3"), ("F 4－1", "F4-1")])
def test_targets(text, expected):
    target = review.parse_target(text)
    assert str(target) == expected and Target.parse(str(target)) == target      # what the ledger keeps reads back


@pytest.mark.parametrize("text", ["F12", "X3", "A1-2", ""])
def test_targets_that_are_no_number_say_how_to_write_one(text):
    with pytest.raises(review.ReviewError, match="R2/S3"):
        review.parse_target(text)


@pytest.mark.parametrize("name, value, expected", [
    ("近三年年均培训人数", "3,200", ("avg_trainees", 3200)),
    ("avg_trainees", "3200", ("avg_trainees", 3200)),
    ("申报单位名称", " 济南职业技术培训学院 ", ("applicant", "济南职业技术培训学院")),
    ("unit_name", "甲", ("applicant", "甲")),
    ("申报类别", "原省级继续教育基地重新确认", ("track", "reconfirm")),
    ("track", "audit", ("track", "audit")),
    ("教学场地面积", "8600.0", ("floor_area", 8600)),
    ("年度继续教育经费投入", "12.5", ("funding", 12.5)),
    ("联系电话：", "0531-88016235", ("contact_phone", "0531-88016235")),
    ("邮编", "250014", ("postcode", "250014")),             # a label of the form definition
    ("信用代码", "52370100 4930 01174x", ("credit_code", "52370100493001174X")),
    ("固定教室", "22", ("classrooms", 22)),                 # rooms are counted: a whole number
])
def test_fields_as_a_clerk_types_them(name, value, expected):
    assert review.parse_field(name, value, FIELDS) == expected


@pytest.mark.parametrize("name, value, message", [
    ("培训人数很多", "1", "字段“培训人数很多”无法识别"),
    ("近三年年均培训人数", "约三千", "应为整数"),
    ("申报类别", "国家级", "申报类别“国家级”无法识别"),
    ("联系人", "  ", "联系人不能为空"),
    ("固定教室", "22.5", "固定教室应为整数"),
])
def test_fields_that_cannot_be_recorded_say_why(name, value, message):
    with pytest.raises(review.ReviewError, match=message):
        review.parse_field(name, value, FIELDS)


def test_statuses():
    assert review.parse_status("已受理", T("A1")) == "accepted" and review.parse_status("rejected", T("A1")) == "rejected"
    assert review.parse_status("已处理", T("M3")) == "handled"
    with pytest.raises(review.ReviewError, match="邮件、缺申请表和名单事项只能核定为“已处理”"):
        review.parse_status("已受理", T("M3"))
    assert review.parse_status("已处理", T("R2")) == review.parse_status("handled", T("F3-1")) == "handled"
    with pytest.raises(review.ReviewError, match="只能核定为“已处理”"):
        review.parse_status("accepted", T("S4"))
    with pytest.raises(review.ReviewError):
        review.parse_status("handled", T("A3"))


# ---------------------------------------------------------------- the round summary

def test_round_summary_counts_quota_use_and_lists(rnd, config):
    rnd.mail("直接报送", 16, apps=[(config.reconfirm_list[0], Track.RECONFIRM)])
    rnd.correct("A1", "paper", {"copies": 3, "on": "2019-09-20"})
    result = rnd.run(BEFORE)
    rows = [Mail(m.id, "", "", m.received_at, "review" if k == 4 else m.outcome, "", "", m.recommender, ())
            for k, m in enumerate(rnd.messages)]
    summary = stats.summarise(config, result, rows, BEFORE)
    jinan = summary.lines[0]
    assert jinan.name == JINAN and jinan.kind == "设区的市"
    assert jinan.per_track == {Track.GENERAL: 2, Track.RURAL: 1, Track.RECONFIRM: 0, Track.AUDIT: 0}
    assert jinan.quota == "2/3（省级基地1/1，乡村振兴专项1/2）" and jinan.over_quota == 1
    assert jinan.missing_forms == 1 and jinan.paper_received == 1
    assert summary.mail == {"收到邮件": 6, "申报邮件": 4, "重复邮件": 1, "忽略（非申报、自动回复等）": 0, "待人工查看": 1}
    assert summary.superseded == 1
    assert QINGDAO in summary.silent            # its only email went to a person: nothing of it counted yet
    assert "淄博市人力资源和社会保障局" in summary.silent and JINAN not in summary.silent
    text = stats.text(summary)
    assert (f"{JINAN}（设区的市）：3个（省级基地2，乡村振兴专项1）；名额2/3（省级基地1/1，乡村振兴专项1/2）；"
            "超出名额1个，缺申请表1个，待核实1个") in text
    assert "直接报送：1个（重新确认1）；名额—" in text
    assert f"附件3 原省级基地重新确认：1/{len(config.reconfirm_list)}家已申请；未申请重新确认：" in text
    assert "（已逾期）" not in text

    data = stats.stats_xlsx(summary)
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["统计", "图表", "问题", "名单", "未报送"]
    ws = wb["统计"]
    assert [c.value for c in ws[5]][:8] == [JINAN, "设区的市", 2, 1, 0, 0, 3, "2/3（省级基地1/1，乡村振兴专项1/2）"]
    total = next(r for r in ws.iter_rows(min_row=5, values_only=True) if r[0] == "合计")
    assert total[2:7] == (2, 1, 1, 0, 4)
    problems = {r[0]: r[1] for r in wb["问题"].iter_rows(min_row=5, values_only=True)}
    assert problems["超出推荐名额"] == 1 and problems["缺少申请表"] == 1
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert any(n.startswith("xl/charts/") for n in z.namelist())


def test_a_refused_receipt_is_an_item_and_a_waiting_one_a_warning(rnd, config):
    result = rnd.run(BEFORE)
    facts = mails(rnd)
    from dataclasses import replace

    facts[0] = replace(facts[0], receipt_state=ReceiptState.FAILED, receipt_reason="550 5.1.1 mailbox unavailable")
    facts[1] = replace(facts[1], receipt_state=ReceiptState.QUEUED, receipt_reason="暂未发出：connect: ConnectionRefusedError")
    listing = review.build(result, facts, config, BEFORE)
    refused = next(i for i in listing.items if i.target == "M1")
    assert refused.category == "回执" and "550 5.1.1 mailbox unavailable" in refused.problems[0]
    assert refused.actions[-1].startswith("处理完毕后：intake review set M1 --status handled")
    assert any(w.startswith("1封回执暂未发出") and "ConnectionRefusedError" in w for w in listing.warnings)
    assert "M2" not in {i.target for i in listing.items}


def test_a_needs_review_decision_keeps_the_application_on_the_list(rnd, config):
    rnd.correct("A1", "status", {"status": "needs_review", "flags": []})
    rnd.correct("A1", "note", "核对场地面积")
    listing = review.build(rnd.run(BEFORE), mails(rnd), config, BEFORE)
    (item,) = [i for i in listing.items if i.target == "A1"]
    assert item.status == "待核实" and item.notes == ("核对场地面积",) and item.decision.startswith("待核实")


@pytest.mark.parametrize("typed, year, day", [
    ("2019-09-21", 2019, "2019-09-21"), ("2019/9/21", 2019, "2019-09-21"), ("2019年9月21日", 2019, "2019-09-21"),
    ("9月21日", 2019, "2019-09-21"), ("2019.9.21", 2019, "2019-09-21"), (" 9月2日 ", 2020, "2020-09-02")])
def test_days_as_clerks_write_them(typed, year, day):
    from pipeline.dates import parse_day

    assert parse_day(typed, year) == day


@pytest.mark.parametrize("typed, says", [("2019-13-40", "不存在"), ("9月31日", "不存在"), ("下周二", "无法识别"),
                                         ("2019-02-29", "不存在")])
def test_impossible_days_are_refused_in_chinese(typed, says):
    from pipeline.dates import BadDay, parse_day

    with pytest.raises(BadDay, match=says) as caught:
        parse_day(typed, 2019)
    assert typed in str(caught.value)


def test_the_paper_sheet_refuses_an_impossible_day_and_names_the_row(rnd, config):
    listing = review.build(rnd.run(BEFORE), mails(rnd), config, BEFORE)
    wb = load_workbook(io.BytesIO(review.review_xlsx(listing)))
    ws = wb[review.SHEET_PAPER]
    headers = [c.value for c in ws[3]]
    ws.cell(row=4, column=headers.index("收到日期") + 1, value="2019-13-40")
    ws.cell(row=5, column=headers.index("收到日期") + 1, value="9月20日")
    buf = io.BytesIO()
    wb.save(buf)
    changes, problems = review.read_workbook(buf.getvalue(), 2019, FIELDS)
    assert problems == [f"“纸质材料”第4行（{ws.cell(row=4, column=1).value}）：日期“2019-13-40”不存在（2019年13月40日）"]
    assert [c.value["on"] for c in changes if c.field == "paper"] == ["2019-09-20"]


def test_a_synonym_added_to_the_form_definition_is_read_and_accepted_in_review(tmp_path):
    # A clerk adds the office's own wording of a label to the YAML, as the README invites: the reader
    # anchors on it, and corrections take it, with no code changed.
    from pipeline.model import Box
    from pipeline.read.fields import extract
    from pipeline.read.forms import load_form

    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    form = templates / "forms" / "annex1.yaml"
    text = form.read_text(encoding="utf-8")
    old = "[专职师资人数, 专职教师人数, 专职师资]"
    assert old in text
    form.write_text(text.replace(old, "[专职师资人数, 专职教师人数, 专职师资, 在编教师数]"), encoding="utf-8")

    with pytest.raises(review.ReviewError, match="无法识别"):
        review.parse_field("在编教师数", "35", FIELDS)          # not a word of the shipped definition
    assert review.parse_field("在编教师数", "35", field_names(templates)) == ("fulltime_teachers", 35)
    spec = load_form(form)
    page = Page(1, (Box("在编教师数", 10, 100, 80, 112), Box("35", 90, 100, 120, 112)))
    assert extract([page], spec).fields["fulltime_teachers"] == 35
