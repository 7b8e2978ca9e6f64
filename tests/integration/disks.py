"""Real storage faults for tests: a small file system of its own (tmpfs), filled or made read-only."""
from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def small_disk(folder: Path, size: str = "256k") -> Iterator[Path]:
    """folder becomes a tmpfs of `size`: the test fills it or remounts it read-only. Needs root (CI is)."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"this test mounts a small tmpfs to make a real full or read-only disk, which needs root "
                    f"(CI runs as root): {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def read_only(folder: Path, on: bool = True) -> None:
    subprocess.run(["mount", "-o", "remount," + ("ro" if on else "rw"), str(folder)], check=True)


def fill(folder: Path) -> Path:
    """Fill the file system under folder to the last byte; the filler file is returned for removal."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        for size in (65536, 4096, 1):   # big steps, then the last crumbs
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler
