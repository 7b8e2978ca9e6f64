"""The receipt email: its subject, and what its bodies tell a rejected (late) sender. Pure: no mail sent."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from test_render import LATE, LETTER

from pipeline.model import Status
from pipeline.receipt import mail_templates, receipt_subject

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize("subject, expected", [
    ("Re: 山东能源集团继续教育基地申报材料", "受理回执：山东能源集团继续教育基地申报材料"),
    ("RE：Fwd: 回复:济南市继续教育基地申报", "受理回执：济南市继续教育基地申报"),
    ("转发：答复： 青岛市继续教育基地申报", "受理回执：青岛市继续教育基地申报"),
    ("济南市继续教育基地申报（Re:二次报送）", "受理回执：济南市继续教育基地申报（Re:二次报送）"),
    ("", "受理回执：（无标题）"),
])
def test_receipt_subject_drops_reply_and_forward_prefixes(subject, expected):
    assert receipt_subject(subject) == expected


@pytest.mark.parametrize("template", ["receipt.txt.j2", "receipt.html.j2"])
def test_mail_body_of_a_rejected_email_says_so_and_asks_for_no_paper(template):
    env = mail_templates(TEMPLATES)
    body = env.get_template(template).render(letter=LATE)
    assert "按通知要求，逾期不再受理，本邮件所报材料不予受理，无需邮寄纸质材料。" in body
    assert "邮寄至" not in body and "前将推荐函" not in body
    timely = env.get_template(template).render(letter=LETTER)
    assert "请于2019年9月22日前将推荐函、申报汇总表及申请表（一式3份）等书面材料邮寄至" in timely
    assert "不予受理，无需" not in timely


def test_an_email_with_only_some_applicants_rejected_still_gets_the_paper_reminder():
    assert not LETTER.rejected and any(i.status == Status.REJECTED.label for i in LETTER.items)
    none_read_late = dataclasses.replace(LATE, items=())
    assert none_read_late.rejected and "逾期不再受理" in none_read_late.rejection


def test_a_huge_subject_makes_a_short_receipt_subject():
    from pipeline.receipt import SUBJECT_CHARS, receipt_subject

    text = receipt_subject("Re: " + "济南市继续教育基地申报" * 400_000)
    assert text.startswith("受理回执：济南市") and text.endswith("…")
    assert len(text) == len("受理回执：") + SUBJECT_CHARS + 1
