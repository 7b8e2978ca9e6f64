"""Rebuild the 汇总表, 受理回执 and 统计 files of a round from the ledger alone (through the round assessment)."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import logging
import zipfile
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path

from ..config import Config
from ..dates import SHANGHAI, day_text
from ..filing import inside, write_atomic
from ..model import Flag, Status
from ..round import facts
from ..round.apply import assessment, reassess
from ..round.assess import UNKNOWN_RECOMMENDER, Assessment, MissingForm, Verdict, missing_form_finding
from ..round.stats import stats_xlsx, summarise, text
from ..store import Ledger
from .pdf import to_pdf
from .render import (
    PROVINCE_TITLE,
    SummaryRow,
    SummarySheet,
    receipt_letter_docx,
    summary_docx,
    summary_xlsx,
)

log = logging.getLogger("intake.report")

# What a pass renders with; `intake check` and `intake report` name any that is missing.
TEMPLATES = ("summary_table.docx", "summary_province.docx", "receipt_letter.docx", "mail/receipt.txt.j2",
             "mail/receipt.html.j2", "mail/received.txt.j2", "mail/received.html.j2")


def missing_templates(templates_dir: Path) -> list[Path]:
    return [templates_dir / name for name in TEMPLATES if not (templates_dir / name).is_file()]


def remarks(v: Verdict) -> str:
    """备注: the status when it is not plain acceptance, the clerk's decision, then every problem — but
    not how the email was written (a subject in the wrong form): the table goes to the office's leaders."""
    texts = [f.text() for f in v.findings if f.flag is not Flag.SUBJECT_NONCONFORMING]
    if v.decision is not None and not v.decision.stale:
        why = f"：{v.notes[-1].text}" if v.notes else ""
        texts.insert(0, f"{v.status.label}（经人工核定{why}）")
    elif v.status is not Status.ACCEPTED:
        texts.insert(0, v.status.label)
    return "；".join(texts)


def _text(value) -> str:
    return "" if value is None else str(value)


def _row(seq: int, v: Verdict, with_recommender: bool) -> SummaryRow:
    f = v.fields
    return SummaryRow(
        seq=seq, applicant=v.applicant, unit_type=_text(f.get("unit_type")), track=v.track.label,
        domains=_text(f.get("domains")), avg_trainees=_text(f.get("avg_trainees")), contact=_text(f.get("contact")),
        contact_phone=_text(f.get("contact_phone")), remarks=remarks(v),
        recommender=v.recommender if with_recommender else "",
    )


def _placeholder(seq: int, m: MissingForm, overdue: bool, with_recommender: bool) -> SummaryRow:
    return SummaryRow(seq=seq, applicant=m.name, unit_type="", track=m.track.label if m.track else "", domains="",
                      avg_trainees="", contact="", contact_phone="",
                      remarks=missing_form_finding(m, overdue).text(),
                      recommender=m.recommender if with_recommender else "")


def sheets(config: Config, result: Assessment, today: str) -> tuple[SummarySheet, dict[str, SummarySheet]]:
    """The province-wide sheet and one sheet per recommender, in order of first submission. Only the
    standing applications: a superseded one has left the tables (its history is in the review list).

    附件2 is the form a recommender stamps (推荐单位（盖章）, 填表人): only the configured recommenders get
    one. Bases and institutions that sent their own reconfirmation or 审验表 (直接报送), and senders
    that matched no recommender, have no such table to stamp; they are in the province table, under
    their own heading in its 推荐单位 column. 填报日期 is the recommender's own (assess._filled_on),
    the province table's the day it is generated."""
    groups: dict[str, list] = defaultdict(list)
    for v in sorted(result.current, key=lambda v: (v.received_at, v.message, v.id)):
        groups[v.recommender].append(v)
    for m in result.missing_forms:
        groups[m.recommender].append(m)

    def rows(items, with_recommender: bool, start: int = 1) -> tuple[SummaryRow, ...]:
        return tuple(_row(i, x, with_recommender) if isinstance(x, Verdict)
                     else _placeholder(i, x, result.overdue, with_recommender)
                     for i, x in enumerate(items, start=start))

    stamped = {r.name for r in config.recommenders}
    per = {}
    for name, items in groups.items():
        if name not in stamped:
            continue
        filler, phone = result.contacts.get(name, ("", ""))
        per[name] = SummarySheet(config.round.name, name, filler, phone, result.filled_on.get(name, today),
                                 rows(items, False))
    everyone = [x for items in groups.values() for x in items]
    province = SummarySheet(config.round.name, "", "", "", today, rows(everyone, True))
    return province, per


def _docx_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist() if n != "docProps/core.xml"}


def _write_if_changed(path: Path, data: bytes) -> bool:
    """A table rebuilt with the same content is left alone, and so is its PDF copy."""
    if path.exists():
        try:
            if _docx_parts(path.read_bytes()) == _docx_parts(data):
                return False
        except zipfile.BadZipFile:
            pass
    write_atomic(path, data)
    return True


def inputs(config: Config, ledger: Ledger, now: datetime) -> str:
    """Everything the round's tables and letters are made from, as one digest: the ledger's round (see
    Ledger.round_inputs), the configuration, whether the deadline has passed, and the templates."""
    # The form definitions too: a field's name or type is what the round's checks and texts use.
    names = [*TEMPLATES, *sorted(str(p.relative_to(config.templates_dir))
                                 for p in (config.templates_dir / "forms").glob("*.yaml"))]
    templates = [(name, p.stat().st_mtime_ns, p.stat().st_size) if p.is_file() else (name, None)
                 for name in names for p in [config.templates_dir / name]]
    digest = hashlib.sha256()
    for part in (ledger.round_inputs(config.round.name), _stable(config), now > config.round.deadline, templates):
        digest.update(repr(part).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _stable(value: object) -> object:
    """The same value in every process: a set's repr follows the process's hash seed. Passwords
    (fields kept out of repr) stay out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [(f.name, _stable(getattr(value, f.name))) for f in dataclasses.fields(value) if f.repr]
    if isinstance(value, (set, frozenset)):
        return sorted(repr(_stable(v)) for v in value)
    if isinstance(value, Mapping):
        return sorted((repr(_stable(k)), _stable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    return repr(value)


def outputs_present(config: Config) -> bool:
    """The round's own files are there (someone may have moved or deleted output/<round>/)."""
    folder = config.output_dir / config.round.name
    return all((folder / name).is_file() for name in ("附件2_申报汇总表_全省.docx", "附件2_申报汇总表_全省.xlsx",
                                                       "统计.xlsx"))


def build(config: Config, ledger: Ledger, letters_missing_only: bool = False,
          now: datetime | None = None, result: Assessment | None = None) -> list[Path]:
    """Write every table and the round's statistics; write letters (only the missing ones, unless
    asked for all); PDF copies of new or changed Word files where LibreOffice is installed.
    result: the round as just assessed at `now`, when the caller has it (it is not assessed twice)."""
    now = now or datetime.now(SHANGHAI)
    today = day_text(now)
    out, rnd = config.output_dir, config.round.name
    result = result or assessment(config, ledger, now)
    written: list[Path] = []
    for_pdf: list[Path] = []

    def docx(path: Path, data: bytes) -> None:
        written.append(path)
        if _write_if_changed(path, data) or not path.with_suffix(".pdf").exists():
            for_pdf.append(path)

    province, per = sheets(config, result, today)
    t = config.templates_dir
    for name, sheet in per.items():
        stem = f"附件2_申报汇总表_{name}"
        docx(inside(out, rnd, name, stem + ".docx"), summary_docx(sheet, t / "summary_table.docx"))
        written.append(write_atomic(inside(out, rnd, name, stem + ".xlsx"),
                                    summary_xlsx([sheet], f"山东省专业技术人员继续教育基地申报汇总表（{name}）")))
    docx(inside(out, rnd, "附件2_申报汇总表_全省.docx"), summary_docx(province, t / "summary_province.docx"))
    written.append(write_atomic(inside(out, rnd, "附件2_申报汇总表_全省.xlsx"),
                                summary_xlsx([province, *per.values()], PROVINCE_TITLE)))
    for kept in facts.letters(ledger, rnd):
        if kept.message in result.duplicates:
            continue                    # a duplicate email got no receipt, so no letter either
        received = kept.received_at.astimezone(SHANGHAI)
        path = inside(out, rnd, kept.recommender or UNKNOWN_RECOMMENDER, "受理回执",
                      f"受理回执_{kept.letter.receipt_no}_{received:%Y%m%d-%H%M}.docx")
        if letters_missing_only and path.exists():
            continue
        docx(path, receipt_letter_docx(kept.letter, t / "receipt_letter.docx"))
    summary = summarise(config, result, facts.mails(ledger, rnd, filed=()), now)
    written.append(write_atomic(inside(out, rnd, "统计.xlsx"), stats_xlsx(summary)))
    if config.pdf:
        written += to_pdf(for_pdf, timeout=config.pdf_timeout.total_seconds(), fontconfig=t / "fonts.conf")
    log.debug("report: %d files written under %s", len(written), out / rnd)
    return written


def rebuild(config: Config, ledger: Ledger, now: datetime | None = None) -> list[Path]:
    """`intake report` and the clerk's corrections: the round assessed and stored again, every file rebuilt."""
    now = now or datetime.now(SHANGHAI)
    built_from = inputs(config, ledger, now)
    written = build(config, ledger, now=now, result=reassess(config, ledger, now))
    ledger.mark_built(config.round.name, built_from)
    return written


def summary_text(config: Config, ledger: Ledger, now: datetime | None = None) -> str:
    """The round summary as `intake report` prints it."""
    now = now or datetime.now(SHANGHAI)
    return text(summarise(config, assessment(config, ledger, now), facts.mails(ledger, config.round.name, filed=()), now))
