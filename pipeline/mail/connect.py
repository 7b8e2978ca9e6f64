"""The mailbox and outbox the configuration names."""
from __future__ import annotations

from ..config import Config
from .imap import ImapMailbox, SentFolder
from .maildir import MaildirMailbox, MaildirOutbox
from .smtp import SmtpOutbox
from .source import Mailbox, Outbox


def open_mailbox(config: Config) -> Mailbox:
    if config.mailbox.scheme == "maildir":
        return MaildirMailbox(config.mailbox.maildir, mark_seen=config.imap.mark != "none")
    return ImapMailbox(config.mailbox, config.mailbox_password, config.imap)


def open_outbox(config: Config) -> Outbox:
    if config.outbox.scheme == "maildir":
        return MaildirOutbox(config.outbox.maildir)
    # The Sent folder lives in the office's IMAP mailbox; with a Maildir inbox there is none to keep.
    sent = None
    if config.mailbox.scheme != "maildir" and config.imap.sent_folder:
        sent = SentFolder(config.mailbox, config.mailbox_password, config.imap)
    return SmtpOutbox(config.outbox, config.outbox_password, config.office.email, sent, config.imap.timeout)
