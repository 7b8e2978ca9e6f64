"""One pass at a time: an OS lock on output_dir/intake.lock that names the process holding it."""
from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from .dates import SHANGHAI
from .filing import file_mode

LOCK_NAME = "intake.lock"
# How often a wait with a timeout looks again; flock itself has no timeout.
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Holder:
    """Who holds the lock, as the holder wrote it into the lock file. Only for messages: whether the
    lock is held is the kernel's answer, never this."""
    pid: int
    command: str   # e.g. "intake poll --once" or "intake run"
    since: str     # ISO time with offset

    @classmethod
    def now(cls, command: str) -> Holder:
        since = datetime.now(SHANGHAI).isoformat(sep=" ", timespec="seconds")
        return cls(pid=os.getpid(), command=command, since=since)

    def dump(self) -> bytes:
        return (json.dumps(asdict(self), ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def parse(cls, data: bytes) -> Holder | None:
        """The holder in a lock file's bytes; None when empty, half written or not ours."""
        try:
            fields = json.loads(data.decode("utf-8"))
            holder = cls(pid=fields["pid"], command=fields["command"], since=fields["since"])
        except (ValueError, TypeError, KeyError):
            return None
        ok = isinstance(holder.pid, int) and isinstance(holder.command, str) and isinstance(holder.since, str)
        return holder if ok else None


def read_holder(path: Path) -> Holder | None:
    """The holder named in the lock file at path, if it can be read."""
    try:
        return Holder.parse(path.read_bytes())
    except OSError:
        return None


class Busy(Exception):
    """The lock is held by another pass and we did not wait (or waited `timeout` seconds in vain)."""

    def __init__(self, holder: Holder | None, timeout: float | None = None):
        super().__init__(holder, timeout)
        self.holder, self.timeout = holder, timeout

    def __str__(self) -> str:
        waited = f"，已等待 {self.timeout:g} 秒" if self.timeout is not None else ""
        waited_en = f", waited {self.timeout:g} s" if self.timeout is not None else ""
        if self.holder is None:
            return f"另一个处理进程正在运行{waited} / another pass is running{waited_en}"
        h = self.holder
        return (f"另一个处理进程正在运行（PID {h.pid}，{h.command}，始于 {h.since}）{waited}"
                f"/ another pass is running (PID {h.pid}{waited_en})")


class PassLock:
    """flock on <folder>/intake.lock. Each PassLock opens the file itself, so two in one process exclude
    each other as two processes do; the kernel drops the lock when the holder dies, however it dies.

        with PassLock(output_dir, "intake poll --once").acquire(wait=True, on_wait=tell):
            ...
    """

    def __init__(self, folder: Path, command: str):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.command = command
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: bool = False, on_wait: Callable[[Holder | None], None] | None = None,
                timeout: float | None = None) -> PassLock:
        """Take the lock. If another holds it: raise Busy (wait=False), or call on_wait(holder) once and
        wait until it is free — at most `timeout` seconds, then Busy."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this PassLock")
        fd = self._open()
        try:
            if not _try_lock(fd):
                holder = read_holder(self.path)
                if not wait:
                    raise Busy(holder)
                if on_wait is not None:
                    on_wait(holder)
                if not _wait_lock(fd, timeout):
                    raise Busy(read_holder(self.path) or holder, timeout)
            _write_holder(fd, Holder.now(self.command))
        except BaseException:
            os.close(fd)   # closing drops the lock if we got it
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up. The file stays: deleting a locked file lets a newcomer lock a fresh inode."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # Emptied while still held, so no newcomer's record is ever wiped.
            os.ftruncate(fd, 0)
        except OSError:
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> PassLock:
        if self._fd is None:
            self.acquire(wait=False)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _open(self) -> int:
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, file_mode())
        except PermissionError:
            # Made by another user: a read-only descriptor still locks; we just cannot name ourselves.
            return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _wait_lock(fd: int, timeout: float | None) -> bool:
    """Block until the lock is ours (True), or until timeout seconds have gone (False)."""
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return True
    deadline = time.monotonic() + timeout
    while not _try_lock(fd):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(_POLL_SECONDS, left))
    return True


def _write_holder(fd: int, holder: Holder) -> None:
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.dump(), 0)
    except OSError:
        pass   # a read-only descriptor, or a full disk: the lock holds all the same, only unnamed
