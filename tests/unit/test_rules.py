"""The notice's per-message checks that are pure functions."""
import pytest

from pipeline.assemble import DIRECT
from pipeline.model import CLERK_ONLY, DocKind, Flag, Status, Track
from pipeline.read.uscc import check_char
from pipeline.rules import check, credit_code_valid, status_for


@pytest.mark.parametrize("code", ["91350100M000100Y43", "12370000495203618F", "52370100493001174X"])
def test_valid_credit_codes(code):
    assert credit_code_valid(code)
    assert credit_code_valid(code.lower())


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91370000163061123N", "9135010", "91350100M000100YI3", ""])
def test_invalid_credit_codes(code):
    assert not credit_code_valid(code)


def test_check_character_is_computed_from_the_first_17():
    assert check_char("91350100M000100Y4") == "3"
    assert check_char("91350100M000100I4") is None  # I is not in the alphabet


# ---------------------------------------------------------------- check: one message's rules

def _submission(config, *, subject="济南市继续教育基地申报", sender="rsj@jinan.example.cn", body="",
                late=False, docs=(DocKind.LETTER, DocKind.FORM), apps=(("济南职业技术培训学院", Track.GENERAL, 3200),),
                recommender="济南市人力资源和社会保障局"):
    from datetime import timedelta

    from pipeline.model import Application, Document, Message, Submission
    from pipeline.subject import parse_subject

    when = config.round.deadline + (timedelta(hours=10) if late else -timedelta(days=3))
    message = Message("<m@x>", subject, sender, "", when, {}, body, ())
    documents = tuple(Document(f"{k.value}.pdf", k, "text") for k in docs)
    forms = tuple(d for d in documents if d.kind is DocKind.FORM)
    applications = tuple(Application(name, track, {"unit_name": name, "avg_trainees": trainees}, {}, forms)
                         for name, track, trainees in apps)
    rec = DIRECT if recommender == DIRECT.name else next((r for r in config.recommenders if r.name == recommender), None)
    sub = Submission(b"", when, message, parse_subject(subject, config.round.subject_suffix), rec,
                     documents=documents, applications=applications)
    return sub


def test_a_complete_submission_in_time_is_accepted_without_findings(config):
    out = check(_submission(config), config)
    assert out.findings == () and [a.status for a in out.applications] == [Status.ACCEPTED]


def test_message_problems_reach_every_application_and_decide_their_status(config):
    out = check(_submission(config, subject="Re: 济南市继续教育基地申报材料", late=True, docs=(DocKind.FORM,),
                            body="材料见超大附件：https://mail.qq.com/cgi-bin/ftnExs_download?k=1"), config)
    flags = {f.flag for f in out.findings}
    assert flags == {Flag.SUBJECT_NONCONFORMING, Flag.LATE, Flag.CLOUD_ATTACHMENT_LINK,
                     Flag.MISSING_RECOMMENDATION_LETTER}
    (app,) = out.applications
    assert {f.flag for f in app.findings} >= flags - {Flag.SUBJECT_NONCONFORMING} - CLERK_ONLY
    assert app.status is status_for(app.findings, config)
    late = next(f for f in out.findings if f.flag is Flag.LATE)
    assert "截止时间为2019年9月22日 23:59" in late.text()


def test_an_unknown_sender_and_field_rules_are_found(config):
    out = check(_submission(config, sender="someone@163.com", recommender="",
                            apps=(("小培训学校", Track.GENERAL, 1500), ("不在名单的基地", Track.RECONFIRM, 3000))), config)
    assert Flag.UNKNOWN_SENDER in {f.flag for f in out.findings}
    small, reconfirm = out.applications
    assert Flag.TRAINEES_BELOW_MINIMUM in {f.flag for f in small.findings}
    assert Flag.NOT_ON_RECONFIRM_LIST in {f.flag for f in reconfirm.findings}


def test_a_direct_reconfirmation_needs_no_recommendation_letter(config):
    base = config.reconfirm_list[0]
    out = check(_submission(config, subject=f"{base}继续教育基地申报", sender="a@b.cn", docs=(DocKind.FORM,),
                            apps=((base, Track.RECONFIRM, 3000),), recommender="直接报送"), config)
    assert Flag.MISSING_RECOMMENDATION_LETTER not in {f.flag for f in out.findings}


def test_a_subject_naming_an_applicant_without_its_form_is_found(config):
    out = check(_submission(config, subject="济南职业技术培训学院继续教育基地申报", apps=()), config)
    assert [f.text() for f in out.findings if f.flag is Flag.MISSING_APPLICATION_FORM] == [
        "缺少申请表：标题中的“济南职业技术培训学院”未见申请表"]
    named = check(_submission(config, subject="济南职业技术培训学院继续教育基地申报"), config)
    assert Flag.MISSING_APPLICATION_FORM not in {f.flag for f in named.findings}


@pytest.mark.parametrize("subject, applicant, missing", [
    ("济南职业技术培训学院继续教育基地申报", "济南职业技朮培训学院", False),           # an OCR slip on the form
    ("济南泉信电子科技继续教育基地申报", "济南泉信电子科技有限公司", False),           # the legal form left off
    ("山东大学继续教育学院继续教育基地申报", "山东大学", True),                      # the university is not its school
    ("山东大学继续教育基地申报", "山东大学继续教育学院", True),
])
def test_the_subject_names_the_applicant_as_names_same_unit_says(config, subject, applicant, missing):
    out = check(_submission(config, subject=subject, apps=((applicant, Track.GENERAL, 3200),)), config)
    assert (Flag.MISSING_APPLICATION_FORM in {f.flag for f in out.findings}) is missing
