"""The subject grammar of the notice: "XXXX继续教育基地申报", where XXXX names a recommender or an applicant."""
from __future__ import annotations

import re
import unicodedata

from .model import SubjectInfo, Track

# Reply and forward prefixes of Outlook, Foxmail, QQ Mail, NetEase and Coremail, repeated any number of times.
_PREFIX = re.compile(r"^\s*(re|fw|fwd|aw|sv|回复|回覆|答复|转发|转|转寄)\s*[:：]\s*", re.IGNORECASE)
_TRACK_WORDS = ((Track.AUDIT, "审验"), (Track.RECONFIRM, "重新确认"), (Track.RURAL, "乡村振兴"))
# A parenthesis holding only a track hint, e.g. （重新确认） or 【乡村振兴专项】: allowed after the suffix.
_HINT_GROUP = re.compile(r"[(\[【〔](?:申报)?(审验|重新确认|乡村振兴(?:专项)?)[)\]】〕]")
_BRACKETS = re.compile(r"[()\[\]【】〔〕《》「」『』<>\"“”'‘’]")
_RELATED = ("继续教育基地", "继教基地", "基地申报", "基地认定")
_WHO_TAIL = re.compile(r"(关于.*|推荐|申报|省级|专业技术人员|的)+$")


def without_reply_prefixes(text: str) -> str:
    """The subject the sender first wrote: "回复: 转发: Re:" and the like taken off, however many."""
    while (stripped := _PREFIX.sub("", text, count=1)) != text:
        text = stripped
    return text


def is_reply(text: str) -> bool:
    """A reply or a forward ("Re:", "回复：", "转发：" …) rather than a subject the sender wrote."""
    return without_reply_prefixes(text) != text


def parse_subject(raw: str, suffix: str = "继续教育基地申报") -> SubjectInfo:
    text = without_reply_prefixes(unicodedata.normalize("NFKC", raw or ""))
    hint = next((track for track, word in _TRACK_WORDS if word in text), None)
    cleaned = _HINT_GROUP.sub("", text)
    cleaned = re.sub(r"\s+", "", _BRACKETS.sub("", cleaned))
    suffix_n = re.sub(r"\s+", "", unicodedata.normalize("NFKC", suffix))
    if cleaned.endswith(suffix_n) and len(cleaned) > len(suffix_n):
        who = _clean_who(cleaned[: -len(suffix_n)])
        if who:
            return SubjectInfo(raw, cleaned, True, True, who, hint)
    related = suffix_n in cleaned or any(word in cleaned for word in _RELATED)
    who = ""
    if related:
        cut = min((i for i in (cleaned.find("继续教育"), cleaned.find("继教"), cleaned.find("基地")) if i >= 0),
                  default=0)
        who = _clean_who(cleaned[:cut])
    return SubjectInfo(raw, cleaned, False, related, who, hint)


def _clean_who(text: str) -> str:
    text = text.strip("-_—:：,，.。、 ")
    text = re.sub(r"^(关于)?(推荐)?", "", text)
    # "济南市人社局关于推荐省级专业技术人员…" names 济南市人社局
    return _WHO_TAIL.sub("", text).strip("-_—:：,，.。、 ")
