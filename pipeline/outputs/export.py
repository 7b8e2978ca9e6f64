"""The machine-readable export: the JSON contract other tools and checks rely on.

Statuses and flags are the round assessment's (quotas, 多头申报, resubmissions, the clerk's decisions),
fields carry the clerk's corrections. Beyond the contract: ``id`` and ``superseded_by`` (the id of
the application that replaced this one) on applications, ``duplicate_of`` on messages.

``authentication`` on messages (beyond the contract): what the office's receiving server recorded of SPF,
DKIM and DMARC and passed (mailbox.auth_host). ``messages[].reason`` says in Chinese why a message was
ignored or went to a person, and, for a submission, the problems of the email as a whole (逾期报送,
网盘链接, 标题不规范, 附件无法打开…), which no application may carry when the email brought none.

``documents[].method`` is text, ocr or docx for a document that was read. One whose content could not
be read at all (a corrupt or encrypted file, a scan OCR found nothing in) is ``"none"``, with kind
``"unread"``: an extension of the contract's text|ocr|docx|form, kept because any of those would claim
a reading that never happened; the original is filed at ``path`` and the application is flagged.
"""
from __future__ import annotations

from ..model import ReceiptState
from ..round import facts
from ..round.apply import DUPLICATE_REASON
from ..store import Ledger


def export(ledger: Ledger, round_name: str) -> dict:
    filed = facts.applications(ledger, round_name)
    mails = facts.mails(ledger, round_name, filed=filed)
    message_ids = {m.id: m.message_id for m in mails}
    duplicate = {m.id for m in mails if m.duplicate_of is not None}
    messages = [
        {
            "message_id": m.message_id,
            "subject": m.subject,
            "from": m.sender,
            "received_at": m.received_at.isoformat(),
            "outcome": "ignored" if m.id in duplicate else m.outcome,
            "reason": DUPLICATE_REASON if m.id in duplicate else m.problems,
            "receipt_sent": m.receipt_state == ReceiptState.SENT,
            "duplicate_of": message_ids.get(m.duplicate_of) if m.duplicate_of is not None else None,
            "authentication": m.authentication,
        }
        for m in mails
    ]
    applications = []
    for a in filed:
        if a.message in duplicate:
            continue
        corrected = a.corrected
        applications.append({
            "applicant": corrected["applicant"] if corrected else a.applicant,
            "recommender": a.recommender,
            "recommender_kind": a.recommender_kind or None,   # None: the sender was not recognised
            "track": corrected["track"] if corrected else a.track.value,
            "status": a.effective_status.value,
            "flags": list(dict.fromkeys(f.flag.value for f in a.effective_findings)),
            "fields": corrected["fields"] if corrected else a.fields,
            "field_confidence": a.field_confidence,
            "field_evidence": _evidence(a),
            "documents": [{"kind": d["kind"], "path": d["path"], "method": d["method"]} for d in a.documents],
            "message_id": a.message_id,
            "id": a.id,
            "superseded_by": a.superseded_by,
        })
    return {"round": round_name, "messages": messages, "applications": applications}


def _evidence(a: facts.Filed) -> dict:
    """Where each value came from; a value a clerk corrected says who did, in place of the page."""
    out = {key: dict(e) for key, e in a.field_evidence.items()}
    if not a.corrected:
        return out
    for name, who in a.corrected["by"].items():
        key = "unit_name" if name == "applicant" else name    # the review accepts either for the name
        out[key] = {"document": None, "page": None, "bbox": None, "label_bbox": None,
                    "raw": str(a.corrected["fields"].get(key, "")), "method": "corrected", "confidence": 1.0,
                    "source": who}
    return out
