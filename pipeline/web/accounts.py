"""The console's accounts: roles, password hashes (scrypt, memory-hard) and login throttling."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from enum import StrEnum

from ..store import Ledger


class Role(StrEnum):
    CLERK = "clerk"       # reads everything, corrects, decides, re-runs messages
    VIEWER = "viewer"     # reads everything, changes nothing

    @property
    def label(self) -> str:
        return {"clerk": "经办人", "viewer": "只读"}[self.value]


# scrypt at 2^15 × 8: 32 MB and about 0.1 s per login, far beyond what a guessing attacker can afford.
_N, _R, _P = 2 ** 15, 8, 1
_MAXMEM = 64 * 1024 * 1024
MIN_PASSWORD = 10


class AccountError(ValueError):
    """A name, role or password that cannot be used; the message is Chinese."""


@dataclass(frozen=True)
class User:
    name: str
    role: Role

    @property
    def may_change(self) -> bool:
        return self.role is Role.CLERK


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, maxmem=_MAXMEM, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=_MAXMEM, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# A hash to spend the same time on when the name is unknown: no answer tells names from passwords.
_DUMMY = hash_password(secrets.token_hex(8))


def fingerprint(password_hash: str) -> str:
    """Kept in the session: a password changed (or an account made again) ends the sessions made before."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def valid_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 40 or any(c.isspace() or not c.isprintable() for c in name):
        raise AccountError("用户名应为1–40个字符，不含空格和控制字符")
    return name


def valid_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少{MIN_PASSWORD}个字符")
    return password


def add(ledger: Ledger, name: str, role: str, password: str) -> bool:
    """Adds an account (or replaces its role and password); True when it is new."""
    try:
        parsed = Role(role)
    except ValueError:
        raise AccountError(f"角色“{role}”无法识别：可用 clerk（经办人）或 viewer（只读）") from None
    return ledger.put_user(valid_name(name), parsed.value, hash_password(valid_password(password)))


def change_password(ledger: Ledger, name: str, password: str) -> None:
    if not ledger.set_password(name, hash_password(valid_password(password))):
        raise AccountError(f"没有名为“{name}”的账号")


def authenticate(ledger: Ledger, name: str, password: str) -> User | None:
    row = ledger.user(name)
    ok = check_password(password, row["password"] if row else _DUMMY)
    return User(row["name"], Role(row["role"])) if ok and row is not None else None


def from_session(ledger: Ledger, name: str, mark: str) -> User | None:
    """The account a session names, as the ledger has it now: a removed account, a changed password
    (the session's fingerprint no longer matches) or a changed role counts at the next request."""
    row = ledger.user(name)
    if row is None or mark != fingerprint(row["password"]):
        return None
    return User(row["name"], Role(row["role"]))


class Throttle:
    """Failed logins, per account name and per address: after `limit` within `window` seconds, further
    attempts are refused until the oldest failure leaves the window. Kept in memory: the console is one
    process, and a restart forgetting them costs an attacker a restart."""

    def __init__(self, limit: int = 5, window: float = 900.0, clock=time.monotonic):
        self.limit, self.window, self.clock = limit, window, clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque[float]:
        q = self._failures[key]
        while q and q[0] <= self.clock() - self.window:
            q.popleft()
        return q

    def wait(self, *keys: str) -> int:
        """Seconds until another attempt is allowed for these keys (0: now)."""
        with self._lock:
            waits = [q[0] + self.window - self.clock() for k in keys if len(q := self._recent(k)) >= self.limit]
        return max(0, round(max(waits))) if waits else 0

    def failed(self, *keys: str) -> None:
        with self._lock:
            for k in keys:
                self._recent(k).append(self.clock())

    def succeeded(self, name_key: str) -> None:
        with self._lock:
            self._failures.pop(name_key, None)
