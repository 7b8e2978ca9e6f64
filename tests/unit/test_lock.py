"""One pass at a time: the lock excludes other processes and other PassLocks, names its holder, and
never outlives a killed holder."""
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.lock import LOCK_NAME, Busy, Holder, PassLock, read_holder

ROOT = Path(__file__).resolve().parents[2]

# Takes the lock, says so on stdout, and keeps it until its stdin closes (or it is killed).
CHILD = """
import sys
from pathlib import Path
from pipeline.lock import PassLock
with PassLock(Path(sys.argv[1]), "intake run").acquire():
    print("held", flush=True)
    sys.stdin.read()
"""


class Child:
    """Another process holding the lock on folder, until let go or killed."""

    def __init__(self, folder: Path):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, str(folder)], cwd=ROOT, env=env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if line != "held\n":
            self.proc.kill()
            raise AssertionError(f"child did not take the lock: {line!r} {self.proc.stderr.read()}")
        self.pid = self.proc.pid

    def let_go(self) -> None:
        self.proc.stdin.close()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            stream.close()


@pytest.fixture
def child(tmp_path):
    started: list[Child] = []

    def start(folder: Path = tmp_path) -> Child:
        started.append(Child(folder))
        return started[-1]

    yield start
    for c in started:
        c.close()


def test_a_held_lock_names_its_holder(tmp_path, child):
    holder = child()
    with pytest.raises(Busy) as caught:
        PassLock(tmp_path, "intake poll --once").acquire(wait=False)
    assert caught.value.holder is not None
    assert caught.value.holder.pid == holder.pid
    assert caught.value.holder.command == "intake run"
    assert f"PID {holder.pid}" in str(caught.value) and "另一个处理进程正在运行" in str(caught.value)


def test_a_killed_holder_never_blocks(tmp_path, child):
    holder = child()
    holder.kill()
    # Its record is still in the file; only the kernel's answer counts.
    assert read_holder(tmp_path / LOCK_NAME).pid == holder.pid
    lock = PassLock(tmp_path, "intake poll --once").acquire(wait=False)
    try:
        assert read_holder(tmp_path / LOCK_NAME).pid == os.getpid()
    finally:
        lock.release()


def test_waiting_tells_who_it_waits_for_then_takes_the_lock(tmp_path, child):
    holder = child()
    seen: list[Holder | None] = []

    def on_wait(h: Holder | None) -> None:
        seen.append(h)
        holder.let_go()   # only now: the wait must begin while the lock is still held

    with PassLock(tmp_path, "intake retry M19").acquire(wait=True, on_wait=on_wait, timeout=60) as lock:
        assert lock.held
        assert read_holder(tmp_path / LOCK_NAME).command == "intake retry M19"
    assert [h.pid for h in seen] == [holder.pid]


def test_waiting_without_a_timeout_blocks_until_free(tmp_path, child):
    holder = child()
    seen: list[Holder | None] = []

    def on_wait(h: Holder | None) -> None:
        seen.append(h)
        holder.let_go()

    with PassLock(tmp_path, "intake poll --once").acquire(wait=True, on_wait=on_wait):
        pass
    assert len(seen) == 1 and seen[0].pid == holder.pid


def test_a_wait_that_times_out_is_busy(tmp_path, child):
    holder = child()
    seen: list[Holder | None] = []
    with pytest.raises(Busy) as caught:
        PassLock(tmp_path, "intake poll --once").acquire(wait=True, on_wait=seen.append, timeout=0)
    assert caught.value.holder.pid == holder.pid and len(seen) == 1
    assert "已等待" in str(caught.value)


def test_two_locks_in_one_process_exclude_each_other(tmp_path):
    first = PassLock(tmp_path, "intake run")
    second = PassLock(tmp_path, "intake poll --once")
    with first:
        with pytest.raises(Busy) as caught:
            second.acquire()
        assert caught.value.holder == read_holder(tmp_path / LOCK_NAME)
        assert caught.value.holder.command == "intake run"
    with second, pytest.raises(Busy):
        first.acquire()


def test_release_keeps_the_file_and_clears_the_record(tmp_path):
    with PassLock(tmp_path, "intake run"):
        assert read_holder(tmp_path / LOCK_NAME) is not None
    assert (tmp_path / LOCK_NAME).exists()
    assert read_holder(tmp_path / LOCK_NAME) is None
    PassLock(tmp_path, "intake run").release()   # releasing what is not held is harmless


def test_acquiring_twice_with_one_object_is_a_mistake(tmp_path):
    lock = PassLock(tmp_path, "intake run").acquire()
    try:
        with pytest.raises(RuntimeError):
            lock.acquire()
    finally:
        lock.release()


def test_the_folder_is_made_and_the_file_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        with PassLock(tmp_path / "output", "intake run"):
            pass
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "output" / LOCK_NAME).stat().st_mode) == 0o640


@pytest.mark.parametrize("data", [b"", b"{", b"not json", b'{"pid": "x", "command": 1, "since": 2}', b"[1]",
                                  b'{"pid": 1}', b"\xff\xfe"])
def test_an_unreadable_record_is_no_holder(data):
    assert Holder.parse(data) is None


def test_busy_without_a_holder_still_says_what_happened():
    assert str(Busy(None)) == "另一个处理进程正在运行 / another pass is running"
    text = str(Busy(Holder(1234, "intake run", "2019-09-12 10:00:00+08:00")))
    assert text == ("另一个处理进程正在运行（PID 1234，intake run，始于 2019-09-12 10:00:00+08:00）"
                    "/ another pass is running (PID 1234)")
