"""Which failures pass and are retried later, and which are a defect meeting odd input (a person looks now)."""
from __future__ import annotations

import errno
import sqlite3
import traceback
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

# The system refused to store or read: a full or read-only disk, a lost share, a path the file system
# will not take. None of it is the message's fault; the same message goes through once it is mended.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
                            errno.ENAMETOOLONG, errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.EAGAIN,
                            errno.ESTALE, errno.ENOTCONN})
# What SQLite says when the ledger is busy or its storage fails (sqlite3 gives no error codes before 3.11's
# sqlite_errorcode on every build, so the wording is what there is).
_LEDGER_PASSING = ("locked", "busy", "disk i/o error", "disk is full", "readonly", "read-only",
                   "unable to open database file")


# Free space below which a storage fault is reported as a full disk, whatever the error says.
FULL_BELOW = 1024 * 1024


class Transient(Exception):
    """A passing fault named as such where it happens: an OCR worker that died, a converter that timed out."""


@dataclass(frozen=True)
class Failure:
    """How one attempt at a message ended when it did not end well."""

    step: str          # fetch, keep raw, parse, …, receipt draft, ledger record
    transient: bool
    error: str         # one line, for the clerk's list and the log
    traceback: str     # for the engineer

    @classmethod
    def of(cls, step: str, exc: BaseException) -> Failure:
        return cls(step, is_transient(exc), describe(exc),
                   "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def is_transient(exc: BaseException) -> bool:
    """A fault of the machine, not of the message: the exception or anything that caused it."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _passing(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _passing(exc: BaseException) -> bool:
    if isinstance(exc, (Transient, BrokenProcessPool)):
        return True
    if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
        return True
    return isinstance(exc, sqlite3.OperationalError) and any(w in str(exc).lower() for w in _LEDGER_PASSING)


def is_storage_fault(exc: BaseException) -> bool:
    """The output folder or the ledger cannot be written (or read): the command stops with one line."""
    if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS | {errno.ENOENT, errno.ENOTDIR}:
        return True
    return isinstance(exc, (sqlite3.OperationalError, sqlite3.DatabaseError)) and not isinstance(
        exc, sqlite3.IntegrityError)


def describe(exc: BaseException) -> str:
    """One line: the type and the message, as short as a list can show."""
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= 300 else line[:297] + "..."


def storage_text(exc: BaseException, free_bytes: int | None = None) -> str:
    """What a storage fault means, in Chinese first: the one line every command prints. SQLite reports a
    full disk as a "disk I/O error" when its shared-memory file cannot grow: the free space tells."""
    if free_bytes is not None and free_bytes < FULL_BELOW:
        return "磁盘已满"
    reasons = {errno.ENOSPC: "磁盘已满", errno.EDQUOT: "磁盘配额已满", errno.EROFS: "文件系统只读",
               errno.EACCES: "没有写入权限", errno.EPERM: "没有写入权限", errno.EIO: "磁盘读写错误",
               errno.ENOENT: "目录不存在", errno.ENOTDIR: "路径不是目录", errno.ENAMETOOLONG: "路径过长"}
    if isinstance(exc, OSError) and exc.errno in reasons:
        return reasons[exc.errno]
    text = str(exc).lower()
    for words, reason in ((("readonly", "read-only"), "台账文件只读"), (("full",), "磁盘已满"),
                          (("locked", "busy"), "台账正被其他进程占用"), (("unable to open",), "无法打开台账文件"),
                          (("i/o",), "磁盘读写错误")):
        if any(w in text for w in words):
            return reason
    return "无法读写"
