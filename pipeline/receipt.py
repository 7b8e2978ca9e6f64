"""The receipt for one submission: the 受理回执 content, and the email that carries it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .config import Config
from .dates import SHANGHAI, day_text, moment_text
from .mail.smtp import smtp_address
from .model import CLERK_ONLY, Document, Finding, Flag, Message, RecommenderKind, Submission, Track
from .outputs.render import ReceiptItem, ReceiptLetter
from .subject import without_reply_prefixes


def receipt_subject(subject: str) -> str:
    """受理回执：<the subject without its Re:/Fwd:/回复:/转发:/答复: prefixes>: the receipt answers the
    submission itself, not the reply chain it came in. At most SUBJECT_CHARS of it: the header is
    folded by the mail library, whose cost grows faster than the text (a 4 MB subject took minutes)."""
    text = without_reply_prefixes((subject or "")[:SUBJECT_CHARS * 4]).strip() or "（无标题）"
    return f"受理回执：{text[:SUBJECT_CHARS] + '…' if len(text) > SUBJECT_CHARS else text}"


SUBJECT_CHARS = 200


def receipt_id(sha256: str, config: Config) -> str:
    """Stable across crashes and re-runs: the same message always gets the same receipt identity."""
    domain = config.office.email.rpartition("@")[2] or "intake.invalid"
    return f"<receipt-{sha256[:24]}@{domain}>"


def _deciding(f: Finding, config: Config) -> bool:
    return f.flag in config.rejected_flags | config.review_flags


def item_problems(findings, message_level: set[Finding], config: Config) -> tuple[str, ...]:
    """An applicant's problems as its row in the receipt shows them: its own, and those of the email that
    decide its status (逾期报送 makes it 不予受理), so that no row says 不予受理 with 无 beside it. The email's
    other problems are listed once, below the table."""
    return tuple(f.text() for f in findings if f not in message_level or _deciding(f, config))


def _receipt_no(number: int, config: Config) -> str:
    return f"{config.round.deadline.astimezone(SHANGHAI).year}-{number:04d}"


def _doc_text(doc: Document) -> str:
    where = f"{doc.filename}，{doc.part}" if doc.part else doc.filename
    return f"{doc.kind.label}（{where}）"


def letter_for(sub: Submission, number: int, config: Config, issued: datetime) -> ReceiptLetter:
    m = sub.parsed
    message_level = set(sub.findings)
    told = {f for a in sub.applications for f in a.findings if f in message_level and _deciding(f, config)}
    items = tuple(
        ReceiptItem(
            applicant=a.applicant,
            track=a.track.label,
            documents=tuple(_doc_text(d) for d in a.documents),
            status=a.status.label,
            problems=item_problems(a.findings, message_level, config),
        )
        for a in sub.applications
    )
    addressee = sub.recommender.name if sub.recommender and sub.recommender.kind.value != "direct" else ""
    if not addressee:
        addressee = sub.applications[0].applicant if sub.applications else (m.sender_name or m.sender)
    return ReceiptLetter(
        receipt_no=_receipt_no(number, config),
        round_name=config.round.name,
        recommender=addressee,
        sender=m.sender,
        subject=m.subject or "（无标题）",
        received_at=moment_text(sub.received_at),
        items=items,
        message_problems=tuple(f.text() for f in sub.findings if f.flag not in CLERK_ONLY and f not in told),
        office_name=config.office.name,
        office_address=config.office.address,
        postcode=config.office.postcode,
        phone=config.office.phone,
        contacts=config.office.contacts,
        paper_copies=config.office.paper_copies,
        deadline_text=day_text(config.round.deadline),
        issued_on=day_text(issued),
        other_documents=tuple(_doc_text(d) for d in sub.loose_documents),
        late_note=(f"本邮件于{moment_text(sub.received_at)}送达，已超过截止时间（{moment_text(config.round.deadline)}）。"
                   if any(f.flag is Flag.LATE for f in sub.findings) else ""),
        paper_forms=_paper_forms(sub),
    )


def _paper_forms(sub: Submission) -> str:
    if not (sub.recommender and sub.recommender.kind is RecommenderKind.DIRECT):
        return ReceiptLetter.paper_forms
    audits = sub.applications and all(a.track is Track.AUDIT for a in sub.applications)
    return "审验表" if audits else "申请表"


def mail_templates(templates_dir: Path) -> Environment:
    # HTML is escaped (sender-controlled unit names); the plain-text part is not markup.
    return Environment(loader=FileSystemLoader(templates_dir / "mail"), undefined=StrictUndefined,
                       autoescape=select_autoescape(enabled_extensions=("html", "html.j2", "xml"),
                                                    disabled_extensions=("txt.j2",), default=True),
                       keep_trailing_newline=True)


# RFC 5322's msg-id in plain ASCII, and how many earlier ones a receipt repeats.
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]{1,250}>")
MAX_REFERENCES = 20


class Unaddressable(ValueError):
    """The sender's address cannot be written into a mail without SMTPUTF8 (a non-ASCII local part)."""


def compose(letter: ReceiptLetter, sub: Submission, rid: str, config: Config, env: Environment) -> bytes:
    """The receipt of a submission: what was received per applicant, the problems, the paper copies."""
    m = sub.parsed
    return _mail(m, receipt_subject(m.subject), rid, config, env.get_template("receipt.txt.j2").render(letter=letter),
                 env.get_template("receipt.html.j2").render(letter=letter))


@dataclass(frozen=True)
class ReceivedNote:
    """What a message a person must look at is answered with: received, and nothing of what it said."""

    receipt_no: str
    received_at: str
    office_name: str
    contacts: str
    phone: str
    issued_on: str


def compose_received(m: Message, number: int, rid: str, config: Config, env: Environment) -> bytes:
    """The receipt of a message intake could not handle: it was received and a person will look; the
    sender's subject and text are not echoed (they may not be a submission at all)."""
    note = ReceivedNote(_receipt_no(number, config), moment_text(m.received_at), config.office.name,
                        config.office.contacts, config.office.phone, day_text(datetime.now(UTC)))
    return _mail(m, f"邮件已收到（回执编号 {note.receipt_no}）", rid, config,
                 env.get_template("received.txt.j2").render(note=note), env.get_template("received.html.j2").render(note=note))


def _plain(text: str) -> str:
    """Sender text as header text: "=?" would be taken for the start of an encoded word (a broken one
    left undecoded in a subject makes the mail library fail to write the header)."""
    return text.replace("=?", "= ?")


def _mail(m: Message, subject: str, rid: str, config: Config, text: str, html: str) -> bytes:
    to = smtp_address(m.sender)
    if to is None:
        raise Unaddressable(m.sender)
    mail = EmailMessage()
    mail["From"] = formataddr((config.office.name, config.office.email))
    mail["To"] = formataddr((_plain(m.sender_name), to)) if m.sender_name else to
    mail["Subject"] = _plain(subject)
    mail["Date"] = format_datetime(datetime.now(SHANGHAI))
    mail["Message-ID"] = rid
    # Threading headers carry message ids only: the sender's References may hold anything, or very much.
    own = _MSG_ID.fullmatch(m.message_id or "")
    chain = _MSG_ID.findall(m.headers.get("references", ""))[-MAX_REFERENCES:] + ([m.message_id] if own else [])
    if own:
        mail["In-Reply-To"] = m.message_id
    if chain:
        mail["References"] = " ".join(dict.fromkeys(chain))
    # RFC 3834: mark it automatic so well-behaved responders do not answer it, and ask Outlook not to.
    mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    mail["Precedence"] = "auto_reply"
    mail.set_content(text, charset="utf-8")
    mail.add_alternative(html, subtype="html", charset="utf-8")
    # CRLF throughout: smtplib sends bytes as given, and a bare-LF message is one endless line to a server.
    return mail.as_bytes(policy=SMTP_POLICY)
