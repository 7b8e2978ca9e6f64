"""Ledgers as each earlier version of intake left them: schema-<n>.sql for n = 1 … 7, the SQL dump of
a ledger holding a round's worth of rows in the columns that version had (text: reviewable, no binary
state in git). tests/unit/test_migrations.py builds each and upgrades it.

    .venv/bin/python tests/data/ledgers/make_ledgers.py

Run once when a migration is added (for the version just before it); the files are committed and are
not regenerated afterwards: they stand for ledgers on the office's server, which no code change touches.
"""
from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from pipeline.store import MIGRATIONS  # noqa: E402 - the project's own module, from a script run by path

ROUND = "2019年省级专业技术人员继续教育基地申报"
MAILBOX = "maildir:/srv/intake/mail/inbox"
FIELDS = {"applicant": "济南职业技术培训学院", "unit_type": "培训机构", "avg_trainees": 3200, "contact": "王晓梅",
          "contact_phone": "0531-88016235", "domains": "新一代信息技术、医养健康"}
# Rows every version had, then what later versions added; a column a version lacks is left out.
MESSAGES = [
    dict(id=1, round=ROUND, mailbox=MAILBOX, validity="1", uid="1", sha256="a" * 64,
         raw_path="/srv/intake/output/raw/2019-09/" + "a" * 64 + ".eml", received_at="2019-09-10T02:15:00+00:00",
         state="done", message_id="<jinan-1@mail.jinan.example.cn>", subject="济南市继续教育基地申报",
         sender="rsj@jinan.example.cn", sender_name="济南市人社局", outcome="submission", reason="",
         recommender="济南市人力资源和社会保障局", recommender_kind="city", findings="[]",
         documents=json.dumps([{"kind": "letter", "name": "推荐函.pdf", "fields": {}, "listed": ["济南职业技术培训学院"]}],
                              ensure_ascii=False),
         processed_at="2019-09-10T02:16:00+00:00", marked_at="2019-09-10T02:16:01+00:00", attempts=1),
    dict(id=2, round=ROUND, mailbox=MAILBOX, validity="1", uid="2", sha256="b" * 64,
         raw_path="/srv/intake/output/raw/2019-09/" + "b" * 64 + ".eml", received_at="2019-09-11T01:00:00+00:00",
         state="done", message_id="<auto@example.cn>", subject="自动回复：您的邮件已收到", sender="auto@example.cn",
         sender_name="", outcome="ignored", reason="自动回复", recommender="", recommender_kind="", findings="[]",
         documents="[]", processed_at="2019-09-11T01:00:05+00:00", marked_at="2019-09-11T01:00:06+00:00", attempts=1),
]
APPLICATIONS = [
    dict(id=1, message=1, round=ROUND, applicant="济南职业技术培训学院", recommender="济南市人力资源和社会保障局",
         recommender_kind="city", track="general", status="accepted", findings="[]",
         fields=json.dumps(FIELDS, ensure_ascii=False), field_confidence=json.dumps(dict.fromkeys(FIELDS, 0.99)),
         documents="[]", assessed_status="accepted", assessed_findings="[]"),
]
RECEIPTS = [
    dict(id=1, message=1, receipt_id="<receipt-1@intake.example.cn>", recipient="rsj@jinan.example.cn",
         raw=b"Subject: receipt\r\n\r\nbody\r\n", letter="", state="sent", reason="", attempts=1,
         created_at="2019-09-10T02:16:00+00:00", sent_at="2019-09-10T02:16:02+00:00", number=1),
]
CORRECTIONS = [
    dict(id=1, round=ROUND, target="A1", field="note", value=json.dumps("已电话核实", ensure_ascii=False), by="孙沛沛",
         at="2019-09-12T03:00:00+00:00", source="cli"),
]
EVENTS = [dict(id=1, at="2019-09-10T02:16:00+00:00", message=1, kind="done", detail="submission")]


def _insert(db: sqlite3.Connection, table: str, rows: list[dict]) -> None:
    have = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
    if not have:
        return
    for row in rows:
        row = {k: v for k, v in row.items() if k in have}
        db.execute(f"INSERT INTO {table} ({','.join(row)}) VALUES ({','.join('?' * len(row))})", list(row.values()))


def make(version: int, path: Path) -> None:
    db = sqlite3.connect(":memory:")
    for script in MIGRATIONS[:version]:
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute(f"PRAGMA user_version = {version}")
    for table, rows in (("messages", MESSAGES), ("applications", APPLICATIONS), ("receipts", RECEIPTS),
                        ("corrections", CORRECTIONS), ("events", EVENTS)):
        _insert(db, table, rows)
    db.commit()
    # iterdump leaves out the schema version, which is what the upgrade reads first.
    path.write_text("\n".join([*db.iterdump(), f"PRAGMA user_version = {version};", ""]), encoding="utf-8")
    db.close()


def main(argv: list[str]) -> int:
    versions = [int(a) for a in argv[1:]] or range(1, len(MIGRATIONS))
    for version in versions:
        make(version, HERE / f"schema-{version}.sql")
        print(HERE / f"schema-{version}.sql")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
