"""The round assessment on hand-made ledger facts: quotas, resubmissions, duplicates, 多头申报, lists,
and the clerk's corrections. Pure: no files, no mail."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.model import Finding, Flag, Status, Track
from pipeline.round import stats
from pipeline.round.assess import UNKNOWN_RECOMMENDER, AppFacts, Correction, MessageFacts, Named, assess, confirmed_senders
from pipeline.round.target import Entry, Target
from pipeline.rules import field_findings, status_for

BJ = timezone(timedelta(hours=8))
JINAN = "济南市人力资源和社会保障局"
QINGDAO = "青岛市人力资源和社会保障局"
EDU = "山东省教育厅"
KIND = {JINAN: "city", QINGDAO: "city", EDU: "department", "直接报送": "direct"}
BEFORE = datetime(2019, 9, 21, 12, tzinfo=BJ)   # "now" before the deadline…
AFTER = datetime(2019, 10, 8, tzinfo=BJ)        # …and after it
VALID_CODE = "52370100493001174X"


class Round:
    """A growing ledger: messages and applications with ids in the order they were added."""

    def __init__(self, config):
        self.config = config
        self.messages: list[MessageFacts] = []
        self.apps: list[AppFacts] = []
        self.corrections: list[Correction] = []
        self._ids = itertools.count(1)

    def address(self, recommender: str, mid: int) -> str:
        """One of the recommender's registered addresses (a stranger's for others)."""
        registered = next((r.senders for r in self.config.recommenders if r.name == recommender), ())
        first = registered[0] if registered else "@example.cn"
        return f"rsj{mid}{first}" if first.startswith("@") else first

    def mail(self, recommender: str, day: int, hour: int = 10, *, month: int = 9, message_id: str | None = None,
             sha: str | None = None, named: tuple[Named, ...] = (), apps=(), letter: bool = False,
             listed_only=(), sender: str = "", filled_on: str = "") -> MessageFacts:
        """apps: (applicant, track[, fields[, findings]]) with a 申请表; listed_only: (applicant, track)
        a 推荐函 in this email lists without a 申请表 (the reading makes a form-less application of it)."""
        mid = len(self.messages) + 1
        m = MessageFacts(mid, message_id or f"<m{mid}@example.cn>", sha or f"sha{mid}",
                         datetime(2019, month, day, hour, tzinfo=BJ), "submission", recommender,
                         KIND.get(recommender, ""), named=named, has_letter=letter,
                         sender=sender or self.address(recommender, mid), filled_on=filled_on)
        self.messages.append(m)
        for applicant, track in listed_only:
            self.apps.append(AppFacts(next(self._ids), mid, m.received_at, recommender, m.recommender_kind,
                                      applicant, track, {"unit_name": applicant},
                                      (Finding(Flag.MISSING_APPLICATION_FORM, f"推荐函所列“{applicant}”未见申请表"),),
                                      has_form=False))
        for applicant, track, *rest in apps:
            fields = rest[0] if rest else {}
            findings = tuple(rest[1]) if len(rest) > 1 else ()
            if m.received_at > self.config.round.deadline:
                findings += (Finding(Flag.LATE, "逾期"),)
            if not m.recommender_kind:
                findings += (Finding(Flag.UNKNOWN_SENDER, f"发件人 {m.sender} 不在推荐单位名单中"),)
            findings += tuple(field_findings(applicant, track, fields, self.config))
            self.apps.append(AppFacts(next(self._ids), mid, m.received_at, recommender, m.recommender_kind,
                                      applicant, track, fields, findings))
        return m

    def correct(self, target: str, field: str, value, by: str = "孙沛沛") -> None:
        self.corrections.append(Correction(Target.parse(target), field, value, by,
                                           f"2019-09-2{len(self.corrections)}T09:00:00+00:00"))

    def run(self, now=BEFORE):
        return assess(self.messages, self.apps, self.corrections, self.config, now)


def by_name(result) -> dict:
    return {v.applicant: v for v in result.current}


def details(v, flag: Flag) -> list[str]:
    return [f.detail for f in v.findings if f.flag is flag]


@pytest.fixture
def rnd(config) -> Round:
    return Round(config)


# ---------------------------------------------------------------- quotas

def test_city_second_general_exceeds_with_the_numbers_spelt_out(rnd):
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL)])
    rnd.mail(JINAN, 12, apps=[("乙培训学院", Track.GENERAL), ("丙乡村学院", Track.RURAL)])
    v = by_name(rnd.run())
    assert v["甲培训学院"].status is Status.ACCEPTED and not v["甲培训学院"].findings
    assert v["丙乡村学院"].status is Status.ACCEPTED
    assert v["乙培训学院"].status is Status.NEEDS_REVIEW
    [text] = [f.text() for f in v["乙培训学院"].findings]
    assert text.startswith("超出推荐名额：济南市人力资源和社会保障局已推荐2个省级继续教育基地（限1个）")
    assert "第2个" in text


def test_city_third_rural_exceeds_but_reconfirm_and_audit_take_no_place(rnd, config):
    rnd.mail(JINAN, 10, apps=[("甲", Track.RURAL), ("乙", Track.RURAL), ("丙", Track.GENERAL),
                              (config.reconfirm_list[0], Track.RECONFIRM), (config.audit_list[0], Track.AUDIT)])
    rnd.mail(JINAN, 11, apps=[("丁", Track.RURAL)])
    v = by_name(rnd.run())
    exceeded = [name for name, x in v.items() if Flag.QUOTA_EXCEEDED in x.flags]
    assert exceeded == ["丁"]
    assert details(v["丁"], Flag.QUOTA_EXCEEDED)[0].startswith(
        f"{JINAN}已推荐3个{Track.RURAL.label}（限2个）")


def test_department_total_of_one(rnd):
    rnd.mail(EDU, 10, apps=[("山东理工职业学院继续教育学院", Track.GENERAL)])
    rnd.mail(EDU, 11, apps=[("山东师范大学培训中心", Track.RURAL)])
    v = by_name(rnd.run())
    assert Flag.QUOTA_EXCEEDED not in v["山东理工职业学院继续教育学院"].flags
    assert details(v["山东师范大学培训中心"], Flag.QUOTA_EXCEEDED)[0].startswith(
        "山东省教育厅已推荐2个备选单位（限1个）")


def test_which_one_exceeds_follows_delivery_time_not_processing_order(rnd):
    # The message processed first (lower ids) was delivered later: it is the one over the quota.
    rnd.mail(JINAN, 15, apps=[("晚到学院", Track.GENERAL)])
    rnd.mail(JINAN, 11, apps=[("早到学院", Track.GENERAL)])
    v = by_name(rnd.run())
    assert Flag.QUOTA_EXCEEDED in v["晚到学院"].flags
    assert Flag.QUOTA_EXCEEDED not in v["早到学院"].flags


def test_late_and_clerk_rejected_applications_take_no_place(rnd):
    rnd.mail(JINAN, 10, apps=[("甲", Track.GENERAL)])
    rnd.mail(JINAN, 11, apps=[("乙", Track.GENERAL)])
    rnd.mail(JINAN, 25, apps=[("丙", Track.GENERAL)])          # after the deadline
    first = by_name(rnd.run())
    assert Flag.QUOTA_EXCEEDED in first["乙"].flags
    assert Flag.QUOTA_EXCEEDED not in first["丙"].flags and first["丙"].status is Status.REJECTED
    # The clerk keeps 乙 and rejects 甲: 乙 now fits.
    rnd.correct(f"A{first['甲'].id}", "status", {"status": "rejected", "flags": []})
    again = by_name(rnd.run())
    assert again["甲"].status is Status.REJECTED and again["甲"].decision.by == "孙沛沛"
    assert Flag.QUOTA_EXCEEDED not in again["乙"].flags and again["乙"].status is Status.ACCEPTED


def test_the_assessment_is_recomputed_not_patched(rnd):
    rnd.mail(JINAN, 10, apps=[("甲", Track.GENERAL)])
    rnd.mail(JINAN, 11, apps=[("乙", Track.GENERAL)])
    first = rnd.run()
    assert first == rnd.run()
    assert Flag.QUOTA_EXCEEDED in first.verdict(2).flags
    assert rnd.apps[1].findings == ()        # the per-message findings stay as the message left them
    # Take the first email's application away (as if never sent): nothing of the old result lingers.
    rnd.apps.pop(0)
    assert Flag.QUOTA_EXCEEDED not in rnd.run().verdict(2).flags


# ---------------------------------------------------------------- resubmissions and duplicates

def test_a_later_email_supersedes_the_earlier_application(rnd):
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL, {"avg_trainees": 3000}),
                              ("乙乡村学院", Track.RURAL)])
    rnd.mail(JINAN, 14, apps=[("甲 培训学院", Track.GENERAL, {"avg_trainees": 3200})])
    result = rnd.run()
    old, rural, new = result.verdicts[0], result.verdicts[1], result.verdicts[2]
    assert old.superseded_by == new.id and not old.current
    assert old.flags == (Flag.SUPERSEDED,) and f"A{new.id}" in old.findings[0].detail
    assert "2019年9月14日" in old.findings[0].detail
    assert new.current and rural.current and new.fields["avg_trainees"] == 3200
    # The old one left the quota: one general, one rural, nothing exceeded.
    assert not any(Flag.QUOTA_EXCEEDED in v.flags for v in result.verdicts)
    assert [v.applicant for v in result.current] == ["乙乡村学院", "甲 培训学院"]


def test_a_resubmission_is_recognised_by_credit_code_when_the_name_was_misread(rnd):
    rnd.mail(JINAN, 10, apps=[("济南职业技木培训学院", Track.GENERAL, {"credit_code": VALID_CODE})])
    rnd.mail(JINAN, 12, apps=[("济南职业技术培训学院", Track.GENERAL, {"credit_code": VALID_CODE})])
    old, new = rnd.run().verdicts
    assert old.superseded_by == new.id and new.current


def test_a_late_resubmission_does_not_replace_the_timely_one(rnd):
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL)])
    rnd.mail(JINAN, 23, apps=[("甲培训学院", Track.GENERAL)])
    result = rnd.run()
    timely, late = result.verdicts
    assert timely.current and timely.status is Status.ACCEPTED
    assert late.current and late.status is Status.REJECTED
    assert Flag.DUPLICATE_APPLICANT not in timely.flags      # same recommender: no 多头申报


def test_same_applicant_through_another_recommender_is_not_a_resubmission(rnd):
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL)])
    rnd.mail(QINGDAO, 11, apps=[("甲培训学院", Track.GENERAL)])
    result = rnd.run()
    assert all(v.current for v in result.verdicts)


def test_a_resubmission_with_the_legal_form_or_a_track_note_supersedes(rnd):
    rnd.mail(JINAN, 10, apps=[("济南泉信电子科技", Track.GENERAL)])
    rnd.mail(JINAN, 12, apps=[("济南泉信电子科技有限公司（省级继续教育基地）", Track.GENERAL)])
    old, new = rnd.run().verdicts
    assert old.superseded_by == new.id and new.current


def test_one_character_apart_without_a_credit_code_two_applications_stand(rnd):
    # The round groups by names.key: 历城区 and 历下区 are two districts, and a merge drops one.
    rnd.mail(JINAN, 10, apps=[("济南市历城区职业培训学校", Track.RURAL)])
    rnd.mail(JINAN, 12, apps=[("济南市历下区职业培训学校", Track.RURAL)])
    assert all(v.current for v in rnd.run().verdicts)


def test_exact_duplicates_by_bytes_or_message_id_produce_nothing(rnd):
    first = rnd.mail(JINAN, 10, sha="same-bytes", message_id="<a@jinan>", apps=[("甲", Track.GENERAL)])
    rnd.mail(JINAN, 10, 11, sha="same-bytes", message_id="<a@jinan>", apps=[("甲", Track.GENERAL)])
    rnd.mail(JINAN, 11, sha="other-bytes", message_id="<A@JINAN>", apps=[("甲", Track.GENERAL)])
    result = rnd.run()
    assert result.duplicates == {2: first.id, 3: first.id}
    assert [v.message for v in result.verdicts] == [first.id]
    assert result.verdicts[0].current and not result.verdicts[0].findings


# ---------------------------------------------------------------- 多头申报

def test_same_unit_by_name_through_two_recommenders(rnd):
    rnd.mail(JINAN, 10, apps=[("山东理工职业学院（继续教育学院）", Track.GENERAL)])
    rnd.mail(EDU, 11, apps=[("山东理工职业学院 继续教育学院", Track.GENERAL)])
    rnd.mail(QINGDAO, 12, apps=[("别的学院", Track.GENERAL)])
    v = rnd.run().verdicts
    assert [Flag.DUPLICATE_APPLICANT in x.flags for x in v] == [True, True, False]
    detail = details(v[0], Flag.DUPLICATE_APPLICANT)[0]
    assert "经2个推荐单位申报" in detail and JINAN in detail and EDU in detail and "单位名称相同" in detail
    assert v[0].status is Status.NEEDS_REVIEW


def test_same_unit_by_credit_code_under_different_names(rnd):
    rnd.mail(JINAN, 10, apps=[("济南职业技术培训学院", Track.GENERAL, {"credit_code": VALID_CODE})])
    rnd.mail(QINGDAO, 11, apps=[("济南职培学院", Track.RURAL, {"credit_code": VALID_CODE.lower()})])
    rnd.mail(EDU, 12, apps=[("某学院", Track.GENERAL, {"credit_code": "91370000163061123N"})])   # invalid: no key
    v = rnd.run().verdicts
    assert [Flag.DUPLICATE_APPLICANT in x.flags for x in v] == [True, True, False]
    assert "统一社会信用代码相同" in details(v[1], Flag.DUPLICATE_APPLICANT)[0]


def test_the_same_company_with_and_without_its_legal_form_through_two_recommenders(rnd):
    rnd.mail(JINAN, 10, apps=[("济南泉信电子科技", Track.GENERAL)])
    rnd.mail(EDU, 11, apps=[("济南泉信电子科技有限公司", Track.GENERAL)])
    v = rnd.run().verdicts
    assert all(Flag.DUPLICATE_APPLICANT in x.flags for x in v)
    assert "单位名称相同" in details(v[0], Flag.DUPLICATE_APPLICANT)[0]


def test_a_university_and_its_school_through_two_recommenders_are_two_units(rnd):
    rnd.mail(JINAN, 10, apps=[("山东大学", Track.GENERAL)])
    rnd.mail(EDU, 11, apps=[("山东大学继续教育学院", Track.GENERAL)])
    rnd.mail(QINGDAO, 12, apps=[("山东大学（威海）分校", Track.GENERAL)])
    assert not any(Flag.DUPLICATE_APPLICANT in v.flags for v in rnd.run().verdicts)


# ---------------------------------------------------------------- named without a form

def test_a_form_sent_later_answers_the_letter_and_the_earlier_finding(rnd):
    letter = (Named("甲培训学院", Track.GENERAL, "推荐函"), Named("乙乡村学院（乡村振兴）", Track.RURAL, "推荐函"),
              Named("丙学院", None, "申报汇总表"))
    stored = Finding(Flag.MISSING_APPLICATION_FORM, "推荐函中列明的“乙乡村学院”未见申请表")
    rnd.mail(JINAN, 10, named=letter, apps=[("甲培训学院", Track.GENERAL, {}, [stored])])
    rnd.mail(JINAN, 12, apps=[("乙乡村学院", Track.RURAL)])
    result = rnd.run()
    assert [(m.name, m.source, m.recommender) for m in result.missing_forms] == [("丙学院", "申报汇总表", JINAN)]
    first = by_name(result)["甲培训学院"]
    assert Flag.MISSING_APPLICATION_FORM not in first.flags and first.status is Status.ACCEPTED


def test_the_universitys_form_does_not_answer_a_letter_naming_its_school(rnd):
    rnd.mail(JINAN, 10, named=(Named("山东大学继续教育学院", Track.GENERAL, "推荐函"),), apps=[("山东大学", Track.GENERAL)])
    assert [m.name for m in rnd.run().missing_forms] == ["山东大学继续教育学院"]


def test_a_letter_covers_the_form_ocr_misread(rnd):
    rnd.mail(JINAN, 10, letter=True, named=(Named("淄博镕喆堃犇职业培训学校", Track.GENERAL, "推荐函"),))
    rnd.mail(JINAN, 12, apps=[("淄博喆堃犇职业培训学校", Track.GENERAL, {},
                               [Finding(Flag.MISSING_RECOMMENDATION_LETTER, "无")])])
    result = rnd.run()
    assert not result.missing_forms
    assert by_name(result)["淄博喆堃犇职业培训学校"].status is Status.ACCEPTED


def test_forms_first_then_the_letter_that_lists_them(rnd):
    no_letter = Finding(Flag.MISSING_RECOMMENDATION_LETTER, "邮件中未见推荐单位出具的推荐函")
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL, {}, [no_letter]), ("乙乡村学院", Track.RURAL, {}, [no_letter])])
    rnd.mail(JINAN, 12, letter=True, named=(Named("甲培训学院", Track.GENERAL, "推荐函"),
                                             Named("乙乡村学院", Track.RURAL, "推荐函")),
             listed_only=[("甲培训学院", Track.GENERAL), ("乙乡村学院", Track.RURAL)])
    result = rnd.run()
    assert [(v.applicant, v.message) for v in result.current] == \
        [("甲培训学院", 1), ("乙乡村学院", 1)]                  # the forms stand, not the later list entries
    assert all(v.status is Status.ACCEPTED and not v.findings for v in result.current)   # the letter came after all
    assert [v.superseded_by for v in result.verdicts if not v.current] == [1, 2]
    assert not result.missing_forms


def test_a_letter_first_then_the_forms(rnd):
    rnd.mail(JINAN, 10, letter=True, named=(Named("甲培训学院", Track.GENERAL, "推荐函"),
                                             Named("乙乡村学院", Track.RURAL, "推荐函")),
             listed_only=[("甲培训学院", Track.GENERAL), ("乙乡村学院", Track.RURAL)])
    rnd.mail(JINAN, 12, apps=[("甲培训学院", Track.GENERAL, {}, [Finding(Flag.MISSING_RECOMMENDATION_LETTER, "无")])])
    result = rnd.run()
    current = {v.applicant: v for v in result.current}
    assert current["甲培训学院"].message == 2 and current["甲培训学院"].status is Status.ACCEPTED
    assert current["乙乡村学院"].flags == (Flag.MISSING_APPLICATION_FORM,)      # still only listed
    assert not result.missing_forms            # the form-less entry already stands for it


def test_a_letter_that_does_not_name_the_unit_does_not_cover_it(rnd):
    rnd.mail(JINAN, 10, letter=True, named=(Named("甲培训学院", Track.GENERAL, "推荐函"),), apps=[("甲培训学院", Track.GENERAL)])
    rnd.mail(JINAN, 12, apps=[("丙学院", Track.RURAL, {}, [Finding(Flag.MISSING_RECOMMENDATION_LETTER, "无")])])
    assert by_name(rnd.run())["丙学院"].flags == (Flag.MISSING_RECOMMENDATION_LETTER,)


def test_a_form_through_another_recommender_does_not_count(rnd):
    rnd.mail(JINAN, 10, named=(Named("甲培训学院", Track.GENERAL, "推荐函"),))
    rnd.mail(QINGDAO, 11, apps=[("甲培训学院", Track.GENERAL)])
    assert [m.name for m in rnd.run().missing_forms] == ["甲培训学院"]


# ---------------------------------------------------------------- 附件3 / 附件4

def test_round_lists_applied_late_missing_and_overdue(rnd, config):
    on_time, late = config.reconfirm_list[0], config.reconfirm_list[1]
    rnd.mail("直接报送", 15, apps=[(on_time, Track.RECONFIRM)])
    rnd.mail("直接报送", 24, apps=[(late, Track.RECONFIRM)])
    rnd.mail("直接报送", 16, apps=[(config.audit_list[2], Track.AUDIT)])
    before = rnd.run(BEFORE)
    states = {e.name: e.state for e in before.reconfirm}
    assert states[on_time] == "applied" and states[late] == "late"
    assert [e.state for e in before.reconfirm[2:]] == ["missing"] * (len(config.reconfirm_list) - 2)
    assert [e.name for e in before.audit if e.state == "applied"] == [config.audit_list[2]]
    assert len(before.audit) == len(config.audit_list)
    assert not before.overdue and rnd.run(AFTER).overdue


def test_a_listed_base_read_with_one_slip_is_on_the_list_its_college_is_not(rnd, config):
    listed = config.reconfirm_list[0]
    assert listed == "山东水利职业学院继续教育学院"
    rnd.mail("直接报送", 15, apps=[("山东水利职业学院继续教育学阮", Track.RECONFIRM),     # OCR: 阮 for 院
                                   ("山东水利职业学院", Track.RECONFIRM)])
    result = rnd.run()
    v = by_name(result)
    assert Flag.NOT_ON_RECONFIRM_LIST not in v["山东水利职业学院继续教育学阮"].flags
    assert Flag.NOT_ON_RECONFIRM_LIST in v["山东水利职业学院"].flags
    assert (result.reconfirm[0].name, result.reconfirm[0].state) == (listed, "applied")


# ---------------------------------------------------------------- the clerk's corrections and decisions

def test_a_doubt_named_by_the_forms_own_label_is_answered_by_correcting_that_field(rnd):
    # The reader names a field by the form definition's first label, not the clerk's shorter name.
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL, {"avg_trainees": None},
                               [Finding(Flag.LOW_CONFIDENCE, "申请表中未能读取：近三年年均培训专业技术人员人数")])])
    assert Flag.LOW_CONFIDENCE in rnd.run().verdicts[0].flags
    rnd.correct("A1", "avg_trainees", 2600)
    assert rnd.run().verdicts[0].findings == ()


def test_corrected_fields_flow_in_and_their_checks_run_again(rnd, config):
    rnd.mail(JINAN, 10, apps=[
        ("甲培训学院", Track.GENERAL, {"avg_trainees": 1500, "credit_code": "91370000163061123N", "contact": ""},
         [Finding(Flag.LOW_CONFIDENCE, "申请表中未能读取：联系人")]),
    ])
    before = rnd.run().verdicts[0]
    assert {Flag.TRAINEES_BELOW_MINIMUM, Flag.INVALID_CREDIT_CODE, Flag.LOW_CONFIDENCE} <= set(before.flags)
    rnd.correct("A1", "avg_trainees", 2600)
    rnd.correct("A1", "credit_code", VALID_CODE)
    partly = rnd.run().verdicts[0]
    assert partly.fields["avg_trainees"] == 2600 and partly.fields["credit_code"] == VALID_CODE
    assert set(partly.flags) == {Flag.LOW_CONFIDENCE}           # 联系人 not yet answered
    rnd.correct("A1", "contact", "王晓梅")
    done = rnd.run().verdicts[0]
    assert done.findings == () and done.status is Status.ACCEPTED
    assert done.corrected["contact"].by == "孙沛沛"
    # The clerk typed a wrong code after all: the check comes back.
    rnd.correct("A1", "credit_code", "52370100493001174Y")
    assert Flag.INVALID_CREDIT_CODE in rnd.run().verdicts[0].flags


def test_a_corrected_name_puts_a_base_on_the_list_and_regroups(rnd, config):
    listed = config.reconfirm_list[0]
    rnd.mail("直接报送", 10, apps=[(listed + "（OCR误读）", Track.RECONFIRM)])
    assert Flag.NOT_ON_RECONFIRM_LIST in rnd.run().verdicts[0].flags
    rnd.correct("A1", "applicant", listed)
    v = rnd.run()
    assert v.verdicts[0].applicant == listed and v.verdicts[0].fields["unit_name"] == listed
    assert v.verdicts[0].status is Status.ACCEPTED and v.reconfirm[0].state == "applied"


def test_a_decision_holds_until_a_new_blocking_problem_appears(rnd):
    rnd.mail(JINAN, 10, apps=[("甲", Track.GENERAL)])
    rnd.mail(JINAN, 11, apps=[("乙", Track.GENERAL)])
    rnd.correct("A2", "status", {"status": "accepted", "flags": ["quota_exceeded"]})
    held = rnd.run().verdict(2)
    assert held.status is Status.ACCEPTED and held.computed_status is Status.NEEDS_REVIEW
    assert not held.decision.stale
    # A third recommender's email makes 乙 a 多头申报 case: the decision did not answer that.
    rnd.mail(QINGDAO, 12, apps=[("乙", Track.RURAL)])
    reopened = rnd.run().verdict(2)
    assert reopened.decision.stale and reopened.status is Status.NEEDS_REVIEW


def test_notes_and_paper_are_kept_with_who_and_when(rnd):
    rnd.mail(JINAN, 10, apps=[("甲", Track.GENERAL)])
    rnd.correct("A1", "note", "已电话联系")
    rnd.correct("A1", "paper", {"copies": 3, "on": "2019-09-20"})
    rnd.correct("M1", "status", "handled", by="鄢鸣")
    rnd.correct("A99", "note", "编号写错了")
    result = rnd.run()
    v = result.verdicts[0]
    assert [n.text for n in v.notes] == ["已电话联系"] and v.paper.copies == 3 and v.paper.on == "2019-09-20"
    assert result.messages[1].decision.by == "鄢鸣"
    assert [str(c.target) for c in result.unknown_targets] == ["A99"]
    rnd.correct("A1", "paper", {"copies": 0, "on": "", "undo": True})
    assert rnd.run().verdicts[0].paper is None


# ---------------------------------------------------------------- the clerk accepts a late one

def late_accepted(rnd, app_id: int) -> None:
    rnd.correct(f"A{app_id}", "status", {"status": "accepted", "flags": ["late"]})


def test_a_late_application_the_clerk_accepts_takes_its_place_by_delivery_time(rnd, config):
    rnd.mail(JINAN, 10, apps=[("甲乡村学院", Track.RURAL)])
    rnd.mail(JINAN, 11, apps=[("乙乡村学院", Track.RURAL)])
    rnd.mail(JINAN, 25, apps=[("丙乡村学院", Track.RURAL), ("丁培训学院", Track.GENERAL)])    # late
    assert {v.applicant: v.status for v in rnd.run(AFTER).current} == {
        "甲乡村学院": Status.ACCEPTED, "乙乡村学院": Status.ACCEPTED,
        "丙乡村学院": Status.REJECTED, "丁培训学院": Status.REJECTED}
    late_accepted(rnd, 3)
    late_accepted(rnd, 4)
    v = by_name(rnd.run(AFTER))
    # 丁 takes the general place like a timely application; 丙 came third for two rural places.
    assert v["丁培训学院"].status is Status.ACCEPTED and v["丁培训学院"].quota_place
    assert details(v["丙乡村学院"], Flag.QUOTA_EXCEEDED)[0].startswith(f"{JINAN}已推荐3个{Track.RURAL.label}（限2个）")
    assert not v["丙乡村学院"].quota_place
    # The acceptance answered the lateness, not the quota: back to the clerk, not rejected.
    assert v["丙乡村学院"].decision.stale and v["丙乡村学院"].status is Status.NEEDS_REVIEW
    # The round statistics count the same places the assessment gave.
    line = stats.summarise(config, rnd.run(AFTER), [], AFTER).lines[0]
    assert line.quota == "3/3（省级基地1/1，乡村振兴专项2/2）" and line.over_quota == 1


def test_a_late_application_the_clerk_accepts_meets_the_others_in_the_multiple_recommender_check(rnd):
    rnd.mail(QINGDAO, 12, apps=[("甲培训学院", Track.GENERAL)])
    rnd.mail(JINAN, 24, apps=[("甲培训学院", Track.GENERAL)])        # late
    assert Flag.DUPLICATE_APPLICANT not in rnd.run(AFTER).verdict(1).flags
    late_accepted(rnd, 2)
    result = rnd.run(AFTER)
    assert all(Flag.DUPLICATE_APPLICANT in result.verdict(i).flags for i in (1, 2))


def test_a_late_resubmission_the_clerk_accepts_replaces_the_timely_one(rnd):
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL, {"avg_trainees": 2500})])
    rnd.mail(JINAN, 23, apps=[("甲培训学院", Track.GENERAL, {"avg_trainees": 2600})])
    late_accepted(rnd, 2)
    result = rnd.run(AFTER)
    assert result.verdict(1).superseded_by == 2
    [current] = result.current
    assert current.id == 2 and current.status is Status.ACCEPTED and current.quota_place


def test_a_rejected_or_exceeding_application_holds_no_place_in_the_statistics(rnd, config):
    rnd.mail(JINAN, 10, apps=[("甲", Track.GENERAL)])
    rnd.mail(JINAN, 11, apps=[("乙", Track.GENERAL), ("丙", Track.RURAL)])
    rnd.correct("A3", "status", {"status": "rejected", "flags": []})
    result = rnd.run()
    assert [v.quota_place for v in result.current] == [True, False, False]
    assert stats.summarise(config, result, [], BEFORE).lines[0].quota == "1/3（省级基地1/1，乡村振兴专项0/2）"


# ---------------------------------------------------------------- unknown senders

def test_two_unknown_senders_never_replace_each_other(rnd):
    rnd.mail(UNKNOWN_RECOMMENDER, 10, sender="zhangsan@163.com", apps=[("甲培训学院", Track.GENERAL)])
    rnd.mail(UNKNOWN_RECOMMENDER, 12, sender="lisi@qq.com", apps=[("甲培训学院", Track.GENERAL)])
    result = rnd.run()
    first, second = result.verdicts
    assert first.current and second.current
    assert first.recommender == f"{UNKNOWN_RECOMMENDER}（zhangsan@163.com）"
    assert second.recommender == f"{UNKNOWN_RECOMMENDER}（lisi@qq.com）"
    # Both wait for the clerk (unknown_sender); a stranger's copy of a form is no 多头申报 of anyone's.
    assert first.status is Status.NEEDS_REVIEW and second.status is Status.NEEDS_REVIEW
    assert not details(first, Flag.DUPLICATE_APPLICANT) and not details(second, Flag.DUPLICATE_APPLICANT)
    assert result.messages[2].recommender == second.recommender


def test_a_strangers_copy_of_a_form_makes_no_multiple_application_of_the_recommenders(rnd):
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL)])
    rnd.mail(UNKNOWN_RECOMMENDER, 12, sender="someone@example.com", apps=[("甲培训学院", Track.GENERAL)])
    genuine = next(v for v in rnd.run().verdicts if v.recommender == JINAN)
    assert genuine.status is Status.ACCEPTED and not details(genuine, Flag.DUPLICATE_APPLICANT)


def test_one_unknown_sender_resubmitting_replaces_its_own_application(rnd):
    rnd.mail(UNKNOWN_RECOMMENDER, 10, sender="zhangsan@163.com", apps=[("甲培训学院", Track.GENERAL)])
    rnd.mail(UNKNOWN_RECOMMENDER, 12, sender="zhangsan@163.com", apps=[("甲培训学院", Track.GENERAL)])
    old, new = rnd.run().verdicts
    assert old.superseded_by == new.id and Flag.DUPLICATE_APPLICANT not in new.flags
    assert new.status is Status.NEEDS_REVIEW and Flag.UNKNOWN_SENDER in new.flags


# ---------------------------------------------------------------- names and 附件3 bases sent twice

def test_names_differing_only_in_the_case_of_latin_letters_are_one_unit(rnd):
    rnd.mail(JINAN, 10, apps=[("山东ABC职业培训中心", Track.GENERAL)])
    rnd.mail(QINGDAO, 11, apps=[("山东abc职业培训中心", Track.GENERAL)])
    assert all(Flag.DUPLICATE_APPLICANT in v.flags for v in rnd.run().verdicts)


def test_a_base_reconfirmed_by_itself_and_through_its_city_is_one_reconfirmation(rnd, config):
    base = config.reconfirm_list[2]
    rnd.mail("直接报送", 12, apps=[(base, Track.RECONFIRM)])
    rnd.mail(QINGDAO, 14, apps=[(base, Track.RECONFIRM)])
    result = rnd.run()
    own, forwarded = result.verdicts
    assert own.superseded_by == forwarded.id and forwarded.current
    assert not any(Flag.DUPLICATE_APPLICANT in v.flags for v in result.verdicts)
    assert forwarded.status is Status.ACCEPTED and not forwarded.quota_place
    assert f"由{QINGDAO}报送" in own.findings[0].detail
    assert [e.state for e in result.reconfirm if e.name == base] == ["applied"]


def test_a_base_sent_for_reconfirmation_and_by_a_city_as_a_new_base_is_still_a_multiple_application(rnd, config):
    base = config.reconfirm_list[2]
    rnd.mail("直接报送", 12, apps=[(base, Track.RECONFIRM)])
    rnd.mail(QINGDAO, 14, apps=[(base, Track.GENERAL)])
    result = rnd.run()
    assert all(v.current and Flag.DUPLICATE_APPLICANT in v.flags for v in result.verdicts)


# ---------------------------------------------------------------- condition 五 as the office decides

def test_trainees_below_minimum_informs_by_default_and_blocks_when_the_office_says_so(rnd, config):
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL, {"avg_trainees": 1500}),
                              ("乙乡村学院", Track.RURAL, {"avg_trainees": 800})])
    general, rural = rnd.run().verdicts
    assert general.flags == (Flag.TRAINEES_BELOW_MINIMUM,) and general.status is Status.ACCEPTED
    strict = replace(config, review_flags=config.review_flags | {Flag.TRAINEES_BELOW_MINIMUM})
    assert status_for(general.findings, strict) is Status.NEEDS_REVIEW
    general, rural = assess(rnd.messages, rnd.apps, [], strict, BEFORE).verdicts
    assert general.status is Status.NEEDS_REVIEW and rural.status is Status.ACCEPTED and not rural.flags


# ---------------------------------------------------------------- 填报日期

def test_filled_on_is_the_recommenders_own_date_else_its_latest_delivery(rnd):
    rnd.mail(JINAN, 10, filled_on="2019.9.8", apps=[("甲", Track.GENERAL)])
    rnd.mail(JINAN, 12, apps=[("乙", Track.RURAL)])
    rnd.mail(QINGDAO, 11, apps=[("丙", Track.RURAL)])
    rnd.mail(QINGDAO, 13, 23, apps=[("丁", Track.RURAL)])
    assert rnd.run(AFTER).filled_on == {JINAN: "2019年9月8日", QINGDAO: "2019年9月13日"}


# ---------------------------------------------------------------- only registered senders speak for a recommender

FORGER = "someone@evil.example"


def test_a_forged_resubmission_supersedes_nothing(rnd):
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL, {"avg_trainees": 3000})])
    forged = rnd.mail(JINAN, 11, sender=FORGER, apps=[("甲培训学院", Track.GENERAL, {"avg_trainees": 9})])
    result = rnd.run()
    genuine, fake = sorted(result.current, key=lambda v: v.id)
    assert genuine.superseded_by is None and genuine.status is Status.ACCEPTED and genuine.quota_place
    assert fake.message == forged.id and fake.status is Status.NEEDS_REVIEW and not fake.quota_place
    assert details(fake, Flag.UNVERIFIED_SENDER) and FORGER in details(fake, Flag.UNVERIFIED_SENDER)[0]
    assert "--sender-ok" in details(fake, Flag.UNVERIFIED_SENDER)[0]


def test_a_forged_early_mail_takes_no_quota_place(rnd):
    rnd.mail(JINAN, 9, sender=FORGER, apps=[("冒名培训中心", Track.GENERAL)])
    rnd.mail(JINAN, 10, apps=[("真实培训学院", Track.GENERAL)])
    v = by_name(rnd.run())
    assert v["真实培训学院"].quota_place and Flag.QUOTA_EXCEEDED not in v["真实培训学院"].flags
    assert v["真实培训学院"].status is Status.ACCEPTED
    assert not v["冒名培训中心"].quota_place and Flag.UNVERIFIED_SENDER in v["冒名培训中心"].flags


def test_a_clerk_confirming_a_personal_address_lets_it_speak(rnd):
    rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL)])
    personal = rnd.mail(JINAN, 11, sender="zhangsan@qq.com", apps=[("甲培训学院", Track.GENERAL)])
    rnd.correct(f"M{personal.id}", Entry.SENDER_OK, {"address": "zhangsan@qq.com", "recommender": JINAN, "remember": True})
    result = rnd.run()
    (standing,) = result.current
    assert standing.message == personal.id and Flag.UNVERIFIED_SENDER not in standing.flags
    assert standing.quota_place
    # Remembered: the next mail from that address speaks for Jinan without a clerk.
    assert confirmed_senders(rnd.corrections) == {"zhangsan@qq.com": JINAN}
    rnd.mail(JINAN, 12, sender="zhangsan@qq.com", apps=[("乙培训学院", Track.RURAL)])
    assert Flag.UNVERIFIED_SENDER not in by_name(rnd.run())["乙培训学院"].flags


def test_a_failed_receiving_server_check_is_answered_by_the_clerk(rnd):
    doubt = Finding(Flag.UNVERIFIED_SENDER, "收件服务器记录的发件认证未通过（DMARC=fail）")
    m = rnd.mail(JINAN, 10, apps=[("甲培训学院", Track.GENERAL, {}, [doubt])])
    v = by_name(rnd.run())["甲培训学院"]
    assert v.status is Status.NEEDS_REVIEW and not v.quota_place
    rnd.correct(f"M{m.id}", Entry.SENDER_OK, {"address": m.sender, "recommender": JINAN, "remember": False})
    v = by_name(rnd.run())["甲培训学院"]
    assert v.status is Status.ACCEPTED and v.quota_place
