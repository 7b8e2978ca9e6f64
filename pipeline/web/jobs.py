"""Work the console starts and does not wait for: the tables rebuilt after a clerk's change, and messages
processed again. One thread, one job at a time; each takes the pass lock, as `intake report` and
`intake retry` would, so that it never runs beside a pass of `intake run`."""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from ..config import Config
from ..faults import describe
from ..flow import run_pass
from ..lock import PassLock
from ..outputs import report
from ..store import Ledger

log = logging.getLogger("intake.web")


@dataclass(frozen=True)
class Rebuild:
    """Every 汇总表, 统计 and 受理回执 built again from the ledger."""


@dataclass(frozen=True)
class Rerun:
    rows: tuple[int, ...]


class Jobs:
    def __init__(self, config: Config):
        self.config = config
        self._queue: queue.Queue[Rebuild | Rerun] = queue.Queue()
        self._lock = threading.Lock()
        self._pending = 0
        self._rebuild_queued = False
        self.running = ""           # what a page may say is under way, in Chinese
        self.last_error = ""
        self._thread: threading.Thread | None = None

    def rebuild(self) -> None:
        with self._lock:
            if self._rebuild_queued:      # one queued rebuild sees every change made before it starts
                return
            self._rebuild_queued = True
        self._put(Rebuild())

    def rerun(self, rows: tuple[int, ...]) -> None:
        self._put(Rerun(rows))

    def _put(self, job: Rebuild | Rerun) -> None:
        with self._lock:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="web-jobs", daemon=True)
                self._thread.start()
        self._queue.put(job)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._pending > 0

    def wait(self, timeout: float = 600.0) -> bool:
        """For tests and the benchmark: True once every job handed in so far has ended."""
        end = time.monotonic() + timeout
        while self.busy and time.monotonic() < end:
            time.sleep(0.05)
        return not self.busy

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                self._run(job)
                self.last_error = ""
            except Exception as exc:  # a failed job is shown on the pages; the thread lives on
                log.exception("console job failed: %s", job)
                self.last_error = describe(exc)
            finally:
                with self._lock:
                    self._pending -= 1
                self.running = ""

    def _run(self, job: Rebuild | Rerun) -> None:
        cfg = self.config
        if isinstance(job, Rerun):
            self.running = "正在重新处理 " + "、".join(f"M{r}" for r in job.rows)
            run_pass(cfg, rerun=job.rows, command="intake web（重新处理）")
            return
        self.running = "正在重新生成汇总表和回执"
        with self._lock:
            self._rebuild_queued = False
        with PassLock(cfg.output_dir, "intake web（重新生成汇总表）").acquire(wait=True), Ledger(cfg.ledger_path) as ledger:
            report.rebuild(cfg, ledger)
