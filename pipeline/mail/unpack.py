"""Archives in attachments opened within limits, old .doc made readable, the rest noted with a reason.

Members of an archive become ordinary attachments named by their path inside it ("材料.zip/申请表.pdf").
An archive that cannot be opened whole (a zip bomb, a password, no tool) stays an attachment itself, with
its Chinese reason in Attachment.problem, so the clerk gets the original and knows why.
"""
from __future__ import annotations

import binascii
import io
import logging
import mimetypes
import os
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import AttachmentLimits
from ..faults import Transient
from ..filing import safe_name
from ..model import Attachment, Finding, Flag
from ..read.sniff import sniff
from .tools import ToolFailed, Tools, doc_to_docx, run

log = logging.getLogger("intake.mail")

ARCHIVES = ("zip", "7z", "rar")
# Below this size a high ratio is ordinary (a blank .txt, an empty table's XML); above it, a bomb's mark.
RATIO_FLOOR = 1024 * 1024
# Folders and files a desktop adds to every archive it makes: macOS Finder, Windows Explorer.
_JUNK_FOLDERS = {"__macosx"}
_JUNK_FILES = {".ds_store", "thumbs.db", "desktop.ini"}
_UNICODE_PATH_EXTRA = 0x7075   # Info-ZIP Unicode Path: WinRAR and others store the UTF-8 name here


class Refused(Exception):
    """An archive that is not opened at all; the message is the Chinese reason."""


@dataclass
class _Budget:
    """What one message may still unpack, across all its archives and their nesting."""

    bytes_left: int
    entries_left: int


@dataclass(frozen=True)
class _Entry:
    name: str
    size: int
    packed: int | None
    encrypted: bool = False


@dataclass
class _Opened:
    members: list[tuple[tuple[str, ...], bytes]]
    encrypted: list[str]
    broken: list[str]


def expand(attachments: tuple[Attachment, ...] | list[Attachment], limits: AttachmentLimits,
           tools: Tools | None = None) -> tuple[Attachment, ...]:
    """Every archive replaced by its members (recursively, within limits); never raises."""
    tools = tools if tools is not None else Tools.installed(limits.converters)
    budget = _Budget(limits.max_total_bytes, limits.max_entries)
    out: list[Attachment] = []
    for att in attachments:
        out.extend(_expand(att, 1, limits, tools, budget))
    return tuple(out)


def _expand(att: Attachment, depth: int, limits: AttachmentLimits, tools: Tools, budget: _Budget) -> list[Attachment]:
    try:
        if att.sniffed in ARCHIVES:
            return _open_archive(att, depth, limits, tools, budget)
        if att.sniffed == "doc":
            return [_readable_doc(att, limits, tools)]
        if att.sniffed == "tnef":
            return [replace(att, problem=Finding(
                Flag.UNREADABLE_ATTACHMENT,
                f"《{att.filename}》为 Outlook 专用格式（TNEF/winmail.dat），其中的附件无法读取，原件已保存；"
                "请发件人在 Outlook 中改用 HTML 或纯文本格式重新发送"))]
    except Transient:
        raise  # the message is tried again later, whole
    except Exception as exc:  # a library bug on hostile bytes must not cost the message
        log.exception("unpacking %s failed", att.filename)
        return [replace(att, problem=Finding(
            Flag.UNREADABLE_ATTACHMENT, f"《{att.filename}》处理出错（{type(exc).__name__}），原件已保存，请人工查看"))]
    return [att]


def _open_archive(att: Attachment, depth: int, limits: AttachmentLimits, tools: Tools,
                  budget: _Budget) -> list[Attachment]:
    def kept(reason: str) -> Attachment:
        return replace(att, problem=Finding(Flag.UNREADABLE_ATTACHMENT, f"《{att.filename}》{reason}，原件已保存"))

    if depth > limits.max_depth:
        return [kept(f"是第{depth}层嵌套的压缩包，超过{limits.max_depth}层的上限，未解压")]
    try:
        if att.sniffed == "zip":
            opened = _open_zip(att.data, limits, budget)
        elif tools.sevenzip:
            opened = _open_with_7z(att.data, tools.sevenzip, limits, budget)
        elif att.sniffed == "rar" and tools.unrar:
            opened = _open_with_unrar(att.data, tools.unrar, limits, budget)
        else:
            need = "7z 或 unrar" if att.sniffed == "rar" else "7z"
            raise Refused(f"为 {att.sniffed.upper()} 压缩包，本机未安装解压工具（{need}），未能解压")
    except Refused as exc:
        log.warning("archive %s not opened: %s", att.filename, exc)
        return [kept(str(exc))]
    out: list[Attachment] = []
    for parts, data in opened.members:
        member = Attachment(filename="/".join((att.filename, *parts)),
                            content_type=mimetypes.guess_type(parts[-1])[0] or "application/octet-stream",
                            data=data, sniffed=sniff(data))
        out.extend(_expand(member, depth + 1, limits, tools, budget))
    reasons = []
    if opened.encrypted:
        reasons.append(f"其中 {_listed(opened.encrypted)} 设有密码，无法打开（请去除密码后重发）")
    if opened.broken:
        reasons.append(f"其中 {_listed(opened.broken)} 已损坏或压缩方式不受支持，无法解压")
    if reasons:
        out.append(kept("；".join(reasons)))
    log.info("archive %s: %d member(s), %d encrypted, %d broken", att.filename, len(opened.members),
             len(opened.encrypted), len(opened.broken))
    return out


def _listed(names: list[str], most: int = 5) -> str:
    shown = "、".join(f"《{n}》" for n in names[:most])
    return shown + (f"等{len(names)}个文件" if len(names) > most else "")


def _check(entries: list[_Entry], archive_bytes: int, limits: AttachmentLimits, budget: _Budget) -> None:
    """Refuse before anything is decompressed: count, total size, per-entry and overall ratio."""
    if len(entries) > budget.entries_left:
        raise Refused(f"含{len(entries)}个文件，超过每封邮件{limits.max_entries}个的上限，未解压")
    total = sum(e.size for e in entries)
    if total > budget.bytes_left:
        raise Refused(f"解压后共{_size(total)}，超过每封邮件{_size(limits.max_total_bytes)}的上限，"
                      "疑似压缩炸弹，未解压")
    for e in entries:
        if e.packed is not None and e.size > RATIO_FLOOR and e.size > limits.max_ratio * max(e.packed, 1):
            raise Refused(f"中的《{e.name}》压缩比约为{e.size // max(e.packed, 1)}:1，超过{limits.max_ratio}:1的上限，"
                          "疑似压缩炸弹，未解压")
    # Solid 7z/RAR blocks give no per-entry packed size: judge the archive as a whole as well.
    if total > RATIO_FLOOR and total > limits.max_ratio * max(archive_bytes, 1):
        raise Refused(f"整体压缩比约为{total // max(archive_bytes, 1)}:1，超过{limits.max_ratio}:1的上限，"
                      "疑似压缩炸弹，未解压")
    budget.entries_left -= len(entries)
    budget.bytes_left -= total


def _size(n: int) -> str:
    return f"{n / 1024 ** 3:.1f}GB" if n >= 1024 ** 3 else f"{n / 1024 ** 2:.0f}MB" if n >= 1024 ** 2 \
        else f"{n / 1024:.0f}KB"


# -- ZIP: the standard library, with the names Chinese Windows tools write ---------------------------

def _open_zip(data: bytes, limits: AttachmentLimits, budget: _Budget) -> _Opened:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        log.info("bad zip: %s", exc)
        raise Refused("已损坏，无法打开") from None
    named = [(i, member_name(i)) for i in infos]
    named = [(i, n) for i, n in named if not _junk(n)]
    _check([_Entry(n, i.file_size, i.compress_size, bool(i.flag_bits & 0x1)) for i, n in named],
           len(data), limits, budget)
    opened = _Opened([], [], [])
    for info, name in named:
        parts = safe_parts(name)
        shown = "/".join(parts)
        if info.flag_bits & 0x1:
            opened.encrypted.append(shown)
            continue
        try:
            opened.members.append((parts, _inflate(zf, info)))
        except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError, ValueError) as exc:
            log.info("zip member %s unreadable: %s", name, exc)
            opened.broken.append(shown)
    return opened


def _inflate(zf: zipfile.ZipFile, info: zipfile.ZipInfo, chunk: int = 1024 * 1024) -> bytes:
    """A member, inflated a chunk at a time and never past its declared size (checked against the limits
    above). zf.read() asks zlib for up to 2 GB in one call: a member whose header lies about its size
    inflated to gigabytes before zipfile noticed."""
    out = bytearray()
    with zf.open(info) as member:
        while piece := member.read(chunk):
            out += piece
            if len(out) > info.file_size:
                raise ValueError(f"member inflates past its declared {info.file_size} bytes")
    return bytes(out)


def member_name(info: zipfile.ZipInfo) -> str:
    """The name as the sender saw it. Windows' Compressed Folders, WinRAR and 360压缩 write GBK names
    without the UTF-8 flag (bit 11); zipfile then decodes them as cp437, which we undo."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    unicode_path = _unicode_path_extra(info.extra, info.orig_filename.encode("cp437"))
    if unicode_path:
        return unicode_path
    for encoding in ("utf-8", "gb18030"):  # macOS Archive Utility writes UTF-8 without setting the flag
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("gb18030", errors="replace")  # left U+FFFD becomes a finding in mime


def _unicode_path_extra(extra: bytes, raw_name: bytes) -> str | None:
    pos = 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        body = extra[pos + 4: pos + 4 + size]
        pos += 4 + size
        if tag == _UNICODE_PATH_EXTRA and len(body) >= 5 and body[0] == 1:
            (crc,) = struct.unpack_from("<I", body, 1)
            if crc == binascii.crc32(raw_name):  # stale when a tool renamed the entry afterwards
                try:
                    return body[5:].decode("utf-8")
                except UnicodeDecodeError:
                    return None
    return None


def safe_parts(name: str) -> tuple[str, ...]:
    """Path components that can never climb out or start at the root: "../", "C:\\", "/etc" dropped."""
    pieces = [p for p in re.split(r"[/\\]+", name) if p not in ("", ".", "..")]
    if pieces and re.fullmatch(r"[A-Za-z]:", pieces[0]):
        pieces = pieces[1:]
    parts = tuple(safe_name(p) for p in pieces)
    return parts or ("未命名文件",)


def _junk(name: str) -> bool:
    pieces = [p.lower() for p in re.split(r"[/\\]+", name) if p]
    return not pieces or pieces[0] in _JUNK_FOLDERS or pieces[-1] in _JUNK_FILES or pieces[-1].startswith("._")


# -- 7z and RAR: external programs into a private folder ---------------------------------------------

def _open_with_7z(data: bytes, exe: str, limits: AttachmentLimits, budget: _Budget) -> _Opened:
    timeout = limits.convert_timeout.total_seconds()
    with tempfile.TemporaryDirectory(prefix="intake-7z-") as tmp:
        archive = Path(tmp) / "archive"
        archive.write_bytes(data)
        # "-p" with no password: an encrypted archive fails instead of waiting for one on a terminal.
        listing = _run_tool([exe, "l", "-slt", "-bd", "-p", "--", str(archive)], timeout)
        if listing.returncode != 0:
            text = (listing.stdout + listing.stderr).decode("utf-8", "replace")
            if "encrypted" in text.lower() or "password" in text.lower():
                raise Refused("设有密码（文件名也已加密），无法解压（请去除密码后重发）")
            raise Refused("已损坏或格式不受支持，无法解压")
        entries = [e for e in _parse_7z_listing(listing.stdout.decode("utf-8", "replace")) if not _junk(e.name)]
        _check(entries, len(data), limits, budget)
        out = Path(tmp) / "out"
        _run_tool([exe, "x", "-y", "-bd", "-p", f"-o{out}", "--", str(archive)], timeout, limits.max_total_bytes)
        opened = _collect(out, sum(e.size for e in entries), len(entries), limits,
                          skip={e.name for e in entries if e.encrypted})
        opened.encrypted = ["/".join(safe_parts(e.name)) for e in entries if e.encrypted]
        expected = {e.name for e in entries if not e.encrypted}
        got = {"/".join(p) for p, _ in opened.members}
        opened.broken = sorted("/".join(safe_parts(n)) for n in expected if "/".join(safe_parts(n)) not in got)
        return opened


def _open_with_unrar(data: bytes, exe: str, limits: AttachmentLimits, budget: _Budget) -> _Opened:
    timeout = limits.convert_timeout.total_seconds()
    with tempfile.TemporaryDirectory(prefix="intake-unrar-") as tmp:
        archive = Path(tmp) / "archive.rar"
        archive.write_bytes(data)
        out = Path(tmp) / "out"
        out.mkdir()
        # No listing step with sizes we trust here: unrar's output differs between versions. The limits
        # hold anyway: RLIMIT_FSIZE per file, then the total and count checked before anything is kept.
        done = _run_tool([exe, "x", "-p-", "-y", "-idq", str(archive), f"{out}{os.sep}"], timeout,
                         limits.max_total_bytes)
        opened = _collect(out, budget.bytes_left, budget.entries_left, limits, skip=set())
        budget.bytes_left -= sum(len(d) for _, d in opened.members)
        budget.entries_left -= len(opened.members)
        if done.returncode != 0 and not opened.members:
            raise Refused("已损坏、设有密码或格式不受支持，无法解压")
        if done.returncode != 0:
            opened.broken = ["部分文件"]
        return opened


def _run_tool(cmd: list[str], timeout: float, max_file_bytes: int | None = None):
    try:
        return run(cmd, timeout, max_file_bytes)
    except ToolFailed as exc:
        log.warning("%s", exc)
        raise Refused("解压超时或解压工具出错，未能解压") from None


def _parse_7z_listing(text: str) -> list[_Entry]:
    entries: list[_Entry] = []
    _, _, body = text.partition("\n----------\n")
    for block in body.split("\n\n"):
        fields = dict(line.split(" = ", 1) for line in block.splitlines() if " = " in line)
        if "Path" not in fields or fields.get("Folder") == "+" or fields.get("Attributes", "").startswith("D"):
            continue
        packed = fields.get("Packed Size", "").strip()
        entries.append(_Entry(fields["Path"], int(fields.get("Size") or 0), int(packed) if packed else None,
                              fields.get("Encrypted") == "+"))
    return entries


def _collect(folder: Path, max_bytes: int, max_entries: int, limits: AttachmentLimits, skip: set[str]) -> _Opened:
    """Regular files only, never following a link the archive planted; what really came out is held to
    what the listing promised (or to the budget), since a header may lie."""
    opened = _Opened([], [], [])
    total = 0
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            relative = path.relative_to(folder).as_posix()
            info = path.lstat()
            if not stat.S_ISREG(info.st_mode) or relative in skip or _junk(relative):
                if not stat.S_ISREG(info.st_mode):
                    log.info("archive entry %s is not a regular file: skipped", relative)
                continue
            total += info.st_size
            if total > max_bytes or len(opened.members) >= max_entries:
                raise Refused(f"解压后超过每封邮件{_size(limits.max_total_bytes)}或{limits.max_entries}个文件的上限，"
                              "疑似压缩炸弹，未解压")
            opened.members.append((safe_parts(relative), path.read_bytes()))
    return opened


# -- old Word documents ------------------------------------------------------------------------------

def _readable_doc(att: Attachment, limits: AttachmentLimits, tools: Tools) -> Attachment:
    if not tools.soffice:
        return replace(att, problem=Finding(
            Flag.UNREADABLE_ATTACHMENT,
            f"《{att.filename}》为旧版 Word 文件（.doc），本机未安装转换工具（LibreOffice），未能自动读取，原件已保存"))
    try:
        converted = doc_to_docx(att.data, tools.soffice, limits.convert_timeout.total_seconds())
    except ToolFailed as exc:
        if exc.timed_out:
            # LibreOffice stuck (a profile lock, a loaded machine) is a passing fault: the message waits.
            raise Transient(f"soffice: {exc}") from exc
        log.warning("%s: %s", att.filename, exc)
        return replace(att, problem=Finding(
            Flag.UNREADABLE_ATTACHMENT, f"《{att.filename}》为旧版 Word 文件（.doc），转换失败，未能自动读取，原件已保存"))
    if sniff(converted) != "docx":
        return replace(att, problem=Finding(
            Flag.UNREADABLE_ATTACHMENT, f"《{att.filename}》为旧版 Word 文件（.doc），转换结果无法读取，原件已保存"))
    return replace(att, readable=converted)
