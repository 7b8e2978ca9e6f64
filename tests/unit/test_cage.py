"""The cage: a child that runs out of memory or time is stopped, and its caller learns why."""
from __future__ import annotations

import os
import time

import pytest

from pipeline.cage import CageError, Limits, run

SMALL = Limits(memory=1024 * 1024 * 1024, seconds=10)


def eat_memory() -> int:
    return len(bytearray(4 * 1024 * 1024 * 1024))


def sleep_and_say_pid(path: str) -> None:
    with open(path, "w") as out:
        out.write(str(os.getpid()))
    time.sleep(60)


def spin() -> None:
    while True:
        pass


def wait_then_answer(seconds: float) -> str:
    time.sleep(seconds)
    return "read"


def fail() -> None:
    raise ValueError("a reader's own error")


def big(n: int) -> bytes:
    return b"x" * n


def test_a_child_past_its_memory_is_stopped():
    with pytest.raises(CageError) as caught:
        run(eat_memory, limits=SMALL)
    assert caught.value.kind == "memory" and "内存上限" in caught.value.text


def test_a_child_past_its_time_is_killed_and_gone(tmp_path):
    pid_file = tmp_path / "pid"
    with pytest.raises(CageError) as caught:
        run(sleep_and_say_pid, str(pid_file), limits=Limits(SMALL.memory, 1))
    assert caught.value.kind == "time" and "处理时限" in caught.value.text
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_childs_exception_comes_back_as_it_was():
    with pytest.raises(ValueError, match="a reader's own error"):
        run(fail, limits=SMALL)


def test_a_large_result_comes_back_whole():
    assert run(big, 50 * 1024 * 1024, limits=SMALL) == b"x" * 50 * 1024 * 1024


def test_a_child_that_dies_is_said_so():
    with pytest.raises(CageError) as caught:
        run(os.abort, limits=SMALL)
    assert caught.value.kind == "died" and "SIGABRT" in caught.value.text


def test_a_child_that_works_past_its_cpu_time_is_stopped_however_patient_the_clock():
    started = time.monotonic()
    with pytest.raises(CageError) as caught:
        run(spin, limits=Limits(SMALL.memory, 1, patience=30))
    assert caught.value.kind == "time" and "处理时限" in caught.value.text
    assert time.monotonic() - started < 25, "stopped by its CPU time, not by the wall clock"


def test_a_child_slowed_by_a_busy_machine_is_not_blamed_for_it():
    # Waiting (for the CPU on a loaded machine, here for the clock) uses no CPU time: within its patience
    # a slow child finishes; past it, it is stopped.
    assert run(wait_then_answer, 1.5, limits=Limits(SMALL.memory, 1, patience=4)) == "read"
    with pytest.raises(CageError) as caught:
        run(wait_then_answer, 1.5, limits=Limits(SMALL.memory, 1))
    assert caught.value.kind == "time"
