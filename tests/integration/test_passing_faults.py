"""Passing faults, made for real (a full disk, a read-only folder, a process killed mid-message): the message
waits and is retried, then goes through once the fault is gone, with one receipt; a fault that stays
ends as a review item with its error."""
from __future__ import annotations

import email
import errno
import os
import signal
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import timedelta
from email import policy

import pytest
from conftest import ROOT, deliver_samples
from disks import fill, read_only, small_disk

from pipeline import flow
from pipeline.config import Processing
from pipeline.flow import run_pass
from pipeline.outputs.export import export
from pipeline.store import Ledger

SAMPLE = "02-edu-department.eml"   # a provincial department's text PDFs: filing writes several files


@pytest.fixture
def round_disk(config):
    """output/<round> on a small file system of its own, which the test fills or makes read-only."""
    with small_disk(config.output_dir / config.round.name) as folder:
        yield folder


@pytest.fixture
def cfg(config):
    # Retries due at once (the test plays the passes of several hours), no PDF copies (not the subject).
    return replace(config, pdf=False, processing=Processing(max_attempts=3, retry_every=timedelta(0)))


def receipts(cfg) -> list[email.message.EmailMessage]:
    folder = cfg.outbox.path / "new"
    return [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in sorted(folder.iterdir())] if folder.exists() else []


def message_row(cfg):
    with Ledger(cfg.ledger_path) as ledger:
        return ledger.db.execute("SELECT * FROM messages").fetchone()


def applications(cfg) -> list[dict]:
    with Ledger(cfg.ledger_path) as ledger:
        return export(ledger, cfg.round.name)["applications"]


def assert_waiting(cfg, result) -> None:
    assert result.deferred == 1 and result.submissions == 0
    row = message_row(cfg)
    assert row["state"] == "retry" and row["error"] and row["marked_at"] is None
    assert receipts(cfg) == [] and applications(cfg) == []
    assert any(p.name.startswith("sample-02") for p in (cfg.mailbox.path / "new").iterdir()), "left unmarked"


def assert_through(cfg, result) -> None:
    assert result.submissions == 1 and result.deferred == 0
    row = message_row(cfg)
    assert row["state"] == "done" and row["outcome"] == "submission" and row["error"] is None
    assert row["marked_at"] is not None and row["attempts"] == 2
    assert applications(cfg), "the applications were recorded"
    for app in applications(cfg):
        for doc in app["documents"]:
            assert (cfg.output_dir / doc["path"]).is_file()
    assert len(receipts(cfg)) == 1


def test_a_full_disk_holds_the_message_back_until_there_is_room(cfg, round_disk):
    deliver_samples(cfg, [SAMPLE])
    filler = fill(round_disk)
    assert_waiting(cfg, run_pass(cfg))
    assert "ENOSPC" in message_row(cfg)["error"] or "No space" in message_row(cfg)["error"]
    # What the failed attempt began to file was taken back: no half-filed folder.
    assert [p.name for p in round_disk.iterdir()] == ["filler"]
    filler.unlink()
    assert_through(cfg, run_pass(cfg))


def test_a_read_only_folder_holds_the_message_back_until_it_is_writable(cfg, round_disk):
    deliver_samples(cfg, [SAMPLE])
    read_only(round_disk)
    result = run_pass(cfg)
    assert_waiting(cfg, result)
    assert "Read-only" in message_row(cfg)["error"]
    read_only(round_disk, False)
    assert_through(cfg, run_pass(cfg))


def test_a_fault_that_stays_becomes_a_review_item_after_the_configured_attempts(cfg, round_disk, environ):
    deliver_samples(cfg, [SAMPLE])
    filler = fill(round_disk)
    for _ in range(cfg.processing.max_attempts - 1):
        assert run_pass(cfg).deferred == 1
    result = run_pass(cfg)
    assert result.deferred == 0 and result.review == 1
    row = message_row(cfg)
    assert row["state"] == "done" and row["outcome"] == "review" and row["marked_at"] is not None
    assert f"连续{cfg.processing.max_attempts}次处理未成功" in row["reason"] and "intake retry M1" in row["reason"]
    # The sender learns the mail arrived and a person will look; nothing more, once.
    (receipt,) = receipts(cfg)
    assert "未能由系统自动受理" in receipt.get_body(("plain",)).get_content()
    # The disk mended, the clerk has it processed again: a submission now, its files filed, no second mail.
    filler.unlink()
    done = subprocess.run([sys.executable, "-m", "pipeline", "retry", "--failed"], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, **environ})
    assert done.returncode == 0, done.stderr
    assert "重新处理：M1" in done.stdout and "重新处理 1 封" in done.stdout
    row = message_row(cfg)
    assert (row["outcome"], row["error"]) == ("submission", None)
    assert applications(cfg) and len(receipts(cfg)) == 1
    again = subprocess.run([sys.executable, "-m", "pipeline", "retry", "--failed"], cwd=ROOT, capture_output=True,
                           text=True, env={**os.environ, **environ})
    assert again.returncode == 0 and "没有可重新处理的邮件" in again.stdout


def test_an_injected_enospc_while_reading_is_retried(cfg, monkeypatch):
    deliver_samples(cfg, [SAMPLE])
    read = flow.read

    def no_space(sub, ctx):
        raise OSError(errno.ENOSPC, "No space left on device", "/tmp/intake-unpack")

    monkeypatch.setattr(flow, "STAGES", tuple((n, no_space if n == "read" else s, o) for n, s, o in flow.STAGES))
    assert_waiting(cfg, run_pass(cfg))
    monkeypatch.setattr(flow, "STAGES", tuple((n, read if n == "read" else s, o) for n, s, o in flow.STAGES))
    assert_through(cfg, run_pass(cfg))


def test_a_message_waiting_for_its_next_attempt_does_not_make_every_idle_pass_news(config, monkeypatch):
    cfg = replace(config, pdf=False, processing=Processing(max_attempts=3, retry_every=timedelta(hours=1)))
    deliver_samples(cfg, [SAMPLE])

    def no_space(sub, ctx):
        raise OSError(errno.ENOSPC, "No space left on device", "/tmp/intake-unpack")

    monkeypatch.setattr(flow, "STAGES", tuple((n, no_space if n == "read" else s, o) for n, s, o in flow.STAGES))
    held = run_pass(cfg)
    assert held.deferred == 1 and held.eventful
    idle = run_pass(cfg)    # within the hour: nothing fetched, nothing tried, the message still waits
    assert (idle.fetched, idle.retried, idle.deferred) == (0, 0, 0)
    (item,) = idle.review_items
    assert "暂未处理完" in item and "自动重试" in item, "the list by hand still names it"
    assert not idle.eventful, "the service's log stays quiet until the message is tried again"


def test_retry_runs_a_set_aside_message_again_and_keeps_the_clerks_decisions(cfg, monkeypatch):
    from pipeline.round import review
    from pipeline.round.target import Target

    deliver_samples(cfg, [SAMPLE, "01-jinan-city.eml"])
    run_pass(cfg)
    with Ledger(cfg.ledger_path) as ledger:
        first = export(ledger, cfg.round.name)["applications"]
        jinan = next(a for a in first if "济南" in a["recommender"])
        review.record(ledger, cfg, [review.Change(Target.application(jinan["id"]), "status", "rejected"),
                                    review.Change(Target.application(jinan["id"]), "avg_trainees", 4321)], "孙沛沛")
    before = receipts(cfg)
    rows = [r["id"] for r in Ledger(cfg.ledger_path).messages(cfg.round.name)]
    result = run_pass(cfg, rerun=rows)
    assert result.retried == 2 and result.receipts_sent == 0
    with Ledger(cfg.ledger_path) as ledger:
        again = export(ledger, cfg.round.name)["applications"]
    assert [a["id"] for a in again] == [a["id"] for a in first]
    kept = next(a for a in again if a["id"] == jinan["id"])
    assert kept["status"] == "rejected" and kept["fields"]["avg_trainees"] == 4321
    assert len(receipts(cfg)) == len(before)
    # Run again, the same files: nothing new under the round's folders.
    files = sorted(p for p in (cfg.output_dir / cfg.round.name).rglob("*") if p.is_file())
    run_pass(cfg, rerun=rows)
    assert sorted(p for p in (cfg.output_dir / cfg.round.name).rglob("*") if p.is_file()) == files


# A pass in its own process whose read stage kills the process on the poisoned message, as the kernel's
# out-of-memory killer would.
KILLER = textwrap.dedent("""
    import os, signal, sys
    from pipeline import flow
    from pipeline.cli import main

    def read(sub, ctx):
        if b"poison@crash.test" in sub.raw:
            os.kill(os.getpid(), signal.SIGKILL)
        return flow.read(sub, ctx)

    flow.STAGES = tuple((n, read if n == "read" else s, o) for n, s, o in flow.STAGES)
    main(["poll", "--once"])
""")


def test_a_message_that_killed_the_process_twice_is_set_aside(environ, cfg):
    from email.message import EmailMessage

    from pipeline.mail.maildir import deliver

    for key, sender, subject in (("poison", "rsj@zibo.example.cn", "淄博市继续教育基地申报"),
                                 ("plain", "rsj@qingdao.example.cn", "青岛市继续教育基地申报")):
        m = EmailMessage()
        m["From"], m["Subject"], m["Message-ID"] = sender, subject, f"<{key}@crash.test>"
        m.set_content("请查收。")
        deliver(cfg.mailbox.path, m.as_bytes(), key=key)
    env = {**os.environ, **environ}
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", KILLER], cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == -signal.SIGKILL, done.stderr
    done = subprocess.run([sys.executable, "-c", KILLER], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with Ledger(cfg.ledger_path) as ledger:
        rows = {r["uid"]: r for r in ledger.db.execute("SELECT * FROM messages")}
    assert rows["poison"]["outcome"] == "review" and "2次意外终止" in rows["poison"]["reason"]
    # Its companion in hand at the first crash was run alone afterwards and went through.
    assert rows["plain"]["outcome"] == "submission"
    to = sorted(str(m["To"]) for m in receipts(cfg))
    assert to == ["rsj@qingdao.example.cn", "rsj@zibo.example.cn"]
