"""The SQLite ledger: every message seen, what became of it, its applications and its receipt."""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from .filing import touch_with_policy
from .model import Application, Document, Finding, Flag, Message, ReceiptState, Submission
from .names import key

# Each entry moves the schema one version up; PRAGMA user_version records where a ledger stands.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE messages (
        id               INTEGER PRIMARY KEY,
        round            TEXT NOT NULL,
        mailbox          TEXT NOT NULL,
        validity         TEXT NOT NULL,
        uid              TEXT NOT NULL,
        sha256           TEXT NOT NULL,
        raw_path         TEXT NOT NULL,
        received_at      TEXT NOT NULL,
        state            TEXT NOT NULL DEFAULT 'fetched',   -- fetched | done
        message_id       TEXT,
        subject          TEXT,
        sender           TEXT,
        sender_name      TEXT,
        outcome          TEXT,                              -- submission | ignored | review
        reason           TEXT,
        recommender      TEXT,
        recommender_kind TEXT,
        findings         TEXT NOT NULL DEFAULT '[]',
        documents        TEXT NOT NULL DEFAULT '[]',        -- documents of the message as a whole
        processed_at     TEXT,
        UNIQUE (mailbox, validity, uid)
    );
    CREATE INDEX messages_sha ON messages (sha256);
    CREATE TABLE applications (
        id               INTEGER PRIMARY KEY,
        message          INTEGER NOT NULL REFERENCES messages (id),
        round            TEXT NOT NULL,
        applicant        TEXT NOT NULL,
        recommender      TEXT NOT NULL,
        recommender_kind TEXT NOT NULL,
        track            TEXT NOT NULL,
        status           TEXT NOT NULL,
        findings         TEXT NOT NULL,
        fields           TEXT NOT NULL,
        field_confidence TEXT NOT NULL,
        documents        TEXT NOT NULL
    );
    CREATE TABLE receipts (
        id          INTEGER PRIMARY KEY,
        message     INTEGER NOT NULL UNIQUE REFERENCES messages (id),
        receipt_id  TEXT NOT NULL UNIQUE,                   -- the receipt's own Message-ID
        recipient   TEXT NOT NULL,
        raw         BLOB NOT NULL,
        letter      TEXT NOT NULL,                          -- the 受理回执 content, JSON
        state       TEXT NOT NULL,                          -- held | queued | sending | sent | suppressed | failed
        reason      TEXT,
        attempts    INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL,
        sent_at     TEXT
    );
    CREATE TABLE events (
        id       INTEGER PRIMARY KEY,
        at       TEXT NOT NULL,
        message  INTEGER REFERENCES messages (id),
        kind     TEXT NOT NULL,
        detail   TEXT NOT NULL
    );
    """,
    # 2: receipts retried with backoff; UID look-ups for IMAP.
    """
    ALTER TABLE receipts ADD COLUMN next_attempt_at TEXT;
    CREATE INDEX messages_uid ON messages (mailbox, validity, state);
    """,
    # 3: the round-level assessment (recomputed from the whole ledger after every pass) and the
    # clerk's corrections and decisions (append-only: the latest per target and field wins).
    """
    ALTER TABLE messages ADD COLUMN duplicate_of INTEGER;
    ALTER TABLE applications ADD COLUMN assessed_status TEXT;
    ALTER TABLE applications ADD COLUMN assessed_findings TEXT;
    ALTER TABLE applications ADD COLUMN superseded_by INTEGER;
    ALTER TABLE applications ADD COLUMN corrected TEXT;
    CREATE TABLE corrections (
        id      INTEGER PRIMARY KEY,
        round   TEXT NOT NULL,
        target  TEXT NOT NULL,          -- A<application id> | M<message id>
        field   TEXT NOT NULL,          -- a field key, applicant, track, status, note, paper
        value   TEXT NOT NULL,          -- JSON
        by      TEXT NOT NULL,
        at      TEXT NOT NULL,
        source  TEXT NOT NULL           -- cli | the imported file's name
    );
    CREATE INDEX corrections_target ON corrections (round, target);
    CREATE TABLE round_assessments (
        round   TEXT PRIMARY KEY,
        at      TEXT NOT NULL,
        data    TEXT NOT NULL           -- JSON: named applicants without a form, the 附件3/附件4 lists
    );
    """,
    # 4: when the mailbox was told (flag or move): a crash between the ledger's commit and the mark
    # leaves a message done but unmarked, which the next pass marks. Older ledgers marked as they went.
    """
    ALTER TABLE messages ADD COLUMN marked_at TEXT;
    UPDATE messages SET marked_at = processed_at WHERE state = 'done';
    """,
    # 5: attempts per message. A passing fault (full disk, locked ledger, dead worker) leaves a message in
    # 'retry' (its raw bytes kept: processed again from them) or 'fetched' (not kept: fetched again), due at
    # next_attempt_at; attempts that began but never ended (failures do end) are crashes of the process.
    """
    ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN next_attempt_at TEXT;
    ALTER TABLE messages ADD COLUMN error TEXT;
    ALTER TABLE messages ADD COLUMN traceback TEXT;
    CREATE INDEX messages_state ON messages (round, state);
    """,
    # 6: receipts numbered in the order they are written (2019-0001, 2019-0002…), not by the message's
    # row, which ignored mail also takes. Earlier receipts keep the numbers they were sent with.
    """
    ALTER TABLE receipts ADD COLUMN number INTEGER;
    UPDATE receipts SET number = message;
    """,
    # 7: what the round's tables and letters were last built from (see report.inputs): a pass with
    # nothing new neither assesses the round again nor rebuilds them; and the look-ups every pass makes
    # (receipts by state, applications by message, messages not yet marked) indexed, so that its cost
    # does not grow with the ledger.
    """
    CREATE TABLE builds (
        round   TEXT PRIMARY KEY,
        inputs  TEXT NOT NULL,
        at      TEXT NOT NULL
    );
    CREATE INDEX receipts_state ON receipts (state, next_attempt_at);
    CREATE INDEX receipts_sent ON receipts (state, sent_at);
    CREATE INDEX applications_message ON applications (message);
    CREATE INDEX applications_round ON applications (round);
    CREATE INDEX messages_unmarked ON messages (mailbox, validity) WHERE state = 'done' AND marked_at IS NULL;
    """,
    # 8: where each field's value was read (document, page, box, the raw text, method, confidence).
    # Applications filed before have none ({}) until `intake retry` reads their message again.
    """
    ALTER TABLE applications ADD COLUMN field_evidence TEXT NOT NULL DEFAULT '{}';
    """,
    # 9: the console's accounts (a password hash, never a password) and what each pass did, so that the
    # console can say when the mailbox was last read and show a pass that ended since the page was drawn.
    """
    CREATE TABLE users (
        name        TEXT PRIMARY KEY,
        role        TEXT NOT NULL,              -- clerk | viewer
        password    TEXT NOT NULL,              -- scrypt$n$r$p$salt$hash (web/accounts.py)
        created_at  TEXT NOT NULL,
        changed_at  TEXT NOT NULL
    );
    CREATE TABLE passes (
        id          INTEGER PRIMARY KEY,
        round       TEXT NOT NULL,
        started_at  TEXT NOT NULL,
        ended_at    TEXT NOT NULL,
        command     TEXT NOT NULL,
        eventful    INTEGER NOT NULL,           -- it fetched, retried, deferred or sent something
        report      TEXT NOT NULL               -- JSON: the pass's counts (flow.PassReport)
    );
    CREATE INDEX passes_round ON passes (round, id);
    """,
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class Event(StrEnum):
    FETCHED = "fetched"
    REKEYED = "rekeyed"         # the mailbox renumbered a message already kept
    DEFERRED = "deferred"       # a passing fault: tried again later
    RERUN_FAILED = "rerun failed"
    SET_ASIDE = "set aside"
    REFETCH = "refetch"         # asked for by a clerk: the raw bytes were never kept
    DONE = "done"
    CORRECTION = "correction"   # a clerk's, kept in full in corrections
    CHECK = "check"             # `intake check` proving the ledger writable; removed at once


def _event(db: sqlite3.Connection, message: int | None, kind: Event, detail: str) -> int:
    """The ledger's history: every event is written here, in the transaction of what it records."""
    return db.execute("INSERT INTO events (at, message, kind, detail) VALUES (?,?,?,?)",
                      (_now(), message, kind, _valid(detail))).lastrowid or 0


# A message with its receipt's state and the SMTP server's last answer, as every reader of the round wants it.
_WITH_RECEIPT = ("SELECT m.*, r.state AS receipt_state, r.receipt_id AS receipt_id, r.reason AS receipt_reason"
                 " FROM messages m LEFT JOIN receipts r ON r.message = m.id")
_BRIEF_APPLICATION = ", ".join(f"a.{c}" for c in ("id", "message", "recommender", "recommender_kind", "applicant",
                                                  "track", "fields", "findings", "documents"))
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _valid(text: str | None) -> str | None:
    """Text SQLite can store: a lone surrogate (undecodable bytes carried through) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if text else text


def _message_values(m: Message | None) -> tuple[str | None, ...]:
    return tuple(_valid(v) for v in (m.message_id, m.subject, m.sender, m.sender_name)) if m else (None,) * 4


def _json(value: object) -> str:
    return _SURROGATE.sub("\ufffd", json.dumps(value, ensure_ascii=False, default=str))


def findings_json(findings) -> str:
    return _json([{"flag": f.flag.value, "detail": f.detail} for f in findings])


def documents_json(documents: tuple[Document, ...]) -> str:
    # A 推荐函's or 汇总表's header fields (填表人, 联系电话) and the applicants it lists feed the round assessment.
    return _json([{"kind": d.kind.value, "path": d.path, "method": d.method, "filename": d.filename,
                   "problem": d.problem.text() if d.problem else "",
                   **({"fields": d.fields} if d.kind.value in ("letter", "summary") and d.fields else {}),
                   **({"listed": [{"name": x.name, "track": x.track.value if x.track else None,
                                   "source": x.source} for x in d.listed]}
                      if getattr(d, "listed", None) else {})}
                  for d in documents])


def evidence_json(app: Application) -> str:
    """Each field's evidence, its document named by where it was filed (the export's field_evidence)."""
    paths = {d.filename: d.path for d in app.documents}
    return _json({key: {"document": paths.get(e.document) or e.document or None, "page": e.page or None,
                        "bbox": list(e.bbox) if e.bbox else None,
                        "label_bbox": list(e.label_bbox) if e.label_bbox else None,
                        "raw": e.raw, "method": e.method or None, "confidence": e.confidence,
                        "source": e.source or None, **({"upright": e.upright} if e.upright else {})}
                  for key, e in app.field_evidence.items()})


@dataclass(frozen=True)
class ReceiptDraft:
    receipt_id: str
    recipient: str
    raw: bytes
    letter: str          # JSON of the 受理回执 content
    state: ReceiptState  # held, or suppressed or failed from the start
    reason: str = ""
    number: int | None = None   # the receipt's number in the round (Ledger.receipt_number)


@dataclass(frozen=True)
class Attempt:
    number: int          # this attempt's number, 1 for the first
    crashed: int         # earlier attempts the process never came back from
    recorded: bool       # the message was recorded before: a clerk runs it again


@dataclass(frozen=True)
class Kept:
    """Where a message came from and where its raw bytes are: what running it again, or marking it in
    its mailbox, needs."""

    row: int
    mailbox: str
    validity: str
    uid: str
    sha256: str
    raw_path: str                # relative to the output folder; "" when the bytes were never kept
    received_at: datetime
    marked: bool                 # the mailbox was told (flag or move) already


@dataclass(frozen=True)
class QueuedReceipt:
    row: int
    receipt_id: str
    recipient: str
    raw: bytes
    state: ReceiptState = ReceiptState.QUEUED    # SENDING: an attempt began and its end was never recorded
    attempts: int = 0


class Ledger:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created with intake's file-mode policy before SQLite creates it with its own 0644; the -wal and
        # -shm files take the ledger's mode.
        touch_with_policy(path)
        # Autocommit mode: every write happens inside an explicit transaction() below.
        self.db = sqlite3.connect(path, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise RuntimeError(f"ledger schema {version} is newer than this program ({len(MIGRATIONS)})")
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction() as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    def prove_writable(self) -> None:
        """For `intake check`: a row written and removed again, committed, so the file and its journal are
        proven writable (a transaction rolled back would write nothing)."""
        with self.transaction() as db:
            row = _event(db, None, Event.CHECK, "")
            db.execute("DELETE FROM events WHERE id=?", (row,))

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    # -- messages ---------------------------------------------------------------------------------

    def skip(self, mailbox: str, validity: str, uid: str, now: datetime) -> bool:
        """Nothing for the mailbox to hand over: done, retried from its kept raw bytes, or waiting for its
        next attempt."""
        row = self.db.execute("SELECT state, next_attempt_at FROM messages WHERE mailbox=? AND validity=? AND uid=?",
                              (mailbox, validity, uid)).fetchone()
        if row is None:
            return False
        return row["state"] != "fetched" or (row["next_attempt_at"] or "") > _utc(now)

    def last_uid(self, mailbox: str, validity: str) -> int:
        row = self.db.execute("SELECT max(CAST(uid AS INTEGER)) FROM messages WHERE mailbox=? AND validity=?",
                              (mailbox, validity)).fetchone()
        return row[0] or 0

    def pending_uids(self, mailbox: str, validity: str, now: datetime) -> list[str]:
        """Fetched but never finished (a crash came between, or the raw bytes could not be kept): fetch
        them again, once their next attempt is due."""
        return [r[0] for r in self.db.execute(
            "SELECT uid FROM messages WHERE mailbox=? AND validity=? AND state='fetched'"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)", (mailbox, validity, _utc(now)))]

    def rekey_moved(self, mailbox: str, validity: str, uid: str, sha256: str) -> bool:
        """After a UIDVALIDITY change the same message comes back under a new UID: recognise it by its
        bytes (which carry its Message-ID) and move the ledger row to the new identity."""
        with self.transaction() as db:
            row = db.execute("SELECT id FROM messages WHERE mailbox=? AND sha256=? AND validity<>? AND state='done'"
                             " ORDER BY id LIMIT 1", (mailbox, sha256, validity)).fetchone()
            if row is None:
                return False
            db.execute("UPDATE messages SET validity=?, uid=? WHERE id=?", (validity, uid, row["id"]))
            _event(db, row["id"], Event.REKEYED, f"UIDVALIDITY now {validity}, UID {uid}")
            return True

    def unmarked(self, mailbox: str, validity: str) -> list[tuple[int, str]]:
        """Done, but the mailbox was never told: (row, uid) to flag or move now. A message whose raw bytes
        were never kept stays unmarked: the mailbox holds the only copy, for the clerk to see."""
        return [(r[0], r[1]) for r in self.db.execute(
            "SELECT id, uid FROM messages WHERE mailbox=? AND validity=? AND state='done' AND marked_at IS NULL"
            " AND raw_path <> '' ORDER BY id", (mailbox, validity))]

    def set_marked(self, row: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE messages SET marked_at=? WHERE id=?", (_now(), row))

    def record_fetched(self, round_name: str, mailbox: str, validity: str, uid: str, sha256: str,
                       raw_path: str, received_at: datetime) -> int:
        """The raw bytes are on disk (raw_path; empty when they could not be kept); note the message before
        anything can go wrong with it."""
        with self.transaction() as db:
            row = db.execute("SELECT id, raw_path FROM messages WHERE mailbox=? AND validity=? AND uid=?",
                             (mailbox, validity, uid)).fetchone()
            if row:
                if raw_path and not row["raw_path"]:
                    db.execute("UPDATE messages SET raw_path=?, sha256=? WHERE id=?", (raw_path, sha256, row["id"]))
                return row["id"]
            cur = db.execute(
                "INSERT INTO messages (round, mailbox, validity, uid, sha256, raw_path, received_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (round_name, mailbox, validity, uid, sha256, raw_path, received_at.isoformat()))
            row = cur.lastrowid
            assert row is not None      # an INSERT that succeeded has a row id
            _event(db, row, Event.FETCHED, f"{mailbox} {validity}/{uid}")
            return row

    # -- attempts: passing faults retried, defects and crashes set aside for a person -------------------

    def begin_attempt(self, row: int) -> Attempt:
        """Count an attempt before it starts, so that one the process never came back from is seen."""
        with self.transaction() as db:
            r = db.execute("SELECT state, attempts, failures FROM messages WHERE id=?", (row,)).fetchone()
            db.execute("UPDATE messages SET attempts=attempts+1 WHERE id=?", (row,))
        # A finished message run again (intake retry) has no crashes to count: its earlier attempts ended.
        crashed = 0 if r["state"] == "done" else r["attempts"] - r["failures"]
        return Attempt(number=r["attempts"] + 1, crashed=crashed, recorded=r["state"] == "done")

    def defer(self, row: int, error: str, traceback: str, retry_at: datetime, raw_kept: bool,
              message: Message | None = None) -> None:
        """A passing fault: try again at retry_at, from the kept raw bytes or from the mailbox. A message
        recorded before (run again by a clerk) keeps its record; only the fault is noted."""
        with self.transaction() as db:
            db.execute("UPDATE messages SET failures=failures+1, error=?, traceback=? WHERE id=?",
                       (_valid(error), _valid(traceback), row))
            # What is known of it already (subject, sender) shows in the clerk's list while it waits.
            db.execute("UPDATE messages SET state=?, next_attempt_at=?, message_id=?, subject=?, sender=?,"
                       " sender_name=? WHERE id=? AND state<>'done'",
                       ("retry" if raw_kept else "fetched", _utc(retry_at), *_message_values(message), row))
            _event(db, row, Event.DEFERRED, f"{error} (retry at {_utc(retry_at)})")

    def record_failed(self, row: int, reason: str, error: str, traceback: str, message: Message | None,
                      receipt: ReceiptDraft | None) -> bool:
        """Set a message aside for a person: outcome review with the reason, the error kept for the engineer,
        and the receipt a review outcome gets. A message recorded before (run again by a clerk) keeps that
        record and its applications: False, and only the error is noted beside it."""
        with self.transaction() as db:
            db.execute("UPDATE messages SET error=?, traceback=?, next_attempt_at=NULL WHERE id=?",
                       (_valid(error), _valid(traceback), row))
            if db.execute("SELECT state FROM messages WHERE id=?", (row,)).fetchone()["state"] == "done":
                _event(db, row, Event.RERUN_FAILED, error)
                return False
            db.execute("DELETE FROM applications WHERE message=?", (row,))
            db.execute(
                "UPDATE messages SET state='done', outcome='review', reason=?, message_id=?, subject=?, sender=?,"
                " sender_name=?, recommender='', recommender_kind='', findings='[]', documents='[]', processed_at=?"
                " WHERE id=?",
                (_valid(reason), *_message_values(message), _now(), row))
            if receipt is not None:
                self._put_receipt(db, row, receipt)
            _event(db, row, Event.SET_ASIDE, error)
            return True

    def waiting(self, round_name: str) -> list[sqlite3.Row]:
        """Messages a passing fault holds back, with their error and next attempt."""
        return self.db.execute(
            _WITH_RECEIPT + " WHERE m.round=? AND m.state<>'done' AND m.error IS NOT NULL ORDER BY m.id",
            (round_name,)).fetchall()

    def due_retries(self, round_name: str, now: datetime) -> list[int]:
        """Messages whose raw bytes are kept and whose next attempt has come."""
        return [r[0] for r in self.db.execute(
            "SELECT id FROM messages WHERE round=? AND state='retry' AND raw_path<>''"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id", (round_name, _utc(now)))]

    def kept(self, row: int) -> Kept | None:
        m = self.db.execute("SELECT * FROM messages WHERE id=?", (row,)).fetchone()
        if m is None:
            return None
        return Kept(m["id"], m["mailbox"], m["validity"], m["uid"], m["sha256"], m["raw_path"],
                    datetime.fromisoformat(m["received_at"]), bool(m["marked_at"]))

    def message(self, row: int) -> sqlite3.Row | None:
        return self.db.execute(
            _WITH_RECEIPT + " WHERE m.id=?", (row,)).fetchone()

    def failed(self, round_name: str) -> list[int]:
        """What `intake retry --failed` runs again: set aside after an error, or waiting for a retry."""
        return [r[0] for r in self.db.execute(
            "SELECT id FROM messages WHERE round=? AND error IS NOT NULL AND (state<>'done' OR outcome='review')"
            " ORDER BY id", (round_name,))]

    def refetch(self, row: int) -> None:
        """A message whose raw bytes were never kept, to be fetched from the mailbox by the next pass."""
        with self.transaction() as db:
            db.execute("UPDATE messages SET state='fetched', next_attempt_at=NULL, attempts=failures WHERE id=?"
                       " AND raw_path=''", (row,))
            _event(db, row, Event.REFETCH, "asked for by a clerk")

    def record_done(self, row: int, sub: Submission, message_documents: tuple[Document, ...],
                    recommender: str, recommender_kind: str, receipt: ReceiptDraft | None) -> None:
        """Everything the pass learnt of one message, and its queued receipt, in one transaction. Run again
        (intake retry), the message keeps its applications' numbers, so the clerk's decisions about them
        stay theirs; a receipt already on its way or sent is never replaced."""
        with self.transaction() as db:
            db.execute(
                "UPDATE messages SET state='done', message_id=?, subject=?, sender=?, sender_name=?, outcome=?,"
                " reason=?, recommender=?, recommender_kind=?, findings=?, documents=?, processed_at=?,"
                " error=NULL, traceback=NULL, next_attempt_at=NULL WHERE id=?",
                (*_message_values(sub.message), sub.outcome.value, _valid(sub.reason), recommender, recommender_kind,
                 findings_json(sub.findings), documents_json(message_documents), _now(), row))
            round_name = db.execute("SELECT round FROM messages WHERE id=?", (row,)).fetchone()["round"]
            self._put_applications(db, row, round_name, sub.applications, recommender, recommender_kind)
            if receipt is not None:
                self._put_receipt(db, row, receipt)
            _event(db, row, Event.DONE, f"{sub.outcome.value}: {sub.reason or len(sub.applications)}")

    def _put_applications(self, db, row: int, round_name: str, apps: tuple[Application, ...], recommender: str,
                          kind: str) -> None:
        earlier = {r["id"]: key(r["applicant"])
                   for r in db.execute("SELECT id, applicant FROM applications WHERE message=? ORDER BY id", (row,))}
        for app in apps:
            mine = key(app.applicant)
            same = next((i for i, k in earlier.items() if k == mine), None)
            if same is None:
                self._insert_application(db, row, round_name, app, recommender, kind)
                continue
            del earlier[same]
            db.execute(
                "UPDATE applications SET applicant=?, recommender=?, recommender_kind=?, track=?, status=?,"
                " findings=?, fields=?, field_confidence=?, documents=?, field_evidence=?, assessed_status=NULL,"
                " assessed_findings=NULL, superseded_by=NULL WHERE id=?",
                (*self._application_values(app, recommender, kind), same))
        for gone in earlier:
            db.execute("DELETE FROM applications WHERE id=?", (gone,))

    @staticmethod
    def _put_receipt(db, row: int, receipt: ReceiptDraft) -> None:
        values = (receipt.receipt_id, _valid(receipt.recipient), receipt.raw, _valid(receipt.letter), receipt.state,
                  _valid(receipt.reason), receipt.number)
        earlier = db.execute("SELECT state FROM receipts WHERE message=?", (row,)).fetchone()
        if earlier is None:
            db.execute("INSERT OR IGNORE INTO receipts (receipt_id, recipient, raw, letter, state, reason, number,"
                       " message, created_at) VALUES (?,?,?,?,?,?,?,?,?)", (*values, row, _now()))
        elif earlier["state"] in (ReceiptState.HELD, ReceiptState.QUEUED, ReceiptState.SUPPRESSED, ReceiptState.FAILED):
            db.execute("UPDATE receipts SET receipt_id=?, recipient=?, raw=?, letter=?, state=?, reason=?,"
                       " number=COALESCE(?, number), next_attempt_at=NULL WHERE message=?", (*values, row))

    @classmethod
    def _insert_application(cls, db, row: int, round_name: str, app: Application, recommender: str, kind: str):
        db.execute(
            "INSERT INTO applications (applicant, recommender, recommender_kind, track, status, findings, fields,"
            " field_confidence, documents, field_evidence, message, round) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (*cls._application_values(app, recommender, kind), row, round_name))

    @staticmethod
    def _application_values(app: Application, recommender: str, kind: str) -> tuple:
        return (_valid(app.applicant), recommender, kind, app.track.value, app.status.value,
                findings_json(app.findings), _json(app.fields),
                json.dumps(app.field_confidence), documents_json(app.documents), evidence_json(app))

    def messages(self, round_name: str, only: Collection[int] | None = None) -> list[sqlite3.Row]:
        """The round's processed messages (only: those of these rows)."""
        where, args = _only("m.id", only)
        return self.db.execute(
            _WITH_RECEIPT + f" WHERE m.round=? AND m.state='done'{where}"
            " ORDER BY m.received_at, m.id", (round_name, *args)).fetchall()

    def applications(self, round_name: str, only: Collection[int] | None = None,
                     brief: bool = False) -> list[sqlite3.Row]:
        """The round's applications (only: those of the messages of these rows). brief: only what the
        round's rules read, without the evidence, confidences and earlier verdicts."""
        where, args = _only("a.message", only)
        columns = _BRIEF_APPLICATION if brief else "a.*"
        return self.db.execute(
            f"SELECT {columns}, m.message_id AS message_id, m.received_at AS received_at FROM applications a"
            f" JOIN messages m ON m.id = a.message WHERE a.round=?{where} ORDER BY m.received_at, a.id",
            (round_name, *args)).fetchall()

    def letters(self, round_name: str) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT r.letter, r.state, m.recommender, m.received_at, m.id AS message FROM receipts r"
            " JOIN messages m ON m.id = r.message WHERE m.round=? AND r.letter<>'' ORDER BY m.id", (round_name,)).fetchall()

    def rounds(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT round FROM messages ORDER BY round")]

    # -- receipts ---------------------------------------------------------------------------------

    def receipts_to(self, recipient: str, day_start: datetime, day_end: datetime) -> int:
        """Receipts queued or sent to one address for messages delivered within one day."""
        return self.db.execute(
            "SELECT count(*) FROM receipts r JOIN messages m ON m.id = r.message"
            " WHERE r.recipient=? AND r.state IN ('held','queued','sending','sent') AND m.received_at >= ?"
            " AND m.received_at < ?",
            (recipient, day_start.isoformat(), day_end.isoformat())).fetchone()[0]

    def receipt_number(self, row: int, round_name: str) -> int:
        """The number of the message's receipt: the one it has, else the next of the round."""
        mine = self.db.execute("SELECT number FROM receipts WHERE message=?", (row,)).fetchone()
        if mine is not None and mine[0]:
            return mine[0]
        last = self.db.execute("SELECT max(r.number) FROM receipts r JOIN messages m ON m.id = r.message"
                               " WHERE m.round=?", (round_name,)).fetchone()[0]
        return (last or 0) + 1

    def sent_since(self, moment: datetime) -> int:
        """Receipts handed to the outbox since moment, all recipients together."""
        return self.db.execute("SELECT count(*) FROM receipts WHERE state='sent' AND sent_at >= ?",
                               (_utc(moment),)).fetchone()[0]

    def receipts_waiting(self, round_name: str) -> int:
        """Receipts written and not yet out: held for the round check, queued for a retry, mid-send."""
        return self.db.execute(
            # CROSS JOIN: from the few receipts in these states (indexed) to their messages, not the reverse
            "SELECT count(*) FROM receipts r CROSS JOIN messages m ON m.id = r.message WHERE m.round=?"
            " AND r.state IN ('held','queued','sending')", (round_name,)).fetchone()[0]

    def due_receipts(self, now: datetime) -> list[QueuedReceipt]:
        """Receipts to send now: queued ones whose retry time has come, and any left mid-send by a crash."""
        rows = self.db.execute(
            "SELECT id, receipt_id, recipient, raw, state, attempts FROM receipts WHERE state IN ('queued','sending')"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id",
            (_utc(now),)).fetchall()
        return [QueuedReceipt(r["id"], r["receipt_id"], r["recipient"], bytes(r["raw"]), r["state"], r["attempts"])
                for r in rows]

    def claim_receipt(self, row: int, state: str, now: datetime, lease_until: datetime) -> bool:
        """Take one receipt for sending. The lease lets a crashed sender's receipt be taken up again once
        it expires, while two live senders (a pass and the retry job) never take the same one."""
        with self.transaction() as db:
            cur = db.execute(
                "UPDATE receipts SET state='sending', attempts=attempts+1, next_attempt_at=? WHERE id=? AND state=?"
                " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
                (_utc(lease_until), row, state, _utc(now)))
            return cur.rowcount == 1

    def postpone_receipts(self, now: datetime, retry_at: datetime, reason: str) -> int:
        with self.transaction() as db:
            return db.execute("UPDATE receipts SET next_attempt_at=?, reason=? WHERE state='queued'"
                              " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
                              (_utc(retry_at), reason, _utc(now))).rowcount

    def mark_receipt(self, row: int, state: ReceiptState, reason: str = "", retry_at: datetime | None = None) -> None:
        """sending → sent, failed (permanently refused), or queued again for retry_at."""
        with self.transaction() as db:
            db.execute(
                "UPDATE receipts SET state=?, reason=?, next_attempt_at=?,"
                " sent_at=CASE WHEN ?='sent' THEN ? ELSE sent_at END WHERE id=?",
                (state, reason, _utc(retry_at) if retry_at else None, state, _now(), row))

    # -- round assessment and the clerk's corrections (see pipeline/round/) -----

    def save_assessment(self, applications: list[tuple[int, str | None, str | None, int | None, str | None]],
                        duplicates: dict[int, int | None]) -> None:
        """The whole round's result at once: (application id, status, findings JSON, superseded_by,
        corrected JSON) per application, and the duplicate mark of every message. (The round's lists are
        not stored: every reader assesses the round from the ledger. round_assessments, written by earlier
        versions, is left as it was.)"""
        with self.transaction() as db:
            db.executemany("UPDATE applications SET assessed_status=?, assessed_findings=?, superseded_by=?,"
                           " corrected=? WHERE id=?",
                           [(status, findings, superseded, corrected, app)
                            for app, status, findings, superseded, corrected in applications])
            db.executemany("UPDATE messages SET duplicate_of=? WHERE id=?",
                           [(original, message) for message, original in duplicates.items()])

    def round_inputs(self, round_name: str) -> tuple:
        """What the round's assessment reads, summed up: every write to a message (a new row, an attempt,
        a state, a processing), to its applications (replaced whole: new ids) or a correction changes it.
        One indexed scan per table, in SQLite: milliseconds at twenty thousand messages."""
        messages = self.db.execute(
            "SELECT count(*), max(id), max(processed_at), total(attempts), total(failures),"
            " total(state='done'), total(state='retry') FROM messages WHERE round=?", (round_name,)).fetchone()
        apps = self.db.execute("SELECT count(*), max(id) FROM applications WHERE round=?", (round_name,)).fetchone()
        corrections = self.db.execute("SELECT count(*), max(id) FROM corrections WHERE round=?",
                                      (round_name,)).fetchone()
        return (*messages, *apps, *corrections)

    def built_from(self, round_name: str) -> str | None:
        row = self.db.execute("SELECT inputs FROM builds WHERE round=?", (round_name,)).fetchone()
        return row[0] if row else None

    def mark_built(self, round_name: str, inputs: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO builds (round, inputs, at) VALUES (?,?,?)"
                       " ON CONFLICT (round) DO UPDATE SET inputs=excluded.inputs, at=excluded.at",
                       (round_name, inputs, _now()))

    def add_correction(self, round_name: str, target: str, field: str, value: object, by: str,
                       source: str = "cli") -> int:
        with self.transaction() as db:
            cur = db.execute("INSERT INTO corrections (round, target, field, value, by, at, source)"
                             " VALUES (?,?,?,?,?,?,?)",
                             (round_name, target, field, json.dumps(value, ensure_ascii=False), by, _now(), source))
            _event(db, None, Event.CORRECTION, f"{target} {field} by {by} ({source})")
            assert cur.lastrowid is not None
            return cur.lastrowid

    def corrections(self, round_name: str) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM corrections WHERE round=? ORDER BY id", (round_name,)).fetchall()

    def application_ids(self, round_name: str) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT id FROM applications WHERE round=?", (round_name,))}

    def queued_receipt_letters(self, round_name: str) -> list[sqlite3.Row]:
        """Receipts not yet handed to the outbox: the round assessment may still add to what they say."""
        return self.db.execute(
            "SELECT r.id, r.message, r.letter, r.raw FROM receipts r JOIN messages m ON m.id = r.message"
            " WHERE m.round=? AND r.state IN ('held','queued') AND r.letter<>'' ORDER BY r.id", (round_name,)).fetchall()

    def refresh_receipt(self, row: int, letter: str, raw: bytes, state: ReceiptState | None = None, reason: str = "") -> bool:
        """Rewrite a receipt that is still held or queued (state None: keep it); one that an attempt has
        begun on stays as it is."""
        with self.transaction() as db:
            cur = db.execute("UPDATE receipts SET letter=?, raw=?, state=COALESCE(?, state), reason=? WHERE id=?"
                             " AND state IN ('held','queued')", (letter, raw, state, reason, row))
            return cur.rowcount == 1

    def release_receipts(self, round_name: str) -> int:
        """New receipts wait ('held') until the round assessment has seen them: a duplicate email's must
        never leave, and the others must say what the whole round found (超出名额, 多头申报)."""
        with self.transaction() as db:
            return db.execute("UPDATE receipts SET state='queued' WHERE state='held' AND message IN"
                              " (SELECT id FROM messages WHERE round=?)", (round_name,)).rowcount


    # -- what the passes did ------------------------------------------------------------------------

    def record_pass(self, round_name: str, started: datetime, command: str, eventful: bool, report: dict) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO passes (round, started_at, ended_at, command, eventful, report) VALUES (?,?,?,?,?,?)",
                       (round_name, _utc(started), _now(), command, int(eventful), _json(report)))

    def passes(self, round_name: str, limit: int = 1, eventful: bool = False) -> list[sqlite3.Row]:
        """The latest passes first; eventful: only those that fetched, retried or sent something."""
        where = " AND eventful" if eventful else ""
        return self.db.execute(f"SELECT * FROM passes WHERE round=?{where} ORDER BY id DESC LIMIT ?",
                               (round_name, limit)).fetchall()

    def state_mark(self, round_name: str) -> tuple:
        """What changes when anything a console page shows changes: a pass ended, a build, a correction."""
        row = self.db.execute(
            "SELECT (SELECT max(id) FROM passes WHERE round=?), (SELECT at FROM builds WHERE round=?),"
            " (SELECT max(id) FROM corrections WHERE round=?)", (round_name, round_name, round_name)).fetchone()
        return tuple(row)

    # -- the console's accounts --------------------------------------------------------------------

    def user(self, name: str) -> sqlite3.Row | None:
        return self.db.execute("SELECT * FROM users WHERE name=?", (name,)).fetchone()

    def users(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM users ORDER BY name").fetchall()

    def put_user(self, name: str, role: str, password_hash: str) -> bool:
        """Adds the account, or changes its role and password; True when it is new."""
        with self.transaction() as db:
            new = db.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone() is None
            now = _now()
            db.execute("INSERT INTO users (name, role, password, created_at, changed_at) VALUES (?,?,?,?,?)"
                       " ON CONFLICT (name) DO UPDATE SET role=excluded.role, password=excluded.password,"
                       " changed_at=excluded.changed_at", (name, role, password_hash, now, now))
            return new

    def remove_user(self, name: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM users WHERE name=?", (name,)).rowcount == 1

    def set_password(self, name: str, password_hash: str) -> bool:
        with self.transaction() as db:
            return db.execute("UPDATE users SET password=?, changed_at=? WHERE name=?",
                              (password_hash, _now(), name)).rowcount == 1


def _only(column: str, rows: Collection[int] | None) -> tuple[str, tuple[str, ...]]:
    """A condition keeping only these rows (through a JSON array: any number of them, one parameter)."""
    if rows is None:
        return "", ()
    return f" AND {column} IN (SELECT value FROM json_each(?))", (json.dumps(sorted(rows)),)


def findings_from_json(text: str) -> list[Finding]:
    return [Finding(Flag(f["flag"]), f["detail"]) for f in json.loads(text or "[]")]
