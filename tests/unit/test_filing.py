"""Attachment names never become paths unsanitised; writes are atomic."""
from pathlib import Path

import pytest

from pipeline.filing import inside, safe_name, write_atomic


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\Windows\\win.ini", "win.ini"),
    ("/abs/申请表.pdf", "申请表.pdf"),
    ("..", "未命名"),
    ("a:b*c?.pdf", "a_b_c_.pdf"),
    ("\x00\x1f.hidden", "__.hidden"),
    ("  申请表  .pdf ", "申请表 .pdf"),
])
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_long_names_keep_their_extension():
    name = safe_name("长" * 300 + ".pdf")
    assert len(name) <= 120 and name.endswith(".pdf")


def test_inside_never_leaves_the_root(tmp_path):
    p = inside(tmp_path, "推荐单位", "../../x", "..")
    assert tmp_path.resolve() in p.resolve().parents


def test_write_atomic_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "a" / "b.txt"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["b.txt"]
