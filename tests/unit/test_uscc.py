"""统一社会信用代码: the check characters, and corrections only where OCR can have caused the error."""
from __future__ import annotations

import pytest
from stdnum.cn import uscc as stdnum_uscc

from pipeline.read.uscc import ALPHABET, _allowed, checks_out, confirm, is_valid, org_code_valid

DONGYING = "91370500165418739P"     # tests/data/samples/MANIFEST.md: valid, organisation code 16541873-9


def test_the_standards_worked_example_and_the_samples_are_valid():
    assert is_valid("91350100M000100Y43") and org_code_valid("91350100M000100Y43")   # GB 32100-2015
    assert is_valid(DONGYING) and org_code_valid(DONGYING)


def test_a_lucky_one_character_change_is_not_a_correction():
    # Defect C: "1"→"L" in place 9 makes the check character pass by chance; the organisation code's
    # own check does not, so the reading stays as read and is reported invalid.
    assert is_valid("91370500L65418739F") and not org_code_valid("91370500L65418739F")
    checked = confirm("91370500165418739F")
    assert (checked.code, checked.valid, checked.corrected_from) == ("91370500165418739F", False, "")


@pytest.mark.parametrize("reading, place, seen", [
    ("9137O500165418739P", 5, "O"),     # O is not in the alphabet
    ("913705OO165418739P", 7, "O"),     # two of them
    ("91370500I65418739P", 9, "I"),
    ("91370S00165418739P", 6, "S"),     # a letter inside the region code
])
def test_lookalikes_that_cannot_stand_there_are_corrected(reading, place, seen):
    checked = confirm(reading)
    assert checked.valid and checked.code == DONGYING and checked.corrected_from == reading
    assert (place, seen, DONGYING[place - 1]) in checked.changes
    assert f"第{place}位“{seen}”改为“{DONGYING[place - 1]}”" in checked.describe()


def _code_ending_in(check: str) -> str:
    """A valid code (both check characters right) whose GB 32100 check character is `check`."""
    for n in range(10_000_000, 10_100_000):
        body = f"{n:08d}"
        total = sum(w * int(c) for w, c in zip((3, 7, 9, 10, 5, 8, 4, 2), body))
        org = body + {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))
        first17 = "91370100" + org
        if stdnum_uscc.calc_check_digit(first17) == check:
            return first17 + check
    raise AssertionError(check)


@pytest.mark.parametrize("truth, misread", [("0", "D"), ("8", "B"), ("B", "8"), ("1", "L"), ("J", "1")])
def test_a_misread_check_character_is_corrected_when_unique(truth, misread):
    code = _code_ending_in(truth)
    checked = confirm(code[:17] + misread)
    assert checked.valid and checked.code == code and checked.changes == ((18, misread, truth),)


def test_ambiguous_or_implausible_errors_stay_as_read():
    # A check character that is no look-alike of the right one (F for P): a sender's typo, not OCR.
    assert not confirm(DONGYING[:17] + "F").valid
    # A character dropped before the check character, or one doubled (the last one dropped is computed:
    # test_a_dropped_check_character_…).
    assert not confirm(DONGYING[:5] + DONGYING[6:]).valid and not confirm(DONGYING + "1").valid
    # A digit read as another digit is no look-alike: nothing to correct by.
    wrong = DONGYING[:10] + ("3" if DONGYING[10] != "3" else "4") + DONGYING[11:]
    assert not confirm(wrong).corrected_from


def test_every_correction_gives_a_code_both_checks_accept():
    for reading in ("9137O500165418739P", "91370500I65418739P", "5237O1O2672134909C"):
        checked = confirm(reading)
        assert is_valid(checked.code) and org_code_valid(checked.code)
        assert all(c in ALPHABET for c in checked.code)


def test_a_dropped_check_character_is_computed_when_the_organisation_code_confirms_the_rest():
    got = confirm("12371300495021734")          # OCR lost the small J at the cell's edge
    assert (got.code, got.valid, got.completed) == ("12371300495021734J", True, True)
    assert got.describe() == "第18位补为“J”"
    # A character dropped elsewhere shifts the organisation code, which then fails its own check.
    assert not confirm("1237130049502173J").valid


def test_a_code_checks_out_only_when_both_check_characters_agree():
    assert checks_out("12371300495021734J")
    assert not checks_out("12371300495021734K")       # the check letter misread
    assert not checks_out("12371300495021743J")       # two places swapped
    assert not checks_out("913701001234567808")       # GB 32100 passes, the organisation code does not
    assert not checks_out("12371300495021734")        # one place short


def test_a_correction_puts_only_a_registering_authority_in_place_one():
    # J read as 1 at the end: J in place 1 would pass both checks too, but no authority is coded J.
    checked = confirm("123713004950217341")
    assert checked.code == "12371300495021734J" and checked.changes == ((18, "1", "J"),)
    assert all(not _allowed(0, c) for c in "BCDEFGHJKLMPQRTUWX0")
