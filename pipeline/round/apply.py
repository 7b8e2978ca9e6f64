"""The round assessment against the ledger: read the facts, assess, store, update unsent receipts."""
from __future__ import annotations

import dataclasses
import email
import json
import logging
from datetime import UTC, datetime
from email import policy

from ..config import Config
from ..model import ReceiptState
from ..outputs.render import ReceiptLetter
from ..receipt import item_problems, mail_templates
from ..store import Ledger, findings_json
from . import facts
from .assess import Assessment, Verdict, assess

log = logging.getLogger("intake.rules")

DUPLICATE_REASON = "重复邮件"


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
    messages, apps, corrections = facts.round_inputs(ledger, config.round.name)
    return assess(messages, apps, corrections, config, now or datetime.now(UTC))


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
    message_findings = {m.id: set(m.findings) for m in facts.mails(ledger, config.round.name, filed=())}
    changed = 0
    for unsent in facts.unsent_letters(ledger, config.round.name):
        if unsent.message in result.duplicates:
            if ledger.refresh_receipt(unsent.receipt, unsent.letter_json, unsent.raw, ReceiptState.SUPPRESSED,
                                      f"{DUPLICATE_REASON}，不再回复"):
                changed += 1
            continue
        updated = _updated_letter(unsent.letter, by_message.get(unsent.message, []),
                                  message_findings.get(unsent.message, set()), config)
        if updated == unsent.letter:
            continue
        env = env or mail_templates(config.templates_dir)
        raw = _rebody(unsent.raw, updated, env)
        if ledger.refresh_receipt(unsent.receipt, json.dumps(dataclasses.asdict(updated), ensure_ascii=False), raw):
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
