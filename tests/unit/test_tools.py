"""Programs that open attacker files: a minimal environment, and nothing of them left after a timeout."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from pipeline.mail.tools import ToolFailed, run


def _alive(marker: str) -> list[str]:
    """Processes whose command line carries marker (read from /proc: a minimal system has no pgrep)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(entry.name)
        except OSError:
            continue
    return found


def test_a_timed_out_program_leaves_no_process_behind(tmp_path):
    marker = f"intake-test-{uuid.uuid4().hex}"
    tool = tmp_path / "tool"
    # Like LibreOffice's wrapper: it starts the real worker and waits for it.
    tool.write_text(f"#!/bin/sh\nsh -c 'sleep 60; echo {marker}' &\nsh -c 'sleep 61; echo {marker}'\n")
    tool.chmod(0o755)
    with pytest.raises(ToolFailed, match="timed out") as caught:
        run([str(tool)], timeout=1)
    assert caught.value.timed_out
    assert _alive(marker) == []


def test_children_see_no_password(tmp_path, monkeypatch):
    monkeypatch.setenv("INTAKE_MAILBOX_PASSWORD", "s3cret")
    monkeypatch.setenv("INTAKE_OUTBOX_PASSWORD", "s3cret")
    done = run(["env"], timeout=10)
    env = done.stdout.decode()
    assert "s3cret" not in env and "INTAKE_" not in env
    assert "LANG=C.UTF-8" in env and "PATH=" in env
    assert os.environ["INTAKE_MAILBOX_PASSWORD"] == "s3cret"
