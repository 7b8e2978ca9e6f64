"""The review list's numbers: one type reads what a clerk types and prints what the ledger keeps."""
from __future__ import annotations

import pytest

from pipeline.round.target import BadTarget, Kind, Target


@pytest.mark.parametrize("target, text", [
    (Target.application(12), "A12"), (Target.message(5), "M5"), (Target(Kind.RECONFIRM, 2), "R2"),
    (Target(Kind.AUDIT, 3), "S3"), (Target.form(7, 2), "F7-2"),
])
def test_each_number_prints_as_the_list_shows_it_and_reads_back(target, text):
    assert str(target) == text and f"{target}" == text
    assert Target.parse(text) == target and Target.parse(text.lower()) == target


def test_a_bare_number_is_an_application_and_spaces_or_full_width_dashes_do_not_matter():
    assert Target.parse(" 12 ") == Target.application(12)
    assert Target.parse("F 4－1") == Target.form(4, 1) and Target.parse("m05") == Target.message(5)


@pytest.mark.parametrize("text", ["", "X3", "A1-2", "F12", "A", "12A", "M-3"])
def test_what_is_no_number_is_refused_in_chinese(text):
    with pytest.raises(BadTarget, match="申请写 A12"):
        Target.parse(text)


def test_kinds_say_what_they_number():
    assert [k.label for k in Kind] == ["申请", "邮件", "附件3名单单位", "附件4名单机构", "缺申请表事项"]
    assert Target.application(1).is_application and not Target.message(1).is_application
    # Hashable and ordered: numbers key the assessment's corrections and sort as a clerk expects.
    assert sorted([Target.message(2), Target.application(10), Target.application(9)]) == \
        [Target.application(9), Target.application(10), Target.message(2)]
