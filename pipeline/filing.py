"""Where things go under output_dir, names that are safe as paths, and atomic writes."""
from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

# Per component, in UTF-8 bytes. ext4 refuses more than 255; callers put a prefix of about 25 ASCII
# bytes ("20190912-1000_M12_") before a sanitised name, so names leave that room.
NAME_LIMIT = 180
# What the file system itself accepts for one component: `inside` only cuts beyond this, so a name a
# caller has already fitted (prefix included) is never cut again and unique names stay unique.
NAME_MAX = 255
# An extension longer than this is taken for part of the name.
EXT_MAX = 8

# Characters Windows, macOS or a shell would choke on, plus C0 and C1 control characters.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*]')
# Invisible characters that can disguise a name ("gpj.exe" shown as "exe.jpg"): bidi embeddings,
# overrides and isolates, directional marks, zero-width characters, the BOM, the Arabic letter mark,
# word joiner and invisible operators, the soft hyphen and tag characters.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u200b-\u200d\ufeff\u061c"
                        "\u2060-\u2064\u00ad\U000e0000-\U000e007f]")
# Device names Windows opens instead of a file, whatever the extension ("CON.pdf" is the console).
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                       *(f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789¹²³")})


def safe_name(name: str, fallback: str = "未命名", limit_bytes: int = NAME_LIMIT) -> str:
    """A single path component made from sender-controlled text: never a path, never hidden, never a
    Windows device, at most limit_bytes in UTF-8."""
    if limit_bytes < 1:
        raise ValueError(f"limit_bytes must be positive: {limit_bytes}")
    name = _INVISIBLE.sub("", unicodedata.normalize("NFC", name or ""))
    # Only the last component of whatever path a mail client put in the name.
    name = re.split(r"[/\\]", name)[-1]
    name = _trim(re.sub(r"\s+", " ", _UNSAFE.sub("_", name)))
    if not name or set(name) <= {"_", " "}:
        name = fallback
    name = _fit(name, limit_bytes)
    if _reserved(name):
        name = _fit("_" + name, limit_bytes)
    return name


def _trim(name: str) -> str:
    # Windows drops trailing dots and spaces, and a leading dot hides a file on Unix.
    return name.strip(" .")


def _reserved(name: str) -> bool:
    # Windows looks at what comes before the first dot, trailing spaces ignored.
    return name.partition(".")[0].rstrip(" ").upper() in _RESERVED


def _split_ext(name: str) -> tuple[str, str]:
    """("stem", ".ext") when the name has a short extension, else (name, "")."""
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= EXT_MAX:
        return stem, "." + ext
    return name, ""


def _cut(text: str, limit_bytes: int) -> str:
    """The longest prefix of text within limit_bytes of UTF-8, never half a character."""
    if limit_bytes <= 0:
        return ""
    return text.encode("utf-8")[:limit_bytes].decode("utf-8", errors="ignore")


def _nbytes(text: str) -> int:
    return len(text.encode("utf-8"))


def _fit(name: str, limit_bytes: int) -> str:
    """name within limit_bytes, the extension kept when there is room for some of the stem too."""
    if _nbytes(name) <= limit_bytes:
        return name
    stem, ext = _split_ext(name)
    room = limit_bytes - _nbytes(ext)
    if ext and room > 0:
        cut = _trim(_cut(stem, room))
        if cut:
            return cut + ext
    return _trim(_cut(name, limit_bytes)) or _cut("_", limit_bytes)


def _key(name: str) -> str:
    # A Windows share ignores case; casefolding can denormalise, hence NFC again.
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


class UniqueNames:
    """Names given out within one folder, compared as the file system of a Windows share would (case
    ignored, NFC): the second "汇总:表.pdf" or "汇总?表.pdf" becomes "汇总_表 (2).pdf". Pure, no I/O."""

    def __init__(self, limit_bytes: int = NAME_LIMIT):
        self.limit_bytes = limit_bytes
        self._taken: set[str] = set()

    def claim(self, name: str, fallback: str = "未命名") -> str:
        """safe_name(name), numbered " (2)", " (3)"… when that is already taken here."""
        first = safe_name(name, fallback, self.limit_bytes)
        candidate, n = first, 1
        while _key(candidate) in self._taken:
            n += 1
            candidate = _numbered(first, n, self.limit_bytes)
        self._taken.add(_key(candidate))
        return candidate

    def __contains__(self, name: str) -> bool:
        return _key(name) in self._taken


def _numbered(name: str, n: int, limit_bytes: int) -> str:
    stem, ext = _split_ext(name)
    suffix = f" ({n})"
    room = limit_bytes - _nbytes(suffix + ext)
    if room <= 0:   # no room for the extension: number the whole name instead
        stem, ext = name, ""
        room = limit_bytes - _nbytes(suffix)
    return (_trim(_cut(stem, room)) or "_") + suffix + ext


def inside(root: Path, *parts: str) -> Path:
    """root/parts with every part made safe; refuses anything that would leave root."""
    path = root.joinpath(*(safe_name(p, limit_bytes=NAME_MAX) for p in parts))
    resolved_root = root.resolve()
    if resolved_root != path.resolve() and resolved_root not in path.resolve().parents:
        raise ValueError(f"path escapes output: {path}")
    return path


def _umask_at_import() -> int:
    # Setting the umask to read it is a race with other threads; at import no other thread of ours runs.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_IMPORT_UMASK = _umask_at_import()


def current_umask() -> int:
    """The process umask, read without changing it (Linux ≥ 4.7), else as it was at import."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _IMPORT_UMASK


def file_mode() -> int:
    """The mode of every file intake writes: what the umask allows, like folders (mkdir) already get."""
    return 0o666 & ~current_umask()


def touch_with_policy(path: Path) -> None:
    """Create an empty file with file_mode() unless it exists. SQLite gives its -wal and -shm the mode of
    the database file, so creating the ledger this way first makes all three follow the policy."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, file_mode())
    except FileExistsError:
        return
    os.close(fd)


def write_atomic(path: Path, data: bytes) -> Path:
    """Write via a temporary file in the same folder, fsync, rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            # mkstemp makes 0600 whatever the umask; the renamed file must follow the policy instead.
            os.fchmod(fh.fileno(), file_mode())
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
