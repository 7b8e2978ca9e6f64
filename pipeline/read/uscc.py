"""统一社会信用代码 (GB 32100-2015): the check characters confirm an OCR reading or correct it. Pure.

The check character is python-stdnum's (`stdnum.cn.uscc`). Its `is_valid` also wants the first 8
characters to be digits, which rejects real codes of registering authorities A/N/Y (e.g. 中央军委
改革和编制办公室, 农业农村部门, 其他), so the format is checked here: 18 characters of the code's
alphabet, the 6-digit region code in places 3–8.

A correction must be one a scanner can cause, or it invents a code: a single OCR slip anywhere lets
some other one-character change pass the check character by chance (1 in 31), and "correcting"
91370500165418739F gave 91370500L65418739F, which passes and is wrong. So a reading is corrected only

- by characters OCR confuses in print (0/O/D, 1/I/J/L, 2/Z, 5/S, 8/B; a J at a cell's right edge reads
  as 1 in the real forms' scans), the check character included:
  those that cannot stand where they are (O, I, Z, S are not in the alphabet; a letter in the region
  code), and at most one more swap;
- when the corrected code also passes the check character of its embedded organisation code
  (places 9–17, GB 11714), which a chance fix almost never does;
- when exactly one correction fits.

Only OCR readings are ever corrected (assemble.py): a typed code is what the sender wrote.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from stdnum.cn import uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# GB 32100 appendix A, the registering authority in place 1: 1 机构编制 … 9 市场监管, A 中央军委改革和编制
# 办公室, N 农业, Y 其他. A correction never puts anything else there.
AUTHORITIES = "123456789ANY"
_REGION = range(2, 8)
_LOOKALIKE_GROUPS = ("0OD", "1IJL", "2Z", "5S", "8B")
_LOOKALIKE = {ch: "".join(c for c in group if c != ch) for group in _LOOKALIKE_GROUPS for ch in group}
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


@dataclass(frozen=True)
class CodeReading:
    code: str                   # the code to use: as read, or corrected
    valid: bool
    corrected_from: str = ""    # the reading, when the code was corrected
    changes: tuple[tuple[int, str, str], ...] = ()   # (1-based place, as read, corrected to)
    completed: bool = False     # the check character OCR dropped, computed from the other seventeen

    def describe(self) -> str:
        """What was corrected, for the clerk: 第9位“1”改为“L”; 第18位补为“J”."""
        return "，".join(f"第{place}位“{old}”改为“{new}”" if old else f"第{place}位补为“{new}”"
                        for place, old, new in self.changes)


def compact(text: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", unicodedata.normalize("NFKC", text or "").upper())


@lru_cache(maxsize=4096)      # the round asks for every form's code, pass after pass
def is_valid(code: str) -> bool:
    code = compact(code)
    if len(code) != 18 or any(c not in ALPHABET for c in code) or not code[2:8].isdigit():
        return False
    return uscc.calc_check_digit(code[:17]) == code[17]


def check_char(first17: str) -> str | None:
    if len(first17) != 17 or any(c not in ALPHABET for c in first17):
        return None
    return uscc.calc_check_digit(first17)


def org_code_valid(code: str) -> bool:
    """GB 11714: the organisation code in places 9–17 carries its own check character."""
    org = compact(code)[8:17]
    if len(org) != 9 or not all(c.isdigit() or "A" <= c <= "Z" for c in org):
        return False
    total = sum(w * (int(c) if c.isdigit() else ord(c) - 55) for w, c in zip(_ORG_WEIGHTS, org))
    check = 11 - total % 11
    return org[8] == {10: "X", 11: "0"}.get(check, str(check))


def checks_out(code: str) -> bool:
    """Both check characters agree with the rest: GB 32100's over all eighteen places, GB 11714's over
    the organisation code in places 9–17. A code misread in one place never passes the first (every
    place's weight is prime to 31), misread in two seldom passes both: a reading that checks out is no
    guess, whatever OCR's score for its strokes (a small check letter at a cell's edge, read at 0.43)."""
    return is_valid(code) and org_code_valid(code)


def _allowed(pos: int, ch: str) -> bool:
    if pos == 0:
        return ch in AUTHORITIES
    return ch.isdigit() if pos in _REGION else ch in ALPHABET


def confirm(reading: str) -> CodeReading:
    """The check characters' verdict on an OCR reading, corrected when exactly one plausible fix fits."""
    code = compact(reading)
    if is_valid(code):
        return CodeReading(code, True)
    if len(code) == 17 and (check := check_char(code)) is not None and code[2:8].isdigit() \
            and org_code_valid(code + check):
        # OCR dropped the last character (a small check letter at the cell's edge). Had it dropped
        # another, the organisation code in places 9–17 would be shifted and fail its own check.
        return CodeReading(code + check, True, code, ((18, "", check),), completed=True)
    if len(code) != 18:
        return CodeReading(code, False)  # a dropped or doubled character: no safe guess
    forced: list[str] = []
    for pos, ch in enumerate(code):
        options = ch if _allowed(pos, ch) else "".join(c for c in _LOOKALIKE.get(ch, "") if _allowed(pos, c))
        if not options:
            return CodeReading(code, False)
        forced.append(options)
    bases = ["".join(p) for p in itertools.product(*forced)][:64]
    free = [pos for pos, opts in enumerate(forced) if opts == code[pos]]
    candidates = set(bases)
    for base in bases:
        for pos in free:
            for alt in _LOOKALIKE.get(base[pos], ""):
                if _allowed(pos, alt):
                    candidates.add(base[:pos] + alt + base[pos + 1:])
    found = {c for c in candidates if is_valid(c) and org_code_valid(c)}
    if len(found) != 1:
        return CodeReading(code, False)
    fixed = found.pop()
    changes = tuple((pos + 1, a, b) for pos, (a, b) in enumerate(zip(code, fixed)) if a != b)
    return CodeReading(fixed, True, code, changes)
