"""Which failures pass (retried later) and which are defects (a person looks now)."""
import errno
import sqlite3
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta

import pytest

from pipeline.faults import (
    Failure,
    Transient,
    describe,
    is_storage_fault,
    is_transient,
    storage_text,
)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EIO, errno.ENAMETOOLONG])
def test_storage_errors_of_the_system_pass(code):
    assert is_transient(OSError(code, "x"))


def test_a_locked_ledger_and_a_dead_worker_pass():
    assert is_transient(sqlite3.OperationalError("database is locked"))
    assert is_transient(BrokenProcessPool("a child process terminated abruptly"))
    assert is_transient(Transient("soffice timed out"))


def test_a_cause_that_passes_makes_the_failure_pass():
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("writing the table failed") from inner
    except RuntimeError as outer:
        assert is_transient(outer)


@pytest.mark.parametrize("exc", [ValueError("bad header"), KeyError("x"),
                                 UnicodeEncodeError("utf-8", "\udc80", 0, 1, "surrogates"),
                                 OSError(errno.ENOENT, "no such file"), sqlite3.IntegrityError("UNIQUE")])
def test_defects_do_not_pass(exc):
    assert not is_transient(exc)


def test_a_failure_keeps_its_traceback_and_a_one_line_error():
    try:
        raise ValueError("line one\nline two")
    except ValueError as exc:
        failure = Failure.of("parse", exc)
    assert failure.step == "parse" and not failure.transient
    assert failure.error == "ValueError: line one line two"
    assert "Traceback" in failure.traceback and "raise ValueError" in failure.traceback
    assert len(describe(ValueError("x" * 1000))) <= 300


def test_storage_faults_say_what_in_chinese():
    assert is_storage_fault(OSError(errno.EROFS, "Read-only file system"))
    assert storage_text(OSError(errno.EROFS, "Read-only file system")) == "文件系统只读"
    assert storage_text(sqlite3.OperationalError("attempt to write a readonly database")) == "台账文件只读"
    assert storage_text(OSError(errno.ENOSPC, "No space")) == "磁盘已满"
    assert not is_storage_fault(ValueError("x"))


@pytest.mark.office
def test_libreoffice_timing_out_on_a_doc_is_a_passing_fault(tmp_path):
    from dataclasses import replace

    from pipeline.config import AttachmentLimits
    from pipeline.mail.tools import Tools
    from pipeline.mail.unpack import expand
    from pipeline.model import Attachment

    slow = tmp_path / "soffice"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    limits = replace(AttachmentLimits(), convert_timeout=timedelta(seconds=1))
    doc = Attachment("申请表.doc", "application/msword", b"\xd0\xcf\x11\xe0" + b"\0" * 512, sniffed="doc")
    with pytest.raises(Transient, match="timed out"):
        expand([doc], limits, Tools(soffice=str(slow)))


def test_an_ocr_worker_that_died_under_a_page_makes_the_message_wait(monkeypatch):
    from pipeline.read import document
    from pipeline.read.ocr import Failed, OcrPool

    monkeypatch.setattr(OcrPool, "read", lambda self, jobs: [Failed("第1页文字识别时进程意外退出", transient=True)
                                                             for _ in jobs])
    scan = document._Scan(None, "pdf", {}, [0])
    with pytest.raises(Transient):
        document._ocr(OcrPool(), [(scan, 0)], 200)
