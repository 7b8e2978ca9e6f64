"""A local Maildir as the mailbox (the embedded default) and as the outbox for receipts."""
from __future__ import annotations

import glob
import logging
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from ..filing import safe_name, write_atomic
from .source import Incoming, LedgerView, MailboxMissing

log = logging.getLogger("intake.mail")

# A Maildir has no UIDVALIDITY; the ledger still wants one, so the folder path stands in for it.
MAILDIR_VALIDITY = "maildir"


def ensure_maildir(path: Path) -> Path:
    for sub in ("tmp", "new", "cur"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


class MaildirMailbox:
    """Reads new/ and cur/; a message's key is its unique name, stable across flag changes."""

    def __init__(self, path: Path, mark_seen: bool = True):
        self.path = path
        self.mark_seen = mark_seen
        self.name = f"maildir:{path}"
        self.validity = MAILDIR_VALIDITY
        self.found = 0   # new messages the running fetch_new has to hand over

    def _files(self) -> Iterator[tuple[str, Path]]:
        for sub in ("new", "cur"):
            folder = self.path / sub
            if not folder.is_dir():
                continue
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.is_file() and not entry.name.startswith("."):
                    yield entry.name.split(":", 1)[0], Path(entry.path)

    def fetch_new(self, seen: LedgerView) -> Iterator[Incoming]:
        if not (self.path / "new").is_dir() and not (self.path / "cur").is_dir():
            raise MailboxMissing(f"no Maildir at {self.path} (new/ and cur/ missing)")
        todo = [(key, file) for key, file in self._files() if not seen.skip(MAILDIR_VALIDITY, key)]
        self.found = len(todo)
        for key, file in todo:
            try:
                yield self._read(key, file)
            except FileNotFoundError:  # moved by another client between listing and reading
                log.info("maildir message %s vanished before it was read; next pass sees it", key)
            except Exception as exc:  # noqa: BLE001 - one unreadable file is that message's problem alone
                log.warning("maildir message %s could not be read: %s", key, exc)
                yield Incoming(MAILDIR_VALIDITY, key, b"", datetime.now(UTC), problem=exc)

    @staticmethod
    def _read(key: str, file: Path) -> Incoming:
        raw = file.read_bytes()
        # Dovecot uses the file's mtime as the delivery time; so do we.
        return Incoming(MAILDIR_VALIDITY, key, raw, datetime.fromtimestamp(file.stat().st_mtime, tz=UTC))

    def mark_done(self, incoming: Incoming) -> None:
        if not self.mark_seen:
            return
        for key, file in self._files():
            if key != incoming.uid:
                continue
            flags = file.name.split(":2,", 1)[1] if ":2," in file.name else ""
            if "S" in flags and file.parent.name == "cur":
                return
            target = self.path / "cur" / f"{key}:2,{''.join(sorted(set(flags + 'S')))}"
            stat = file.stat()
            os.replace(file, target)
            os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            return

    def close(self) -> None:
        pass


def deliver(path: Path, raw: bytes, key: str | None = None, received_at: datetime | None = None) -> Path:
    """Put a message into new/ the Maildir way (tmp then rename); used by the demo and the outbox."""
    ensure_maildir(path)
    key = key or f"{time.time_ns()}.P{os.getpid()}.{socket.gethostname()}"
    target = path / "new" / key
    write_atomic(target, raw)
    if received_at is not None:
        ts = received_at.timestamp()
        os.utime(target, (ts, ts))
    return target


class MaildirOutbox:
    """Receipts written to a Maildir instead of being sent: the default, and what a clerk can open."""

    def __init__(self, path: Path):
        self.path = path
        self.name = f"maildir:{path}"

    @staticmethod
    def _key(receipt_id: str) -> str:
        return safe_name(receipt_id.strip("<>").replace("@", "_"))

    def already_sent(self, receipt_id: str) -> bool:
        key = self._key(receipt_id)
        return (self.path / "new" / key).exists() or any((self.path / "cur").glob(glob.escape(key) + "*"))

    def send(self, receipt_id: str, raw: bytes) -> None:
        # Named after the receipt's stable id: writing it twice leaves one file, never two receipts.
        if not self.already_sent(receipt_id):
            deliver(self.path, raw, key=self._key(receipt_id))

    def keep_copy(self, receipt_id: str, raw: bytes) -> None:
        pass  # the Maildir is its own record

    def close(self) -> None:
        pass
