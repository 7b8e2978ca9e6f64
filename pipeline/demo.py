"""A fresh machine's first run: a sample mailbox of realistic submissions, delivered into the Maildir."""
from __future__ import annotations

import email
import email.utils
from datetime import datetime
from importlib import resources
from pathlib import Path

from .config import Config
from .mail.maildir import deliver, ensure_maildir


def samples() -> list[tuple[str, bytes]]:
    folder = resources.files("pipeline") / "samples"
    return sorted((f.name, f.read_bytes()) for f in folder.iterdir() if f.name.endswith(".eml"))


def delivery_time(raw: bytes) -> datetime | None:
    """The date of the topmost Received header: when the office's server took the message."""
    received = email.message_from_bytes(raw).get("Received", "")
    if ";" not in received:
        return None
    try:
        return email.utils.parsedate_to_datetime(received.rsplit(";", 1)[1].strip())
    except (TypeError, ValueError):
        return None


def install(config: Config) -> tuple[Path, int]:
    """Deliver the samples not yet there; returns the Maildir and how many were new."""
    if config.mailbox.scheme != "maildir":
        raise ValueError("the demo writes its sample mailbox into a Maildir: set mailbox.url to maildir:PATH")
    path = ensure_maildir(config.mailbox.maildir)
    present = {p.name.split(":", 1)[0] for sub in ("new", "cur") for p in (path / sub).iterdir()}
    added = 0
    for name, raw in samples():
        key = "sample-" + name.removesuffix(".eml")
        if key not in present:
            deliver(path, raw, key=key, received_at=delivery_time(raw))
            added += 1
    return path, added
