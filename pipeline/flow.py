"""One message's way through intake: the stages, declared once, and the pass that drives them.

    fetch → keep raw → parse → route → read → assemble → check → file → ledger (+ receipt queued)
    after all messages: tables and letters from the ledger → queued receipts sent
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone

from . import report
from .assemble import assemble
from .assess import UNKNOWN_RECOMMENDER
from .config import Config
from .filing import inside, write_atomic
from .mail import mime
from .mail.imap import ImapError
from .mail.smtp import SendFailed
from .mail.source import Incoming, open_mailbox, open_outbox
from .model import Document, Outcome, Status, Submission
from .read.document import Forms, read_attachments
from .read.ocr import OcrPool
from .reassess import reassess
from .receipt import compose, letter_for, mail_templates, receipt_id
from .route import Directory, ignore_reason
from .rules import SHANGHAI, check
from .store import Ledger, ReceiptDraft, findings_from_json
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
    def load(cls, config: Config) -> "Context":
        return cls(config, Forms.load(config.templates_dir), Directory(config.recommenders),
                   OcrPool(config.ocr.workers, page_timeout=config.ocr.page_timeout))


def parse(sub: Submission, ctx: Context) -> Submission:
    return replace(sub, message=mime.parse(sub.raw, sub.received_at, ctx.config.attachments))


def route(sub: Submission, ctx: Context) -> Submission:
    reason = ignore_reason(sub.message)
    if reason:
        return replace(sub, outcome=Outcome.IGNORED, reason=reason)
    subject = parse_subject(sub.message.subject, ctx.config.round.subject_suffix)
    recommender = ctx.directory.by_sender(sub.message.sender) or ctx.directory.by_name(subject.who)
    return replace(sub, subject=subject, recommender=recommender)


def read(sub: Submission, ctx: Context) -> Submission:
    # All attachments at once: the scanned pages of the whole message go to the OCR workers together.
    return replace(sub, documents=read_attachments(sub.message.attachments, ctx.forms, ctx.ocr, ctx.config.ocr))


def assemble_stage(sub: Submission, ctx: Context) -> Submission:
    return assemble(sub, ctx.config, ctx.directory)


def check_stage(sub: Submission, ctx: Context) -> Submission:
    return check(sub, ctx.config)


def file(sub: Submission, ctx: Context) -> Submission:
    """Originals and extracted fields under output/<round>/<recommender>/<applicant>/."""
    out = ctx.config.output_dir
    stamp = sub.received_at.astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
    if sub.outcome is Outcome.SUBMISSION:
        root = [ctx.config.round.name, sub.recommender.name if sub.recommender else UNKNOWN_RECOMMENDER]
    else:
        root = [ctx.config.round.name, "待人工查看"]
    placed: dict[int, Document] = {}
    for app in sub.applications:
        folder = root + [app.applicant]
        for doc in app.documents:
            placed[id(doc)] = _place(out, folder, f"{stamp}_{doc.filename}", doc)
        fields = {"applicant": app.applicant, "track": app.track.value, "status": app.status.value,
                  "fields": app.fields, "field_confidence": app.field_confidence,
                  "flags": [f.flag.value for f in app.findings],
                  "problems": [f.text() for f in app.findings], "message_id": sub.message.message_id}
        write_atomic(inside(out, *folder, f"{stamp}_fields.json"),
                     json.dumps(fields, ensure_ascii=False, indent=2).encode())
    for doc in sub.loose_documents:
        placed[id(doc)] = _place(out, root + ["推荐材料"], f"{stamp}_{doc.filename}", doc)
    # One new object per old one, shared by both lists: loose_documents tells them apart by identity.
    apps = tuple(replace(a, documents=tuple(placed[id(d)] for d in a.documents)) for a in sub.applications)
    return replace(sub, documents=tuple(placed.get(id(d), d) for d in sub.documents), applications=apps)


def _place(out, folder: list[str], name: str, doc: Document) -> Document:
    # A member of an archive is named by its path inside it ("材料.zip/申请表.pdf"): one file name here.
    path = inside(out, *folder, name.replace("/", "_"))
    if not (path.exists() and path.read_bytes() == doc.data):
        write_atomic(path, doc.data)
    return replace(doc, path=str(path.relative_to(out)))


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


def process(raw: bytes, received_at: datetime, ctx: Context) -> Submission:
    """Run the stages; any failure is contained and ends as a review item, never a crashed pass."""
    sub = Submission(raw=raw, received_at=received_at)
    for name, stage, submissions_only in STAGES:
        if submissions_only and sub.outcome is not Outcome.SUBMISSION:
            continue
        try:
            sub = stage(sub, ctx)
        except Exception as exc:
            log.exception("stage %s failed for %s", name, sub.message.message_id if sub.message else "?")
            return replace(sub, outcome=Outcome.REVIEW, applications=(),
                           reason=f"处理出错（{name}：{type(exc).__name__}: {exc}），原始邮件已保存，请人工查看")
        if name != "parse":
            log.info("%s %s: %s%s", name, sub.message.message_id, sub.outcome.value,
                     f" ({sub.reason})" if sub.reason else "")
    return sub


@dataclass
class PassReport:
    fetched: int = 0
    submissions: int = 0
    ignored: int = 0          # auto-replies, bounces, lists, spam, not submissions, duplicate emails
    duplicates: int = 0       # of the ignored: the same email again
    review: int = 0           # messages intake could not handle at all
    receipts_sent: int = 0
    ocr_pages: int = 0
    ocr_workers: int = 0      # OCR processes that read at least one page
    review_items: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"pass: fetched={self.fetched} submissions={self.submissions} ignored={self.ignored} "
                f"review={self.review} receipts_sent={self.receipts_sent}")


def run_pass(config: Config, progress: Callable[[int, int], None] | None = None,
             stop: threading.Event | None = None) -> PassReport:
    """One whole pass: fetch, process, file, regenerate tables and letters, send receipts.

    A set `stop` ends the pass after the message in hand; what is left waits for the next pass."""
    ctx = Context.load(config)
    ledger = Ledger(config.ledger_path)
    mailbox = open_mailbox(config)
    outbox = open_outbox(config)
    env = mail_templates(config.templates_dir)
    result = PassReport()
    done: list[int] = []   # ledger rows of this pass's messages
    # Messages in hand at once: while one waits for its scanned page, the next one's pages keep the
    # other OCR worker busy. Each is recorded, in the order it came, by this thread alone.
    in_hand: deque[tuple[Incoming, int, str, Future]] = deque()

    def finish() -> None:
        incoming, row, sha, future = in_hand.popleft()
        sub = future.result()   # process() contains its own failures
        draft = _receipt_draft(sub, row, sha, ledger, config, env)
        rec = sub.recommender
        ledger.record_done(row, sub, sub.loose_documents, rec.name if rec else UNKNOWN_RECOMMENDER,
                           rec.kind.value if rec else "", draft)
        # Only now, with the ledger committed, may the mailbox forget the message is new.
        _mark(mailbox, ledger, row, incoming)
        done.append(row)
        if progress:
            progress(len(done), mailbox.found)

    try:
        width = max(1, config.ocr.workers)
        with ThreadPoolExecutor(width, thread_name_prefix="message") as readers:
            for incoming in mailbox.fetch_new(_Seen(ledger, mailbox.name)):
                if stop is not None and stop.is_set():
                    break
                result.fetched += 1
                sha = hashlib.sha256(incoming.raw).hexdigest()
                if ledger.rekey_moved(mailbox.name, incoming.validity, incoming.uid, sha):
                    log.info("UID %s/%s is a message already processed (the mailbox was renumbered)",
                             incoming.validity, incoming.uid)
                    mailbox.mark_done(incoming)
                    continue
                row = _keep_raw(incoming, sha, mailbox.name, ledger, config)
                in_hand.append((incoming, row, sha, readers.submit(process, incoming.raw, incoming.received_at, ctx)))
                if len(in_hand) >= width:
                    finish()
            while in_hand:  # also after a stop: the messages in hand are finished and recorded
                finish()
        # A crash between a commit and its mark, or a server that refused the mark: told now.
        for row, uid in ledger.unmarked(mailbox.name, mailbox.validity):
            _mark(mailbox, ledger, row, Incoming(mailbox.validity, uid, b"", datetime.now(timezone.utc)))
        try:
            # Quotas, 多头申报, resubmissions and duplicate emails need the whole round: before the
            # tables, and before any receipt leaves (a duplicate's is dropped, others learn of them).
            reassess(config, ledger)
            ledger.release_receipts(config.round.name)
        except Exception as exc:  # the receipts stay held; the next pass assesses the round again
            log.exception("round assessment failed; receipts held until it succeeds")
            result.review_items.append(f"全轮次检查（名额、多头申报、重复报送）未能完成（{type(exc).__name__}: {exc}），"
                                       "回执暂缓发送")
        _summarise(result, ledger, config.round.name, done)
        if stop is not None and stop.is_set():
            log.info("stopping: tables and receipts are left for the next pass")
        else:
            try:
                report.build(config, ledger, letters_missing_only=True)
            except Exception as exc:  # a broken template must not hold back the receipts
                log.exception("tables and letters could not be rebuilt")
                result.review_items.append(f"汇总表或回执文件未能生成（{type(exc).__name__}: {exc}），请检查 templates/")
            result.receipts_sent = send_receipts(ledger, outbox, config)
    finally:
        ctx.ocr.close()
        result.ocr_pages, result.ocr_workers = ctx.ocr.pages_read, len(ctx.ocr.by_worker)
        mailbox.close()
        outbox.close()
        ledger.close()
    log.info(result.line())
    return result


@dataclass(frozen=True)
class _Seen:
    """The ledger as one mailbox sees it."""

    ledger: Ledger
    mailbox: str

    def is_done(self, validity: str, uid: str) -> bool:
        return self.ledger.is_done(self.mailbox, validity, uid)

    def last_uid(self, validity: str) -> int:
        return self.ledger.last_uid(self.mailbox, validity)

    def pending(self, validity: str) -> list[str]:
        return self.ledger.pending_uids(self.mailbox, validity)


def _mark(mailbox, ledger: Ledger, row: int, incoming: Incoming) -> None:
    try:
        mailbox.mark_done(incoming)
    except (ImapError, OSError) as exc:  # the ledger knows it is done; the mark is retried next pass
        log.warning("message %s/%s processed but not marked in the mailbox: %s", incoming.validity, incoming.uid, exc)
        return
    ledger.set_marked(row)


def _keep_raw(incoming: Incoming, sha: str, mailbox: str, ledger: Ledger, config: Config) -> int:
    month = incoming.received_at.astimezone(SHANGHAI).strftime("%Y-%m")
    path = config.output_dir / "raw" / month / f"{sha}.eml"
    if not path.exists():
        write_atomic(path, incoming.raw)
    row = ledger.record_fetched(config.round.name, mailbox, incoming.validity, incoming.uid, sha,
                                str(path.relative_to(config.output_dir)), incoming.received_at.astimezone(SHANGHAI))
    return row


def _receipt_draft(sub: Submission, row: int, sha: str, ledger: Ledger, config: Config, env) -> ReceiptDraft | None:
    if sub.outcome is not Outcome.SUBMISSION or not sub.message or not sub.message.sender:
        return None
    rid = receipt_id(sha, config)
    letter = letter_for(sub, row, config, datetime.now(timezone.utc))
    raw = compose(letter, sub, rid, config, env)
    day = sub.received_at.astimezone(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    sent_today = ledger.receipts_to(sub.message.sender, day, day + timedelta(days=1))
    # Held until the round assessment after the message loop has seen it (see Ledger.release_receipts).
    state, reason = "held", ""
    if sent_today >= config.max_receipts_per_sender_per_day:
        state, reason = "suppressed", f"该发件人当日回执已达{config.max_receipts_per_sender_per_day}封上限"
    return ReceiptDraft(rid, sub.message.sender, raw, json.dumps(asdict(letter), ensure_ascii=False), state, reason)


def send_receipts(ledger: Ledger, outbox, config: Config, now: datetime | None = None) -> int:
    """Send what is due. A receipt is marked sent as soon as the server accepted it; one left mid-send
    by a crash is first looked for in the Sent folder, so a restart never sends it twice."""
    now = now or datetime.now(timezone.utc)
    sent = 0
    for receipt in ledger.due_receipts(now):
        if not ledger.claim_receipt(receipt.row, receipt.state, now, lease_until=now + SEND_LEASE):
            continue  # another sender took it
        try:
            if receipt.state == "sending" and outbox.already_sent(receipt.receipt_id):
                ledger.mark_receipt(receipt.row, "sent", "发送记录见已发送文件夹（重启后核对）")
                continue
            outbox.send(receipt.receipt_id, receipt.raw)
            # Recorded the moment the server accepted it; the Sent folder's copy comes after, so that a
            # crash in between leaves a receipt marked sent rather than one sent twice.
            ledger.mark_receipt(receipt.row, "sent")
        except SendFailed as exc:
            if exc.permanent:
                ledger.mark_receipt(receipt.row, "failed", f"发信服务器拒绝：{exc}")
                outbox_log.error("receipt %s to %s refused: %s", receipt.receipt_id, receipt.recipient, exc)
                continue
            delay = config.receipt_retry_every * 2 ** min(receipt.attempts, 6)
            retry_at = now + min(delay, timedelta(hours=1))
            ledger.mark_receipt(receipt.row, "queued", f"暂未发出：{exc}", retry_at=retry_at)
            # The server is down for all of them: the others wait for the same retry, not one by one now.
            postponed = ledger.postpone_receipts(now, retry_at, f"暂未发出：{exc}")
            outbox_log.warning("receipt %s not sent (%s); it and %d other(s) retry at %s",
                               receipt.receipt_id, exc, postponed, retry_at)
            break
        except ImapError as exc:  # the Sent folder could not be read: do not guess, try again later
            outbox_log.warning("receipt %s: Sent folder not checked (%s); left for the next round",
                               receipt.receipt_id, exc)
            ledger.mark_receipt(receipt.row, "sending", f"已发送文件夹暂不可读：{exc}", retry_at=now)
            break
        sent += 1
        outbox_log.info("receipt %s sent to %s", receipt.receipt_id, receipt.recipient)
        outbox.keep_copy(receipt.receipt_id, receipt.raw)
    return sent


def _summarise(result: PassReport, ledger: Ledger, round_name: str, rows: list[int]) -> None:
    """What this pass brought in, as the round assessment sees it: a duplicate email is ignored, not a
    submission; an application's problems include 超出名额 and 多头申报."""
    from .export import message_reason

    mine = set(rows)
    duplicates = set()
    applications = [a for a in ledger.applications(round_name) if a["message"] in mine]
    with_applications = {a["message"] for a in applications}
    for m in ledger.messages(round_name):
        if m["id"] not in mine:
            continue
        if m["duplicate_of"] is not None:
            duplicates.add(m["id"])
            result.ignored += 1
        elif m["outcome"] == Outcome.SUBMISSION.value:
            result.submissions += 1
            if m["id"] not in with_applications:  # e.g. only a cloud-storage link: nothing else would mention it
                result.review_items.append(f"邮件《{m['subject']}》：{message_reason(m) or '未识别出申报单位'}")
        elif m["outcome"] == Outcome.IGNORED.value:
            result.ignored += 1
        else:
            result.review += 1
            result.review_items.append(f"邮件《{m['subject']}》：{message_reason(m)}")
    for a in applications:
        if a["message"] not in duplicates and (a["assessed_status"] or a["status"]) != Status.ACCEPTED.value:
            findings = findings_from_json(a["assessed_findings"] or a["findings"])
            result.review_items.append(f"{a['applicant']}：{'；'.join(f.text() for f in findings) or '需人工核对'}")
    result.duplicates = len(duplicates)
