"""The office's time zone: the deadline, delivery times and log lines are Beijing time."""
from __future__ import annotations

from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
