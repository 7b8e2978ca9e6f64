"""TLS for IMAP and SMTP: certificates and host names verified, always, unless the URL says otherwise."""
from __future__ import annotations

import ssl

from .urls import MailURL


def client_context(url: MailURL) -> ssl.SSLContext:
    """The system's CA store plus the URL's ?ca= file, with the host name checked.

    imaplib2 on its own verifies no certificate unless given CA files and never checks the host
    name; every connection intake makes goes through a context made here instead.
    """
    ctx = ssl.create_default_context()
    if url.params.get("ca"):
        # An intranet server with its own CA: trusted in addition to the system store.
        ctx.load_verify_locations(cafile=url.params["ca"])
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def failed_step(step: str, exc: BaseException) -> str:
    """Name the step that failed from the error itself: a refused socket is no TLS problem."""
    if isinstance(exc, ssl.SSLError):
        return "TLS"
    if isinstance(exc, OSError) and step in ("connect", "TLS", "STARTTLS"):
        return "connect"
    return step
