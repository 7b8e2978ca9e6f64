"""Rebuild the 汇总表 and 受理回执 files of a round from the ledger alone."""
from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from .config import Config
from .filing import inside, write_atomic
from .model import Status, Track
from .render import ReceiptItem, ReceiptLetter, SummaryRow, SummarySheet, receipt_letter_docx, summary_docx, summary_xlsx
from .rules import SHANGHAI
from .store import Ledger, findings_from_json

log = logging.getLogger("intake.report")

def _remarks(row) -> str:
    findings = findings_from_json(row["findings"])
    status = Status(row["status"])
    texts = [f.text() for f in findings]
    if status is not Status.ACCEPTED:
        texts.insert(0, status.label)
    return "；".join(texts)


def _text(value) -> str:
    return "" if value is None else str(value)


def _row(seq: int, app, with_recommender: bool) -> SummaryRow:
    fields = json.loads(app["fields"])
    return SummaryRow(
        seq=seq,
        applicant=app["applicant"],
        unit_type=_text(fields.get("unit_type")),
        track=Track(app["track"]).label,
        domains=_text(fields.get("domains")),
        avg_trainees=_text(fields.get("avg_trainees")),
        contact=_text(fields.get("contact")),
        contact_phone=_text(fields.get("contact_phone")),
        remarks=_remarks(app),
        recommender=app["recommender"] if with_recommender else "",
    )


def sheets(config: Config, ledger: Ledger, today: str) -> tuple[SummarySheet, dict[str, SummarySheet]]:
    """The province-wide sheet and one sheet per recommender, in order of first submission."""
    by_recommender: dict[str, list] = defaultdict(list)
    for app in ledger.applications(config.round.name):
        by_recommender[app["recommender"]].append(app)
    per = {
        name: SummarySheet(config.round.name, name, "", "", today,
                           tuple(_row(i, a, False) for i, a in enumerate(apps, start=1)))
        for name, apps in by_recommender.items()
    }
    everyone = [a for apps in by_recommender.values() for a in apps]
    province = SummarySheet(config.round.name, "", "", "", today,
                            tuple(_row(i, a, True) for i, a in enumerate(everyone, start=1)))
    return province, per


def build(config: Config, ledger: Ledger, letters_missing_only: bool = False) -> list[Path]:
    """Write every table; write letters (only the missing ones, unless asked for all). Returns paths."""
    now = datetime.now(SHANGHAI)
    today = f"{now.year}年{now.month}月{now.day}日"
    out, rnd = config.output_dir, config.round.name
    written: list[Path] = []
    province, per = sheets(config, ledger, today)
    t = config.templates_dir
    for name, sheet in per.items():
        stem = f"附件2_申报汇总表_{name}"
        written.append(write_atomic(inside(out, rnd, name, stem + ".docx"), summary_docx(sheet, t / "summary_table.docx")))
        written.append(write_atomic(inside(out, rnd, name, stem + ".xlsx"),
                                    summary_xlsx([sheet], f"山东省专业技术人员继续教育基地申报汇总表（{name}）")))
    written.append(write_atomic(inside(out, rnd, "附件2_申报汇总表_全省.docx"),
                                summary_docx(province, t / "summary_province.docx")))
    written.append(write_atomic(inside(out, rnd, "附件2_申报汇总表_全省.xlsx"),
                                summary_xlsx([province, *per.values()], "山东省专业技术人员继续教育基地申报汇总表（全省汇总）")))
    for row in ledger.letters(rnd):
        letter = letter_from_json(row["letter"])
        received = datetime.fromisoformat(row["received_at"]).astimezone(SHANGHAI)
        path = inside(out, rnd, row["recommender"] or "未识别推荐单位", "受理回执",
                      f"受理回执_{letter.receipt_no}_{received:%Y%m%d-%H%M}.docx")
        if letters_missing_only and path.exists():
            continue
        written.append(write_atomic(path, receipt_letter_docx(letter, t / "receipt_letter.docx")))
    log.info("report: %d files written under %s", len(written), out / rnd)
    return written


def letter_from_json(text: str) -> ReceiptLetter:
    data = json.loads(text)
    data["items"] = tuple(ReceiptItem(**{**i, "documents": tuple(i["documents"]), "problems": tuple(i["problems"])})
                          for i in data["items"])
    for key in ("message_problems", "other_documents"):
        data[key] = tuple(data.get(key, ()))
    return ReceiptLetter(**data)
