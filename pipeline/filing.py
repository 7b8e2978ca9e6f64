"""Where things go under output_dir, names that are safe as paths, and atomic writes."""
from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

# Characters Windows, macOS or a shell would choke on, plus control characters.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


def safe_name(name: str, fallback: str = "未命名", limit: int = 120) -> str:
    """A single path component made from sender-controlled text: never a path, never hidden."""
    name = unicodedata.normalize("NFC", name or "")
    # Only the last component of whatever path a mail client put in the name.
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE.sub("_", name).strip().strip(".")
    name = re.sub(r"\s+", " ", name)
    if not name or set(name) <= {"_", " "}:
        name = fallback
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 8:
            name = stem[: limit - len(ext) - 1] + "." + ext
        else:
            name = name[:limit]
    return name


def inside(root: Path, *parts: str) -> Path:
    """root/parts with every part made safe; refuses anything that would leave root."""
    path = root.joinpath(*(safe_name(p) for p in parts))
    resolved_root = root.resolve()
    if resolved_root != path.resolve() and resolved_root not in path.resolve().parents:
        raise ValueError(f"path escapes output: {path}")
    return path


def write_atomic(path: Path, data: bytes) -> Path:
    """Write via a temporary file in the same folder, fsync, rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
