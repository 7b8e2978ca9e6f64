"""The real type of an attachment, from its bytes: mail clients label PDFs octet-stream and worse."""
from __future__ import annotations

import io
import re
import zipfile

import olefile

# Header lines an .eml file starts with; QQ Mail and Coremail attach forwarded mail as octet-stream.
_EML_HEAD = re.compile(rb"^(?:(?:[A-Za-z][A-Za-z0-9-]*:[^\r\n]*|[ \t][^\r\n]*)\r?\n){2,}", re.S)
_EML_NEEDS = (b"\nfrom:", b"\nsubject:", b"\ndate:", b"\nmessage-id:", b"\nmime-version:")


def sniff(data: bytes) -> str:
    """pdf, docx, xlsx, pptx, zip, jpeg, png, gif, tiff, bmp, doc, xls, ppt, msg, encrypted, ole, tnef,
    rar, 7z, gzip, eml or unknown."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data.startswith(b"BM") and data[6:10] == b"\0\0\0\0":  # two letters alone would match text
        return "bmp"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return _ole_kind(data)
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data)
    # Some PDF writers put a few bytes (or a BOM) before the header; readers accept it within 1 KiB.
    # Only after the containers: a winmail.dat or a stored ZIP holds a PDF near its start.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if _looks_like_eml(data[:16384]):  # Received: lines can fill the first kilobytes
        return "eml"
    return "unknown"


_MAGIC = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x78\x9f\x3e\x22", "tnef"),  # Outlook's winmail.dat (application/ms-tnef), signature 0x223E9F78
    (b"Rar!\x1a\x07", "rar"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b", "gzip"),
)


def _ole_kind(data: bytes) -> str:
    """Old Office files, Outlook .msg items and password-protected OOXML all share the OLE container."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            streams = {"/".join(s).lower() for s in ole.listdir()}
    except (OSError, ValueError, IndexError, TypeError):  # olefile's errors on a broken container
        return "ole"
    if "encryptedpackage" in streams:  # a .docx/.xlsx saved with a password (MS-OFFCRYPTO)
        return "encrypted"
    if "worddocument" in streams:
        return "doc"
    if "workbook" in streams or "book" in streams:
        return "xls"
    if "powerpoint document" in streams:
        return "ppt"
    if any(s.startswith("__substg1.0_") for s in streams):
        return "msg"
    return "ole"


def _zip_kind(data: bytes) -> str:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return "zip"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "ppt/presentation.xml" in names:
        return "pptx"
    return "zip"


def _looks_like_eml(head: bytes) -> bool:
    m = _EML_HEAD.match(head)
    if not m:
        return False
    block = b"\n" + m.group(0).lower()
    return sum(key in block for key in _EML_NEEDS) >= 2
