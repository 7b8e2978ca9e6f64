"""What every mailbox and outbox offers the pass, whatever the protocol behind it."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class MailboxMissing(FileNotFoundError):
    """The configured Maildir is not there: the mailbox's problem, not the output folder's."""


@dataclass(frozen=True)
class Incoming:
    """One message as the mailbox handed it over: nothing decoded yet."""

    validity: str          # IMAP UIDVALIDITY, or a constant for a Maildir
    uid: str               # IMAP UID, or the Maildir unique name
    raw: bytes
    received_at: datetime  # the mailbox's delivery time, never the sender's Date header
    problem: Exception | None = None   # why this one message could not be fetched (raw is then empty)


class LedgerView(Protocol):
    """What a mailbox may ask the ledger: enough to fetch only what is new."""

    def skip(self, validity: str, uid: str) -> bool: ...
    def last_uid(self, validity: str) -> int: ...
    def pending(self, validity: str) -> list[str]: ...


class Mailbox(Protocol):
    name: str
    validity: str   # known once fetch_new has started
    found: int      # how many messages the running fetch_new hands over, for a progress bar

    def fetch_new(self, seen: LedgerView) -> Iterator[Incoming]: ...
    def mark_done(self, incoming: Incoming) -> None: ...
    def close(self) -> None: ...


class Outbox(Protocol):
    name: str

    def already_sent(self, receipt_id: str) -> bool: ...
    def send(self, receipt_id: str, raw: bytes) -> None: ...
    def keep_copy(self, receipt_id: str, raw: bytes) -> None: ...
    def close(self) -> None: ...
