"""The office's IMAP mailbox through imaplib2: new mail by UID, marking after commit, IDLE, Sent folder."""
from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import imaplib2

from .. import __version__
from ..config import MailOptions
from . import utf7
from .source import Incoming, LedgerView
from .tls import client_context, failed_step
from .urls import MailURL

log = logging.getLogger("intake.mail")

# RFC 2177: servers may drop an IDLE after 30 minutes; re-issue it before that.
IDLE_SECONDS = 29 * 60
_INTERNALDATE = re.compile(rb'INTERNALDATE "\s*([^"]+)"')
_UID = re.compile(rb"UID (\d+)")


class ImapError(Exception):
    """A problem talking to the IMAP server; str() is for the log and for `intake check`."""


class _VerifiedTLS:
    """Replaces imaplib2's own TLS set-up, which verifies nothing, with a verifying context."""

    ssl_context: ssl.SSLContext
    connect_timeout: float

    def open_socket(self):
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        return sock

    def ssl_wrap_socket(self):
        self.sock = self.ssl_context.wrap_socket(self.sock, server_hostname=self.host)
        self.read_fd = self.sock.fileno()


class _IMAP4(_VerifiedTLS, imaplib2.IMAP4):
    def __init__(self, host, port, ssl_context, timeout):
        self.ssl_context, self.connect_timeout = ssl_context, timeout
        super().__init__(host, port, timeout=timeout)


class _IMAP4_SSL(_VerifiedTLS, imaplib2.IMAP4_SSL):
    def __init__(self, host, port, ssl_context, timeout):
        self.ssl_context, self.connect_timeout = ssl_context, timeout
        super().__init__(host, port, timeout=timeout)


def quote(name: str) -> str:
    wire = utf7.encode(name)
    return '"' + wire.replace("\\", "\\\\").replace('"', '\\"') + '"'


def connect(url: MailURL, password: str, timeout: float) -> imaplib2.IMAP4:
    """Connect, secure, log in and identify; raises ImapError saying which step failed."""
    step = "connect"
    try:
        ctx = client_context(url)
        if url.scheme == "imaps":
            step = "TLS"
            conn = _IMAP4_SSL(url.host, url.port, ctx, timeout)
        else:
            conn = _IMAP4(url.host, url.port, ctx, timeout)
            if not url.plain_allowed:
                step = "STARTTLS"
                if "STARTTLS" not in conn.capabilities:
                    conn.logout()
                    raise ImapError("STARTTLS: the server does not offer STARTTLS (use imaps:// or ?tls=none on loopback)")
                conn.starttls()
        step = "login"
        conn.login(url.user, password)
        if "ID" in conn.capabilities:
            # NetEase/Coremail answer SELECT with "Unsafe Login" unless the client identifies itself.
            step = "ID"
            conn.id("name", "intake", "version", __version__)
        return conn
    except ImapError:
        raise
    except (OSError, imaplib2.IMAP4.error) as exc:
        raise ImapError(f"{failed_step(step, exc)}: {type(exc).__name__}: {exc}") from exc


class ImapMailbox:
    def __init__(self, url: MailURL, password: str, options: MailOptions):
        self.url, self.password, self.options = url, password, options
        self.name = url.display()
        self.conn: imaplib2.IMAP4 | None = None
        self.validity = ""

    # -- connection ----------------------------------------------------------------------------

    def _open(self) -> imaplib2.IMAP4:
        conn = connect(self.url, self.password, self.options.timeout)
        typ, data = conn.select(quote(self.url.folder))
        if typ != "OK":
            conn.logout()
            raise ImapError(f"SELECT {self.url.folder}: {data}")
        validity = conn.response("UIDVALIDITY")[1][0]
        if not validity:
            typ, data = conn.status(quote(self.url.folder), "(UIDVALIDITY)")
            validity = re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1)
        self.validity = validity.decode() if isinstance(validity, bytes) else str(validity)
        return conn

    def _ensure(self) -> imaplib2.IMAP4:
        if self.conn is None:
            self.conn = self._with_backoff(self._open)
        return self.conn

    def _with_backoff(self, action: Callable[[], object]):
        delay = 1.0
        for attempt in range(1, self.options.retries + 1):
            try:
                return action()
            except (ImapError, OSError, imaplib2.IMAP4.abort) as exc:
                if attempt == self.options.retries:
                    raise ImapError(f"{self.name}: gave up after {attempt} attempts: {exc}") from exc
                log.warning("IMAP %s: %s; retrying in %.0f s", self.name, exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 60)

    def _call(self, action: Callable[[imaplib2.IMAP4], object]):
        """Run a command; on a dropped connection, reconnect (with backoff) and run it again."""
        try:
            return action(self._ensure())
        except (imaplib2.IMAP4.abort, OSError) as exc:
            log.warning("IMAP %s connection lost (%s); reconnecting", self.name, exc)
            self._drop()
            old = self.validity
            conn = self._ensure()
            if self.validity != old:
                raise ImapError(f"UIDVALIDITY changed from {old} to {self.validity} while reconnecting") from exc
            return action(conn)

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.logout()
            except Exception:  # the connection is already gone; nothing to tidy
                pass
        self.conn = None

    def close(self) -> None:
        self._drop()

    # -- reading -------------------------------------------------------------------------------

    def fetch_new(self, seen: LedgerView) -> Iterator[Incoming]:
        self._ensure()
        validity = self.validity
        last = seen.last_uid(validity)
        # Only what arrived after the ledger's last UID, as a range (a UID set of thousands is "too long"
        # for some servers): an idle poll never lists the whole mailbox.
        found = [u for u in self._search(f"{last + 1}:*") if u > last]
        pending = [int(u) for u in seen.pending(validity)]
        for uid in sorted(set(found) | set(pending)):
            if seen.is_done(validity, str(uid)):
                continue
            item = self._call(lambda conn, uid=uid: self._fetch(conn, uid))
            if item is None:
                log.info("IMAP UID %s vanished before it was fetched", uid)
                continue
            raw, received = item
            yield Incoming(validity, str(uid), raw, received)

    def _search(self, uid_range: str) -> list[int]:
        # Never a CHARSET or Chinese text here: many servers reject it. Subjects are matched client-side.
        typ, data = self._call(lambda conn: conn.uid("SEARCH", "UID", uid_range))
        if typ != "OK":
            raise ImapError(f"UID SEARCH {uid_range}: {data}")
        return sorted(int(x) for x in b" ".join(d for d in data if d).split())

    @staticmethod
    def _fetch(conn: imaplib2.IMAP4, uid: int) -> tuple[bytes, datetime] | None:
        typ, data = conn.uid("FETCH", str(uid), "(UID INTERNALDATE BODY.PEEK[])")
        if typ != "OK":
            raise ImapError(f"UID FETCH {uid}: {data}")
        for part in data:
            if isinstance(part, tuple) and _UID.search(part[0]) and int(_UID.search(part[0]).group(1)) == uid:
                date = _INTERNALDATE.search(part[0])
                if not date:
                    raise ImapError(f"UID FETCH {uid}: no INTERNALDATE")
                return part[1], datetime.strptime(date.group(1).decode(), "%d-%b-%Y %H:%M:%S %z")
        return None

    # -- marking -------------------------------------------------------------------------------

    def mark_done(self, incoming: Incoming) -> None:
        if incoming.validity != self.validity:
            return  # the mailbox was renumbered; next pass matches it by content
        uid = incoming.uid
        if self.options.mark == "move":
            self._call(lambda conn: self._move(conn, uid))
        else:
            self._call(lambda conn: conn.uid("STORE", uid, "+FLAGS.SILENT", f"({self.options.mark_flag})"))

    def _move(self, conn: imaplib2.IMAP4, uid: str) -> None:
        target = quote(self.options.move_to)
        conn.create(target)  # "already exists" is fine
        if "MOVE" in conn.capabilities:
            typ, data = conn.uid("MOVE", uid, target)
        else:
            typ, data = conn.uid("COPY", uid, target)
            if typ == "OK":
                conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
                conn.uid("EXPUNGE", uid) if "UIDPLUS" in conn.capabilities else conn.expunge()
        if typ != "OK":
            raise ImapError(f"moving UID {uid} to {self.options.move_to}: {data}")

    # -- waiting -------------------------------------------------------------------------------

    @property
    def can_idle(self) -> bool:
        return self.options.idle and "IDLE" in self._ensure().capabilities

    def wait_for_mail(self, seconds: float) -> bool:
        """Block in IDLE until the server announces new mail or seconds pass; True on new mail."""
        seconds = min(seconds, IDLE_SECONDS)
        conn = self._ensure()
        conn.response("EXISTS")  # forget counts from before the wait
        done = threading.Event()
        result: dict[str, object] = {}

        def callback(args) -> None:
            result["args"] = args
            done.set()

        conn.idle(timeout=seconds, callback=callback)
        done.wait(seconds + self.options.timeout)
        typ, data = conn.response("EXISTS")
        return bool(data and data[0])


class SentFolder:
    """The receipts' proof of sending: each sent receipt is appended, and looked for before a resend."""

    def __init__(self, url: MailURL, password: str, options: MailOptions):
        self.url, self.password, self.options = url, password, options
        self.conn: imaplib2.IMAP4 | None = None

    def _ensure(self) -> imaplib2.IMAP4:
        if self.conn is None:
            self.conn = connect(self.url, self.password, self.options.timeout)
            self.conn.create(quote(self.options.sent_folder))
        return self.conn

    def append(self, raw: bytes) -> None:
        # imaplib2's Time2Internaldate mishandles a plain timestamp: give it an aware datetime.
        typ, data = self._ensure().append(quote(self.options.sent_folder), r"(\Seen)",
                                          datetime.now(timezone.utc), raw)
        if typ != "OK":
            raise ImapError(f"APPEND to {self.options.sent_folder}: {data}")

    def contains(self, message_id: str) -> bool:
        conn = self._ensure()
        typ, data = conn.select(quote(self.options.sent_folder), readonly=True)
        if typ != "OK":
            raise ImapError(f"SELECT {self.options.sent_folder}: {data}")
        # A Message-ID is ASCII: safe in SEARCH without a CHARSET.
        typ, data = conn.uid("SEARCH", "HEADER", "Message-ID", f'"{message_id}"')
        return typ == "OK" and bool(b"".join(d for d in data if d).strip())

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.logout()
            except Exception:  # already gone
                pass
            self.conn = None


def probe(url: MailURL, password: str, options: MailOptions) -> str:
    """For `intake check`: name resolution, connection, TLS, login, folder — the first failing step."""
    try:
        socket.getaddrinfo(url.host, url.port)
    except OSError as exc:
        raise ImapError(f"DNS: {url.host}: {exc}") from exc
    box = ImapMailbox(url, password, options)
    try:
        box.conn = box._open()
        idle = "IDLE" in box.conn.capabilities
        return f"UIDVALIDITY {box.validity}, IDLE {'yes' if idle else 'no'}"
    finally:
        box.close()
