"""Real servers on loopback for the tests: a private Dovecot IMAP instance and an aiosmtpd SMTP server."""
from __future__ import annotations

import asyncio
import getpass
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aiosmtpd.controller import Controller

USER, PASSWORD = "intake", "secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _binary(name: str) -> str:
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)
    if not found:
        raise RuntimeError(f"{name} not found: the IMAP tests need Dovecot (make test installs dovecot-imapd)")
    return found


def make_certificate(folder: Path, names: str = "IP:127.0.0.1,DNS:localhost") -> tuple[Path, Path]:
    """A self-signed certificate for the given subjectAltName (127.0.0.1 and localhost), made by openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([_binary("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + names.split(",")[0].split(":", 1)[1], "-addext", f"subjectAltName={names}",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@dataclass
class Dovecot:
    tls: bool | str = False        # True: imaps on port; "starttls": plain port offering STARTTLS
    cert_names: str = "IP:127.0.0.1,DNS:localhost"
    special_use: dict[str, str] = field(default_factory=dict)   # folder → RFC 6154 flag, e.g. 已发送: \Sent
    port: int = field(default_factory=free_port)
    # Dovecot's own users must traverse every folder above its files; pytest's tmp_path is 0700.
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="intake-dovecot-")))

    def __post_init__(self) -> None:
        os.chmod(self.root, 0o755)
        self.conf = self.root / "dovecot.conf"
        if os.geteuid() == 0:
            # Dovecot refuses to run its login and mail processes as root: use its system users.
            internal, login = "dovecot", "dovenull"
        else:
            internal = login = getpass.getuser()
        r = self.root
        (r / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        for sub in ("run", "state", "mail", "home"):
            (r / sub).mkdir(exist_ok=True)
        ssl_lines = "ssl = no"
        listener = f"inet_listener imap {{\n    address = 127.0.0.1\n    port = {self.port}\n  }}"
        if self.tls:
            self.cert, key = make_certificate(r, self.cert_names)
            ssl_lines = f"ssl = required\nssl_cert = <{self.cert}\nssl_key = <{key}"
            if self.tls == "starttls":  # and no imaps listener on the default port 993
                listener += "\n  inet_listener imaps {\n    port = 0\n  }"
            else:
                listener = (f"inet_listener imap {{\n    port = 0\n  }}\n"
                            f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {self.port}\n    ssl = yes\n  }}")
        # Folders with a special use, as Coremail and NetEase have 已发送 marked \Sent.
        mailboxes = "".join(f'  mailbox "{name}" {{\n    auto = create\n    special_use = {flag}\n  }}\n'
                            for name, flag in self.special_use.items())
        namespace = f"namespace inbox {{\n  inbox = yes\n{mailboxes}}}" if mailboxes else ""
        self.conf.write_text(f"""
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl_lines}
disable_plaintext_auth = no
imap_id_log = *
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 0
mail_location = maildir:{r}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users
}}
userdb {{
  driver = static
  args = uid={internal} gid={internal} home={r}/home/%u
}}
service imap-login {{
  {listener}
  chroot =
}}
service anvil {{
  chroot =
}}
{namespace}
""")
        if os.geteuid() == 0:
            for sub in ("mail", "home"):
                shutil.chown(r / sub, internal, internal)

    def start(self) -> Dovecot:
        # In the foreground (-F), as a child of the tests: nothing outlives them, no pipe held open.
        with open(self.root / "dovecot.stderr", "ab") as err:
            self.proc = subprocess.Popen([_binary("dovecot"), "-F", "-c", str(self.conf)],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            self._wait(up=True)
        except RuntimeError:
            self.proc.kill()
            raise
        return self

    def stop(self) -> None:
        if getattr(self, "proc", None) is None:
            return
        # The master's own end leaves logged-in imap processes serving their clients: a real server's
        # restart (a reboot, an upgrade) drops them, so drop them first.
        subprocess.run([_binary("doveadm"), "-c", str(self.conf), "kick", "*"], capture_output=True, timeout=10)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self._wait(up=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.root / "dovecot.log", self.root / "dovecot.stderr")
                       if p.exists())

    def _wait(self, up: bool, seconds: float = 10) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                if up:
                    return
            except OSError:
                if not up:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot on port {self.port} did not {'start' if up else 'stop'}:\n{self.log()}")

    @property
    def maildir(self) -> Path:
        return self.root / "mail" / USER

    def url(self, folder: str = "INBOX") -> str:
        return f"imap://{USER}@127.0.0.1:{self.port}/{folder}?tls=none"

    def client(self) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port)
        conn.login(USER, PASSWORD)
        return conn

    def append(self, raw: bytes, when: datetime, folder: str = "INBOX") -> None:
        """Deliver by IMAP APPEND with a chosen INTERNALDATE: the delivery time the product must use."""
        conn = self.client()
        try:
            typ, data = conn.append(folder, "", imaplib.Time2Internaldate(when), raw)
            assert typ == "OK", data
        finally:
            conn.logout()

    def headers(self, folder: str, field_name: str) -> list[str]:
        """One header of every message in a folder, and the message's flags: what the server holds."""
        conn = self.client()
        try:
            typ, _ = conn.select(folder, readonly=True)
            if typ != "OK":
                return []
            typ, data = conn.uid("FETCH", "1:*", f"(FLAGS BODY.PEEK[HEADER.FIELDS ({field_name})])")
            out = []
            for part in data:
                if isinstance(part, tuple):
                    flags = part[0].decode()
                    value = part[1].decode(errors="replace").split(":", 1)[-1].strip()
                    out.append(f"{value} {flags}")
            return out
        finally:
            conn.logout()


class Inbox:
    """aiosmtpd handler: keeps what it accepted; can refuse recipients or hold every reply."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: dict[str, str] = {}
        self.refuse_sender = ""               # an answer to MAIL FROM, e.g. NetEase's 553
        self.hold_after: int | None = None    # accept this many messages, then hold the next DATA
        self.holding = threading.Event()      # set while a DATA is held
        self.lock = threading.Lock()
        self.received = threading.Event()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.hold_after is not None and len(self.messages) >= self.hold_after:
            # Never answered: the client waits for "250" as it would for a server stuck mid-DATA.
            self.holding.set()
            while self.hold_after is not None:
                await asyncio.sleep(0.05)
            return "451 4.3.0 try again later"
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.received.set()
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        import email

        return [email.message_from_bytes(raw)["Message-ID"] for _, _, raw in self.messages]


class Smtp:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> Smtp:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?tls=none"
