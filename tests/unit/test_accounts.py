"""The console's accounts: scrypt hashes, names and passwords, and the login throttle."""
from __future__ import annotations

import pytest

from pipeline.store import Ledger
from pipeline.web import accounts


def test_a_password_is_kept_as_a_salted_scrypt_hash(tmp_path):
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        assert accounts.add(ledger, "孙沛沛", "clerk", "correct horse battery")
        stored = ledger.user("孙沛沛")["password"]
        assert stored.startswith("scrypt$") and "correct horse" not in stored
        assert accounts.authenticate(ledger, "孙沛沛", "correct horse battery") == accounts.User("孙沛沛", accounts.Role.CLERK)
        assert accounts.authenticate(ledger, "孙沛沛", "correct horse batterY") is None
        assert accounts.authenticate(ledger, "nobody", "correct horse battery") is None
        # The same password again: another salt, another hash.
        assert not accounts.add(ledger, "孙沛沛", "viewer", "correct horse battery")
        assert ledger.user("孙沛沛")["password"] != stored
        mark = accounts.fingerprint(ledger.user("孙沛沛")["password"])
        assert accounts.from_session(ledger, "孙沛沛", mark).role is accounts.Role.VIEWER
        assert accounts.from_session(ledger, "孙沛沛", accounts.fingerprint(stored)) is None   # the old password's session


def test_a_stored_hash_that_is_not_ours_never_matches():
    assert not accounts.check_password("x", "plain-text-password")
    assert not accounts.check_password("x", "scrypt$a$b$c$d$e")
    assert not accounts.check_password("", "")


@pytest.mark.parametrize("name", ["", " ", "a b", "x" * 41, "tab\tname", "nul\x00"])
def test_names_a_person_cannot_type_back_are_refused(name):
    with pytest.raises(accounts.AccountError):
        accounts.valid_name(name)


def test_short_passwords_and_unknown_roles_are_refused(tmp_path):
    with Ledger(tmp_path / "l.sqlite3") as ledger:
        with pytest.raises(accounts.AccountError, match="至少"):
            accounts.add(ledger, "a", "clerk", "short")
        with pytest.raises(accounts.AccountError, match="角色"):
            accounts.add(ledger, "a", "admin", "long enough password")
        with pytest.raises(accounts.AccountError, match="没有"):
            accounts.change_password(ledger, "nobody", "long enough password")
        assert ledger.users() == []


def test_the_throttle_refuses_after_the_limit_until_the_oldest_failure_leaves_the_window():
    now = [1000.0]
    throttle = accounts.Throttle(limit=3, window=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait("name:a") == 0
        throttle.failed("name:a", "address:1")
        now[0] += 1
    assert throttle.wait("name:a") == 57 and throttle.wait("address:1") == 57
    assert throttle.wait("name:b") == 0
    now[0] += 57
    assert throttle.wait("name:a") == 0
    throttle.failed("name:a")
    throttle.succeeded("name:a")
    assert throttle.wait("name:a") == 0
