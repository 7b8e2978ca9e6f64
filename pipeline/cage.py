"""Running a parser of attacker bytes in a child process, under a memory and a time limit.

Each call gets a fresh child, forked from a server process started once with the readers loaded (a fork
costs milliseconds, and nothing of one sender's file outlives its reading). The child's address space is
capped (RLIMIT_AS): a bomb meets MemoryError there, or dies there, never in the pass. The time limit is
the child's own CPU time (RLIMIT_CPU), so that a machine loaded on deadline day slows a good file down
without making it a bad one; a child that waits instead of working is killed after `patience` times the
limit on the wall clock. The main process has threads (the scheduler, IMAP IDLE): it never forks itself.
"""
from __future__ import annotations

import logging
import math
import multiprocessing
import resource
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

log = logging.getLogger("intake.read")

T = TypeVar("T")
# What the server loads once, so that each child starts with the readers in memory already.
PRELOAD = ["pipeline.read.document"]


@dataclass(frozen=True)
class Limits:
    memory: int = 1536 * 1024 * 1024    # the child's address space, readers included (about 550 MB)
    seconds: float = 60.0               # CPU time, for one call
    patience: float = 1.0               # the wall clock allowed, as a multiple of `seconds`


class CageError(Exception):
    """The child hit a limit or died; `kind` is memory, time or died, `text` the Chinese reason."""

    def __init__(self, kind: str, text: str):
        super().__init__(f"{kind}: {text}")
        self.kind, self.text = kind, text


_context_lock = threading.Lock()
_context: Any = None


def _forkserver() -> Any:
    global _context  # noqa: PLW0603 - one forkserver per process, made on first use under the lock
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            # "__main__" too: a child otherwise imports the main script again (the `intake` command, and
            # through it the CLI) before it starts, which costs more than the reading itself.
            ctx.set_forkserver_preload(["__main__", *PRELOAD])
            _context = ctx
        return _context


def run(fn: Callable[..., T], *args: Any, limits: Limits = Limits()) -> T:
    """fn(*args) in a child under limits. Its exceptions come back as they are (they must pickle);
    a limit hit or a death raises CageError."""
    ctx = _forkserver()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, fn, args, limits.memory, limits.seconds), daemon=True)
    child.start()
    send.close()
    over_time = CageError("time", f"超过{limits.seconds:.0f}秒的处理时限")
    try:
        if not receive.poll(limits.seconds * max(limits.patience, 1.0)):
            raise over_time
        try:
            status, value = receive.recv()
        except (EOFError, OSError):
            child.join(5)
            if child.exitcode == -signal.SIGXCPU:   # its CPU time (a SIGKILL is the OOM killer's, or the hard limit's)
                raise over_time from None
            raise CageError("died", f"解析进程意外退出（{_exit_text(child.exitcode)}）") from None
    finally:
        receive.close()
        _end(child)
    if status == "memory":
        raise CageError("memory", f"超过{limits.memory // 1024 // 1024}MB的内存上限")
    if status == "error":
        raise value
    return value


def _child(send: Connection, fn: Callable[..., Any], args: tuple, memory: int, seconds: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    cpu = math.ceil(seconds)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))   # SIGXCPU at the limit, SIGKILL a second later
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))          # SIGXCPU dumps core by default: not here
    try:
        result = ("ok", fn(*args))
    except MemoryError:
        result = ("memory", None)
    except BaseException as exc:  # noqa: BLE001 - it goes back to the caller, who decides
        result = ("error", exc)
    try:
        send.send(result)
    except MemoryError:
        send.send(("memory", None))
    except Exception as exc:  # noqa: BLE001 - an exception or result that does not pickle
        send.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        send.close()


def _end(child: Any) -> None:
    if child.is_alive():
        child.kill()
    child.join(5)
    try:
        child.close()
    except ValueError:  # still running after SIGKILL and 5 s: the kernel will reap it
        log.warning("a caged reader (pid %s) did not end", child.pid)


def _exit_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"

