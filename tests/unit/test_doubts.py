"""What a person must check in a document read with doubt: named in its finding, in Chinese; and
settled once a typed 推荐函 says the same."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.assemble import assemble
from pipeline.model import Attachment, DocKind, Document, Finding, Flag, Listed, Message, Submission, Track
from pipeline.read.doubts import confirmed, note, unsure
from pipeline.read.forms import Forms
from pipeline.route import Directory
from pipeline.subject import parse_subject

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def forms() -> Forms:
    return Forms.load(ROOT / "templates")


def test_names_and_cells_a_scanned_table_or_letter_reads_below_the_threshold(forms):
    rows = (Listed("济南职业技术培训学院", Track.GENERAL, {"contact_phone": "0531-880l6235", "contact": "王晓梅"},
                   {"contact_phone": 0.61, "contact": 0.99}, 0.99, "summary"),
            Listed("章丘农业技朮推广培训中心", Track.RURAL, {}, {}, 0.70, "summary"))
    summary = Document("汇总表.pdf", DocKind.SUMMARY, "ocr", listed=rows)
    low = unsure(summary, forms, 0.85)
    assert list(low.values()) == ["申报汇总表中“济南职业技术培训学院”的联系电话",
                                  "申报汇总表所列第2个单位名称“章丘农业技朮推广培训中心”"]
    letter = Document("推荐函.pdf", DocKind.LETTER, "ocr", listed=(Listed("东营石油技朮培训中心", Track.GENERAL,
                                                                         confidence=0.8, source="letter"),))
    assert list(unsure(letter, forms, 0.85).values()) == ["推荐函所列第1个单位名称“东营石油技朮培训中心”"]
    assert unsure(letter, forms, 0.75) == {}


def test_a_settled_field_leaves_the_finding_and_the_rest_stays(forms):
    low = {"unit_name": "申报单位名称", "track": "申报类别"}
    doc = Document("申请表.pdf", DocKind.FORM, "ocr", low_confidence=low,
                   problem=Finding(Flag.LOW_CONFIDENCE,
                                   note("扫描件", low.values()) + "；《申请表.pdf》部分页面未能识别（第2页）"))
    one = confirmed(doc, {"unit_name"})
    assert one.problem.detail == "以下信息由扫描件识别，置信度较低，请核对：申报类别；《申请表.pdf》部分页面未能识别（第2页）"
    both = confirmed(one, {"track"})
    assert both.problem.detail == "《申请表.pdf》部分页面未能识别（第2页）" and both.low_confidence == {}
    alone = replace(doc, problem=Finding(Flag.LOW_CONFIDENCE, note("扫描件", low.values())))
    assert confirmed(alone, {"unit_name", "track"}).problem is None


def lost_tick_form(forms: Forms, read_as: str) -> Document:
    """A scanned 申请表 whose 申报类别 line was lost: the track only guessed (see test_fields)."""
    fields = {"unit_name": "济南泉城继续教育研究院", "credit_code": "52370102672134909C", "contact": "李文博",
              "contact_phone": "0531-86925566", "track": read_as, "avg_trainees": 3200}
    doc = Document("申请表-济南泉城继续教育研究院.pdf", DocKind.FORM, "ocr", fields=fields,
                   field_confidence=dict.fromkeys(fields, 0.99) | {"track": 0.5})
    low = unsure(doc, forms, 0.85)
    assert low == {"track": "申报类别"}
    return replace(doc, low_confidence=low, problem=Finding(Flag.LOW_CONFIDENCE, note("扫描件", low.values())))


def assembled(config, form: Document, track: Track | None):
    """The one application of a 济南 email: the form, and a typed 推荐函 listing it (unless track is None)."""
    letters = [] if track is None else [Document("推荐函.pdf", DocKind.LETTER, "text",
                                                 listed=(Listed("济南泉城继续教育研究院", track, source="letter"),))]
    message = Message("<t@example.cn>", "济南市继续教育基地申报", "rsj@jinan.example.cn", "", datetime.now(UTC),
                      {}, "", tuple(Attachment(d.filename, "application/pdf", b"") for d in (*letters, form)))
    directory = Directory(config.recommenders)
    sub = Submission(b"", message.received_at, message, parse_subject(message.subject),
                     directory.by_sender(message.sender), documents=(*letters, form))
    (app,) = assemble(sub, config, directory).applications
    return app


def test_a_guessed_track_gives_way_to_the_letters_and_says_so(config, forms):
    app = assembled(config, lost_tick_form(forms, "reconfirm"), Track.GENERAL)
    assert app.track is Track.GENERAL and app.fields["track"] == "general"
    (finding,) = [f for f in app.findings if "申报类别" in f.detail]
    assert finding.flag is Flag.LOW_CONFIDENCE and "重新确认" in finding.detail and "推荐函" in finding.detail


def test_a_guessed_track_the_letter_confirms_is_no_longer_in_doubt(config, forms):
    app = assembled(config, lost_tick_form(forms, "general"), Track.GENERAL)
    assert app.track is Track.GENERAL and app.field_confidence["track"] == 1.0
    assert not any("申报类别" in f.detail for f in app.findings)


def test_without_a_letter_a_guessed_track_stays_flagged(config, forms):
    app = assembled(config, lost_tick_form(forms, "reconfirm"), None)
    assert app.fields["track"] == "reconfirm" and app.field_confidence["track"] < 0.85
    assert any(f.flag is Flag.LOW_CONFIDENCE and "申报类别" in f.detail for f in app.findings)


def test_a_scanned_credit_code_whose_check_characters_agree_is_no_doubt(forms):
    # The form of the real family's 推荐函+申请表+佐证材料 scan: its check letter J, small at the cell's
    # edge, read at 0.43, the other seventeen sure. Both check characters agree: nothing to check.
    fields = {"unit_name": "临沂市沂蒙专业技术人员培训学院", "credit_code": "12371300495021734J", "contact": "魏丽华",
              "contact_phone": "0539-8112905", "track": "general", "avg_trainees": 2700}
    doc = Document("材料.pdf", DocKind.FORM, "ocr", fields=fields,
                   field_confidence=dict.fromkeys(fields, 0.99) | {"credit_code": 0.43})
    assert unsure(doc, forms, 0.85) == {}
    # One place misread (the check letter read as K) fails the check: still a doubt.
    misread = replace(doc, fields=fields | {"credit_code": "12371300495021734K"})
    assert unsure(misread, forms, 0.85) == {"credit_code": "统一社会信用代码"}
    # GB 32100's check character alone is not enough: this one's organisation code fails its own.
    lucky = replace(doc, fields=fields | {"credit_code": "913701001234567808"})
    assert unsure(lucky, forms, 0.85) == {"credit_code": "统一社会信用代码"}
