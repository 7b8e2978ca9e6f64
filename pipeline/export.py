"""The machine-readable export: the JSON contract other tools and checks rely on."""
from __future__ import annotations

import json

from .store import Ledger


def export(ledger: Ledger, round_name: str) -> dict:
    messages = [
        {
            "message_id": m["message_id"],
            "subject": m["subject"],
            "from": m["sender"],
            "received_at": m["received_at"],
            "outcome": m["outcome"],
            "reason": m["reason"] or "",
            "receipt_sent": m["receipt_state"] == "sent",
        }
        for m in ledger.messages(round_name)
    ]
    applications = [
        {
            "applicant": a["applicant"],
            "recommender": a["recommender"],
            "recommender_kind": a["recommender_kind"] or None,   # None: the sender was not recognised
            "track": a["track"],
            "status": a["status"],
            "flags": list(dict.fromkeys(f["flag"] for f in json.loads(a["findings"]))),
            "fields": json.loads(a["fields"]),
            "field_confidence": json.loads(a["field_confidence"]),
            "documents": [{"kind": d["kind"], "path": d["path"], "method": d["method"]}
                          for d in json.loads(a["documents"])],
            "message_id": a["message_id"],
        }
        for a in ledger.applications(round_name)
    ]
    return {"round": round_name, "messages": messages, "applications": applications}
