"""`intake user` and `intake web` as the engineer runs them on the server."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request

from conftest import make_environ

from pipeline.store import Ledger


def intake(environ, *args, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, **environ})


def test_accounts_are_added_listed_and_given_new_passwords_from_standard_input(tmp_path):
    environ = make_environ(tmp_path)
    done = intake(environ, "user", "add", "孙沛沛", "--role", "clerk", stdin="a-long-password\n")
    assert done.returncode == 0 and "已开设账号 孙沛沛（经办人）" in done.stdout
    assert "a-long-password" not in done.stdout + done.stderr
    listed = intake(environ, "user", "list")
    assert "孙沛沛\t经办人" in listed.stdout
    short = intake(environ, "user", "add", "x", stdin="short\n")
    assert short.returncode == 2 and "密码至少" in short.stderr
    ledger_path = tmp_path / "output" / "intake.sqlite3"
    with Ledger(ledger_path) as ledger:
        before = ledger.user("孙沛沛")["password"]
    assert intake(environ, "user", "passwd", "孙沛沛", stdin="another-long-password\n").returncode == 0
    with Ledger(ledger_path) as ledger:
        assert ledger.user("孙沛沛")["password"] != before
    missing = intake(environ, "user", "passwd", "nobody", stdin="another-long-password\n")
    assert missing.returncode == 2 and "没有名为" in missing.stderr
    assert intake(environ, "user", "remove", "孙沛沛").returncode == 0
    assert "尚无账号" in intake(environ, "user", "list").stdout
    assert intake(environ, "user", "remove", "孙沛沛").returncode == 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_intake_web_serves_the_console_and_keeps_its_secret_private(tmp_path):
    environ = make_environ(tmp_path)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "pipeline", "web", "--port", str(port)],
                              env={**os.environ, **environ}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                    page = r.read().decode()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("the console did not answer: " + server.stderr.read() if server.poll() else "")
        assert "登录" in page and 'name="csrf_token"' in page
    finally:
        server.terminate()
        _, err = server.communicate(timeout=10)
    assert "尚无控制台账号" in err
    secret = tmp_path / "output" / ".web" / "secret"
    assert secret.stat().st_mode & 0o777 == 0o600 and len(secret.read_bytes()) == 32
