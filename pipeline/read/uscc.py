"""统一社会信用代码 (GB 32100-2015): the check character confirms an OCR reading or corrects it. Pure.

The check character is python-stdnum's (`stdnum.cn.uscc`). Its `is_valid` also wants the first 8
characters to be digits, which rejects real codes of registering authorities A/N/Y (e.g. 中央军委
改革和编制办公室, 农业农村部门, 其他), so the format is checked here: 18 characters of the code's
alphabet, the 6-digit region code in places 3–8.

OCR confuses letters and digits that look alike. A reading that fails the check is corrected only
when the plausible substitutions give exactly one valid code: first the characters that cannot be
where they are (O, I, Z, S, V are not in the alphabet; a letter inside the region code), then at
most one more look-alike swap anywhere.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

from stdnum.cn import uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_REGION = range(2, 8)

# What OCR reads in place of a character: for each reading, the characters it may stand for.
_LOOKALIKE = {
    "O": "0D", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "J": "1", "T": "7", "Z": "2",
    "S": "5", "B": "8", "G": "6", "V": "UY", "A": "4",
    "0": "DQ", "8": "B", "6": "G", "1": "L", "7": "T", "4": "A",
}


@dataclass(frozen=True)
class CodeReading:
    code: str               # the code to use: as read, or corrected
    valid: bool
    corrected_from: str = ""  # the reading, when the code was corrected


def compact(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", text or "").upper())


def is_valid(code: str) -> bool:
    code = compact(code)
    if len(code) != 18 or any(c not in ALPHABET for c in code) or not code[2:8].isdigit():
        return False
    return uscc.calc_check_digit(code[:17]) == code[17]


def check_char(first17: str) -> str | None:
    if len(first17) != 17 or any(c not in ALPHABET for c in first17):
        return None
    return uscc.calc_check_digit(first17)


def _allowed(pos: int, ch: str) -> bool:
    return ch.isdigit() if pos in _REGION else ch in ALPHABET


def confirm(reading: str) -> CodeReading:
    """The check character's verdict on an OCR reading, corrected when exactly one fix fits."""
    code = compact(reading)
    if is_valid(code):
        return CodeReading(code, True)
    if len(code) != 18:
        return CodeReading(code, False)  # a dropped or doubled character: no safe guess
    forced: list[list[str]] = []
    for pos, ch in enumerate(code):
        if _allowed(pos, ch):
            forced.append([ch])
        else:
            options = [c for c in _LOOKALIKE.get(ch, "") if _allowed(pos, c)]
            if not options:
                return CodeReading(code, False)
            forced.append(options)
    bases = ["".join(p) for p in itertools.product(*forced)][:64]
    found = {b for b in bases if is_valid(b)}
    if not found:
        fixed = {pos for pos, opts in enumerate(forced) if len(opts) > 1 or opts[0] != code[pos]}
        for base in bases:
            for pos, ch in enumerate(base):
                if pos in fixed:
                    continue
                for alt in _LOOKALIKE.get(ch, ""):
                    if _allowed(pos, alt):
                        candidate = base[:pos] + alt + base[pos + 1:]
                        if is_valid(candidate):
                            found.add(candidate)
    if len(found) == 1:
        return CodeReading(found.pop(), True, code)
    return CodeReading(code, False)
