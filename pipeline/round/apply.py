"""The round assessment against the ledger: read the facts, assess, store, update unsent receipts."""
from __future__ import annotations

import dataclasses
import email
import json
import logging
from datetime import UTC, datetime
from email import policy

from ..config import Config
from ..model import Track
from ..outputs.render import ReceiptLetter, letter_from_json
from ..receipt import item_problems, mail_templates
from ..store import Ledger, findings_from_json, findings_json
from .assess import AppFacts, Assessment, Correction, MessageFacts, Named, Verdict, assess

log = logging.getLogger("intake.rules")

DUPLICATE_REASON = "重复邮件"
_TRACK_BY_LABEL = {t.label: t for t in Track}


def reassess(config: Config, ledger: Ledger, now: datetime | None = None) -> Assessment:
    """After every pass and every clerk's correction: the whole round again, stored; the receipts not
    yet sent learn what the round found (超出名额, 多头申报…), and a duplicate email's receipt is dropped."""
    result = assessment(config, ledger, now)
    _store(config, ledger, result)
    refreshed = _refresh_receipts(config, ledger, result)
    log.debug("round assessed: %d applications (%d current), %d duplicate emails, %d named without a form,"
             " %d queued receipts updated", len(result.verdicts), len(result.current), len(result.duplicates),
             len(result.missing_forms), refreshed)
    return result


def assessment(config: Config, ledger: Ledger, now: datetime | None = None) -> Assessment:
    """The round as the ledger has it now, assessed; nothing written."""
    rnd = config.round.name
    messages = [_message_facts(m) for m in ledger.messages(rnd)]
    apps = [_app_facts(a) for a in ledger.applications(rnd)]
    corrections = [Correction(c["target"], c["field"], json.loads(c["value"]), c["by"], c["at"], c["source"])
                   for c in ledger.corrections(rnd)]
    return assess(messages, apps, corrections, config, now or datetime.now(UTC))


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _message_facts(row) -> MessageFacts:
    named: list[Named] = []
    filler = phone = filled_on = ""
    if row["outcome"] == "submission":
        docs = json.loads(row["documents"] or "[]")
        # The 汇总表's 填表人 before the 推荐函's 联系人: the header line of 附件2 asks for the former.
        for doc in sorted(docs, key=lambda d: d.get("kind") != "summary"):
            fields = doc.get("fields") or {}
            if doc.get("kind") not in ("letter", "summary") or not isinstance(fields, dict):
                continue
            source = "推荐函" if doc["kind"] == "letter" else "申报汇总表"
            named += _named({"applicants": doc.get("listed") or [], **fields}, source)
            filler = filler or _first_text(fields, "filler", "contact")
            phone = phone or _first_text(fields, "filler_phone", "phone", "contact_phone")
            filled_on = filled_on or _first_text(fields, "filled_on", "date")
    return MessageFacts(
        id=row["id"], message_id=row["message_id"] or "", sha256=row["sha256"], received_at=_time(row["received_at"]),
        outcome=row["outcome"] or "", recommender=row["recommender"] or "", recommender_kind=row["recommender_kind"] or "",
        subject=row["subject"] or "", named=tuple(named), filler=filler, phone=phone,
        has_letter=any(d.get("kind") == "letter" for d in json.loads(row["documents"] or "[]")),
        sender=row["sender"] or "", filled_on=filled_on)


def _first_text(fields: dict, *keys: str) -> str:
    for key in keys:
        value = fields.get(key)
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value).strip()
    return ""


def _named(fields: dict, source: str) -> list[Named]:
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


def _track(value) -> Track | None:
    if isinstance(value, str):
        if value in Track._value2member_map_:
            return Track(value)
        return _TRACK_BY_LABEL.get(value.strip())
    return None


def _app_facts(row) -> AppFacts:
    return AppFacts(
        id=row["id"], message=row["message"], received_at=_time(row["received_at"]), recommender=row["recommender"],
        recommender_kind=row["recommender_kind"] or "", applicant=row["applicant"], track=Track(row["track"]),
        fields=json.loads(row["fields"]), findings=tuple(findings_from_json(row["findings"])),
        # An applicant a 推荐函 lists without a 申请表 in the email is an application with no document;
        # an unread scan still counts as the form having come.
        has_form=any(d.get("kind") in ("form", "audit_form", "unread") for d in json.loads(row["documents"])))


def _store(config: Config, ledger: Ledger, result: Assessment) -> None:
    rows: list[tuple[int, str | None, str | None, int | None, str | None]] = []
    for v in result.verdicts:
        corrected = None
        if v.corrected:
            corrected = json.dumps({"applicant": v.applicant, "track": v.track.value, "fields": v.fields,
                                    "by": {k: c.by for k, c in v.corrected.items()}}, ensure_ascii=False, default=str)
        rows.append((v.id, v.status.value, findings_json(v.findings), v.superseded_by, corrected))
    assessed = {v.id for v in result.verdicts}
    rows += [(app, None, None, None, None) for app in ledger.application_ids(config.round.name) - assessed]
    duplicates = {m: result.messages[m].duplicate_of for m in result.messages}
    ledger.save_assessment(rows, duplicates)


# ---------------------------------------------------------------- receipts not yet sent

def _refresh_receipts(config: Config, ledger: Ledger, result: Assessment) -> int:
    env = None
    by_message: dict[int, list[Verdict]] = {}
    for v in result.verdicts:
        by_message.setdefault(v.message, []).append(v)
    message_findings = {m["id"]: set(findings_from_json(m["findings"])) for m in ledger.messages(config.round.name)}
    changed = 0
    for row in ledger.queued_receipt_letters(config.round.name):
        if row["message"] in result.duplicates:
            if ledger.refresh_receipt(row["id"], row["letter"], bytes(row["raw"]), "suppressed",
                                      f"{DUPLICATE_REASON}，不再回复"):
                changed += 1
            continue
        letter = letter_from_json(row["letter"])
        updated = _updated_letter(letter, by_message.get(row["message"], []), message_findings.get(row["message"], set()),
                                  config)
        if updated == letter:
            continue
        env = env or mail_templates(config.templates_dir)
        raw = _rebody(bytes(row["raw"]), updated, env)
        if ledger.refresh_receipt(row["id"], json.dumps(dataclasses.asdict(updated), ensure_ascii=False), raw):
            changed += 1
    return changed


def _updated_letter(letter: ReceiptLetter, verdicts: list[Verdict], message_level: set, config: Config) -> ReceiptLetter:
    if not verdicts:
        return letter
    verdicts = sorted(verdicts, key=lambda v: v.id)
    items = list(letter.items)
    for i, item in enumerate(items):
        v = verdicts[i] if len(verdicts) == len(items) else next(
            (v for v in verdicts if v.applicant == item.applicant), None)
        if v is None:
            continue
        items[i] = dataclasses.replace(item, status=v.status.label,
                                       problems=item_problems(v.findings, message_level, config))
    return dataclasses.replace(letter, items=tuple(items))


def _rebody(raw: bytes, letter: ReceiptLetter, env) -> bytes:
    """The same receipt (Message-ID, In-Reply-To, Date kept), with bodies rendered from the new letter."""
    mail = email.message_from_bytes(raw, policy=policy.default)
    text, html = mail.get_body(("plain",)), mail.get_body(("html",))
    if text is not None:
        text.set_content(env.get_template("receipt.txt.j2").render(letter=letter), charset="utf-8")
    if html is not None:
        html.set_content(env.get_template("receipt.html.j2").render(letter=letter), subtype="html", charset="utf-8")
    return mail.as_bytes()
