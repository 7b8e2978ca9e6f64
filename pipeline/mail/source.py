"""What every mailbox and outbox offers the pass, whatever the protocol behind it."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..config import Config


@dataclass(frozen=True)
class Incoming:
    """One message as the mailbox handed it over: nothing decoded yet."""

    validity: str          # IMAP UIDVALIDITY, or a constant for a Maildir
    uid: str               # IMAP UID, or the Maildir unique name
    raw: bytes
    received_at: datetime  # the mailbox's delivery time, never the sender's Date header


class Mailbox(Protocol):
    name: str

    def fetch_new(self, is_done: Callable[[str, str], bool]) -> Iterator[Incoming]: ...
    def mark_done(self, incoming: Incoming) -> None: ...
    def close(self) -> None: ...


class Outbox(Protocol):
    name: str

    def send(self, key: str, raw: bytes) -> None: ...
    def close(self) -> None: ...


class NotAvailable(Exception):
    """A configured mail protocol this build cannot speak yet."""


def open_mailbox(config: Config) -> Mailbox:
    from .maildir import MaildirMailbox

    if config.mailbox.scheme == "maildir":
        return MaildirMailbox(config.mailbox.path)
    raise NotAvailable(f"mailbox {config.mailbox.display()}: IMAP mailboxes are not supported yet; use maildir:PATH")


def open_outbox(config: Config) -> Outbox:
    from .maildir import MaildirOutbox

    if config.outbox.scheme == "maildir":
        return MaildirOutbox(config.outbox.path)
    raise NotAvailable(f"outbox {config.outbox.display()}: SMTP is not supported yet; use maildir:PATH")
