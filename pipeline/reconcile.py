"""What one email's sources say about its applicants, made to agree. Pure.

An applicant may be named four times: by the subject, the 推荐函, the 汇总表 and its own 申请表. Typed
text (a text layer, DOCX/XLSX cells, the subject, the file name) is what the sender wrote; OCR is a
reading of it, so a typed name wins over an OCR one that is close to it. Names that cannot be paired
stay apart and become findings for the clerk.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .model import DocKind, Document, Listed, Track
from .names import pair

_SOURCE_LABEL = {"letter": "推荐函", "summary": "汇总表"}


@dataclass(frozen=True)
class Mention:
    name: str
    typed: bool
    where: str                  # 推荐函 | 汇总表 | 邮件标题 | 文件名 | 申请表
    confidence: float = 1.0


@dataclass
class Group:
    """One applicant as the letters and summary tables of an email name it."""

    mentions: list[Mention] = field(default_factory=list)
    tracks: dict[str, Track] = field(default_factory=dict)      # 推荐函/汇总表 → track
    fields: dict[str, object] = field(default_factory=dict)     # the summary row's other cells
    confidence: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The name to pair by and to show: typed before OCR, the letter before the summary."""
        return self.best().name

    def best(self) -> Mention:
        return sorted(self.mentions, key=lambda m: (not m.typed, m.where != "推荐函"))[0]

    @property
    def track(self) -> Track | None:
        return self.tracks.get("推荐函") or self.tracks.get("汇总表")

    @property
    def where(self) -> str:
        return "、".join(dict.fromkeys(m.where for m in self.mentions))

    def add(self, entry: Listed, typed: bool) -> None:
        where = _SOURCE_LABEL.get(entry.source, entry.source)
        self.mentions.append(Mention(entry.name, typed, where, entry.confidence))
        if entry.track is not None:
            self.tracks.setdefault(where, entry.track)
        for key, value in entry.fields.items():
            if key not in self.fields:
                self.fields[key] = value
                self.confidence[key] = entry.field_confidence.get(key, entry.confidence)


def listed_groups(docs: tuple[Document, ...]) -> list[Group]:
    """Every applicant the letters and summary tables name, the same one from several lists once."""
    groups: list[Group] = []
    for doc in docs:
        if doc.kind not in (DocKind.LETTER, DocKind.SUMMARY) or not doc.listed:
            continue
        typed = doc.method != "ocr"
        entries = list(doc.listed)
        matched = {j: i for i, j, _ in pair([g.name for g in groups], [e.name for e in entries])}
        for j, entry in enumerate(entries):
            if j in matched:
                groups[matched[j]].add(entry, typed)
            else:
                group = Group()
                group.add(entry, typed)
                groups.append(group)
    return groups


def typed_name(read: Mention, others: list[Mention]) -> Mention | None:
    """The typed name that should replace an OCR reading (None: keep the reading)."""
    if read.typed:
        return None
    typed = [m for m in others if m.typed]
    return typed[0] if typed else None
