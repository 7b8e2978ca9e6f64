"""Archives opened within limits, names made safe, old formats converted or flagged; the limits configurable."""
from __future__ import annotations

import binascii
import io
import os
import shutil
import struct
import subprocess
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from pipeline.config import AttachmentLimits, ConfigError, from_mapping
from pipeline.mail.tools import Tools
from pipeline.mail.unpack import expand, member_name, safe_parts
from pipeline.model import Attachment, DocKind, Flag
from pipeline.read.document import Forms, read_attachment
from pipeline.read.sniff import sniff

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "samples"
LETTER = (SAMPLES / "letter-edu.pdf").read_bytes()
FORM = (SAMPLES / "form-sdut-continuing-edu.docx").read_bytes()
NO_TOOLS = Tools()
SEVEN = Tools(sevenzip=shutil.which("7z"))


def zipped(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def attachment(name: str, data: bytes) -> Attachment:
    return Attachment(name, "application/octet-stream", data, sniff(data))


def names(atts) -> list[str]:
    return [a.filename for a in atts]


def test_members_become_attachments_named_by_their_path_with_sniffed_types():
    out = expand([attachment("材料.zip", zipped({"申报/推荐函.pdf": LETTER, "申报/表/申请表.docx": FORM}))],
                 AttachmentLimits(), NO_TOOLS)
    assert [(a.filename, a.sniffed, a.data) for a in out] == [
        ("材料.zip/申报/推荐函.pdf", "pdf", LETTER), ("材料.zip/申报/表/申请表.docx", "docx", FORM)]
    assert all(a.problem is None for a in out)


def _info(raw_name: bytes, flags: int = 0, extra: bytes = b"") -> zipfile.ZipInfo:
    # How zipfile presents an entry whose name bytes carry no UTF-8 flag: decoded as cp437.
    info = zipfile.ZipInfo(raw_name.decode("cp437"))
    info.orig_filename = info.filename
    info.flag_bits, info.extra = flags, extra
    return info


def test_member_names_gbk_without_the_utf8_flag_utf8_without_it_and_the_unicode_path_field():
    assert member_name(_info("申报材料/申请表.pdf".encode("gbk"))) == "申报材料/申请表.pdf"
    assert member_name(_info("申请表.pdf".encode())) == "申请表.pdf"   # macOS Archive Utility
    assert member_name(_info(b"plain.pdf")) == "plain.pdf"
    raw = "坏名.pdf".encode("gbk")
    body = b"\x01" + struct.pack("<I", binascii.crc32(raw)) + "申请表（终稿）.pdf".encode()
    extra = struct.pack("<HH", 0x7075, len(body)) + body
    assert member_name(_info(raw, extra=extra)) == "申请表（终稿）.pdf"


def test_member_names_never_become_paths_out_of_anywhere():
    assert safe_parts("../../../etc/cron.d/x.pdf") == ("etc", "cron.d", "x.pdf")
    assert safe_parts("/tmp/a.pdf") == ("tmp", "a.pdf")
    assert safe_parts("C:\\Users\\..\\a.pdf") == ("Users", "a.pdf")
    assert safe_parts("..") == ("未命名文件",)
    assert all(".." not in p and "/" not in p and "\\" not in p for p in safe_parts('a/..\\b:"c|d?/e'))


def test_zip_bomb_by_ratio_is_refused_unopened_and_kept():
    bomb = zipped({"zeros.bin": bytes(20 * 1024 * 1024)})
    assert len(bomb) < 100_000
    (kept,) = expand([attachment("佐证材料.zip", bomb)], AttachmentLimits(), NO_TOOLS)
    assert kept.data == bomb and kept.problem.flag is Flag.UNREADABLE_ATTACHMENT
    assert "压缩炸弹" in kept.problem.detail and "100:1" in kept.problem.detail
    assert "《佐证材料.zip》" in kept.problem.detail and "原件已保存" in kept.problem.detail


def test_total_size_and_entry_count_span_all_the_archives_of_a_message():
    noise = os.urandom(300 * 1024)
    limits = AttachmentLimits(max_total_bytes=1024 * 1024, max_entries=5)
    first = attachment("a.zip", zipped({"1.bin": noise, "2.bin": noise}, zipfile.ZIP_STORED))
    second = attachment("b.zip", zipped({"3.bin": noise, "4.bin": noise}, zipfile.ZIP_STORED))
    out = expand([first, second], limits, NO_TOOLS)
    assert names(out) == ["a.zip/1.bin", "a.zip/2.bin", "b.zip"]
    assert "1MB" in out[-1].problem.detail
    many = attachment("c.zip", zipped({f"{i}.txt": b"x" for i in range(6)}))
    (kept,) = expand([many], limits, NO_TOOLS)
    assert "6个文件" in kept.problem.detail and "5个" in kept.problem.detail


def test_nesting_deeper_than_the_limit_is_kept_with_a_reason():
    inner = zipped({"申请表.pdf": LETTER})
    for level in range(3):
        inner = zipped({f"level{level}.zip": inner})
    out = expand([attachment("top.zip", inner)], AttachmentLimits(max_depth=3), NO_TOOLS)
    (kept,) = out
    assert kept.filename == "top.zip/level2.zip/level1.zip/level0.zip"
    assert "第4层" in kept.problem.detail and "3层" in kept.problem.detail
    out = expand([attachment("top.zip", inner)], AttachmentLimits(max_depth=4), NO_TOOLS)
    assert names(out) == ["top.zip/level2.zip/level1.zip/level0.zip/申请表.pdf"]


def test_corrupt_zip_and_desktop_junk():
    (kept,) = expand([Attachment("坏.zip", "application/zip", b"PK\x03\x04broken", "zip")], AttachmentLimits(), NO_TOOLS)
    assert "已损坏" in kept.problem.detail
    out = expand([attachment("m.zip", zipped({"__MACOSX/._a.pdf": b"x", "a/.DS_Store": b"x", "a/Thumbs.db": b"x",
                                               "a/申请表.pdf": LETTER}))], AttachmentLimits(), NO_TOOLS)
    assert names(out) == ["m.zip/a/申请表.pdf"]


def test_seven_zip_and_rar_without_a_tool_are_kept_and_flagged():
    for name, head in (("a.7z", b"7z\xbc\xaf\x27\x1c\x00\x04"), ("a.rar", b"Rar!\x1a\x07\x01\x00")):
        (kept,) = expand([attachment(name, head + bytes(32))], AttachmentLimits(), NO_TOOLS)
        assert kept.problem.flag is Flag.UNREADABLE_ATTACHMENT and "未安装解压工具" in kept.problem.detail


def test_tools_found_only_among_those_allowed():
    assert Tools.installed([]) == Tools()
    assert Tools.installed(["7z"]).soffice is None


def seven(tmp_path: Path, files: dict[str, bytes], *args: str) -> bytes:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    for name, data in files.items():
        (src / name).write_bytes(data)
    archive = tmp_path / "a.7z"
    subprocess.run(["7z", "a", "-bd", "-y", *args, str(archive), *files], cwd=src, check=True,
                   stdout=subprocess.DEVNULL)
    return archive.read_bytes()


def test_seven_zip_is_opened_with_the_installed_7z(tmp_path):
    data = seven(tmp_path, {"推荐函.pdf": LETTER, "申请表.docx": FORM})
    out = expand([attachment("申报.7z", data)], AttachmentLimits(), SEVEN)
    assert sorted((a.filename, a.data) for a in out) == [("申报.7z/推荐函.pdf", LETTER), ("申报.7z/申请表.docx", FORM)]


def test_solid_seven_zip_bomb_and_encrypted_names_are_refused(tmp_path):
    bomb = seven(tmp_path, {"zeros.bin": bytes(30 * 1024 * 1024)})
    (kept,) = expand([attachment("b.7z", bomb)], AttachmentLimits(), SEVEN)
    assert "压缩炸弹" in kept.problem.detail and kept.data == bomb
    (tmp_path / "h").mkdir()
    hidden = seven(tmp_path / "h", {"申请表.pdf": LETTER}, "-psecret", "-mhe=on")
    (kept,) = expand([attachment("h.7z", hidden)], AttachmentLimits(), SEVEN)
    assert "密码" in kept.problem.detail


def test_a_link_planted_in_an_archive_is_not_followed(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "申请表.pdf").write_bytes(LETTER)
    (src / "passwd.pdf").symlink_to("/etc/passwd")
    subprocess.run(["7z", "a", "-bd", "-y", "-snl", str(tmp_path / "l.7z"), "申请表.pdf", "passwd.pdf"], cwd=src,
                   check=True, stdout=subprocess.DEVNULL)
    out = expand([attachment("l.7z", (tmp_path / "l.7z").read_bytes())], AttachmentLimits(), SEVEN)
    assert all(b"root:" not in a.data for a in out)
    assert ("l.7z/申请表.pdf", LETTER) in [(a.filename, a.data) for a in out]


DOC = ROOT / "tests" / "data" / "corpus" / "files" / "form-sdut-continuing-edu.doc"


def test_old_doc_without_a_converter_is_flagged_and_kept():
    data = DOC.read_bytes()
    assert sniff(data) == "doc"
    (att,) = expand([attachment("申请表.doc", data)], AttachmentLimits(), NO_TOOLS)
    assert att.data == data and not att.readable and "LibreOffice" in att.problem.detail


@pytest.mark.office
def test_old_doc_is_read_through_libreoffice_when_installed_else_flagged():
    # LibreOffice is not a test dependency: where it is installed the conversion is checked for real,
    # where it is not, the documented fallback is.
    data = DOC.read_bytes()
    tools = Tools.installed(["soffice"])
    (att,) = expand([attachment("申请表-山东理工职业学院继续教育学院.doc", data)],
                    AttachmentLimits(convert_timeout=timedelta(minutes=3)), tools)
    doc = read_attachment(att, Forms.load(ROOT / "templates"))
    assert doc.data == data  # the original is what gets filed
    if tools.soffice:
        assert sniff(att.readable) == "docx" and att.problem is None
        assert doc.kind is DocKind.FORM and doc.fields["unit_name"] == "山东理工职业学院继续教育学院"
    else:
        assert doc.problem.flag is Flag.UNREADABLE_ATTACHMENT


def test_sniff_old_office_and_containers_from_bytes():
    assert sniff(DOC.read_bytes()) == "doc"
    assert sniff(b"\x78\x9f\x3e\x22\x01\x00" + b"%PDF-1.4") == "tnef"   # a PDF inside winmail.dat is not a PDF
    assert sniff(b"\xef\xbb\xbf%PDF-1.7\n") == "pdf"
    assert sniff(b"Received: by x\r\nFrom: a@b.cn\r\nSubject: s\r\n\r\nbody") == "eml"
    assert sniff(b"Note: one\nOther: two\n") == "unknown"
    assert sniff(b"BMP is not a bitmap") == "unknown"


def test_limits_are_read_from_inbox_rules_with_defaults_and_clear_errors():
    import yaml
    data = yaml.safe_load((ROOT / "inbox_rules.yaml").read_text(encoding="utf-8"))
    data["attachments"] = {"max_total_size": "50MB", "max_entries": 20, "max_ratio": 40, "max_depth": 1,
                           "converters": ["7z"], "convert_timeout": "30s"}
    limits = from_mapping(data, ROOT, environ={}).attachments
    assert limits == AttachmentLimits(50 * 1024 * 1024, 20, 40, 1, ("7z",), timedelta(seconds=30))
    del data["attachments"]
    assert from_mapping(data, ROOT, environ={}).attachments == AttachmentLimits()
    for key, bad in (("max_total_size", "lots"), ("converters", ["winrar"]), ("max_ratio", 0)):
        data["attachments"] = {key: bad}
        with pytest.raises(ConfigError) as err:
            from_mapping(data, ROOT, environ={})
        assert "attachments" in err.value.key
