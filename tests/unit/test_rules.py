"""The notice's per-message checks that are pure functions."""
import pytest

from pipeline.rules import credit_code_check_char, credit_code_valid


@pytest.mark.parametrize("code", ["91350100M000100Y43", "12370000495203618F", "52370100493001174X"])
def test_valid_credit_codes(code):
    assert credit_code_valid(code)
    assert credit_code_valid(code.lower())


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91370000163061123N", "9135010", "91350100M000100YI3", ""])
def test_invalid_credit_codes(code):
    assert not credit_code_valid(code)


def test_check_character_is_computed_from_the_first_17():
    assert credit_code_check_char("91350100M000100Y4") == "3"
    assert credit_code_check_char("91350100M000100I4") is None  # I is not in the alphabet
