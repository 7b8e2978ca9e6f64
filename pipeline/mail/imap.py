"""The office's IMAP mailbox through imaplib2: new mail by UID, marking after commit, IDLE, Sent folder."""
from __future__ import annotations

import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any

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
_INTERNALDATE = re.compile(rb'INTERNALDATE "\s*([^"]+)"', re.I)
_UID = re.compile(rb"\bUID (\d+)", re.I)


def _response_lines(data) -> Iterator[bytes]:
    for part in data:
        if isinstance(part, tuple):
            yield part[0]
        elif isinstance(part, bytes):
            yield part


def _ok(answer, what: str):
    typ, data = answer
    if typ != "OK":
        raise ImapError(f"{what}: {typ} {data}")
    return data


def _internaldate(text: bytes) -> datetime:
    return datetime.strptime(text.decode().strip(), "%d-%b-%Y %H:%M:%S %z")


def body_of(data: list, uid: int) -> bytes | None:
    """The message's bytes out of a FETCH answer. The UID may come before the literal or after it
    ("* 3 FETCH (BODY[] {n}…  UID 7)"), and unsolicited FETCH responses about other messages may be
    mixed in."""
    bodies = []
    for i, part in enumerate(data):
        if isinstance(part, tuple) and b"BODY[]" in part[0].upper():
            after = data[i + 1] if i + 1 < len(data) and isinstance(data[i + 1], bytes) else b""
            found = _UID.search(part[0]) or _UID.search(after)
            bodies.append((int(found.group(1)) if found else None, part[1]))
    mine = [body for who, body in bodies if who == uid]
    if mine:
        return mine[0]
    unnamed = [body for who, body in bodies if who is None]
    return unnamed[0] if len(unnamed) == 1 else None


class ImapError(Exception):
    """A problem talking to the IMAP server; str() is for the log and for `intake check`."""


class Unavailable(ImapError):
    """The server answered NO or BAD for one message (damaged on the server, too large for it): the
    connection is fine, only that message cannot be had now."""


class _VerifiedTLS:
    """Replaces imaplib2's own TLS set-up, which verifies nothing, with a verifying context."""

    ssl_context: ssl.SSLContext
    connect_timeout: float

    def open_socket(self):
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        # A connection that died silently (a NAT or firewall forgetting it) would otherwise hold an IDLE
        # for the system's default of two hours before anyone noticed.
        for option, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 30), ("TCP_KEEPCNT", 4)):
            if hasattr(socket, option):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
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


def capabilities(conn: imaplib2.IMAP4) -> tuple[str, ...]:
    typ, data = conn.capability()
    if typ != "OK" or not data or not data[-1]:
        return tuple(conn.capabilities)
    last = data[-1].decode("ascii", "replace") if isinstance(data[-1], bytes) else str(data[-1])
    return tuple(last.upper().split())


def uid_sets(uids: list[int], per_set: int = 200) -> Iterator[str]:
    """UIDs as compact sets ("3:7,9,12:15") of at most per_set UIDs each: a set of thousands of UIDs is
    "command line too long" for some servers."""
    uids = sorted(set(uids))
    for start in range(0, len(uids), per_set):
        chunk, parts, i = uids[start:start + per_set], [], 0
        while i < len(chunk):
            j = i
            while j + 1 < len(chunk) and chunk[j + 1] == chunk[j] + 1:
                j += 1
            parts.append(str(chunk[i]) if i == j else f"{chunk[i]}:{chunk[j]}")
            i = j + 1
        yield ",".join(parts)


def connect(url: MailURL, password: str, timeout: float) -> imaplib2.IMAP4:
    """Connect, secure, log in and identify; raises ImapError saying which step failed. A connection
    that went dead on the way (imaplib2's reader thread restarted around STARTTLS can miss the server's
    answer on a loaded machine) is tried once more; a refusal is not."""
    try:
        return _connect(url, password, timeout)
    except ImapError as exc:
        if not isinstance(exc.__cause__, imaplib2.IMAP4.abort):
            raise
        log.warning("IMAP %s: %s; connecting once more", url.display(), exc)
        return _connect(url, password, timeout)


def _connect(url: MailURL, password: str, timeout: float) -> imaplib2.IMAP4:
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
        # imaplib2 keeps the list the server gave before login; many servers (Dovecot, Coremail) only
        # announce MOVE, UIDPLUS, ID or IDLE to a logged-in client.
        conn.capabilities = capabilities(conn)
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
        self.found = 0   # new messages the running fetch_new has to hand over
        self._created: set[str] = set()

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
            found = re.search(rb"UIDVALIDITY (\d+)", data[0] or b"")
            if found is None:
                raise ImapError(f"STATUS {self.url.folder}: no UIDVALIDITY in {data!r}")
            validity = found.group(1)
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
            except Exception:  # noqa: BLE001 - the connection is already gone; nothing to tidy
                pass
        self.conn = None

    def close(self) -> None:
        self._drop()

    # -- reading -------------------------------------------------------------------------------

    def fetch_new(self, seen: LedgerView) -> Iterator[Incoming]:
        self._ensure()
        validity = self.validity
        last = seen.last_uid(validity)
        # Only what arrived after the ledger's last UID, as a range: an idle poll never lists the mailbox.
        found = [u for u in self._search(f"{last + 1}:*") if u > last]
        pending = [int(u) for u in seen.pending(validity)]
        todo = [uid for uid in sorted(set(found) | set(pending)) if not seen.skip(validity, str(uid))]
        self.found = len(todo)
        dates = self._internaldates(todo)
        for uid in todo:
            try:
                raw = self._call(partial(self._body, uid=uid)) if uid in dates else None
            except Unavailable as exc:  # the server refused this one message: its problem, not the pass's
                log.warning("IMAP UID %s could not be fetched: %s", uid, exc)
                yield Incoming(validity, str(uid), b"", dates[uid], problem=exc)
                continue
            if raw is None:
                log.info("IMAP UID %s vanished before it was fetched", uid)
                continue
            yield Incoming(validity, str(uid), raw, dates[uid])

    def _search(self, uid_range: str) -> list[int]:
        # Never a CHARSET or Chinese text here: many servers reject it. Subjects are matched client-side.
        typ, data = self._call(lambda conn: conn.uid("SEARCH", "UID", uid_range))
        if typ != "OK":
            raise ImapError(f"UID SEARCH {uid_range}: {data}")
        return sorted(int(x) for x in b" ".join(d for d in data if d).split())

    def _internaldates(self, uids: list[int]) -> dict[int, datetime]:
        """The delivery time of each UID, asked for in batches: the metadata is small, the bodies are
        fetched one at a time so that a pass holds one message in memory, however large."""
        dates: dict[int, datetime] = {}
        for uid_set in uid_sets(uids):
            typ, data = self._call(partial(_fetch_dates, uid_set=uid_set))
            if typ != "OK":
                raise ImapError(f"UID FETCH {uid_set} (INTERNALDATE): {data}")
            for line in _response_lines(data):
                uid, date = _UID.search(line), _INTERNALDATE.search(line)
                if uid and date:
                    dates[int(uid.group(1))] = _internaldate(date.group(1))
                elif uid:
                    # Never seen, but a server that leaves it out must not stop every pass.
                    log.warning("IMAP UID %s came without INTERNALDATE; using the time of fetching", uid.group(1))
                    dates[int(uid.group(1))] = datetime.now(UTC)
        return dates

    @staticmethod
    def _body(conn: imaplib2.IMAP4, uid: int) -> bytes | None:
        typ, data = conn.uid("FETCH", str(uid), "(UID BODY.PEEK[])")
        if typ != "OK":
            raise Unavailable(f"UID FETCH {uid}: {typ} {data}")
        return body_of(data, uid)

    # -- marking -------------------------------------------------------------------------------

    def mark_done(self, incoming: Incoming) -> None:
        """Flag or move a message whose ledger transaction committed; raises ImapError if the server
        refused (the ledger then keeps it unmarked, and the next pass tries again)."""
        if self.options.mark == "none":
            return
        self._ensure()  # the validity is the server's, known once connected
        if incoming.validity != self.validity:
            return  # the mailbox was renumbered; next pass matches it by content
        uid = incoming.uid
        if self.options.mark == "move":
            self._call(lambda conn: self._move(conn, uid))
        else:
            _ok(self._call(lambda conn: conn.uid("STORE", uid, "+FLAGS.SILENT", f"({self.options.mark_flag})")),
                f"flagging UID {uid} {self.options.mark_flag}")

    def _move(self, conn: imaplib2.IMAP4, uid: str) -> None:
        target = quote(self.options.move_to)
        if target not in self._created:
            conn.create(target)  # "already exists" is the usual answer, and fine
            self._created.add(target)
        what = f"moving UID {uid} to {self.options.move_to}"
        if "MOVE" in conn.capabilities:
            _ok(conn.uid("MOVE", uid, target), what)
            return
        _ok(conn.uid("COPY", uid, target), what)
        _ok(conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), what)
        if "UIDPLUS" in conn.capabilities:
            _ok(conn.uid("EXPUNGE", uid), what)
        # Without UIDPLUS the only EXPUNGE there is would also remove every other message a person
        # marked \Deleted in this folder: the original stays, marked, for the clerk's mail client.

    # -- waiting -------------------------------------------------------------------------------

    @property
    def can_idle(self) -> bool:
        return self.options.idle and "IDLE" in self._ensure().capabilities

    def wait_for_mail(self, seconds: float) -> bool:
        """Block in IDLE until the server announces new mail or seconds pass; True on new mail.

        An EXISTS that came while no IDLE was running (during the pass it started) counts as new mail
        at once: dropping it would leave that message for the next poll."""
        seconds = min(seconds, IDLE_SECONDS)
        conn = self._ensure()
        _, data = conn.response("EXISTS")
        if data and data[0]:
            return True
        done = threading.Event()
        conn.idle(timeout=seconds, callback=lambda args: done.set())
        done.wait(seconds + self.options.timeout)
        _, data = conn.response("EXISTS")
        return bool(data and data[0])


class SentFolder:
    """The receipts' proof of sending: each sent receipt is appended, and looked for before a resend."""

    def __init__(self, url: MailURL, password: str, options: MailOptions):
        self.url, self.password, self.options = url, password, options
        self.conn: imaplib2.IMAP4 | None = None
        self.folder = ""

    def _ensure(self) -> imaplib2.IMAP4:
        if self.conn is None:
            conn = connect(self.url, self.password, self.options.timeout)
            try:
                self.folder = self.folder or self._find(conn)
            except ImapError:
                conn.logout()
                raise
            self.conn = conn
        return self.conn

    def _find(self, conn: imaplib2.IMAP4, create: bool = True) -> str:
        """The configured folder if it exists; else the one the server marks \\Sent (RFC 6154: Coremail and
        NetEase call it 已发送); created only if there is neither."""
        wanted = self.options.sent_folder
        typ, data = conn.list('""', "*")
        # A name with unusual characters comes as a literal: ("(\\HasNoChildren) "/" {9}", b"name").
        lines = [part[0].rsplit(b"{", 1)[0] + b'"' + part[1] + b'"' if isinstance(part, tuple) else part
                 for part in data if part] if typ == "OK" else []
        listed = [item for item in map(_listed, lines) if item]
        if any(name == wanted for name, _ in listed):
            return wanted
        special = next((name for name, flags in listed if "\\SENT" in flags), None)
        if special:
            log.info("Sent folder %r not found; using the server's own %r", wanted, special)
            return special
        if not create:
            return ""
        _ok(conn.create(quote(wanted)), f"CREATE {wanted}")
        return wanted

    def _run(self, action: Callable[[imaplib2.IMAP4], object], what: str):
        """One reconnect on a dropped connection; every failure becomes an ImapError."""
        for attempt in (1, 2):
            try:
                return action(self._ensure())
            except ImapError:
                raise
            except (OSError, imaplib2.IMAP4.abort) as exc:
                self.close()
                if attempt == 2:
                    raise ImapError(f"{what}: {type(exc).__name__}: {exc}") from exc
            except imaplib2.IMAP4.error as exc:
                raise ImapError(f"{what}: {exc}") from exc

    def append(self, raw: bytes) -> None:
        # imaplib2's Time2Internaldate mishandles a plain timestamp: give it an aware datetime.
        self._run(lambda conn: _ok(conn.append(quote(self.folder), r"(\Seen)", datetime.now(UTC), raw),
                                   f"APPEND to {self.folder}"), "APPEND")

    def contains(self, message_id: str) -> bool:
        def search(conn: imaplib2.IMAP4) -> bool:
            _ok(conn.select(quote(self.folder), readonly=True), f"SELECT {self.folder}")
            # A Message-ID is ASCII: safe in SEARCH without a CHARSET.
            data = _ok(conn.uid("SEARCH", "HEADER", "Message-ID", f'"{message_id}"'), "SEARCH Sent")
            return bool(b"".join(d for d in data if d).strip())

        return self._run(search, "searching the Sent folder")

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.logout()
            except Exception:  # noqa: BLE001 - already gone
                pass
            self.conn = None


_LIST = re.compile(rb'^\((?P<flags>[^)]*)\)\s+(?:"(?:[^"\\]|\\.)*"|NIL)\s+(?P<name>.+)$')


def _fetch_dates(conn: imaplib2.IMAP4, uid_set: str) -> Any:
    return conn.uid("FETCH", uid_set, "(UID INTERNALDATE)")


def _listed(line: bytes) -> tuple[str, str] | None:
    """A LIST answer as (Unicode folder name, upper-case flags)."""
    found = _LIST.match(line.strip())
    if not found:
        return None
    name = found.group("name").strip()
    if name.startswith(b'"') and name.endswith(b'"'):
        name = re.sub(rb'\\(.)', rb"\1", name[1:-1])
    try:
        return utf7.decode(name.decode("ascii")), found.group("flags").decode("ascii", "replace").upper()
    except (UnicodeError, ValueError):
        return None


def probe(url: MailURL, password: str, options: MailOptions) -> str:
    """For `intake check`: name resolution, connection, TLS, login, folder, marking, Sent folder — the
    first failing step raises; nothing on the server is changed."""
    try:
        socket.getaddrinfo(url.host, url.port)
    except OSError as exc:
        raise ImapError(f"DNS: {url.host}: {exc}") from exc
    box = ImapMailbox(url, password, options)
    try:
        box.conn = conn = box._open()
        caps = set(conn.capabilities)
        notes = [f"UIDVALIDITY {box.validity}"] + [f"{c} {'yes' if c in caps else 'no'}" for c in ("IDLE", "MOVE", "ID")]
        if options.mark == "flag":
            _typ, data = conn.response("PERMANENTFLAGS")
            flags = b" ".join(d for d in data or () if isinstance(d, bytes))
            if flags and b"\\*" not in flags and options.mark_flag.encode().lower() not in flags.lower():
                raise ImapError(f"flag: the server keeps no keyword {options.mark_flag} on messages "
                                f"(PERMANENTFLAGS {flags.decode(errors='replace')}); use mark: move")
        if options.sent_folder:
            sent = SentFolder(url, password, options)._find(conn, create=False)
            notes.append(f"Sent {sent!r}" if sent else f"Sent {options.sent_folder!r} (to be created)")
        return ", ".join(notes)
    finally:
        box.close()
