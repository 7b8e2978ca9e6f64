"""The round as the ledger holds it, read in one place: typed facts for the modules above the store."""
from __future__ import annotations

from ..model import Flag
from ..store import findings_from_json


def message_reason(row) -> str:
    """Why a message ended as it did, and what was wrong with it as a whole, in Chinese."""
    parts = [row["reason"] or ""] + [f.text() for f in findings_from_json(row["findings"])
                                     if f.flag is not Flag.SENDER_AUTHENTICATED]
    return "；".join(dict.fromkeys(p for p in parts if p))


def authentication(row) -> str:
    """The receiving server's SPF/DKIM/DMARC verdicts that passed ("SPF=pass、DKIM=pass"); failing ones
    are in the reason (unverified_sender)."""
    return "；".join(f.detail for f in findings_from_json(row["findings"]) if f.flag is Flag.SENDER_AUTHENTICATED)
