"""The round as the ledger holds it, read in one place: the modules above the store get these typed
facts, never a database row. What a row's columns mean (JSON text, ISO times, the assessed status
beside the stored one) is known here and in store.py alone."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ..model import Finding, Flag, ReceiptState, Status, Track
from ..outputs.render import ReceiptLetter, letter_from_json
from ..store import Ledger, findings_from_json
from .assess import AppFacts, Correction, MessageFacts, Named
from .target import Target


@dataclass(frozen=True)
class Mail:
    """One processed (or waiting) message of the round."""

    id: int
    subject: str | None         # None: the message was never read (set aside before it was parsed)
    sender: str | None
    received_at: datetime
    outcome: str                # submission | ignored | review; "" while it waits for a retry
    reason: str                 # why it ended as it did, as routing or a failure said it
    raw_path: str
    recommender: str
    findings: tuple[Finding, ...]
    applications: int = 0       # applications filed from it
    receipt_state: ReceiptState | None = None   # None: no receipt
    receipt_reason: str = ""    # the SMTP server's answer when it refused or could not be reached
    error: str = ""             # the last processing error: set aside after it, or waiting for a retry
    waiting_until: datetime | None = None   # a passing fault holds it back until then (not yet done)
    attempts: int = 0
    message_id: str | None = None
    sha256: str = ""
    recommender_kind: str = ""
    documents: tuple[Mapping, ...] = ()     # the documents of the message as a whole, as stored
    duplicate_of: int | None = None
    round: str = ""

    @property
    def problems(self) -> str:
        """Why the message ended as it did, and what was wrong with it as a whole, in Chinese."""
        parts = [self.reason] + [f.text() for f in self.findings if f.flag is not Flag.SENDER_AUTHENTICATED]
        return "；".join(dict.fromkeys(p for p in parts if p))

    @property
    def authentication(self) -> str:
        """The receiving server's SPF/DKIM/DMARC verdicts that passed ("SPF=pass、DKIM=pass"); failing
        ones are among the problems (unverified_sender)."""
        return "；".join(f.detail for f in self.findings if f.flag is Flag.SENDER_AUTHENTICATED)


@dataclass(frozen=True)
class Filed:
    """One application as it was filed from its message, and as the round assessment last saw it."""

    id: int
    message: int
    message_id: str | None
    received_at: datetime
    recommender: str
    recommender_kind: str
    applicant: str
    track: Track
    fields: Mapping[str, object]
    field_confidence: Mapping[str, object]
    documents: tuple[Mapping, ...]
    findings: tuple[Finding, ...]           # the message's own checks
    status: Status                          # the message's own verdict
    assessed_status: Status | None = None   # the round's verdict (quotas, 多头申报, the clerk's decision)
    assessed_findings: tuple[Finding, ...] | None = None
    superseded_by: int | None = None
    corrected: Mapping | None = None        # applicant, track and fields after the clerk's corrections
    field_evidence: Mapping[str, Mapping] = field(default_factory=dict)   # as store.evidence_json wrote it

    @property
    def effective_status(self) -> Status:
        return self.assessed_status or self.status

    @property
    def effective_findings(self) -> tuple[Finding, ...]:
        return self.findings if self.assessed_findings is None else self.assessed_findings


@dataclass(frozen=True)
class Letter:
    """A 受理回执 as it was composed for one message."""

    message: int
    recommender: str
    received_at: datetime
    letter: ReceiptLetter


@dataclass(frozen=True)
class UnsentLetter:
    """A receipt not yet handed to the outbox: the round may still add to what it says."""

    receipt: int
    message: int
    letter: ReceiptLetter
    letter_json: str
    raw: bytes


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _mail(row, counts: Mapping[int, int]) -> Mail:
    waiting = _time(row["next_attempt_at"]) if row["state"] != "done" and row["next_attempt_at"] else None
    return Mail(
        id=row["id"], subject=row["subject"], sender=row["sender"], received_at=_time(row["received_at"]),
        outcome=row["outcome"] or "", reason=row["reason"] or "", raw_path=row["raw_path"],
        recommender=row["recommender"] or "", findings=tuple(findings_from_json(row["findings"])),
        applications=counts.get(row["id"], 0), receipt_state=ReceiptState(row["receipt_state"]) if row["receipt_state"] else None,
        receipt_reason=row["receipt_reason"] or "", error=row["error"] or "", waiting_until=waiting,
        attempts=row["attempts"], message_id=row["message_id"], sha256=row["sha256"],
        recommender_kind=row["recommender_kind"] or "", documents=tuple(json.loads(row["documents"] or "[]")),
        duplicate_of=row["duplicate_of"], round=row["round"])


def _filed(row) -> Filed:
    return Filed(
        id=row["id"], message=row["message"], message_id=row["message_id"], received_at=_time(row["received_at"]),
        recommender=row["recommender"], recommender_kind=row["recommender_kind"] or "", applicant=row["applicant"],
        track=Track(row["track"]), fields=json.loads(row["fields"]), field_confidence=json.loads(row["field_confidence"]),
        documents=tuple(json.loads(row["documents"])), findings=tuple(findings_from_json(row["findings"])),
        status=Status(row["status"]), assessed_status=Status(row["assessed_status"]) if row["assessed_status"] else None,
        assessed_findings=tuple(findings_from_json(row["assessed_findings"])) if row["assessed_findings"] else None,
        superseded_by=row["superseded_by"], corrected=json.loads(row["corrected"]) if row["corrected"] else None,
        field_evidence=json.loads(row["field_evidence"]))


def applications(ledger: Ledger, round_name: str, only: Collection[int] | None = None) -> list[Filed]:
    """The round's applications, in the order they came (only: those of the messages of these rows)."""
    return [_filed(r) for r in ledger.applications(round_name, only=only)]


def mails(ledger: Ledger, round_name: str, only: Collection[int] | None = None,
          filed: Collection[Filed] | None = None) -> list[Mail]:
    """The round's processed messages, in the order they came, each with its number of applications:
    counted from filed when the caller has read them already (``()`` when no count is wanted)."""
    if filed is None:
        filed = applications(ledger, round_name, only=only)
    counts = Counter(a.message for a in filed)
    return [_mail(r, counts) for r in ledger.messages(round_name, only=only)]


def mail(ledger: Ledger, row: int) -> Mail | None:
    """One message by its number, whichever round and state it is in."""
    found = ledger.message(row)
    return _mail(found, {}) if found is not None else None


def waiting(ledger: Ledger, round_name: str) -> list[Mail]:
    """Messages a passing fault holds back, with their error and next attempt."""
    return [_mail(r, {}) for r in ledger.waiting(round_name)]


def corrections(ledger: Ledger, round_name: str) -> list[Correction]:
    return [Correction(Target.parse(c["target"]), c["field"], json.loads(c["value"]), c["by"], c["at"], c["source"])
            for c in ledger.corrections(round_name)]


def letters(ledger: Ledger, round_name: str) -> list[Letter]:
    return [Letter(r["message"], r["recommender"] or "", _time(r["received_at"]), letter_from_json(r["letter"]))
            for r in ledger.letters(round_name)]


def unsent_letters(ledger: Ledger, round_name: str) -> list[UnsentLetter]:
    return [UnsentLetter(r["id"], r["message"], letter_from_json(r["letter"]), r["letter"], bytes(r["raw"]))
            for r in ledger.queued_receipt_letters(round_name)]


# ---------------------------------------------------------------- what the round assessment reads

def round_inputs(ledger: Ledger, round_name: str) -> tuple[list[MessageFacts], list[AppFacts], list[Correction]]:
    # Straight from the rows, not through Filed: after every pass and every correction, the round
    # decodes only the columns the rules read (not the evidence, confidences and earlier verdicts).
    return ([message_facts(m) for m in mails(ledger, round_name, filed=())],
            [_app_facts(r) for r in ledger.applications(round_name, brief=True)],
            corrections(ledger, round_name))


def message_facts(m: Mail) -> MessageFacts:
    named: list[Named] = []
    filler = phone = filled_on = ""
    if m.outcome == "submission":
        # The 汇总表's 填表人 before the 推荐函's 联系人: the header line of 附件2 asks for the former.
        for doc in sorted(m.documents, key=lambda d: d.get("kind") != "summary"):
            fields = doc.get("fields") or {}
            if doc.get("kind") not in ("letter", "summary") or not isinstance(fields, dict):
                continue
            source = "推荐函" if doc["kind"] == "letter" else "申报汇总表"
            named += _named({"applicants": doc.get("listed") or [], **fields}, source)
            filler = filler or _first_text(fields, "filler", "contact")
            phone = phone or _first_text(fields, "filler_phone", "phone", "contact_phone")
            filled_on = filled_on or _first_text(fields, "filled_on", "date")
    return MessageFacts(
        id=m.id, message_id=m.message_id or "", sha256=m.sha256, received_at=m.received_at, outcome=m.outcome,
        recommender=m.recommender, recommender_kind=m.recommender_kind, subject=m.subject or "", named=tuple(named),
        filler=filler, phone=phone, has_letter=any(d.get("kind") == "letter" for d in m.documents),
        sender=m.sender or "", filled_on=filled_on)


def _app_facts(row) -> AppFacts:
    return AppFacts(
        id=row["id"], message=row["message"], received_at=_time(row["received_at"]), recommender=row["recommender"],
        recommender_kind=row["recommender_kind"] or "", applicant=row["applicant"], track=Track(row["track"]),
        fields=json.loads(row["fields"]), findings=tuple(findings_from_json(row["findings"])),
        # An applicant a 推荐函 lists without a 申请表 in the email is an application with no document;
        # an unread scan still counts as the form having come.
        has_form=any(d.get("kind") in ("form", "audit_form", "unread") for d in json.loads(row["documents"])))


def _first_text(fields: Mapping, *keys: str) -> str:
    for key in keys:
        value = fields.get(key)
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value).strip()
    return ""


def _named(fields: Mapping, source: str) -> list[Named]:
    """The applicants a 推荐函 lists or a 汇总表's rows name, however the reader spelt the list
    (``applicants``/``rows``; each a name or a mapping with name/unit_name/applicant and track)."""
    out = []
    for key in ("applicants", "rows", "named", "units"):
        items = fields.get(key)
        if not isinstance(items, list):
            continue
        for item in items:
            if isinstance(item, str):
                name, track = item, None
            elif isinstance(item, dict):
                name = _first_text(item, "name", "unit_name", "applicant")
                track = item.get("track")
            else:
                continue
            if name:
                out.append(Named(name, _track(track), source))
    return out


_TRACK_BY_LABEL = {t.label: t for t in Track}


def _track(value) -> Track | None:
    if isinstance(value, str):
        if value in Track._value2member_map_:
            return Track(value)
        return _TRACK_BY_LABEL.get(value.strip())
    return None
