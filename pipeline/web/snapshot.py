"""The round as the console's pages read it: the assessment, kept while nothing it is made of changes.

Assessing a round of a thousand messages takes a tenth of a second; a page must not. The ledger says in
one indexed query whether anything the assessment reads has changed (Ledger.round_inputs), and the
deadline passing changes it too: until then every page reads the same assessment.
"""
from __future__ import annotations

import threading
from datetime import UTC, datetime

from ..config import Config
from ..round.apply import assessment
from ..round.assess import Assessment
from ..store import Ledger


class Snapshots:
    def __init__(self, config: Config):
        self.config = config
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._result: Assessment | None = None

    def assessment(self, ledger: Ledger) -> Assessment:
        now = datetime.now(UTC)
        key = (*ledger.round_inputs(self.config.round.name), now > self.config.round.deadline)
        with self._lock:
            if key == self._key and self._result is not None:
                return self._result
        result = assessment(self.config, ledger, now)
        with self._lock:
            self._key, self._result = key, result
        return result
