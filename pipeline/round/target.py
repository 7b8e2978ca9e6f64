"""The numbers of the review list — A12, M5, R2, S3, F7-2 — and what a clerk records against them.

A number is what a clerk types and reads (`intake review set A12 …`, 待处理.xlsx) and what the
ledger keeps with each correction, as text; everywhere else it is a Target."""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    APPLICATION = "A"
    MESSAGE = "M"
    RECONFIRM = "R"     # an entry of the 附件3 list (bases to re-confirm), by its place on the list
    AUDIT = "S"         # an entry of the 附件4 list (institutions due for 审验)
    FORM = "F"          # an applicant a message's 推荐函 or 汇总表 names, whose 申请表 never came

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {Kind.APPLICATION: "申请", Kind.MESSAGE: "邮件", Kind.RECONFIRM: "附件3名单单位",
           Kind.AUDIT: "附件4名单机构", Kind.FORM: "缺申请表事项"}


class Entry(StrEnum):
    """What a clerk records against a number, besides a corrected field of an application."""

    STATUS = "status"           # the decision: an application's status, or 已处理 for the rest
    NOTE = "note"
    PAPER = "paper"             # the paper copies came (or, undone, did not)
    SENDER_OK = "sender_ok"     # a message's sender may speak for the recommender it is filed under


# The decision on a message, a list entry or a missing form: dealt with. An application is decided
# with a Status instead.
HANDLED = "handled"


class BadTarget(ValueError):
    """Text that is no number of the review list; the message is Chinese and says what would be."""


_TYPED = re.compile(r"\s*([AaMmRrSs]?)\s*(\d+)\s*|\s*([Ff])\s*(\d+)\s*[-－—]\s*(\d+)\s*")


@dataclass(frozen=True, order=True)
class Target:
    kind: Kind
    number: int
    index: int = 0      # FORM only: the applicant's place among those its message names, from 1

    def __str__(self) -> str:
        return f"{self.kind}{self.number}-{self.index}" if self.kind is Kind.FORM else f"{self.kind}{self.number}"

    @property
    def is_application(self) -> bool:
        return self.kind is Kind.APPLICATION

    @classmethod
    def application(cls, row: int) -> Target:
        return cls(Kind.APPLICATION, row)

    @classmethod
    def message(cls, row: int) -> Target:
        return cls(Kind.MESSAGE, row)

    @classmethod
    def form(cls, message: int, index: int) -> Target:
        return cls(Kind.FORM, message, index)

    @classmethod
    def parse(cls, text: str) -> Target:
        """What a clerk typed: A12 (or just 12), M5, R2, S3, F7-2, in either case, spaces allowed."""
        m = _TYPED.fullmatch(str(text))
        if not m:
            raise BadTarget(f"编号“{text}”无法识别：申请写 A12（或 12），邮件写 M5，附件3/附件4名单写 R2/S3，"
                            "缺申请表写 F7-2（见 intake review 的列表）")
        if m.group(3):
            return cls.form(int(m.group(4)), int(m.group(5)))
        return cls(Kind(m.group(1).upper() or "A"), int(m.group(2)))
