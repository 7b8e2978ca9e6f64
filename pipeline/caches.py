"""What intake keeps only to be faster — OCR readings, the rewritten OCR models, the console's drawn
pages — bounded on disk: the least recently used go first. Losing any of it costs time, never a fact:
the filed originals and the ledger are elsewhere and never touched here."""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("intake.caches")

# Under output_dir: the readings the pass keeps, the pages and crops the console draws.
OCR = Path(".cache") / "ocr"
MODELS = Path(".cache") / "models"   # the OCR models rewritten to run faster (read/models.py)
PAGES = Path(".web") / "pages"
FOLDERS = (OCR, MODELS, PAGES)
# A write_atomic temporary file this old was left by a writer that died: not one being written now.
STALE_SECONDS = 3600
# Trimmed to this share of the limit, so that the next files written do not start a trim again at once.
LOW_WATER = 0.9


@dataclass(frozen=True)
class Trimmed:
    files: int = 0
    freed: int = 0      # bytes
    kept: int = 0       # bytes left


def used(path: Path) -> None:
    """A kept file was used again: it goes to the back of the queue."""
    try:
        os.utime(path)
    except OSError:   # read-only or gone meanwhile: the order only matters when trimming
        pass


def size(output_dir: Path) -> int:
    """Bytes the kept files take now (for `intake check`)."""
    return sum(info.st_size for _, info in _kept(output_dir))


def trim(output_dir: Path, limit: int, now: float | None = None) -> Trimmed:
    """Remove the least recently used kept files until all of them together take at most `limit` bytes
    (then down to LOW_WATER of it); a writer's temporary file is left alone unless it is stale."""
    now = time.time() if now is None else now
    files: list[tuple[float, int, Path]] = []
    stale: list[Path] = []
    for path, info in _kept(output_dir):
        if path.name.startswith(".tmp-"):
            if now - info.st_mtime > STALE_SECONDS:
                stale.append(path)
        else:
            files.append((info.st_mtime, info.st_size, path))
    total = sum(size for _, size, _ in files)
    removed = freed = 0
    for path in stale:
        removed += _remove(path)
    if total > limit:
        files.sort()
        for _, size, path in files:
            if total <= limit * LOW_WATER:
                break
            if _remove(path):
                removed, freed, total = removed + 1, freed + size, total - size
    if removed:
        log.info("kept files trimmed: %d removed, %d MB freed, %d MB kept (limit %d MB)", removed,
                 freed // 2 ** 20, total // 2 ** 20, limit // 2 ** 20)
    return Trimmed(removed, freed, total)


def _kept(output_dir: Path) -> Iterator[tuple[Path, os.stat_result]]:
    for folder in FOLDERS:
        for root, _, names in os.walk(output_dir / folder):
            for name in names:
                path = Path(root) / name
                try:
                    yield path, path.lstat()
                except OSError:   # removed meanwhile
                    continue


def _remove(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        log.warning("a kept file could not be removed (%s)", exc)
        return 0
    return 1
