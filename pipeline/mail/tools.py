"""The external programs intake uses when installed (7z, unrar, soffice), each run bounded in time and size."""
from __future__ import annotations

import logging
import os
import resource
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("intake.mail")


class ToolFailed(Exception):
    """The program ran and failed, timed out, or wrote nothing; the message says which, in English."""

    def __init__(self, message: str, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


@dataclass(frozen=True)
class Tools:
    """Paths of the programs found on PATH among those inbox_rules.yaml allows; None: not available."""

    sevenzip: str | None = None
    unrar: str | None = None
    soffice: str | None = None

    @classmethod
    def installed(cls, allowed: Iterable[str]) -> Tools:
        allowed = set(allowed)
        return cls(
            sevenzip=_which("7z", "7zz", "7za") if "7z" in allowed else None,
            unrar=_which("unrar") if "unrar" in allowed else None,
            soffice=_which("soffice", "libreoffice") if "soffice" in allowed else None,
        )


def _which(*names: str) -> str | None:
    return next((path for path in map(shutil.which, names) if path), None)


def minimal_env(home: str | None = None, **extra: str) -> dict[str, str]:
    """What a program that opens attacker files is told of the environment: where programs are, the
    locale (7z prints and writes names as UTF-8), a home and a temporary folder. Never the mailbox or
    outbox passwords, nor anything else intake was started with."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "HOME": home or tempfile.gettempdir(), "TMPDIR": tempfile.gettempdir()}
    return {**env, **extra}


def run(cmd: list[str], timeout: float, max_file_bytes: int | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run without a shell or a terminal, in a process group of its own, with a minimal environment;
    RLIMIT_FSIZE stops any single file written past max_file_bytes. On timeout the whole group is
    killed: LibreOffice's wrapper leaves soffice.bin behind otherwise, 7z its helpers."""
    def limit() -> None:  # runs in the child: a lying archive header cannot fill the disk
        if max_file_bytes is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))

    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=limit,  # noqa: PLW1509 - the child only calls setrlimit before exec: no lock
                                env=env or minimal_env(), start_new_session=True)
    except OSError as exc:
        raise ToolFailed(f"{Path(cmd[0]).name} could not start: {exc}") from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise ToolFailed(f"{Path(cmd[0]).name} timed out after {timeout:.0f}s", timed_out=True) from None
    finally:
        if proc.poll() is None:   # an exception of ours (KeyboardInterrupt): nothing of it is left running
            kill_group(proc)
    # A program that exited and left children behind in its group (a daemonised helper): they go too.
    kill_group(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.returncode is None:
        proc.communicate()


def doc_to_docx(data: bytes, soffice: str, timeout: float) -> bytes:
    """An old Word .doc converted by LibreOffice into .docx bytes."""
    return convert(data, "doc", "docx:MS Word 2007 XML", soffice, timeout)


def convert(data: bytes, suffix: str, target: str, soffice: str, timeout: float) -> bytes:
    """A Word or Excel file (`suffix`: doc, docx, xls, xlsx) converted by LibreOffice to `target`
    (a --convert-to argument: "pdf", "docx:MS Word 2007 XML")."""
    extension = target.split(":", 1)[0]
    with tempfile.TemporaryDirectory(prefix="intake-soffice-") as tmp:
        folder = Path(tmp)
        src = folder / f"in.{suffix}"
        src.write_bytes(data)
        # A private profile: another soffice running as the same user (a clerk's, a second pass) would
        # otherwise take the job over, or make this one exit without converting.
        profile = (folder / "profile").as_uri()
        done = run([soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore", "--nologo",
                    "--convert-to", target, "--outdir", str(folder / "out"), str(src)], timeout,
                   env=minimal_env(home=str(folder)))
        out = folder / "out" / f"in.{extension}"
        if not out.is_file() or out.stat().st_size == 0:
            tail = (done.stderr or done.stdout).decode("utf-8", "replace").strip()[-200:]
            raise ToolFailed(f"soffice wrote no .{extension} (exit {done.returncode}): {tail}")
        log.info("converted a .%s of %d bytes to .%s with %s", suffix, len(data), extension, soffice)
        return out.read_bytes()
