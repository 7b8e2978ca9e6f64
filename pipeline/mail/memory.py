"""A mailbox and an outbox held in memory: whole passes in tests, with no folder or server behind them.

They keep the contracts of the real ones (mail/source.py): the mailbox hands over only what the ledger
has not seen, keeps a message's UID and delivery time, and is told when a message is done; the outbox
sends a receipt once, however often it is asked."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from .source import Incoming, LedgerView


class MemoryMailbox:
    def __init__(self, name: str = "memory"):
        self.name = f"memory:{name}"
        self.validity = "1"
        self.found = 0
        self.messages: dict[str, tuple[bytes, datetime]] = {}
        self.marked: list[str] = []         # UIDs in the order they were marked done

    def deliver(self, raw: bytes, received_at: datetime | None = None) -> str:
        uid = str(len(self.messages) + 1)
        self.messages[uid] = (raw, received_at or datetime.now(UTC))
        return uid

    def fetch_new(self, seen: LedgerView) -> Iterator[Incoming]:
        todo = [uid for uid in self.messages if not seen.skip(self.validity, uid)]
        self.found = len(todo)
        for uid in todo:
            raw, received_at = self.messages[uid]
            yield Incoming(self.validity, uid, raw, received_at)

    def mark_done(self, incoming: Incoming) -> None:
        if incoming.uid not in self.marked:
            self.marked.append(incoming.uid)

    def close(self) -> None:
        pass


class MemoryOutbox:
    def __init__(self, name: str = "memory"):
        self.name = f"memory:{name}"
        self.sent: dict[str, bytes] = {}    # receipt Message-ID → the receipt as sent

    def already_sent(self, receipt_id: str) -> bool:
        return receipt_id in self.sent

    def send(self, receipt_id: str, raw: bytes) -> None:
        self.sent.setdefault(receipt_id, raw)

    def keep_copy(self, receipt_id: str, raw: bytes) -> None:
        pass

    def close(self) -> None:
        pass
