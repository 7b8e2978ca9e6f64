"""Text normalisation shared by label matching and name comparison."""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"[\s\u3000\u00a0]+")
_TRAILING_COLON = re.compile(r"[:：]+$")
_BRACKETS = str.maketrans("", "", "()[]{}<>【】〔〕《》「」『』“”\"'")


def norm(text: str) -> str:
    """Full-width to half-width, no spaces: how labels are compared. Keeps brackets (they carry units)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text or ""))


def norm_label(text: str) -> str:
    return _TRAILING_COLON.sub("", norm(text))


def norm_name(text: str) -> str:
    """How unit names are compared: also without brackets and punctuation around them."""
    return norm(text).translate(_BRACKETS).strip("·.,，。;；:：")


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
