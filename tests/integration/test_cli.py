"""The commands a newcomer types first: demo twice, check, and help that carries examples."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main


def intake(environ, *args, ok=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pipeline", *args], capture_output=True, text=True,
                          env={**os.environ, **environ})
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.ocr
def test_demo_runs_once_and_a_second_time_adds_nothing(environ, tmp_path):
    first = intake(environ, "demo")
    assert "新放入 8 封示例邮件" in first.stdout and "申报 6 封" in first.stdout
    assert "附件2_申报汇总表_全省.xlsx" in first.stdout
    second = intake(environ, "demo")
    assert "新放入 0 封示例邮件" in second.stdout and "收取邮件 0 封" in second.stdout
    assert len(list((tmp_path / "mail" / "sent" / "new").iterdir())) == 6
    check = intake(environ, "check")
    assert "✓" in check.stdout


def test_check_says_what_is_wrong(environ, tmp_path):
    # nothing listens on port 1 of this machine: the connection step fails, and says so
    proc = intake({**environ, "INTAKE_MAILBOX_URL": f"maildir:{tmp_path / 'nowhere'}",
                   "INTAKE_OUTBOX_URL": "smtps://office@127.0.0.1:1", "INTAKE_OUTBOX_PASSWORD": "x"},
                  "check", ok=False)
    assert proc.returncode == 1
    assert "找不到 Maildir" in proc.stderr
    assert "smtps://office@127.0.0.1:1" in proc.stderr and "无法连接服务器或端口" in proc.stderr


@pytest.mark.parametrize("command", sorted(main.commands))
def test_every_command_is_documented_with_an_example(command):
    assert "Example: intake" in (main.commands[command].help or "")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert f"intake {command}" in readme


@pytest.mark.ocr
def test_the_idle_service_is_quiet_and_logs_in_beijing_time(environ, tmp_path):
    rules = tmp_path / "service.yaml"
    text = Path(environ["INTAKE_CONFIG"]).read_text(encoding="utf-8")       # the tests' rules: no PDF copies
    rules.write_text(text.replace('poll_every: "5m"', 'poll_every: "1s"').replace('retry_every: "1m"', 'retry_every: "1s"'),
                     encoding="utf-8")
    demo = intake(environ, "demo")
    env = {**os.environ, **environ, "INTAKE_CONFIG": str(rules), "TZ": "UTC"}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        # A dozen idle passes and retry runs.
        proc.wait(timeout=12)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    lines = err.splitlines()
    assert proc.returncode == 0, err
    # started, the first pass, the signal, stopped: nothing per idle pass or per retry run
    assert len(lines) == 4, err + "\n(what the demo said)\n" + demo.stdout
    assert all(line[19:25] == "+08:00" for line in lines), err
