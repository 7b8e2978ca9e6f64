"""Mail URLs, modified UTF-7 folder names, and which step a connection failure belongs to."""
import ssl
from pathlib import Path

import pytest

from pipeline.mail import utf7
from pipeline.mail.tls import failed_step
from pipeline.mail.urls import parse_mail_url

BASE = Path("/etc/intake")


@pytest.mark.parametrize("name, wire", [
    ("INBOX", "INBOX"),
    ("已处理", "&XfJZBHQG-"),
    ("Sent &Co", "Sent &-Co"),
    ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),  # RFC 3501's own example
])
def test_modified_utf7_both_ways(name, wire):
    assert utf7.encode(name) == wire
    assert utf7.decode(wire) == name


def test_imap_urls():
    u = parse_mail_url("imaps://ymrst@mail.shandong.cn/INBOX/%E5%B7%B2%E5%A4%84%E7%90%86", ("imaps",), BASE)
    assert (u.user, u.host, u.port, u.folder) == ("ymrst", "mail.shandong.cn", 993, "INBOX/已处理")
    assert parse_mail_url("imap://u@h", ("imap",), BASE).folder == "INBOX"
    ca = parse_mail_url("imaps://u@h/INBOX?ca=certs/intranet.pem", ("imaps",), BASE)
    assert ca.params["ca"] == "/etc/intake/certs/intranet.pem"


@pytest.mark.parametrize("text, message", [
    ("smtp://mail.shandong.cn?tls=none", "only for a server on this machine"),
    ("smtp://u:pw@mail.shandong.cn", "no password in the URL"),
    ("smtp://mail.shandong.cn?verify=no", "only the parameters"),
    ("pop3://mail.shandong.cn", "one of the schemes"),
])
def test_refused_urls(text, message):
    with pytest.raises(ValueError, match=message):
        parse_mail_url(text, ("smtp", "smtps", "pop3x"), BASE)


def test_plain_text_is_allowed_on_loopback_only():
    for host in ("127.0.0.1", "localhost", "[::1]"):
        assert parse_mail_url(f"smtp://{host}:2525?tls=none", ("smtp",), BASE).plain_allowed


def test_failed_step_names_the_real_cause():
    assert failed_step("TLS", ConnectionRefusedError()) == "connect"
    assert failed_step("connect", ssl.SSLCertVerificationError()) == "TLS"
    assert failed_step("login", OSError()) == "login"
