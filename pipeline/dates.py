"""The office's time zone (the deadline, delivery times and log lines are Beijing time), and days as clerks write them."""
from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def day_text(moment: datetime) -> str:
    """The day in Beijing as the office writes it: 2019年9月21日."""
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def moment_text(moment: datetime) -> str:
    """The moment in Beijing as the office writes it: 2019年9月21日 09:30."""
    return f"{day_text(moment)} {moment.astimezone(SHANGHAI):%H:%M}"

# The ways people write a day: 2019-09-21, 2019/9/21, 2019.9.21, 2019年9月21日, 9月21日 (the round's year),
# and what a spreadsheet cell gives for a date (2019-09-21 00:00:00).
_FULL = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+00:00(?::00)?)?")
_SHORT = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*日?")


class BadDay(ValueError):
    """A day a clerk typed that is not one; the message is Chinese and shows what was typed."""


def parse_day(text: object, year: int) -> str:
    """The day as YYYY-MM-DD, or BadDay saying why not."""
    if isinstance(text, datetime):
        return text.date().isoformat()
    if isinstance(text, date):
        return text.isoformat()
    written = str(text or "").strip()
    full, short = _FULL.fullmatch(written), _SHORT.fullmatch(written)
    if full:
        y, m, d = (int(g) for g in full.groups())
    elif short:
        y, (m, d) = year, (int(g) for g in short.groups())
    else:
        raise BadDay(f"日期“{written}”无法识别，请写成 2019-09-21、2019/9/21、2019年9月21日 或 9月21日")
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        raise BadDay(f"日期“{written}”不存在（{y}年{m}月{d}日）") from None
