"""`intake run`: one pass every schedule.poll_every, never two at once, a clean stop on a signal."""
from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from .config import Config
from .flow import run_pass
from .rules import SHANGHAI

log = logging.getLogger("intake.schedule")


def serve(config: Config) -> None:
    stop = threading.Event()
    interval = config.poll_every.total_seconds()
    # The timezone is explicit: the office's server may run in UTC, the deadline is Beijing time.
    scheduler = BlockingScheduler(timezone=SHANGHAI)

    def one_pass() -> None:
        try:
            run_pass(config, stop=stop)
        except Exception:  # the service outlives one bad pass; the next one retries
            log.exception("pass failed")

    # max_instances=1: never two passes at once; coalesce: a backlog of missed runs is one run;
    # misfire_grace_time: the default of 1 s would silently skip a run that starts a little late.
    scheduler.add_job(one_pass, "interval", seconds=interval, next_run_time=datetime.now(SHANGHAI),
                      max_instances=1, coalesce=True, misfire_grace_time=int(interval), id="pass")

    def on_signal(signum, _frame) -> None:
        log.info("signal %s: stopping after the message in hand", signal.Signals(signum).name)
        stop.set()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("intake running: a pass every %s on %s", config.poll_every, config.mailbox.display())
    scheduler.start()
