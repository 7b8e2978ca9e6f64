"""Attachment names never become paths unsanitised; names stay unique per folder; writes are atomic."""
import os
import stat
import unicodedata
from pathlib import Path

import pytest

from pipeline.filing import (
    NAME_LIMIT,
    UniqueNames,
    current_umask,
    file_mode,
    inside,
    safe_name,
    touch_with_policy,
    write_atomic,
)


def _nbytes(name: str) -> int:
    return len(name.encode("utf-8"))


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\win.ini", "win.ini"),
    ("/abs/申请表.pdf", "申请表.pdf"),
    ("..", "未命名"),
    ("a:b*c?.pdf", "a_b_c_.pdf"),
    ("\x00\x1f.hidden", "__.hidden"),
    ("  申请表  .pdf ", "申请表 .pdf"),
    ("申请表\x85.pdf", "申请表_.pdf"),                 # C1 control (NEL)
    ("\x9b31m申请表.pdf", "_31m申请表.pdf"),           # C1 CSI
    ("photo\u202egpj.exe", "photogpj.exe"),          # right-to-left override shows "exe.jpg"
    ("申\u200b请\u200d表\ufeff.pdf", "申请表.pdf"),
    ("\u2066a\u2069\u200e\u200f\u061c.pdf", "a.pdf"),
    ("\u200b..", "未命名"),
    (". 申请表 .", "申请表"),
])
def test_safe_name(name, expected):
    assert safe_name(name) == expected


@pytest.mark.parametrize("name, expected", [
    ("CON", "_CON"),
    ("con.pdf", "_con.pdf"),
    ("Nul.tar.gz", "_Nul.tar.gz"),
    ("aux .txt", "_aux .txt"),
    ("COM1.docx", "_COM1.docx"),
    ("lpt9", "_lpt9"),
    ("COM¹.pdf", "_COM¹.pdf"),
    ("CONSOLE.pdf", "CONSOLE.pdf"),
    ("COM10.pdf", "COM10.pdf"),
    ("我的CON.pdf", "我的CON.pdf"),
])
def test_windows_device_names_are_not_used(name, expected):
    assert safe_name(name) == expected


def test_safe_name_keeps_the_fallback():
    assert safe_name("??", "附件") == "附件"
    assert safe_name("", fallback="附件") == "附件"


def test_long_chinese_names_fit_in_bytes_and_keep_their_extension():
    name = safe_name("长" * 108 + ".pdf")    # 328 bytes: refused by ext4 as it is
    assert _nbytes(name) <= NAME_LIMIT and name.endswith(".pdf")
    assert name == "长" * 58 + ".pdf"        # 174 + 4 bytes: the next 3-byte character would not fit


def test_long_names_are_never_cut_inside_a_character():
    for pad in range(4):   # every alignment of 3- and 4-byte characters against the limit
        name = safe_name("a" * pad + "表😀" * 60 + ".xlsx")
        assert _nbytes(name) <= NAME_LIMIT and name.endswith(".xlsx")
        name.encode("utf-8").decode("utf-8")


def test_long_names_without_extension_are_cut_in_bytes():
    name = safe_name("说明" * 100)
    assert name == "说明" * 30     # exactly 180 bytes


def test_limit_bytes_is_configurable():
    assert _nbytes(safe_name("表" * 100 + ".pdf", limit_bytes=64)) <= 64
    assert safe_name("a" * 20 + ".pdf", limit_bytes=10) == "a" * 6 + ".pdf"


def test_a_long_extension_is_part_of_the_name():
    name = safe_name("报告." + "x" * 300)
    assert _nbytes(name) <= NAME_LIMIT and name.startswith("报告.x")


@pytest.mark.parametrize("name", ["../a.pdf", "CON.pdf", "长" * 300 + ".pdf", "  .x. ", "a\u202e:b",
                                  "e\u0301.pdf", "表😀" * 80])
def test_safe_name_is_stable(name):
    once = safe_name(name)
    assert safe_name(once) == once


def test_unique_names_number_names_that_sanitise_alike():
    names = UniqueNames()
    assert names.claim("汇总:表.pdf") == "汇总_表.pdf"
    assert names.claim("汇总?表.pdf") == "汇总_表 (2).pdf"
    assert names.claim("汇总*表.pdf") == "汇总_表 (3).pdf"
    assert names.claim("其他.pdf") == "其他.pdf"


def test_unique_names_treat_nfc_nfd_and_case_as_one_name():
    names = UniqueNames()
    nfc = "Résumé.PDF"
    assert names.claim(nfc) == nfc
    assert names.claim(unicodedata.normalize("NFD", nfc)) == "Résumé (2).PDF"
    assert names.claim("résumé.pdf") == "résumé (3).pdf"
    assert "RÉSUMÉ (2).pdf" in names


def test_unique_names_do_not_collide_with_their_own_numbering():
    names = UniqueNames()
    assert names.claim("a.pdf") == "a.pdf"
    assert names.claim("a (2).pdf") == "a (2).pdf"
    assert names.claim("a.pdf") == "a (3).pdf"
    assert names.claim("A (3).pdf") == "A (3) (2).pdf"


def test_unique_names_stay_within_the_byte_limit():
    names = UniqueNames()
    claimed = [names.claim("长" * 108 + ".pdf") for _ in range(12)]
    assert len({n.casefold() for n in claimed}) == 12
    assert all(_nbytes(n) <= NAME_LIMIT and n.endswith(".pdf") for n in claimed)
    assert claimed[11].endswith(" (12).pdf")


def test_unique_names_are_per_instance():
    assert UniqueNames().claim("a.pdf") == UniqueNames().claim("a.pdf") == "a.pdf"


def test_inside_never_leaves_the_root(tmp_path):
    p = inside(tmp_path, "推荐单位", "../../x", "..")
    assert tmp_path.resolve() in p.resolve().parents


def test_inside_does_not_cut_a_prefixed_unique_name(tmp_path):
    # A caller puts "20190912-1000_M12_" before a claimed name: the number must survive inside().
    names = UniqueNames()
    prefix = "20190912-1000_M12_"
    first, second = (prefix + names.claim("长" * 108 + ".pdf") for _ in range(2))
    assert inside(tmp_path, first) != inside(tmp_path, second)
    assert inside(tmp_path, second).name == second


def test_write_atomic_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "a" / "b.txt"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["b.txt"]


def test_write_atomic_accepts_a_long_chinese_name(tmp_path):
    target = tmp_path / ("20190912-1000_M12_" + safe_name("长" * 108 + ".pdf"))
    assert write_atomic(target, b"x").read_bytes() == b"x"


@pytest.fixture
def umask():
    """Set the process umask for one test, restored afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


needs_proc_umask = pytest.mark.skipif(
    not Path("/proc/self/status").exists() or "Umask:" not in Path("/proc/self/status").read_text(),
    reason="the umask is read once at import where /proc/self/status has no Umask line")


@needs_proc_umask
@pytest.mark.parametrize("mask, expected", [(0o027, 0o640), (0o002, 0o664), (0o022, 0o644)])
def test_written_files_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    assert current_umask() == mask
    assert file_mode() == expected
    written = write_atomic(tmp_path / "sub" / "a.xlsx", b"data")
    assert _mode(written) == expected
    assert _mode(written.parent) == 0o777 & ~mask   # folders: mkdir, the same umask
    touched = tmp_path / "ledger.sqlite"
    touch_with_policy(touched)
    assert _mode(touched) == expected


@needs_proc_umask
def test_rewriting_a_file_applies_the_policy(tmp_path, umask):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    target.chmod(0o600)
    umask(0o002)
    write_atomic(target, b"new")
    assert _mode(target) == 0o664


def test_touch_with_policy_leaves_an_existing_file_alone(tmp_path):
    target = tmp_path / "ledger.sqlite"
    target.write_bytes(b"SQLite format 3\x00")
    target.chmod(0o600)
    touch_with_policy(target)
    assert target.read_bytes() == b"SQLite format 3\x00" and _mode(target) == 0o600
