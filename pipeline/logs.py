"""Log lines for the engineer who runs the server: one per event, in the office's time zone with its offset."""
from __future__ import annotations

import logging
import re
import sys
from datetime import datetime

from .dates import SHANGHAI

# What a terminal or a log viewer would act on (escape sequences, bidi overrides): a sender's text is
# logged (subjects, file names), printed by the CLI, and read in a terminal. Newlines and tabs stay.
UNSEEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


class OfficeTime(logging.Formatter):
    """2019-09-22 23:59:59+08:00 whatever the server's own zone: the deadline is Beijing time."""

    def format(self, record: logging.LogRecord) -> str:
        return UNSEEN.sub("", super().format(record))

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # logging's name
        return datetime.fromtimestamp(record.created, SHANGHAI).isoformat(sep=" ", timespec="seconds")


class BusyPoll(logging.Filter):
    """A poll due while the pass before it still runs is skipped by design (one pass at a time): on a
    deadline day with a long pass that is every poll, and apscheduler would warn each time."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "maximum number of running instances" not in record.getMessage()


def setup(level: int, verbose: bool = False) -> None:
    """`level` for everything; `verbose` adds intake's own line per stage per message (DEBUG), not the
    libraries' (pdfminer alone would write thousands)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OfficeTime("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else level)
    logging.getLogger("intake").setLevel(logging.DEBUG if verbose else logging.NOTSET)
    # The scheduler says twice a minute that it ran a job; what the job did is intake's to say.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = logging.getLogger("apscheduler.scheduler")
    if not any(isinstance(f, BusyPoll) for f in scheduler.filters):
        scheduler.addFilter(BusyPoll())
