"""Who may be answered (RFC 3834: never an auto-reply, a bounce, a list), replies to our own receipts,
the receiving server's verdicts, and the sender directory. Pure: Message values, no mail parsing."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.model import Message, Recommender, RecommenderKind
from pipeline.route import Directory, answers_our_receipt, authentication, ignore_reason, reply_reason

JINAN = Recommender("济南市人力资源和社会保障局", RecommenderKind.CITY, ("rsj@jinan.example.cn", "@jnhrss.example.cn"),
                    ("济南市人社局",))
EDU = Recommender("山东省教育厅", RecommenderKind.DEPARTMENT, ("@edu.example.cn",))


def message(subject: str = "济南市继续教育基地申报", sender: str = "rsj@jinan.example.cn", body: str = "",
            auth: tuple[str, ...] = (), **headers: str) -> Message:
    return Message("<m@x>", subject, sender, "", datetime(2019, 9, 10, tzinfo=UTC),
                   {k.replace("_", "-"): v for k, v in headers.items()}, body, (), auth_results=auth)


def test_a_submission_is_for_us():
    assert ignore_reason(message()) is None
    assert ignore_reason(message(auto_submitted="no", precedence="first-class")) is None


@pytest.mark.parametrize("headers, subject, sender, reason", [
    ({"auto_submitted": "auto-replied"}, "Re: 回执", "a@x.cn", "自动回复邮件（Auto-Submitted），不予处理"),
    ({"x_autoreply": "yes"}, "Re: 回执", "a@x.cn", "自动回复邮件，不予处理"),
    ({}, "自动回复：您的邮件已收到", "a@x.cn", "自动回复邮件，不予处理"),
    ({}, "Out of Office: 休假中", "a@x.cn", "自动回复邮件，不予处理"),
    ({"content_type": "multipart/report; report-type=delivery-status"}, "Undelivered", "a@x.cn", "退信通知，不予处理"),
    ({}, "Delivery failure", "MAILER-DAEMON@mx.example.cn", "退信通知，不予处理"),
    ({"return_path": "<>"}, "通知", "a@x.cn", "系统通知邮件（空退信地址），不予处理"),
    ({"list_id": "<hr.lists.example.cn>"}, "通知", "a@x.cn", "邮件列表或群发邮件，不予处理"),
    ({"precedence": "bulk"}, "通知", "a@x.cn", "群发邮件（Precedence），不予处理"),
    ({"x_spam_flag": "YES"}, "济南市继续教育基地申报", "a@x.cn", "垃圾邮件，不予处理"),
    ({"x_spam_status": "Yes, score=9.1"}, "济南市继续教育基地申报", "a@x.cn", "垃圾邮件，不予处理"),
])
def test_no_answer_to_machines_lists_or_spam(headers, subject, sender, reason):
    assert ignore_reason(message(subject, sender, **headers)) == reason


def test_a_reply_to_our_receipt_is_known_by_its_threading_or_our_quoted_footer():
    assert answers_our_receipt(message("Re: 受理回执", in_reply_to="<receipt-0123456789abcdef01234567@intake>"))
    assert answers_our_receipt(message("收到", body="> 回执编号：2019-0001\n> 本邮件由系统自动发送，请勿回复"))
    assert not answers_our_receipt(message("Re: 受理回执", in_reply_to="<someone-else@x.cn>"))
    assert not answers_our_receipt(message(body="本邮件由系统自动发送"))      # our footer alone, no receipt quoted
    assert "不作为申报" in reply_reason(message())


def test_only_the_offices_own_server_speaks_for_spf_dkim_and_dmarc():
    ours = "mx.shandong.cn; spf=pass smtp.mailfrom=jinan.example.cn; dkim=fail header.d=jinan.example.cn; dmarc=pass"
    forged = "mx.shandong.cn.evil.example; spf=pass; dkim=pass"
    assert authentication(message(auth=(ours,)), "mx.shandong.cn") == (["SPF=pass", "DMARC=pass"], ["DKIM=fail"])
    assert authentication(message(auth=(forged,)), "mx.shandong.cn") == ([], [])
    assert authentication(message(auth=(ours,)), "") == ([], [])          # no host configured: nothing is read


def test_the_directory_prefers_an_exact_address_then_a_clerks_confirmation_then_a_domain():
    clerk = Recommender("青岛市人力资源和社会保障局", RecommenderKind.CITY, ("@edu.example.cn",))
    directory = Directory((EDU, JINAN, clerk), confirmed={"zhang@qq.example.com": JINAN.name})
    assert directory.by_sender("RSJ@Jinan.Example.CN") is JINAN
    assert directory.by_sender("anyone@jnhrss.example.cn") is JINAN
    assert directory.by_sender("zhang@qq.example.com") is JINAN
    assert directory.by_sender("x@edu.example.cn") is EDU              # the first recommender with that domain
    assert directory.by_sender("someone@evil.example") is None
    assert directory.by_name("济南市人社局") is JINAN and directory.by_name("济南") is None
    assert directory.in_text("山东省教育厅：现将济南市人力资源和社会保障局的推荐函报送") is JINAN    # the last named
