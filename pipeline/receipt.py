"""The receipt for one submission: the 受理回执 content, and the email that carries it."""
from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .config import Config
from .model import Document, Flag, Submission
from .render import ReceiptItem, ReceiptLetter
from .rules import SHANGHAI, shanghai_text
from .subject import without_reply_prefixes


def receipt_subject(subject: str) -> str:
    """受理回执：<the subject without its Re:/Fwd:/回复:/转发:/答复: prefixes>: the receipt answers the
    submission itself, not the reply chain it came in."""
    return f"受理回执：{without_reply_prefixes(subject or '').strip() or '（无标题）'}"


def receipt_id(sha256: str, config: Config) -> str:
    """Stable across crashes and re-runs: the same message always gets the same receipt identity."""
    domain = config.office.email.rpartition("@")[2] or "intake.invalid"
    return f"<receipt-{sha256[:24]}@{domain}>"


def _date_text(moment: datetime) -> str:
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日"


def _doc_text(doc: Document) -> str:
    return f"{doc.kind.label}（{doc.filename}）"


def letter_for(sub: Submission, number: int, config: Config, issued: datetime) -> ReceiptLetter:
    m = sub.message
    message_level = set(sub.findings)
    items = tuple(
        ReceiptItem(
            applicant=a.applicant,
            track=a.track.label,
            documents=tuple(_doc_text(d) for d in a.documents),
            status=a.status.label,
            problems=tuple(f.text() for f in a.findings if f not in message_level),
        )
        for a in sub.applications
    )
    addressee = sub.recommender.name if sub.recommender and sub.recommender.kind.value != "direct" else ""
    if not addressee:
        addressee = sub.applications[0].applicant if sub.applications else (m.sender_name or m.sender)
    return ReceiptLetter(
        receipt_no=f"{config.round.deadline.astimezone(SHANGHAI).year}-{number:04d}",
        round_name=config.round.name,
        recommender=addressee,
        sender=m.sender,
        subject=m.subject or "（无标题）",
        received_at=shanghai_text(sub.received_at),
        items=items,
        message_problems=tuple(f.text() for f in sub.findings),
        office_name=config.office.name,
        office_address=config.office.address,
        postcode=config.office.postcode,
        phone=config.office.phone,
        contacts=config.office.contacts,
        paper_copies=config.office.paper_copies,
        deadline_text=_date_text(config.round.deadline),
        issued_on=_date_text(issued),
        other_documents=tuple(_doc_text(d) for d in sub.loose_documents),
        late_note=(f"本邮件于{shanghai_text(sub.received_at)}送达，已超过截止时间（{shanghai_text(config.round.deadline)}）。"
                   if any(f.flag is Flag.LATE for f in sub.findings) else ""),
    )


def mail_templates(templates_dir: Path) -> Environment:
    # HTML is escaped (sender-controlled unit names); the plain-text part is not markup.
    return Environment(loader=FileSystemLoader(templates_dir / "mail"), undefined=StrictUndefined,
                       autoescape=select_autoescape(enabled_extensions=("html", "html.j2", "xml"),
                                                    disabled_extensions=("txt.j2",), default=True),
                       keep_trailing_newline=True)


def compose(letter: ReceiptLetter, sub: Submission, rid: str, config: Config, env: Environment) -> bytes:
    m = sub.message
    mail = EmailMessage()
    mail["From"] = formataddr((config.office.name, config.office.email))
    mail["To"] = formataddr((m.sender_name, m.sender)) if m.sender_name else m.sender
    mail["Subject"] = receipt_subject(m.subject)
    mail["Date"] = format_datetime(datetime.now(SHANGHAI))
    mail["Message-ID"] = rid
    mail["In-Reply-To"] = m.message_id
    references = (m.headers.get("references", "") + " " + m.message_id).strip()
    mail["References"] = references
    # RFC 3834: mark it automatic so well-behaved responders do not answer it, and ask Outlook not to.
    mail["Auto-Submitted"] = "auto-replied"
    mail["X-Auto-Response-Suppress"] = "All"
    mail["Precedence"] = "auto_reply"
    mail.set_content(env.get_template("receipt.txt.j2").render(letter=letter), charset="utf-8")
    mail.add_alternative(env.get_template("receipt.html.j2").render(letter=letter), subtype="html",
                         charset="utf-8")
    # CRLF throughout: smtplib sends bytes as given, and a bare-LF message is one endless line to a server.
    return mail.as_bytes(policy=SMTP_POLICY)
