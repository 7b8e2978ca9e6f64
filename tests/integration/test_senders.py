"""Only registered senders speak for a recommender; strangers and machines are answered briefly, once."""
from __future__ import annotations

import email
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path

from pipeline.demo import delivery_time, samples
from pipeline.flow import run_pass
from pipeline.mail.maildir import deliver
from pipeline.outputs.export import export
from pipeline.store import Ledger

JINAN = "济南市人力资源和社会保障局"


def sample(name: str) -> bytes:
    return next(raw for n, raw in samples() if n.startswith(name))


def forged(raw: bytes, sender: str, message_id: str) -> bytes:
    """The same mail from another address: what a forger (or a clerk's personal mailbox) sends."""
    return (raw.replace(b"<rsj@jinan.example.cn>", f"<{sender}>".encode())
            .replace(b"<sample-01.jinan@mail.jinan.example.cn>", message_id.encode()))


def exported(cfg) -> dict:
    with Ledger(cfg.ledger_path) as ledger:
        return export(ledger, cfg.round.name)


def receipts_to(cfg, address: str) -> list[email.message.EmailMessage]:
    folder = cfg.outbox.path / "new"
    mails = [email.message_from_bytes(p.read_bytes(), policy=policy.default) for p in folder.iterdir()]
    return [m for m in mails if address in str(m["To"])]


def test_a_forged_resubmission_leaves_the_genuine_one_standing_and_learns_nothing(config):
    cfg = replace(config, pdf=False)
    raw = sample("01-")
    when = delivery_time(raw)
    deliver(cfg.mailbox.path, raw, key="genuine", received_at=when)
    deliver(cfg.mailbox.path, forged(raw, "someone@evil.example", "<forged@evil.example>"), key="forged",
            received_at=when + timedelta(hours=1))
    run_pass(cfg)
    apps = exported(cfg)["applications"]
    genuine = [a for a in apps if a["message_id"] == "<sample-01.jinan@mail.jinan.example.cn>"]
    fake = [a for a in apps if a["message_id"] == "<forged@evil.example>"]
    assert genuine and all(a["superseded_by"] is None and "unverified_sender" not in a["flags"] for a in genuine)
    assert fake and all(a["status"] == "needs_review" and "unverified_sender" in a["flags"] for a in fake)
    # The forger is told the mail arrived, nothing of what it holds.
    (receipt,) = receipts_to(cfg, "someone@evil.example")
    body = receipt.get_body(("plain",)).get_content()
    assert "已收到" in body and "人工查看" in body
    assert not any(a["applicant"] in body for a in fake) and "继续教育基地申报" not in str(receipt["Subject"])
    # The genuine sender's receipt is the full one.
    (full,) = receipts_to(cfg, "rsj@jinan.example.cn")
    assert genuine[0]["applicant"] in full.get_body(("plain",)).get_content()


def test_a_clerk_confirms_a_personal_address_and_later_mail_from_it_speaks(environ, config):
    cfg = replace(config, pdf=False)
    raw = sample("01-")
    deliver(cfg.mailbox.path, forged(raw, "zhangsan@qq.com", "<personal-1@qq.com>"), key="p1",
            received_at=delivery_time(raw))
    run_pass(cfg)
    (_,) = exported(cfg)["messages"]
    with Ledger(cfg.ledger_path) as ledger:
        row = ledger.db.execute("SELECT id FROM messages").fetchone()[0]
    done = subprocess.run([sys.executable, "-m", "pipeline", "review", "set", f"M{row}", "--sender-ok",
                           "--remember-sender", "--by", "孙沛沛"], capture_output=True, text=True,
                          env={**os.environ, **environ})
    assert done.returncode == 0, done.stderr
    assert "发件地址经人工确认" in done.stdout
    assert all("unverified_sender" not in a["flags"] for a in exported(cfg)["applications"])
    # A second mail from the address: it speaks for Jinan from the start, and gets the full receipt.
    second = forged(raw, "zhangsan@qq.com", "<personal-2@qq.com>").replace(b"10:12:00", b"11:12:00")
    deliver(cfg.mailbox.path, second, key="p2", received_at=delivery_time(raw) + timedelta(hours=1))
    run_pass(cfg)
    latest = [a for a in exported(cfg)["applications"] if a["message_id"] == "<personal-2@qq.com>"]
    assert latest and all("unverified_sender" not in a["flags"] for a in latest)
    bodies = [m.get_body(("plain",)).get_content() for m in receipts_to(cfg, "zhangsan@qq.com")]
    assert any(latest[0]["applicant"] in b for b in bodies)


def _with_auth(raw: bytes, *results: str) -> bytes:
    return b"".join(f"Authentication-Results: {r}\r\n".encode() for r in results) + raw


def test_a_failing_verdict_of_the_receiving_server_makes_even_a_registered_address_unverified(config):
    cfg = replace(config, pdf=False, imap=replace(config.imap, auth_host="mx.shandong.cn"))
    raw = sample("01-")
    failing = _with_auth(raw, "mx.shandong.cn; spf=softfail smtp.mailfrom=jinan.example.cn; dmarc=fail")
    deliver(cfg.mailbox.path, failing, key="fail", received_at=delivery_time(raw))
    run_pass(cfg)
    apps = exported(cfg)["applications"]
    assert apps and all("unverified_sender" in a["flags"] and a["status"] == "needs_review" for a in apps)
    (receipt,) = receipts_to(cfg, "rsj@jinan.example.cn")
    assert "人工查看" in receipt.get_body(("plain",)).get_content()


def test_a_pass_is_shown_and_a_verdict_the_sender_wrote_is_not_read(config):
    cfg = replace(config, pdf=False, imap=replace(config.imap, auth_host="mx.shandong.cn"))
    raw = sample("01-")
    passing = _with_auth(raw, "mx.shandong.cn; spf=pass; dkim=pass")
    # Below the servers' Received lines: written by the sender, with the office's server's name in it.
    passing = passing.replace(b"Date: ", b"Authentication-Results: mx.shandong.cn; dmarc=fail\r\nDate: ", 1)
    deliver(cfg.mailbox.path, passing, key="pass", received_at=delivery_time(raw))
    run_pass(cfg)
    data = exported(cfg)
    assert [m["authentication"] for m in data["messages"]] == ["SPF=pass、DKIM=pass"]
    assert data["applications"] and all("unverified_sender" not in a["flags"] for a in data["applications"])


def test_an_auto_responder_without_rfc3834_headers_gets_one_receipt(environ, tmp_path):
    """A machine that answers every mail, receipts included, plays against the service."""
    rules = tmp_path / "service.yaml"
    rules.write_text(Path(environ["INTAKE_CONFIG"]).read_text(encoding="utf-8").replace('poll_every: "5m"', 'poll_every: "1s"')
                     .replace('retry_every: "1m"', 'retry_every: "1s"'), encoding="utf-8")
    env = {**os.environ, **environ, "INTAKE_CONFIG": str(rules)}
    inbox, outbox = Path(environ["INTAKE_MAILBOX_URL"][8:]), Path(environ["INTAKE_OUTBOX_URL"][8:])
    first = EmailMessage()
    first["From"], first["To"], first["Subject"] = "robot@qingdao.example.cn", "ymrst@shandong.cn", "青岛市继续教育基地申报"
    first["Message-ID"] = "<first@robot>"
    first.set_content("请查收。")
    deliver(inbox, first.as_bytes(), key="robot-0")
    stop = threading.Event()
    answered: set[str] = set()

    def robot() -> None:
        # Answers each receipt to it with an "I am away" that carries no Auto-Submitted header, but
        # does thread (In-Reply-To) — and, for good measure, another that only quotes the receipt.
        while not stop.is_set():
            for path in sorted((outbox / "new").glob("*")) if (outbox / "new").exists() else []:
                if path.name in answered:
                    continue
                answered.add(path.name)
                got = email.message_from_bytes(path.read_bytes(), policy=policy.default)
                for n, threaded in enumerate((True, False)):
                    reply = EmailMessage()
                    reply["From"], reply["To"] = "robot@qingdao.example.cn", "ymrst@shandong.cn"
                    reply["Subject"] = f"Re: {got['Subject']}"
                    reply["Message-ID"] = f"<reply-{len(answered)}-{n}@robot>"
                    if threaded:
                        reply["In-Reply-To"] = got["Message-ID"]
                    reply.set_content("我已休假，稍后回复。\n\n> " + got.get_body(("plain",)).get_content().replace("\n", "\n> "))
                    deliver(inbox, reply.as_bytes(), key=f"robot-{len(answered)}-{n}")
            time.sleep(0.2)

    player = threading.Thread(target=robot, daemon=True)
    player.start()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline", "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    # The first receipt, then the replies it draws and a dozen passes more against the robot.
    deadline = time.monotonic() + 120
    while not answered and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(12)
    proc.terminate()
    proc.communicate(timeout=60)
    stop.set()
    player.join(5)
    assert len(list((outbox / "new").iterdir())) == 1
    assert len(answered) == 1 and len(list((inbox / "cur").iterdir()) + list((inbox / "new").iterdir())) == 3
