"""A DOCX or XLSX container looked over before any parser opens it: how many parts, how big inflated, how
large its sheets claim to be. A 4.9 KB XLSX merging A1:J400000 costs openpyxl gigabytes; a few hundred
KB of DOCX inflate to gigabytes of XML."""
from __future__ import annotations

import io
import re
import zipfile
import zlib

from ..config import AttachmentLimits

CHUNK = 1024 * 1024
# The parts of a Word or Excel file, all of them together, inflated: far beyond any real form.
MAX_INFLATED = 200 * 1024 * 1024
MAX_PARTS = 2000
_SHEET = re.compile(r"xl/worksheets/[^/]+\.xml$", re.I)
_REF = re.compile(rb'<(dimension|mergeCell)\b[^>]*?\bref="([A-Z]{1,3})(\d{1,7}):([A-Z]{1,3})(\d{1,7})"')


def check(data: bytes, limits: AttachmentLimits) -> str | None:
    """Why the file must not be parsed, in Chinese; None when it may be."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return f"文件已损坏，无法打开（{type(exc).__name__}）"
    if len(infos) > MAX_PARTS:
        return f"内含{len(infos)}个部件，超过{MAX_PARTS}个的上限"
    inflated = 0
    for info in infos:
        cells = 0
        try:
            with zf.open(info) as part:
                tail = b""
                while chunk := part.read(CHUNK):
                    inflated += len(chunk)
                    if inflated > MAX_INFLATED:
                        return f"解压后超过{MAX_INFLATED // 1024 // 1024}MB，疑似压缩炸弹"
                    if _SHEET.search(info.filename):
                        cells += _area(tail + chunk)
                        if cells > limits.max_cells:
                            return f"工作表区域（含合并单元格）超过{limits.max_cells}个单元格的上限"
                        tail = chunk[-256:]   # a tag cut at the chunk's end is seen whole next time
        except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError, ValueError) as exc:
            return f"文件已损坏，无法打开（{type(exc).__name__}）"
    return None


def _area(xml: bytes) -> int:
    """Cells the dimension and merged ranges in this piece of sheet XML cover (a tag in the overlap may
    count twice: the bound is about orders of magnitude, not exact counts)."""
    total = 0
    for _tag, c0, r0, c1, r1 in _REF.findall(xml):
        total += (abs(_column(c1) - _column(c0)) + 1) * (abs(int(r1) - int(r0)) + 1)
    return total


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - ord("A") + 1
    return n


_MEDIA = re.compile(r"(word|xl)/media/[^/]+$", re.I)
# Below this an image is a logo or a signature, not a page someone photographed.
MIN_PHOTO = 30 * 1024


def largest_image(data: bytes) -> bytes | None:
    """The largest picture inside a Word or Excel file (a phone photo of a form pasted into a DOCX),
    when there is one big enough to be a page. The container was check()ed first: its parts are bounded."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        media = [i for i in zf.infolist() if _MEDIA.search(i.filename) and i.file_size >= MIN_PHOTO]
        return zf.read(max(media, key=lambda i: i.file_size)) if media else None
    except (zipfile.BadZipFile, NotImplementedError, zlib.error, EOFError, OSError, ValueError):
        return None
