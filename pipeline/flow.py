"""One message's way through intake: the stages, declared once, and the pass that drives them.

    fetch → keep raw → parse → route → read → assemble → check → file → ledger (+ receipt held) → mark
    after all messages: the round assessed → tables and letters from the ledger → receipts sent

Each message stands alone: whatever happens to it between its fetch and its mark ends as its own outcome
(recorded; tried again later after a passing fault; or set aside for a person with the error) and the
pass goes on with the others.
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import re
import shutil
import sqlite3
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from . import caches
from .assemble import assemble
from .config import Config
from .dates import SHANGHAI
from .faults import Failure, describe, is_transient
from .filing import UniqueNames, inside, write_atomic
from .lock import Holder, PassLock
from .mail import mime
from .mail.connect import open_mailbox, open_outbox
from .mail.imap import ImapError
from .mail.smtp import SendFailed
from .mail.source import Incoming, Mailbox, Outbox
from .model import Document, Finding, Flag, Message, Outcome, ReceiptState, RecommenderKind, Status, Submission
from .outputs import report
from .read.document import Forms, read_attachments
from .read.ocr import OcrPool, Readings
from .receipt import Unaddressable, compose, compose_received, letter_for, mail_templates, receipt_id
from .round import facts
from .round.apply import reassess
from .round.assess import UNKNOWN_RECOMMENDER, confirmed_senders
from .round.target import Target
from .route import Directory, answers_our_receipt, authentication, ignore_reason, reply_reason
from .rules import awaits_files, check
from .store import Attempt, Ledger, ReceiptDraft, evidence_json
from .subject import parse_subject

log = logging.getLogger("intake.flow")
outbox_log = logging.getLogger("intake.outbox")
# How long a sender may hold a receipt before another (after a crash) may take it up again.
SEND_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Context:
    config: Config
    forms: Forms
    directory: Directory
    # Started at the first scan of the pass (a pass without scans never loads the OCR models), closed
    # at the end of run_pass.
    ocr: OcrPool = field(default_factory=OcrPool)

    @classmethod
    def load(cls, config: Config, confirmed: Mapping[str, str] | None = None) -> Context:
        return cls(config, Forms.load(config.templates_dir), Directory(config.recommenders, confirmed or {}),
                   OcrPool(config.ocr.workers, page_timeout=config.ocr.page_timeout, memory=config.ocr.worker_memory,
                           kept=Readings(config.output_dir / caches.OCR), models=config.output_dir / caches.MODELS))


def parse(sub: Submission, ctx: Context) -> Submission:
    return replace(sub, message=mime.parse(sub.raw, sub.received_at, ctx.config.attachments))


def route(sub: Submission, ctx: Context) -> Submission:
    m = sub.parsed
    reason = ignore_reason(m)
    if reason:
        return replace(sub, outcome=Outcome.IGNORED, reason=reason)
    if answers_our_receipt(m):
        return replace(sub, outcome=Outcome.REVIEW if m.attachments else Outcome.IGNORED, reason=reply_reason(m))
    subject = parse_subject(m.subject, ctx.config.round.subject_suffix)
    # Named in the subject (or, later, in a 推荐函) by a sender that is not one of its addresses: the
    # recommender provisionally; the round assessment flags it unverified until a clerk confirms it.
    recommender = ctx.directory.by_sender(m.sender) or ctx.directory.by_name(subject.who)
    passed, failed = authentication(m, ctx.config.imap.auth_host)
    found = list(sub.findings)
    if failed:
        found.append(Finding(Flag.UNVERIFIED_SENDER, f"收件服务器记录的发件认证未通过（{'、'.join(failed)}），"
                                                     f"发件地址 {m.sender} 可能被冒用"))
    elif passed:
        found.append(Finding(Flag.SENDER_AUTHENTICATED, "、".join(passed)))
    return replace(sub, subject=subject, recommender=recommender, findings=tuple(found))


def read(sub: Submission, ctx: Context) -> Submission:
    # All attachments at once: the scanned pages of the whole message go to the OCR workers together.
    return replace(sub, documents=read_attachments(sub.parsed.attachments, ctx.forms, ctx.ocr, ctx.config.ocr,
                                                   ctx.config.attachments))


def assemble_stage(sub: Submission, ctx: Context) -> Submission:
    return assemble(sub, ctx.config, ctx.directory)


def check_stage(sub: Submission, ctx: Context) -> Submission:
    return check(sub, ctx.config)


def file(sub: Submission, ctx: Context) -> Submission:
    """Originals and extracted fields under output/<round>/<recommender>/<applicant>/, each name carrying the
    delivery time and the message's number: two emails of one minute never share a file. An attempt that
    fails half-way takes back what it wrote, so that no half-filed folder is left for a clerk to find."""
    out = ctx.config.output_dir
    prefix = f"{sub.received_at.astimezone(SHANGHAI):%Y%m%d-%H%M}_{Target.message(sub.number)}_"
    if sub.outcome is Outcome.SUBMISSION:
        root = [ctx.config.round.name, sub.recommender.name if sub.recommender else UNKNOWN_RECOMMENDER]
    else:
        root = [ctx.config.round.name, "待人工查看"]
    shelf = _Shelf(out, prefix)
    try:
        placed: dict[int, Document] = {}
        for app in sub.applications:
            folder = root + [app.applicant]
            fields_name = shelf.name(folder, "fields.json")
            for doc in app.documents:
                placed[id(doc)] = shelf.place(folder, doc)
            filed = replace(app, documents=tuple(placed[id(d)] for d in app.documents))
            fields = {"applicant": app.applicant, "track": app.track.value, "status": app.status.value,
                      "fields": app.fields, "field_confidence": app.field_confidence,
                      "field_evidence": json.loads(evidence_json(filed)),
                      "flags": [f.flag.value for f in app.findings],
                      "problems": [f.text() for f in app.findings], "message_id": sub.parsed.message_id}
            shelf.write(folder, fields_name, json.dumps(fields, ensure_ascii=False, indent=2, default=str).encode())
        for doc in sub.loose_documents:
            placed[id(doc)] = shelf.place(root + ["推荐材料"], doc)
    except BaseException:
        shelf.take_back()
        raise
    # One new object per old one, shared by both lists: loose_documents tells them apart by identity.
    apps = tuple(replace(a, documents=tuple(placed[id(d)] for d in a.documents)) for a in sub.applications)
    return replace(sub, documents=tuple(placed.get(id(d), d) for d in sub.documents), applications=apps)


class _Shelf:
    """The files one message puts under output_dir: unique names per folder after sanitising, and a memory
    of what it created (never what was there before: a message run again keeps its earlier files)."""

    def __init__(self, out: Path, prefix: str):
        self.out, self.prefix = out, prefix
        self.names: dict[tuple[str, ...], UniqueNames] = {}
        self.created: list[Path] = []

    def name(self, folder: list[str], wanted: str) -> str:
        # A member of an archive is named by its path inside it ("材料.zip/申请表.pdf"): one file name here.
        return self.prefix + self.names.setdefault(tuple(folder), UniqueNames()).claim(wanted.replace("/", "_"))

    def place(self, folder: list[str], doc: Document) -> Document:
        path = self.write(folder, self.name(folder, doc.filename), doc.data)
        return replace(doc, path=str(path.relative_to(self.out)))

    def write(self, folder: list[str], name: str, data: bytes) -> Path:
        path = inside(self.out, *folder, name)
        if path.exists() and path.read_bytes() == data:
            return path
        new_folders = [f for f in (path.parent, *path.parent.parents) if self.out in f.parents and not f.exists()]
        existed = path.exists()
        self.created += reversed(new_folders)   # outermost first: taken back innermost first
        write_atomic(path, data)
        if not existed:
            self.created.append(path)
        return path

    def take_back(self) -> None:
        for path in reversed(self.created):
            try:
                path.rmdir() if path.is_dir() else path.unlink()
            except OSError:  # not empty (another message's file), or the disk refuses: left as it is
                pass


# The declared way of one message. Each stage takes and returns a Submission; a stage that decides the
# message is not a submission sets its outcome, and the stages after it that need one are skipped.
STAGES: tuple[tuple[str, Callable[[Submission, Context], Submission], bool], ...] = (
    # (name, stage, runs only for submissions)
    ("parse", parse, False),
    ("route", route, True),
    ("read", read, True),
    ("assemble", assemble_stage, True),
    ("check", check_stage, True),
    ("file", file, False),
)


class StageFailed(Exception):
    """A stage raised: how (a passing fault or a defect), and the submission as far as it got."""

    def __init__(self, failure: Failure, sub: Submission):
        super().__init__(failure.error)
        self.failure, self.sub = failure, sub


def process(raw: bytes, received_at: datetime, ctx: Context, number: int = 0) -> Submission:
    """Run the stages; a failure ends them with StageFailed, which the pass turns into that message's outcome."""
    sub = Submission(raw=raw, received_at=received_at, number=number)
    for name, stage, submissions_only in STAGES:
        if submissions_only and sub.outcome is not Outcome.SUBMISSION:
            continue
        try:
            sub = stage(sub, ctx)
        except Exception as exc:
            failure = Failure.of(name, exc)
            log.log(logging.WARNING if failure.transient else logging.ERROR, "stage %s failed for M%d %s: %s",
                    name, number, sub.message.message_id if sub.message else "?", failure.error)
            raise StageFailed(failure, sub) from exc
        if name != "parse":
            log.debug("%s %s: %s%s", name, sub.parsed.message_id, sub.outcome.value,
                      f" ({sub.reason})" if sub.reason else "")
    return sub


@dataclass
class PassReport:
    fetched: int = 0
    submissions: int = 0
    ignored: int = 0          # auto-replies, bounces, lists, spam, not submissions, duplicate emails
    duplicates: int = 0       # of the ignored: the same email again
    review: int = 0           # messages intake could not handle at all
    deferred: int = 0         # messages a passing fault holds back: tried again later
    retried: int = 0          # messages processed again from their kept raw bytes
    receipts_sent: int = 0
    receipts_waiting: int = 0  # receipts queued for a later attempt (the mail server is down)
    ocr_pages: int = 0
    ocr_workers: int = 0      # OCR processes that read at least one page
    ocr_peak_mb: list[int] = field(default_factory=list)   # each of those workers' peak resident memory
    review_items: list[str] = field(default_factory=list)
    still_waiting: int = 0    # of the review items: messages held back before this pass and still waiting
    more: bool = False        # the pass's budget ran out with mail left: the next pass takes it, at once

    def line(self) -> str:
        return (f"pass: fetched={self.fetched} submissions={self.submissions} ignored={self.ignored} "
                f"review={self.review} to_check={len(self.review_items)} retried={self.retried} deferred={self.deferred} "
                f"receipts_sent={self.receipts_sent} receipts_waiting={self.receipts_waiting}")

    @property
    def eventful(self) -> bool:
        # A message that waits for its next attempt is news when it is held back (deferred) and when it is
        # tried again (retried), not at every pass in between: the idle service logs nothing for it.
        return bool(self.fetched or self.retried or self.deferred or self.receipts_sent
                    or len(self.review_items) > self.still_waiting)


@dataclass
class _Item:
    """One message in hand: where it came from, its ledger row, and its processing under way."""

    incoming: Incoming
    row: int
    sha: str
    raw_kept: bool
    attempt: Attempt | None = None
    future: Future | None = None


# An attempt the process never came back from, twice: the message itself is the likely cause (it ate the
# memory, it hung a library); it is set aside rather than tried a third time.
CRASHES_TO_SET_ASIDE = 2
# Messages read at once per OCR worker (see _Pass.width).
IN_HAND_PER_WORKER = 4
# A message that cannot be parsed whole is still answered from its header block, read within this much.
HEAD_LIMIT = 256 * 1024
_STEP_LABELS = {"fetch": "收取", "keep raw": "保存原始邮件", "parse": "解析", "route": "分拣", "read": "识别",
                "assemble": "归并", "check": "检查", "file": "归档", "receipt draft": "生成回执",
                "ledger record": "记入台账", "process": "处理"}


def run_pass(config: Config, progress: Callable[[int, int], None] | None = None,
             stop: threading.Event | None = None, rerun: Sequence[int] = (), wait: bool = True,
             on_wait: Callable[[Holder | None], None] | None = None, command: str = "",
             mailbox: Mailbox | None = None, outbox: Outbox | None = None) -> PassReport:
    """One whole pass: fetch, process, file, regenerate tables and letters, send receipts. With `rerun`,
    no new mail: those ledger rows are processed again from their kept raw bytes (intake retry).

    One pass at a time across processes: the lock under output_dir is taken first (waiting for it, or
    raising lock.Busy). A set `stop` ends the pass after the messages in hand; the rest waits.
    mailbox, outbox: instead of the configured ones (tests hand in mail/memory.py's)."""
    config.output_dir.mkdir(exist_ok=True)
    _room_to_work(config.output_dir)
    started = datetime.now(UTC)
    with (PassLock(config.output_dir, command or _command()).acquire(wait=wait, on_wait=on_wait),
          _Pass(config, progress, stop, mailbox, outbox) as one):
        if rerun:
            one.rerun(rerun)
        else:
            one.fetch_new()
            one.retry_due()
        one.conclude()
        one.record(started, command or _command())
    result = one.result
    log.log(logging.INFO if result.eventful else logging.DEBUG, result.line())
    return result


# Below this a pass would only fail message after message (raw bytes, OCR pages, tables): it does not start.
MIN_FREE_BYTES = 20 * 1024 * 1024


def _room_to_work(folder: Path) -> None:
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        raise OSError(errno.ENOSPC, f"only {free // 1024} KB free, a pass needs {MIN_FREE_BYTES // 1024 // 1024} MB",
                      str(folder))


def _command() -> str:
    return " ".join(["intake", *sys.argv[1:]]) if sys.argv else "intake"


class _Pass:
    """The state of one pass: its ledger, mailbox, outbox, and the messages in hand."""

    def __init__(self, config: Config, progress: Callable[[int, int], None] | None, stop: threading.Event | None,
                 mailbox: Mailbox | None = None, outbox: Outbox | None = None):
        self.config, self.progress, self.stop = config, progress, stop
        self.ledger = Ledger(config.ledger_path)
        self.ctx = Context.load(config, confirmed_senders(facts.corrections(self.ledger, config.round.name)))
        self.outbox = outbox or open_outbox(config)
        self.env = mail_templates(config.templates_dir)
        self.result = PassReport()
        # On deadline day a backlog of scans takes long to read: after processing.pass_budget the pass
        # takes no more new mail, answers what it took, and the next pass goes on with the rest.
        self.until = time.monotonic() + config.processing.pass_budget.total_seconds()
        self.done: list[int] = []   # ledger rows recorded by this pass
        self.total = 0
        self._mailbox: Mailbox | None = mailbox
        # Messages in hand at once: while one waits for its scanned page, the next ones' pages keep the
        # other OCR workers busy. One per worker left a worker idle whenever the oldest message had an odd
        # page left or the next was typed (a third of each worker's time on the bench's mixed mailbox);
        # four per worker keep pages queued. Each is recorded, in the order it came, by this thread alone.
        self.width = IN_HAND_PER_WORKER * max(1, config.ocr.workers)
        self.in_hand: deque[_Item] = deque()
        self.readers = ThreadPoolExecutor(self.width, thread_name_prefix="message")

    def __enter__(self) -> _Pass:
        return self

    def __exit__(self, *exc) -> None:
        try:
            # The pass ends early (the mailbox's server gone, a stop): the messages in hand are still
            # finished and recorded, or an attempt that merely met the end of the pass counts as a crash.
            while self.in_hand:
                try:
                    self._finish()
                except Exception:  # the ledger itself: the message is tried next pass
                    log.exception("a message in hand could not be recorded")
        finally:
            self.readers.shutdown(wait=True, cancel_futures=True)
            self.ctx.ocr.close()
            self.result.ocr_pages, self.result.ocr_workers = self.ctx.ocr.pages_read, len(self.ctx.ocr.by_worker)
            self.result.ocr_peak_mb = self.ctx.ocr.peak_mb()
            if self._mailbox is not None:
                self._mailbox.close()
            self.outbox.close()
            self.ledger.close()

    @property
    def mailbox(self) -> Mailbox:
        if self._mailbox is None:
            self._mailbox = open_mailbox(self.config)
        return self._mailbox

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def spent(self, taken: int) -> bool:
        """The budget is spent and this pass took something already (every pass makes progress)."""
        if taken and time.monotonic() >= self.until:
            if not self.result.more:
                log.info("pass budget of %s spent after %d message(s): the next pass takes the rest",
                         self.config.processing.pass_budget, taken)
            self.result.more = True
        return self.result.more

    # -- taking messages in --------------------------------------------------------------------------

    def fetch_new(self) -> None:
        mailbox = self.mailbox
        for incoming in mailbox.fetch_new(_Seen(self.ledger, mailbox.name)):
            if self.stopping() or self.spent(self.result.fetched):
                break
            self.result.fetched += 1
            self.total = max(self.total, mailbox.found)
            self._take(incoming)

    def retry_due(self) -> None:
        """Messages a passing fault held back, processed again from their kept raw bytes."""
        self._from_kept(self.ledger.due_retries(self.config.round.name, _now()), budget=True)

    def rerun(self, rows: Sequence[int]) -> None:
        self._from_kept(rows, budget=False)   # a clerk's or engineer's list: all of it, now

    def _from_kept(self, rows: Sequence[int], budget: bool) -> None:
        self.total += len(rows)
        for row in rows:
            if self.stopping() or (budget and self.spent(self.result.fetched + self.result.retried)):
                break
            m = self.ledger.kept(row)
            if m is None:
                continue
            incoming = Incoming(m.validity, m.uid, b"", m.received_at)
            item = _Item(incoming, row, m.sha256, raw_kept=True)
            try:
                raw = (self.config.output_dir / m.raw_path).read_bytes()
            except OSError as exc:
                self._begin(item)
                self._failed(item, Failure.of("keep raw", exc), None)
                continue
            self.result.retried += 1
            self._start(_Item(replace(incoming, raw=raw), row, m.sha256, raw_kept=True))

    def _take(self, incoming: Incoming) -> None:
        """A message from the mailbox: its raw bytes kept and its ledger row written before anything else."""
        sha = hashlib.sha256(incoming.raw).hexdigest() if incoming.problem is None else ""
        if incoming.problem is None and self.ledger.rekey_moved(self.mailbox.name, incoming.validity,
                                                               incoming.uid, sha):
            log.info("UID %s/%s is a message already processed (the mailbox was renumbered)",
                     incoming.validity, incoming.uid)
            self._mark_quietly(incoming)
            return
        trouble: Failure | None = None
        raw_path = ""
        if incoming.problem is not None:
            trouble = Failure.of("fetch", incoming.problem)
        else:
            try:
                raw_path = keep_raw(incoming, sha, self.config)
            except Exception as exc:  # noqa: BLE001 - the message waits; the pass goes on
                trouble = Failure.of("keep raw", exc)
        # The ledger itself failing is no one message's fault: that ends the pass (nothing is lost).
        row = self.ledger.record_fetched(self.config.round.name, self.mailbox.name, incoming.validity, incoming.uid,
                                         sha, raw_path, incoming.received_at.astimezone(SHANGHAI))
        item = _Item(incoming, row, sha, raw_kept=bool(raw_path))
        if trouble is not None:
            self._begin(item)
            self._failed(item, trouble, None)
            return
        self._start(item)

    def _begin(self, item: _Item) -> None:
        item.attempt = self.ledger.begin_attempt(item.row)

    def _start(self, item: _Item) -> None:
        self._begin(item)
        assert item.attempt is not None
        if item.attempt.crashed >= CRASHES_TO_SET_ASIDE and not item.attempt.recorded:
            self._failed(item, Failure("process", False, f"{item.attempt.crashed} attempts ended in a crash", ""), None)
            return
        alone = item.attempt.crashed > 0
        if alone:
            # It was in hand when the process died: run it with no other, so that a second crash is its own
            # and an innocent companion of the first is not blamed twice.
            while self.in_hand:
                self._finish()
        item.future = self.readers.submit(process, item.incoming.raw, item.incoming.received_at, self.ctx, item.row)
        self.in_hand.append(item)
        if alone or len(self.in_hand) >= self.width:
            self._finish()

    # -- settling one message ------------------------------------------------------------------------

    def _finish(self) -> None:
        item = self.in_hand.popleft()
        assert item.future is not None
        try:
            sub = item.future.result()
        except StageFailed as failed:
            self._failed(item, failed.failure, failed.sub)
            return
        except Exception as exc:  # noqa: BLE001 - process() raises StageFailed; anything else is a defect too
            self._failed(item, Failure.of("process", exc), None)
            return
        step = "receipt draft"
        try:
            draft = self._receipt_draft(sub, item)
            step = "ledger record"
            rec = sub.recommender
            self.ledger.record_done(item.row, sub, sub.loose_documents, rec.name if rec else UNKNOWN_RECOMMENDER,
                                    rec.kind.value if rec else "", draft)
        except Exception as exc:  # noqa: BLE001 - this message's outcome, not the pass's end
            self._failed(item, Failure.of(step, exc), sub)
            return
        self._recorded(item)
        # Only now, with the ledger committed, may the mailbox forget the message is new.
        self._mark(item)

    def _recorded(self, item: _Item) -> None:
        self.done.append(item.row)
        if self.progress:
            self.progress(len(self.done), max(self.total, len(self.done)))

    def _failed(self, item: _Item, failure: Failure, sub: Submission | None) -> None:
        """A passing fault: tried again later, until processing.max_attempts; a defect, a message that
        crashed the process twice, or one out of attempts: set aside for a person, answered as received."""
        attempt = item.attempt or Attempt(1, 0, False)
        options = self.config.processing
        message = sub.message if sub is not None and sub.message is not None else _head(item.incoming)
        if failure.transient and not attempt.recorded and (attempt.number < options.max_attempts
                                                            or not item.raw_kept):
            # Without its raw bytes a message cannot be set aside: the mailbox holds the only copy, and
            # it is fetched again (after a longest wait) for as long as the fault lasts.
            retry_at = _now() + options.wait(attempt.number)
            self.ledger.defer(item.row, failure.error, failure.traceback, retry_at, item.raw_kept, message)
            self.result.deferred += 1
            log.warning("M%d: %s failed (%s); attempt %d, next at %s", item.row, failure.step, failure.error,
                        attempt.number, retry_at.astimezone(SHANGHAI).isoformat(timespec="minutes"))
            return
        reason = _reason(failure, attempt, item)
        draft = None
        if item.raw_kept and not attempt.recorded:
            try:
                draft = self._received_receipt(message, item)
            except Exception:  # the message is set aside all the same, unanswered
                log.exception("M%d: no receipt could be drafted", item.row)
        try:
            recorded = self.ledger.record_failed(item.row, reason, failure.error, failure.traceback, message, draft)
        except Exception as exc:
            if is_transient(exc):
                raise
            # The message's own text is what the ledger refused: set aside with none of it.
            log.exception("M%d: recorded without its headers", item.row)
            recorded = self.ledger.record_failed(item.row, reason, failure.error, failure.traceback, None, None)
        log.error("M%d set aside for a person (%s: %s)", item.row, failure.step, failure.error)
        if recorded:
            self._recorded(item)
        else:
            self.result.review_items.append(f"{Target.message(item.row)} 重新处理未成功（{failure.error}），原有记录保留")
        if item.raw_kept:
            self._mark(item)

    def _receipt_draft(self, sub: Submission, item: _Item) -> ReceiptDraft | None:
        if not (sub.outcome is Outcome.SUBMISSION or awaits_files(sub)) or not sub.message or not sub.message.sender:
            return None
        if not self._speaks_for(sub):
            # An unknown or unverified sender learns that the mail arrived and will be checked, nothing
            # of what it said: the address may be forged, and the receipt must not carry text to a victim.
            return self._received_receipt(sub.message, item, always=True)
        number = self.ledger.receipt_number(item.row, self.config.round.name)
        letter = letter_for(sub, number, self.config, datetime.now(UTC))
        rid = receipt_id(item.sha, self.config)
        return self._draft(sub.message, rid, lambda: compose(letter, sub, rid, self.config, self.env),
                           json.dumps(asdict(letter), ensure_ascii=False), number)

    def _speaks_for(self, sub: Submission) -> bool:
        """The sender may speak for the recommender the email is filed under: one of its addresses (or one
        a clerk confirmed), not failed by the receiving server's checks. A base or institution sending its
        own re-confirmation or 审验表 speaks for itself."""
        rec = sub.recommender
        if rec is None or any(f.flag is Flag.UNVERIFIED_SENDER for f in sub.findings):
            return False
        if rec.kind is RecommenderKind.DIRECT:
            return True
        speaks = self.ctx.directory.by_sender(sub.message.sender if sub.message else "")
        return speaks is not None and speaks.name == rec.name

    def _received_receipt(self, message: Message | None, item: _Item, always: bool = False) -> ReceiptDraft | None:
        """A message set aside is answered only when it looked like a submission from someone who
        expects one: not an auto-reply, bounce or list, and a subject of the round or a known sender."""
        if message is None or not message.sender or ignore_reason(message) is not None:
            return None
        looks_like_ours = parse_subject(message.subject, self.config.round.subject_suffix).related
        if not (always or looks_like_ours) and self.ctx.directory.by_sender(message.sender) is None:
            return None
        rid = receipt_id(item.sha, self.config)
        number = self.ledger.receipt_number(item.row, self.config.round.name)
        return self._draft(message, rid, lambda: compose_received(message, number, rid, self.config, self.env), "",
                           number)

    def _draft(self, message: Message, rid: str, render: Callable[[], bytes], letter: str,
               number: int) -> ReceiptDraft:
        day = message.received_at.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
        sent_today = self.ledger.receipts_to(message.sender, day, day + timedelta(days=1))
        cap = self.config.max_receipts_per_sender_per_day
        if sent_today >= cap:
            return ReceiptDraft(rid, message.sender, b"", letter, ReceiptState.SUPPRESSED, f"该发件人当日回执已达{cap}封上限",
                                number)
        try:
            raw = render()
        except Unaddressable:
            return ReceiptDraft(rid, message.sender, b"", letter, ReceiptState.FAILED,
                                "发件人地址含非英文字符，无法自动回复，请人工回复", number)
        # Held until the round assessment after the message loop has seen it (see Ledger.release_receipts).
        return ReceiptDraft(rid, message.sender, raw, letter, ReceiptState.HELD, number=number)

    # -- the mailbox's mark ------------------------------------------------------------------------------

    def _mark(self, item: _Item) -> None:
        m = self.ledger.kept(item.row)
        # Told already (a message run again), or kept from another mailbox (the configuration changed).
        if m is None or m.marked or m.mailbox != self.mailbox.name:
            return
        if self._mark_quietly(item.incoming):
            self.ledger.set_marked(item.row)

    def _mark_quietly(self, incoming: Incoming) -> bool:
        try:
            self.mailbox.mark_done(incoming)
        except Exception as exc:  # noqa: BLE001 - the ledger knows it is done; the mark is retried next pass
            log.warning("message %s/%s processed but not marked in the mailbox: %s", incoming.validity,
                        incoming.uid, exc)
            return False
        return True

    # -- after the messages ------------------------------------------------------------------------------

    def record(self, started: datetime, command: str) -> None:
        """What the pass did, for the console (when the mailbox was last read); never fails the pass."""
        r = self.result
        counts = {k: v for k, v in asdict(r).items() if k != "review_items"}
        try:
            self.ledger.record_pass(self.config.round.name, started, command, r.eventful,
                                    {**counts, "to_check": len(r.review_items)})
        except sqlite3.Error:
            log.warning("the pass could not be recorded", exc_info=True)

    def conclude(self) -> None:
        while self.in_hand:  # also after a stop: the messages in hand are finished and recorded
            self._finish()
        mailbox = self.mailbox
        # A crash between a commit and its mark, or a server that refused the mark: told now.
        for row, uid in self.ledger.unmarked(mailbox.name, mailbox.validity):
            if self._mark_quietly(Incoming(mailbox.validity, uid, b"", _now())):
                self.ledger.set_marked(row)
        result, config = self.result, self.config
        now = _now()
        # Nothing the round is made of has changed since its files were built (an idle pass, most of
        # the day): neither the assessment nor the files are done again. Cheap, whatever the ledger's size.
        inputs = report.inputs(config, self.ledger, now)
        fresh = inputs == self.ledger.built_from(config.round.name) and report.outputs_present(config)
        assessed = None
        try:
            # Quotas, 多头申报, resubmissions and duplicate emails need the whole round: before the
            # tables, and before any receipt leaves (a duplicate's is dropped, others learn of them).
            if not fresh:
                assessed = reassess(config, self.ledger, now)
            self.ledger.release_receipts(config.round.name)
        except Exception as exc:  # the receipts stay held; the next pass assesses the round again
            log.exception("round assessment failed; receipts held until it succeeds")
            result.review_items.append(f"全轮次检查（名额、多头申报、重复报送）未能完成（{describe(exc)}），回执暂缓发送")
        _summarise(result, self.ledger, config.round.name, self.done)
        if self.stopping():
            log.info("stopping: tables and receipts are left for the next pass")
            return
        # The receipts before the files: a cold LibreOffice (the PDF copies) takes seconds to minutes,
        # which no sender should wait for, and a stop asked meanwhile need not wait for it either.
        result.receipts_sent = send_receipts(self.ledger, self.outbox, config)
        result.receipts_waiting = self.ledger.receipts_waiting(config.round.name)
        if assessed is None:
            return
        if self.stopping():
            log.info("stopping: the tables are left for the next pass")
            return
        try:
            report.build(config, self.ledger, letters_missing_only=True, now=now, result=assessed)
            self.ledger.mark_built(config.round.name, inputs)
        except Exception as exc:  # a broken template is the tables' problem, never the receipts'
            log.exception("tables and letters could not be rebuilt")
            result.review_items.append(f"汇总表或回执文件未能生成（{describe(exc)}），请检查 templates/ 与输出目录")


def _now() -> datetime:
    return datetime.now(UTC)


def _head(incoming: Incoming) -> Message | None:
    """What the header block alone says (sender, subject, auto-reply marks): for answering a message whose
    whole parse failed. Bounded, and never raises."""
    if not incoming.raw:
        return None
    head = re.split(rb"\r?\n\r?\n", incoming.raw[:HEAD_LIMIT], maxsplit=1)[0]
    try:
        return mime.parse(head + b"\r\n\r\n", incoming.received_at)
    except Exception:  # then it is set aside unanswered
        log.exception("the header block could not be read either")
        return None


def _reason(failure: Failure, attempt: Attempt, item: _Item) -> str:
    """Why a message was set aside, in the clerk's words, with what to do."""
    step = _STEP_LABELS.get(failure.step, failure.step)
    again = f"排除原因后可运行 intake retry M{item.row} 重新处理"
    if not item.raw_kept:
        where = "无法从邮箱读取该邮件" if failure.step == "fetch" else "原始邮件未能保存"
        return f"{where}（{failure.error}），请在邮箱中查看；{again}"
    if failure.step == "process" and not failure.traceback:
        return (f"处理该邮件时程序{attempt.crashed}次意外终止（可能是内存不足或附件异常），已停止自动处理，"
                f"原始邮件已保存；{again}")
    if failure.transient:
        return f"连续{attempt.number}次处理未成功（{step}：{failure.error}），原始邮件已保存，请人工查看；{again}"
    return f"处理出错（{step}：{failure.error}），原始邮件已保存，请人工查看；{again}"


def keep_raw(incoming: Incoming, sha: str, config: Config) -> str:
    """The raw bytes under output/raw/<month>/, before anything else; the path relative to output_dir."""
    month = incoming.received_at.astimezone(SHANGHAI).strftime("%Y-%m")
    path = config.output_dir / "raw" / month / f"{sha}.eml"
    if not path.exists():
        write_atomic(path, incoming.raw)
    return str(path.relative_to(config.output_dir))


@dataclass(frozen=True)
class _Seen:
    """The ledger as one mailbox sees it."""

    ledger: Ledger
    mailbox: str

    def skip(self, validity: str, uid: str) -> bool:
        return self.ledger.skip(self.mailbox, validity, uid, _now())

    def last_uid(self, validity: str) -> int:
        return self.ledger.last_uid(self.mailbox, validity)

    def pending(self, validity: str) -> list[str]:
        return self.ledger.pending_uids(self.mailbox, validity, _now())


def send_receipts(ledger: Ledger, outbox, config: Config, now: datetime | None = None) -> int:
    """Send what is due. A receipt is marked sent as soon as the server accepted it; one left mid-send
    by a crash is first looked for in the Sent folder, so a restart never sends it twice. One receipt's
    defect marks that receipt failed (a person answers by hand); the others go on."""
    now = now or datetime.now(UTC)
    sent = 0
    room = config.max_receipts_per_hour - ledger.sent_since(now - timedelta(hours=1))
    for receipt in ledger.due_receipts(now):
        if sent >= room:
            # However many come in (a mail loop, a flood of forged mail), receipts leave at a bounded rate.
            later = now + timedelta(minutes=10)
            postponed = ledger.postpone_receipts(now, later, f"每小时回执已达{config.max_receipts_per_hour}封上限，顺延发送")
            outbox_log.warning("hourly receipt limit (%d) reached: %d receipt(s) wait until %s",
                               config.max_receipts_per_hour, postponed, later.astimezone(SHANGHAI))
            break
        if not ledger.claim_receipt(receipt.row, receipt.state, now, lease_until=now + SEND_LEASE):
            continue  # another sender took it
        try:
            if receipt.state == ReceiptState.SENDING and outbox.already_sent(receipt.receipt_id):
                ledger.mark_receipt(receipt.row, ReceiptState.SENT, "发送记录见已发送文件夹（重启后核对）")
                continue
            _send(outbox, receipt)
            # Recorded the moment the server accepted it; the Sent folder's copy comes after, so that a
            # crash in between leaves a receipt marked sent rather than one sent twice.
            ledger.mark_receipt(receipt.row, ReceiptState.SENT)
        except SendFailed as exc:
            if exc.permanent:
                ledger.mark_receipt(receipt.row, ReceiptState.FAILED, f"发信服务器拒绝：{exc}")
                outbox_log.error("receipt %s to %s refused: %s", receipt.receipt_id, receipt.recipient, exc)
                continue
            delay = config.receipt_retry_every * 2 ** min(receipt.attempts, 6)
            retry_at = now + min(delay, timedelta(hours=1))
            ledger.mark_receipt(receipt.row, ReceiptState.QUEUED, f"暂未发出：{exc}", retry_at=retry_at)
            # The server is down for all of them: the others wait for the same retry, not one by one now.
            postponed = ledger.postpone_receipts(now, retry_at, f"暂未发出：{exc}")
            outbox_log.warning("receipt %s not sent (%s); it and %d other(s) retry at %s",
                               receipt.receipt_id, exc, postponed, retry_at)
            break
        except ImapError as exc:  # the Sent folder could not be read: do not guess, try again later
            outbox_log.warning("receipt %s: Sent folder not checked (%s); left for the next round",
                               receipt.receipt_id, exc)
            ledger.mark_receipt(receipt.row, ReceiptState.SENDING, f"已发送文件夹暂不可读：{exc}", retry_at=now)
            break
        except Exception as exc:  # noqa: BLE001 - this receipt's defect; the others still go
            outbox_log.exception("receipt %s to %s could not be sent", receipt.receipt_id, receipt.recipient)
            ledger.mark_receipt(receipt.row, ReceiptState.FAILED, f"发送出错（{describe(exc)}），请人工回复")
            continue
        sent += 1
        outbox_log.info("receipt %s sent to %s", receipt.receipt_id, receipt.recipient)
        outbox.keep_copy(receipt.receipt_id, receipt.raw)
    return sent


def _send(outbox, receipt) -> None:
    """The outbox's send, with a passing fault of the machine (a full disk under a Maildir outbox) said the
    way a mail server that is down says it: try again later."""
    try:
        outbox.send(receipt.receipt_id, receipt.raw)
    except Exception as exc:
        if is_transient(exc) and not isinstance(exc, SendFailed):
            raise SendFailed(describe(exc), permanent=False) from exc
        raise


def _summarise(result: PassReport, ledger: Ledger, round_name: str, rows: list[int]) -> None:
    """What this pass brought in, as the round assessment sees it: a duplicate email is ignored, not a
    submission; an application's problems include 超出名额 and 多头申报."""
    duplicates: set[int] = set()
    filed = facts.applications(ledger, round_name, only=rows) if rows else []
    with_applications = {a.message for a in filed}
    for m in facts.mails(ledger, round_name, only=rows, filed=filed) if rows else []:
        if m.duplicate_of is not None:
            duplicates.add(m.id)
            result.ignored += 1
        elif m.outcome == Outcome.SUBMISSION.value:
            result.submissions += 1
            if m.id not in with_applications:  # e.g. only a cloud-storage link: nothing else would mention it
                result.review_items.append(f"邮件《{m.subject}》：{m.problems or '未识别出申报单位'}")
        elif m.outcome == Outcome.IGNORED.value:
            result.ignored += 1
        else:
            result.review += 1
            result.review_items.append(f"邮件《{m.subject}》：{m.problems}")
    for a in filed:
        if a.message not in duplicates and a.effective_status is not Status.ACCEPTED:
            result.review_items.append(f"{a.applicant}：{'；'.join(f.text() for f in a.effective_findings) or '需人工核对'}")
    result.duplicates = len(duplicates)
    for m in facts.waiting(ledger, round_name):
        when = m.waiting_until.astimezone(SHANGHAI) if m.waiting_until else None
        retry = f"将于{when:%m月%d日 %H:%M}自动重试" if when else "将自动重试"
        subject = m.subject or "（尚未读取）"
        result.review_items.append(f"{Target.message(m.id)} 邮件《{subject}》暂未处理完（{m.error}），{retry}")
        result.still_waiting += m.id not in rows
