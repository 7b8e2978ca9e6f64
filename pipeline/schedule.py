"""`intake run`: a pass every schedule.poll_every and as soon as IDLE announces mail, never two at once,
receipts retried on their own schedule, a clean stop on SIGTERM or Ctrl-C."""
from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime

from apscheduler.schedulers.blocking import BlockingScheduler

from . import caches
from .config import Config
from .dates import SHANGHAI
from .flow import run_pass, send_receipts
from .lock import Busy
from .mail.connect import open_outbox
from .mail.imap import IDLE_SECONDS, ImapMailbox
from .store import Ledger

log = logging.getLogger("intake.schedule")


class Service:
    def __init__(self, config: Config):
        self.config = config
        self.stop = threading.Event()
        self.wake = threading.Event()   # mail arrived while a pass was running: go again
        self.idle = threading.Event()   # no pass is running
        self.idle.set()
        self._lock = threading.Lock()
        self._running = False
        self._started = False   # the first pass after a start is logged even when idle: the service is up
        # The timezone is explicit: the office's server may run in UTC, the deadline is Beijing time.
        self.scheduler = BlockingScheduler(timezone=SHANGHAI)

    def passes(self) -> None:
        with self._lock:
            self._running = True
            self.idle.clear()
        try:
            while not self.stop.is_set():
                self.wake.clear()
                try:
                    result = run_pass(self.config, stop=self.stop, wait=False, command="intake run")
                    if not self._started and not result.eventful:
                        log.info("%s (the first since the start)", result.line())
                    self._started = True
                except Busy as exc:  # an `intake poll` or `intake retry` by hand: this run gives way to it
                    log.info("pass skipped: %s", exc)
                    return
                except Exception:  # the service outlives one bad pass; the next one retries
                    log.exception("pass failed")
                    return
                with self._lock:
                    # Decided under the lock that new_mail() takes: mail announced from here on
                    # finds no pass running and starts one itself.
                    if not self.wake.is_set() and not result.more:
                        self._running = False
                        return
        finally:
            with self._lock:
                self._running = False
                self.idle.set()

    def new_mail(self) -> None:
        """IDLE announced mail: the running pass goes round once more, or a pass starts now."""
        with self._lock:
            self.wake.set()
            if self._running:
                return
        self.scheduler.modify_job("pass", next_run_time=datetime.now(SHANGHAI))

    def retry_receipts(self) -> None:
        try:
            outbox = open_outbox(self.config)
            try:
                with Ledger(self.config.ledger_path) as ledger:
                    sent = send_receipts(ledger, outbox, self.config)
            finally:
                outbox.close()
            if sent:
                log.info("receipts retried: %d sent", sent)
        except Exception:
            log.exception("receipt retry failed")

    def tidy(self) -> None:
        try:
            caches.trim(self.config.output_dir, self.config.cache_size)
        except Exception:  # a cache left too large costs disk, never a message
            log.exception("kept files could not be trimmed")

    def watch(self) -> None:
        """IDLE on a connection of its own; polling stays the truth if IDLE fails or is not offered."""
        box = ImapMailbox(self.config.mailbox, self.config.mailbox_password, self.config.imap)
        try:
            while not self.stop.is_set():
                try:
                    if not box.can_idle:
                        log.info("the server does not offer IDLE: polling only")
                        return
                    if box.wait_for_mail(IDLE_SECONDS) and not self.stop.is_set():
                        log.info("IDLE: new mail announced")
                        self.new_mail()
                except Exception as exc:  # noqa: BLE001 - the watcher must outlive any server fault; it logs and tries again
                    log.warning("IDLE watcher: %s; trying again in 30 s", exc)
                    box.close()
                    self.stop.wait(30)
        finally:
            box.close()

    def on_signal(self, signum, _frame) -> None:
        log.info("signal %s: stopping after the message in hand", signal.Signals(signum).name)
        self.stop.set()
        self.scheduler.shutdown(wait=False)

    def serve(self) -> None:
        every = self.config.poll_every.total_seconds()
        retry = self.config.receipt_retry_every.total_seconds()
        # max_instances=1: never two passes at once; coalesce: a backlog of missed runs is one run;
        # misfire_grace_time: the default of 1 s would silently skip a run that starts a little late.
        self.scheduler.add_job(self.passes, "interval", seconds=every, id="pass", max_instances=1,
                               coalesce=True, misfire_grace_time=int(every), next_run_time=datetime.now(SHANGHAI))
        self.scheduler.add_job(self.retry_receipts, "interval", seconds=retry, id="receipts", max_instances=1,
                               coalesce=True, misfire_grace_time=int(retry))
        self.scheduler.add_job(self.tidy, "interval", hours=1, id="tidy", max_instances=1, coalesce=True,
                               misfire_grace_time=3600, next_run_time=datetime.now(SHANGHAI))
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        if self.config.mailbox.scheme != "maildir" and self.config.imap.idle:
            threading.Thread(target=self.watch, name="idle", daemon=True).start()
        log.info("intake running: a pass every %s on %s", self.config.poll_every, self.config.mailbox.display())
        self.scheduler.start()
        # shutdown(wait=False) in the signal handler returns at once; the pass in hand finishes its
        # message and records it before the process may end.
        self.idle.wait()
        log.info("intake stopped")


def serve(config: Config) -> None:
    Service(config).serve()
