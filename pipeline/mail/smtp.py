"""Receipts through the office's SMTP server, with proof of sending kept in the Sent folder."""
from __future__ import annotations

import email.utils
import logging
import re
import smtplib
import socket

from .tls import client_context, failed_step
from .urls import MailURL

log = logging.getLogger("intake.outbox")


class SendFailed(Exception):
    """The server refused or could not be reached; `permanent` says whether retrying can help."""

    def __init__(self, message: str, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


def open_smtp(url: MailURL, password: str, timeout: float) -> smtplib.SMTP:
    """Connect, secure and log in; raises SendFailed (never permanent: the receipt is not at fault)."""
    step = "connect"
    try:
        smtp: smtplib.SMTP
        if url.scheme == "smtps":
            step = "TLS"
            smtp = smtplib.SMTP_SSL(url.host, url.port, timeout=timeout, context=client_context(url))
        else:
            smtp = smtplib.SMTP(url.host, url.port, timeout=timeout)
            if not url.plain_allowed:
                step = "STARTTLS"
                smtp.starttls(context=client_context(url))
        if url.user:
            step = "login"
            smtp.login(url.user, password)
        return smtp
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"{failed_step(step, exc)}: {type(exc).__name__}: {exc}", permanent=False) from exc


class SmtpOutbox:
    def __init__(self, url: MailURL, password: str, sender: str, sent_folder=None, timeout: float = 60.0):
        self.url, self.password, self.sender = url, password, sender
        self.sent_folder = sent_folder
        self.timeout = timeout
        self.name = url.display()

    def already_sent(self, receipt_id: str) -> bool:
        """After a crash mid-send: the Sent folder tells whether the receipt went out."""
        return self.sent_folder is not None and self.sent_folder.contains(receipt_id)

    def send(self, receipt_id: str, raw: bytes) -> None:
        recipients = [addr for _, addr in email.utils.getaddresses(
            email.message_from_bytes(raw).get_all("To", []))]
        # smtplib fixes line endings only for str; bytes go out as they are.
        raw = re.sub(rb"\r?\n", b"\r\n", raw)
        smtp = open_smtp(self.url, self.password, self.timeout)
        try:
            refused = smtp.sendmail(self.sender, recipients, raw)
        except smtplib.SMTPRecipientsRefused as exc:
            raise SendFailed(_answers(exc.recipients), permanent=_all_permanent(exc.recipients)) from exc
        except smtplib.SMTPSenderRefused as exc:
            # The office's own address refused (NetEase: "553 Mail from must equal authorized user"): a
            # configuration fault, the same for every receipt. Retried, so that fixing office.email or
            # the login sends them all; never recorded against the receipt as final.
            raise SendFailed(f"发件地址被拒绝（请检查 office.email 与发信账号）：{exc.smtp_code} {_text(exc.smtp_error)}",
                             permanent=False) from exc
        except smtplib.SMTPDataError as exc:
            raise SendFailed(f"{exc.smtp_code} {_text(exc.smtp_error)}", permanent=500 <= exc.smtp_code < 600) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        finally:
            # The message is accepted once sendmail returns; some Chinese servers answer QUIT with garbage.
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
        if refused:
            log.warning("receipt %s: some recipients refused: %s", receipt_id, _answers(refused))

    def keep_copy(self, receipt_id: str, raw: bytes) -> None:
        """After the receipt is recorded as sent: its copy in the Sent folder, searched before any resend."""
        if self.sent_folder is None:
            return
        try:
            self.sent_folder.append(re.sub(rb"\r?\n", b"\r\n", raw))
        except Exception as exc:  # noqa: BLE001 - it did go out; a missing copy must not make it go out twice
            log.warning("receipt %s sent, but no copy could be kept in the Sent folder: %s", receipt_id, exc)

    def close(self) -> None:
        if self.sent_folder is not None:
            self.sent_folder.close()


def smtp_address(address: str) -> str | None:
    """The address as it can go into an SMTP envelope and a To header without SMTPUTF8: an IDN domain in
    its ASCII form (人社厅.中国 → xn--…); None when the local part is not ASCII or the domain cannot be
    encoded (the receipt is then left to a person)."""
    local, at, domain = (address or "").rpartition("@")
    if not at or not local or not domain or not local.isascii():
        return None
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return f"{local}@{ascii_domain}"


def _text(answer) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)


def _answers(recipients: dict) -> str:
    return "; ".join(f"{addr}: {code} {_text(msg)}" for addr, (code, msg) in recipients.items())


def _all_permanent(recipients: dict) -> bool:
    return bool(recipients) and all(500 <= code < 600 for code, _ in recipients.values())


def probe(url: MailURL, password: str, timeout: float) -> str:
    """For `intake check`: connect, secure, log in, NOOP."""
    try:
        socket.getaddrinfo(url.host, url.port)
    except OSError as exc:
        raise SendFailed(f"DNS: {url.host}: {exc}", permanent=False) from exc
    smtp = open_smtp(url, password, timeout)
    try:
        code, _ = smtp.noop()
        return f"NOOP {code}"
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            pass
