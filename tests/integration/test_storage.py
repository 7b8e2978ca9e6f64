"""Storage faults are one clear line from every command, and only one pass runs at a time."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import RULES, deliver_samples, make_config
from disks import fill, read_only, small_disk

COMMANDS = [("poll", "--once"), ("review",), ("export", "--format", "json"), ("report",), ("retry", "--failed"),
            ("review", "set", "A1", "--status", "accepted")]


def intake(environ, *args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          env={**os.environ, **environ}, timeout=timeout)


def one_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def done_once(environ):
    """A round with a pass behind it (one sample), on an output folder the test then breaks."""
    deliver_samples(make_config(environ), ["02-edu-department.eml"])
    assert intake(environ, "poll", "--once").returncode == 0
    return environ


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_read_only_output_folder_is_one_line_from_every_command(command, environ, tmp_path):
    out = Path(environ["INTAKE_OUTPUT_DIR"])
    with small_disk(out, "32m"):
        deliver_samples(make_config(environ), ["02-edu-department.eml"])
        assert intake(environ, "poll", "--once").returncode == 0
        read_only(out)
        proc = intake(environ, *command)
        assert proc.returncode != 0
        line = one_line(proc)
        assert line.startswith(f"无法读写输出目录 {out}（") and "/ cannot use the output folder" in line
        check = intake(environ, "check")
        assert check.returncode == 1 and "无法写入" in check.stderr and "✓ 输出目录" not in check.stdout
        read_only(out, False)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_full_output_folder_is_one_line_from_every_command(command, environ):
    out = Path(environ["INTAKE_OUTPUT_DIR"])
    with small_disk(out, "32m"):
        deliver_samples(make_config(environ), ["02-edu-department.eml"])
        assert intake(environ, "poll", "--once").returncode == 0
        fill(out)
        # More mail, so that the pass has something to write.
        deliver_samples(make_config(environ), ["01-jinan-city.eml"])
        proc = intake(environ, *command)
        if proc.returncode == 0:
            # A command that only reads may still work on a full disk; it must not pretend anything.
            assert command[0] == "export" or command == ("retry", "--failed"), proc.stderr
            return
        line = one_line(proc)
        assert line.startswith(f"无法读写输出目录 {out}（") and "磁盘已满" in line


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_missing_output_folder_is_one_line_from_every_command(command, environ, tmp_path):
    gone = tmp_path / "unmounted-share" / "intake"
    proc = intake({**environ, "INTAKE_OUTPUT_DIR": str(gone)}, *command)
    assert proc.returncode == 1
    line = one_line(proc)
    assert str(gone) in line and ("不存在" in line or "尚无台账" in line)
    assert not gone.exists()


def test_check_proves_the_output_folder_writable_and_says_how_much_room_is_left(done_once):
    proc = intake(done_once, "check")
    assert proc.returncode == 0, proc.stderr
    assert "✓ 输出目录" in proc.stdout and "可写，台账可写" in proc.stdout and "MB" in proc.stdout
    assert re.search(r"提速缓存 \d+ MB，上限 2048 MB", proc.stdout), proc.stdout
    leftovers = [p.name for p in Path(done_once["INTAKE_OUTPUT_DIR"]).iterdir() if p.name.startswith(".intake-check")]
    assert leftovers == []


def test_report_names_a_missing_template_in_one_line(done_once, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(RULES.parent / "templates", templates)
    (templates / "summary_table.docx").unlink()
    rules = tmp_path / "inbox_rules.yaml"
    rules.write_text(RULES.read_text(encoding="utf-8").replace('templates_dir: "./templates"',
                                                             f'templates_dir: "{templates}"'), encoding="utf-8")
    proc = intake({**done_once, "INTAKE_CONFIG": str(rules)}, "report")
    assert proc.returncode == 1
    assert "缺少模板 / missing template" in one_line(proc) and "summary_table.docx" in proc.stderr


HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from pipeline.lock import PassLock

    with PassLock(Path(sys.argv[1]), "intake poll --once").acquire():
        print("holding", flush=True)
        sys.stdin.readline()
""")


def test_a_second_pass_names_the_first_and_waits_for_it(done_once):
    out = done_once["INTAKE_OUTPUT_DIR"]
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, out], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env={**os.environ, **done_once})
    try:
        assert holder.stdout.readline().strip() == "holding"
        refused = intake(done_once, "poll", "--once", "--no-wait")
        assert refused.returncode == 1
        assert f"PID {holder.pid}" in one_line(refused) and "另一个处理进程正在运行" in refused.stderr
        waiting = subprocess.Popen([sys.executable, "-m", "pipeline", "poll", "--once"], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env={**os.environ, **done_once})
        # It says whom it waits for (a line on stderr), and has not run a pass while the lock is held.
        assert f"PID {holder.pid}" in waiting.stderr.readline()
        assert waiting.poll() is None
        holder.stdin.write("\n")
        holder.stdin.flush()
        out_text, _ = waiting.communicate(timeout=300)
        assert waiting.returncode == 0 and "本次处理：收取邮件 0 封" in out_text
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_left_by_a_killed_process_does_not_block(done_once):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, done_once["INTAKE_OUTPUT_DIR"]], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env={**os.environ, **done_once})
    assert holder.stdout.readline().strip() == "holding"
    holder.kill()
    holder.wait()
    proc = intake(done_once, "poll", "--once", "--no-wait")
    assert proc.returncode == 0, proc.stderr


def test_export_of_a_round_the_ledger_does_not_have_is_an_error(done_once):
    proc = intake(done_once, "export", "--round", "2020年")
    assert proc.returncode == 1 and "没有轮次“2020年”" in one_line(proc) and "2019年" in proc.stderr
    assert proc.stdout == ""
