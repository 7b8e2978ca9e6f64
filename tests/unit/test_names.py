"""Unit names: spelling, a track note and a legal form are not identity; OCR's slips are forgiven; a
different number or word is a different unit, and a part of a university is not the university. And
what assemble does with a scanned form's name once a typed letter names the same unit."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.assemble import assemble
from pipeline.model import Attachment, DocKind, Document, Evidence, Finding, Flag, Listed, Message, Submission, Track
from pipeline.names import CUTOFF, key, on_list, pair, same_unit, similarity
from pipeline.read.doubts import note, unsure
from pipeline.read.forms import Forms
from pipeline.route import Directory
from pipeline.subject import parse_subject

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("a, b", [
    ("ＡＢＣ培训中心", "abc培训中心"),                                 # full width, Latin case
    ("山东理工职业学院 继续教育学院", "山东理工职业学院继续教育学院"),   # spaces, ideographic ones too
    ("山东理工职业学院\u3000继续教育学院", "山东理工职业学院继续教育学院"),
    ("山东能源集团（技师学院）培训中心", "山东能源集团(技师学院)培训中心"),
    ("山东能源集团【技师学院】培训中心", "山东能源集团技师学院培训中心"),
    ("济南职业技术培训学院。", "济南职业技术培训学院"),
])
def test_spelling_is_not_identity(a, b):
    assert key(a) == key(b) and same_unit(a, b) and similarity(a, b) == 100.0


@pytest.mark.parametrize("a", [
    "乙乡村学院（乡村振兴）", "乙乡村学院(乡村振兴专项)", "乙乡村学院【乡村振兴专项】", "乙乡村学院（申报乡村振兴专项）",
    "乙乡村学院（省级继续教育基地（乡村振兴）专项）", "乙乡村学院（重新确认）", "乙乡村学院（审验）",
    "乙乡村学院（省级继续教育基地）", "乙乡村学院（省级基地）", "乙乡村学院（原省级继续教育基地重新确认）",
    "乙乡村学院 （乡村振兴）；",
])
def test_a_track_noted_after_the_name_is_not_part_of_it(a):
    assert key(a) == key("乙乡村学院") and same_unit(a, "乙乡村学院")


def test_other_brackets_are_part_of_the_name():
    assert key("山东理工职业学院（继续教育学院）") == key("山东理工职业学院继续教育学院")
    assert not same_unit("山东大学（威海）", "山东大学")                   # a campus of its own
    assert key("（乡村振兴）") == "乡村振兴"                              # a note alone is still a name


@pytest.mark.parametrize("a", ["济南泉信电子科技有限公司", "济南泉信电子科技有限责任公司", "济南泉信电子科技股份有限公司",
                               "济南泉信电子科技（有限公司）"])
def test_the_legal_form_is_not_part_of_the_name(a):
    assert key(a) == key("济南泉信电子科技") and same_unit(a, "济南泉信电子科技")


def test_a_legal_form_alone_stays_a_name():
    assert key("有限公司") == "有限公司" and not same_unit("有限公司", "股份有限公司")


@pytest.mark.parametrize("a, b", [
    ("济南市第一职业培训学校", "济南市第二职业培训学校"),      # an ordinal: 90.9 by ratio alone
    ("济南市第1职业培训学校", "济南市第2职业培训学校"),
    ("青岛市三十九中继续教育中心", "青岛市三十八中继续教育中心"),
    ("甲培训学院", "乙培训学院"),
    ("山东理工职业学院继续教育学院", "山东水利职业学院继续教育学院"),  # a different word
    ("济南职业学院", "济南职业技术学院"),                  # a word more
    ("济南泉信电子科技有限公司", "济南泉信电子有限公司"),      # a word less, the legal form aside
    ("济南市历城区职业培训学校", "济南市历下区职业培训学校"),  # another district: 90.9 by ratio alone
    ("济南市中区职工培训中心", "济南市北区职工培训中心"),
])
def test_different_units_never_match_however_close(a, b):
    assert not same_unit(a, b) and similarity(a, b) < CUTOFF
    assert pair([a], [b]) == []


@pytest.mark.parametrize("part", [
    "山东大学继续教育学院", "山东大学（威海）分校", "山东大学威海分校", "山东大学分校", "山东大学经济学院",
    "山东大学（威海）",
])
def test_a_part_of_a_university_is_not_the_university(part):
    assert not same_unit(part, "山东大学") and not same_unit("山东大学", part)
    assert key(part) != key("山东大学")


def test_a_branch_of_a_university_is_neither_the_university_nor_another_branch():
    assert not same_unit("山东中医药大学济南分院", "山东中医药大学")
    assert not same_unit("山东中医药大学济南分院", "山东中医药大学青岛分院")
    assert not same_unit("山东中医药大学继续教育学院", "山东中医药大学成人教育学院")


@pytest.mark.parametrize("a, b", [
    ("淄博镕喆堃犇职业培训学校", "淄博喆堃犇职业培训学校"),     # OCR dropped 镕
    ("东营石油技术培训中心", "东营石油技朮培训中心"),          # one character misread
    ("山东能源集团（技师学院）培训中心", "山东能源集团技师学院培训中心"),   # brackets do not count
])
def test_one_ocr_slip_is_the_same_unit(a, b):
    assert same_unit(a, b) and same_unit(b, a)


def test_a_slip_and_a_note_together_are_still_the_unit():
    assert same_unit("淄博镕喆堃犇职业培训学校（乡村振兴）", "淄博喆堃犇职业培训学校")
    assert same_unit("济南泉信电子科枝有限公司", "济南泉信电子科技")


def test_list_membership_asks_the_same_question():
    listed = ("济南市第一职业培训学校", "淄博镕喆堃犇职业培训学校", "济南泉信电子科技有限公司")
    assert on_list("淄博喆堃犇职业培训学校", listed)                      # an OCR slip
    assert on_list("济南泉信电子科技（重新确认）", listed)                 # a note, no legal form
    assert on_list("ＡＢＣ培训中心", ("abc培训中心",))
    assert not on_list("济南市第二职业培训学校", listed)
    assert not on_list("山东大学继续教育学院", ("山东大学",))
    assert not on_list("济南泉信电子科技", ())


def test_pairing_prefers_the_exact_twin():
    left = ["济南泉城继续教育研究院", "淄博喆堃犇职业培训学校"]
    right = ["淄博镕喆堃犇职业培训学校", "济南泉城继续教育研究院"]
    assert [(i, j) for i, j, _ in pair(left, right)] == [(0, 1), (1, 0)]


# ---- assemble: a scanned form's name and the typed 推荐函 ----

@pytest.fixture(scope="module")
def forms() -> Forms:
    return Forms.load(ROOT / "templates")


def scanned_form(forms: Forms, name: str, name_confidence: float) -> Document:
    """A 申请表 as the OCR reader leaves it: its fields, and its finding for what it is unsure of."""
    fields = {"unit_name": name, "credit_code": "91370100MA3C5W2X1K", "contact": "王晓梅",
              "contact_phone": "0531-88016235", "track": "general", "avg_trainees": 3200}
    confidence = dict.fromkeys(fields, 0.99) | {"unit_name": name_confidence}
    doc = Document("申请表.pdf", DocKind.FORM, "ocr", fields=fields, field_confidence=confidence)
    low = unsure(doc, forms, 0.85)
    problem = Finding(Flag.LOW_CONFIDENCE, note("扫描件", low.values()) + "；《申请表.pdf》部分页面未能识别（第2页）") \
        if low else None
    return replace(doc, low_confidence=low, problem=problem)


def submission(config, form: Document, letter_names: list[str]) -> Submission:
    letter = Document("推荐函.pdf", DocKind.LETTER, "text",
                      listed=tuple(Listed(n, Track.GENERAL, source="letter") for n in letter_names))
    message = Message("<t@example.cn>", "济南市继续教育基地申报", "rsj@jinan.example.cn", "", datetime.now(UTC),
                      {}, "", (Attachment("推荐函.pdf", "application/pdf", b""),
                               Attachment("申请表.pdf", "application/pdf", b"")))
    directory = Directory(config.recommenders)
    return assemble(Submission(b"", message.received_at, message, parse_subject(message.subject),
                               directory.by_sender(message.sender), documents=(letter, form)), config, directory)


def test_a_typed_name_replaces_a_close_ocr_reading_and_its_stale_doubt(config, forms):
    form = scanned_form(forms, "济南职业技朮培训学院", 0.62)
    assert "申报单位名称" in form.problem.detail
    (app,) = submission(config, form, ["济南职业技术培训学院"]).applications
    assert app.applicant == app.fields["unit_name"] == "济南职业技术培训学院"
    assert app.field_confidence["unit_name"] == 1.0
    details = [f.detail for f in app.findings]
    # The doubt about the name is settled by the letter; the rest of the scan's finding stays.
    assert not any("申报单位名称" in d for d in details)
    assert any("部分页面未能识别" in d for d in details)


def test_a_different_number_is_not_taken_for_the_letters_unit(config, forms):
    form = scanned_form(forms, "济南市第一职业培训学校", 0.62)
    apps = submission(config, form, ["济南市第二职业培训学校"]).applications
    by_name = {a.applicant: a for a in apps}
    assert set(by_name) == {"济南市第一职业培训学校", "济南市第二职业培训学校"}
    first = by_name["济南市第一职业培训学校"]
    assert first.fields["unit_name"] == "济南市第一职业培训学校"
    assert any("申报单位名称" in f.detail for f in first.findings)           # still unsure: said so
    assert Flag.MISSING_APPLICATION_FORM in {f.flag for f in by_name["济南市第二职业培训学校"].findings}


def typed_form(name: str) -> Document:
    fields = {"unit_name": name, "credit_code": "91370100MA3C5W2X1K", "contact": "王晓梅",
              "contact_phone": "0531-88016235", "track": "general", "avg_trainees": 3200}
    return Document("申请表.docx", DocKind.FORM, "docx", fields=fields, field_confidence=dict.fromkeys(fields, 1.0))


@pytest.mark.parametrize("letter", ["济南泉信电子科技", "济南泉信电子科技有限公司（省级继续教育基地）",
                                    "济南泉信电子科技 有限公司"])
def test_a_typed_form_and_letter_naming_the_unit_alike_raise_no_doubt(config, letter):
    (app,) = submission(config, typed_form("济南泉信电子科技有限公司"), [letter]).applications
    assert app.applicant == "济南泉信电子科技有限公司"                       # the form's own name
    assert not any("不一致" in f.detail for f in app.findings)


def test_a_typed_form_one_character_off_the_letter_is_questioned(config):
    (app,) = submission(config, typed_form("济南泉信电子科枝有限公司"), ["济南泉信电子科技有限公司"]).applications
    assert any("不一致" in f.detail and "推荐函" in f.detail for f in app.findings)


def test_the_same_form_twice_in_one_email_is_one_application_with_both_documents(config, forms):
    typed = Document("申请表.docx", DocKind.FORM, "docx",
                     fields={"unit_name": "济南职业技术培训学院", "track": "general", "avg_trainees": 3200, "funding": None},
                     field_confidence={"unit_name": 1.0, "track": 1.0, "avg_trainees": 1.0})
    printed = Document("申请表.pdf", DocKind.FORM, "text",
                       fields={"unit_name": "济南职业技术培训学院", "track": "general", "avg_trainees": 3300, "funding": 120,
                               "credit_code": "52370100493001174X"},
                       field_confidence={"unit_name": 1.0, "track": 1.0, "avg_trainees": 1.0, "funding": 1.0},
                       field_evidence={"credit_code": Evidence(1, (0, 0, 1, 1), None, "52370100493001174X", 1.0)})
    letter = Document("推荐函.pdf", DocKind.LETTER, "text",
                      listed=(Listed("济南职业技术培训学院", Track.GENERAL, source="letter"),))
    message = Message("<t@example.cn>", "济南市继续教育基地申报", "rsj@jinan.example.cn", "", datetime.now(UTC), {}, "",
                      tuple(Attachment(d.filename, "application/octet-stream", b"") for d in (letter, printed, typed)))
    directory = Directory(config.recommenders)
    sub = assemble(Submission(b"", message.received_at, message, parse_subject(message.subject),
                              directory.by_sender(message.sender), documents=(letter, printed, typed)), config, directory)
    (app,) = sub.applications
    # The typed copy's values stand; what only the other read fills in.
    assert [d.filename for d in app.documents] == ["申请表.docx", "申请表.pdf"]
    assert app.fields["avg_trainees"] == 3200 and app.fields["funding"] == 120
    # What the other copy read is its evidence, as read: nothing corrected it.
    assert app.field_evidence["credit_code"].raw == "52370100493001174X" and not app.field_evidence["credit_code"].source
    assert not any(f.flag is Flag.LOW_CONFIDENCE for f in app.findings)


def test_one_unit_applying_for_two_tracks_stays_two_applications(config, forms):
    general = Document("申请表1.pdf", DocKind.FORM, "text", fields={"unit_name": "济南职业技术培训学院", "track": "general"})
    rural = Document("申请表2.pdf", DocKind.FORM, "text", fields={"unit_name": "济南职业技术培训学院", "track": "rural"})
    message = Message("<t@example.cn>", "济南市继续教育基地申报", "rsj@jinan.example.cn", "", datetime.now(UTC), {}, "",
                      tuple(Attachment(d.filename, "application/pdf", b"") for d in (general, rural)))
    directory = Directory(config.recommenders)
    sub = assemble(Submission(b"", message.received_at, message, parse_subject(message.subject),
                              directory.by_sender(message.sender), documents=(general, rural)), config, directory)
    assert [a.track for a in sub.applications] == [Track.GENERAL, Track.RURAL]
