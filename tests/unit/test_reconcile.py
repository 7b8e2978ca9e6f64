"""One email's sources made to agree about its applicants (pipeline/reconcile.py). Pure."""
from __future__ import annotations

from pipeline.model import DocKind, Document, Listed, Track
from pipeline.reconcile import Mention, listed_groups, typed_name


def _list(kind: DocKind, method: str, *entries: Listed) -> Document:
    return Document(f"{kind.value}.pdf", kind, method, listed=entries)


def test_the_same_applicant_named_by_the_letter_and_the_table_is_one_group_the_typed_name_first():
    letter = _list(DocKind.LETTER, "ocr", Listed("淄博喆垫犇职业培训学校", Track.GENERAL, confidence=0.6, source="letter"),
                   Listed("章丘农业技术推广培训中心", Track.RURAL, source="letter"))
    table = _list(DocKind.SUMMARY, "docx",
                  Listed("淄博喆堃犇职业培训学校", Track.RURAL, {"avg_trainees": 2400}, {"avg_trainees": 1.0},
                         source="summary"),
                  Listed("平阴乡村人才学院", None, source="summary"))
    groups = listed_groups((letter, table, Document("申请表.pdf", DocKind.FORM, "text")))
    assert [g.name for g in groups] == ["淄博喆堃犇职业培训学校", "章丘农业技术推广培训中心", "平阴乡村人才学院"]
    zibo = groups[0]
    assert zibo.where == "推荐函、汇总表" and zibo.fields == {"avg_trainees": 2400}
    assert zibo.track is Track.GENERAL                  # the letter's track before the table's
    assert groups[2].track is None


def test_a_typed_name_replaces_an_ocr_reading_never_the_reverse():
    read, typed = Mention("淄博喆垫犇职业培训学校", False, "申请表", 0.6), Mention("淄博喆堃犇职业培训学校", True, "汇总表")
    assert typed_name(read, [typed]) == typed
    assert typed_name(typed, [read]) is None and typed_name(read, [read]) is None
