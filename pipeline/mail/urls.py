"""Mailbox and outbox URLs as the configuration contract spells them."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

MAILBOX_SCHEMES = ("maildir", "imaps", "imap")
OUTBOX_SCHEMES = ("maildir", "smtps", "smtp")
DEFAULT_PORTS = {"imaps": 993, "imap": 143, "smtps": 465, "smtp": 587}


@dataclass(frozen=True)
class MailURL:
    scheme: str
    path: Path | None = None        # maildir only
    user: str = ""
    host: str = ""
    port: int = 0
    folder: str = ""                # IMAP folder, Unicode
    params: dict[str, str] = field(default_factory=dict)

    @property
    def maildir(self) -> Path:
        """The folder of a maildir: URL."""
        if self.scheme != "maildir" or self.path is None:
            raise ValueError(f"not a Maildir: {self.display()}")
        return self.path

    @property
    def plain_allowed(self) -> bool:
        return self.params.get("tls") == "none"

    def display(self) -> str:
        """For logs and messages: never carries a password."""
        if self.scheme == "maildir":
            return f"maildir:{self.path}"
        who = f"{self.user}@" if self.user else ""
        folder = f"/{self.folder}" if self.folder else ""
        return f"{self.scheme}://{who}{self.host}:{self.port}{folder}"


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def parse_mail_url(text: str, allowed: tuple[str, ...], base: Path) -> MailURL:
    """Parse a URL; raises ValueError with what was expected. Relative maildir paths are under base."""
    if not isinstance(text, str) or ":" not in text:
        raise ValueError(f"a URL like {allowed[0]}:… ({' / '.join(allowed)})")
    scheme = text.split(":", 1)[0].lower()
    if scheme not in allowed:
        raise ValueError(f"one of the schemes {', '.join(allowed)}, not {scheme!r}")
    if scheme == "maildir":
        rest = text.split(":", 1)[1]
        if not rest:
            raise ValueError("maildir:PATH with a folder path")
        path = Path(rest).expanduser()
        return MailURL(scheme, path=path if path.is_absolute() else (base / path))
    parts = urlsplit(text)
    if not parts.hostname:
        raise ValueError(f"{scheme}://user@host[:port]/… with a host name")
    if parts.password:
        raise ValueError("no password in the URL: passwords come only from the environment")
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(params) - {"tls", "ca"}
    if unknown:
        raise ValueError(f"only the parameters tls=none and ca=PATH, not {', '.join(sorted(unknown))}")
    if "tls" in params and params["tls"] != "none":
        raise ValueError("tls=none or no tls parameter at all")
    if params.get("tls") == "none" and not _loopback(parts.hostname):
        raise ValueError("tls=none only for a server on this machine (127.0.0.1, ::1, localhost)")
    if "ca" in params and not Path(params["ca"]).is_absolute():
        params["ca"] = str(base / params["ca"])
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise ValueError(f"a numeric port ({exc})") from None
    folder = unquote(parts.path.lstrip("/")) if scheme.startswith("imap") else ""
    if scheme.startswith("imap") and not folder:
        folder = "INBOX"
    if re.search(r"\s", parts.hostname):
        raise ValueError("a host name without spaces")
    return MailURL(scheme, user=unquote(parts.username or ""), host=parts.hostname, port=port,
                   folder=folder, params=params)
