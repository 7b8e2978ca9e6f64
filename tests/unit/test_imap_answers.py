"""Reading IMAP answers as servers really send them: UID sets, FETCH bodies, LIST lines."""
from datetime import datetime, timedelta, timezone

from pipeline.mail.imap import _internaldate, _listed, body_of, uid_sets


def test_uid_sets_are_compact_and_bounded():
    assert list(uid_sets([9, 1, 2, 3, 5, 7, 8, 3])) == ["1:3,5,7:9"]
    many = list(uid_sets(list(range(1, 1001, 2)), per_set=200))
    assert len(many) == 3 and all(len(s.split(",")) <= 200 for s in many)
    assert many[0].startswith("1,3,5") and many[-1].endswith("999")


def test_body_with_the_uid_before_the_literal():
    data = [(b"1 (UID 7 BODY[] {5}", b"hello"), b")"]
    assert body_of(data, 7) == b"hello"


def test_body_with_the_uid_after_the_literal():
    # Some servers put UID last: "* 1 FETCH (BODY[] {5}\r\nhello UID 7)"
    data = [(b"1 (BODY[] {5}", b"hello"), b" UID 7)"]
    assert body_of(data, 7) == b"hello"


def test_body_among_unsolicited_answers_about_other_messages():
    data = [b"4 (FLAGS (\\Seen) UID 11)", (b"2 (UID 8 BODY[] {3}", b"one"), b")",
            (b"3 (UID 9 BODY[] {3}", b"two"), b")"]
    assert body_of(data, 9) == b"two"
    assert body_of(data, 10) is None  # gone (expunged by another client): not someone else's body


def test_internaldate_keeps_the_servers_offset():
    got = _internaldate(b" 8-Sep-2019 23:59:30 +0800")
    assert got == datetime(2019, 9, 8, 23, 59, 30, tzinfo=timezone(timedelta(hours=8)))


def test_list_answers_with_special_use_and_chinese_names():
    assert _listed(b'(\\HasNoChildren \\Sent) "/" "&XfJT0ZAB-"') == ("已发送", "\\HASNOCHILDREN \\SENT")
    assert _listed(b'(\\HasNoChildren) "." INBOX') == ("INBOX", "\\HASNOCHILDREN")
    assert _listed(b'(\\Noselect) NIL "a \\"b\\""') == ('a "b"', "\\NOSELECT")
    assert _listed(b"garbage") is None
