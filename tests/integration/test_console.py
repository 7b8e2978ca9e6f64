"""The console over HTTP (Flask's test client against the real app, ledger and files): every page and
action, who may do what, and what a hostile sender's text becomes on a page."""
from __future__ import annotations

import io
import json
import re

import pytest
from console_round import (
    CLERK,
    CLERK_PASSWORD,
    DONGYING,
    EDU,
    ENERGY,
    JINAN,
    VIEWER,
    VIEWER_PASSWORD,
    application_id,
    broken_message,
    build,
)
from openpyxl import load_workbook

from pipeline.store import Ledger
from pipeline.web import accounts
from pipeline.web.app import create_app

# The round is every sample, the scanned one too: its evidence is drawn on a scan.
pytestmark = pytest.mark.ocr
SECRET = b"s" * 32


@pytest.fixture(scope="module")
def round_cfg(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    try:
        yield build(tmp_path_factory.mktemp("console"), mp)
    finally:
        mp.undo()


@pytest.fixture
def app(round_cfg):
    app = create_app(round_cfg, SECRET)
    yield app
    assert app.extensions["intake"]["jobs"].wait(300), "a background job did not end"


def login(client, name=CLERK, password=CLERK_PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"name": name, "password": password, "csrf_token": token(page)})


def token(response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert found, "the page has no CSRF token"
    return found.group(1)


@pytest.fixture
def clerk(app):
    client = app.test_client()
    assert login(client).status_code == 302
    return client


@pytest.fixture
def viewer(app):
    client = app.test_client()
    assert login(client, VIEWER, VIEWER_PASSWORD).status_code == 302
    return client


def corrections(cfg) -> list:
    with Ledger(cfg.ledger_path) as ledger:
        return [dict(r) for r in ledger.corrections(cfg.round.name)]


# ---------------------------------------------------------------- access

def test_a_visitor_is_sent_to_the_login_page_and_reads_nothing(app):
    client = app.test_client()
    r = client.get("/applications")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")
    assert client.get("/state.json").status_code == 401
    assert client.get("/applications/1/documents/0/pages/1.png").status_code == 401
    assert client.get("/downloads/export.json").status_code == 401


def test_login_sets_a_signed_httponly_strict_cookie_and_the_security_headers(app, round_cfg):
    client = app.test_client()
    r = login(client)
    assert r.status_code == 302 and r.headers["Location"] == "/"
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    page = client.get("/")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff" and page.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in page.get_data(as_text=True).replace('<script src="/static/app.js" defer></script>', "")


def test_behind_https_the_cookie_is_secure(round_cfg):
    from dataclasses import replace
    app = create_app(replace(round_cfg, web=replace(round_cfg.web, https=True)), SECRET)
    assert "Secure" in login(app.test_client()).headers["Set-Cookie"]


def test_a_wrong_password_is_refused_and_repeated_failures_are_throttled(app):
    client = app.test_client()
    for _ in range(5):
        r = login(client, CLERK, "wrong-password!")
        assert r.status_code == 401 and "用户名或密码不正确" in r.get_data(as_text=True)
    # Now even the right password waits: a guesser learns nothing more.
    r = login(client, CLERK, CLERK_PASSWORD)
    assert r.status_code == 429 and "登录失败次数过多" in r.get_data(as_text=True)
    assert login(app.test_client(), VIEWER, VIEWER_PASSWORD).status_code == 302   # another account is not locked


def test_a_login_never_redirects_elsewhere(app):
    client = app.test_client()
    page = client.get("/login?next=//evil.example/x")
    r = client.post("/login", data={"name": CLERK, "password": CLERK_PASSWORD, "csrf_token": token(page),
                                    "next": "//evil.example/x"})
    assert r.headers["Location"] == "/"


def test_a_password_changed_ends_the_sessions_made_before(round_cfg, app):
    client = app.test_client()
    assert login(client, VIEWER, VIEWER_PASSWORD).status_code == 302
    assert client.get("/").status_code == 200
    with Ledger(round_cfg.ledger_path) as ledger:
        accounts.change_password(ledger, VIEWER, VIEWER_PASSWORD)   # same words, a new salt: a new hash
    assert client.get("/").status_code == 302


def test_a_removed_account_is_logged_out_at_its_next_request(round_cfg, app):
    client = app.test_client()
    with Ledger(round_cfg.ledger_path) as ledger:
        accounts.add(ledger, "临时", "viewer", "temporary-password")
    assert login(client, "临时", "temporary-password").status_code == 302
    assert client.get("/").status_code == 200
    with Ledger(round_cfg.ledger_path) as ledger:
        assert ledger.remove_user("临时")
    assert client.get("/").status_code == 302


def test_a_post_without_its_csrf_token_changes_nothing(clerk, round_cfg):
    n = application_id(round_cfg, DONGYING)
    before = corrections(round_cfg)
    r = clerk.post(f"/applications/{n}/decide", data={"status": "rejected"})
    assert r.status_code == 400 and "安全校验" in r.get_data(as_text=True)
    assert corrections(round_cfg) == before


def test_a_viewer_reads_everything_and_changes_nothing(viewer, round_cfg):
    n = application_id(round_cfg, DONGYING)
    page = viewer.get(f"/applications/{n}")
    assert page.status_code == 200 and DONGYING in page.get_data(as_text=True)
    assert f'action="/applications/{n}/decide"' not in page.get_data(as_text=True)
    before = corrections(round_cfg)
    # A form made by hand, with a valid token of the viewer's own session: refused on the server.
    for path, data in ((f"/applications/{n}/decide", {"status": "rejected"}),
                       (f"/applications/{n}/correct", {"f:avg_trainees": "1"}),
                       (f"/applications/{n}/paper", {"on": "2019-09-20"}),
                       (f"/messages/{broken_message(round_cfg)}/retry", {})):
        r = viewer.post(path, data={**data, "csrf_token": token(page)})
        assert r.status_code == 403, path
    assert corrections(round_cfg) == before


# ---------------------------------------------------------------- pages

def test_every_page_answers_in_chinese(clerk, round_cfg):
    n = application_id(round_cfg, DONGYING)
    for path, words in (("/", ["总览", "各推荐单位申报情况", JINAN, "<svg", "最近一次收信", "附件3"]),
                        ("/applications", ["申报", DONGYING, ENERGY]),
                        (f"/applications/{n}", ["统一社会信用代码", "91370500165418739P", "下载原件", "第1页"]),
                        ("/messages", ["邮件", "处理出错" ]),
                        (f"/messages/{broken_message(round_cfg)}", ["重新处理", "a defect met while reading"]),
                        ("/items", ["轮次事项"]),
                        ("/downloads", ["附件2_申报汇总表_全省.xlsx", "待处理.xlsx"])):
        r = clerk.get(path)
        text = r.get_data(as_text=True)
        assert r.status_code == 200, path
        for w in words:
            assert w in text, (path, w)


def test_the_list_filters_by_recommender_track_status_problem_and_searches(clerk):
    def names(query):
        text = clerk.get("/applications?" + query).get_data(as_text=True)
        return set(re.findall(r'<td><a href="/applications/\d+">(?!A\d+<)([^<]+)</a>', text))
    everyone = names("")
    assert DONGYING in everyone and ENERGY in everyone
    jinan = names("recommender=" + JINAN)
    assert jinan and DONGYING not in jinan and jinan < everyone
    assert names("q=91370500165418739P") == {DONGYING}
    assert names("q=东营石油") == {DONGYING}
    assert ENERGY in names("status=needs_review") and DONGYING not in names("status=needs_review")
    late = names("problem=late")
    assert late and DONGYING not in late
    rural = names("track=rural")
    assert rural and DONGYING not in rural


def test_the_evidence_crop_and_the_page_images_are_pngs_drawn_from_the_filed_original(clerk, round_cfg):
    n = application_id(round_cfg, DONGYING)
    crop = clerk.get(f"/applications/{n}/evidence/credit_code.png")
    assert crop.status_code == 200 and crop.mimetype == "image/png" and crop.data[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    img = Image.open(io.BytesIO(crop.data))
    assert 200 < img.width < 3000 and img.height < img.width       # a strip around the row, not the page
    red = sum(1 for x in range(img.width) for y in range(0, img.height, 4) if img.getpixel((x, y))[:3] == (220, 38, 38))
    assert red > 50, "the value's box is drawn"
    page = clerk.get(f"/applications/{n}/documents/0/pages/1.png")
    assert page.status_code == 200 and page.data[:4] == b"\x89PNG"
    assert Image.open(io.BytesIO(page.data)).width > 800
    assert clerk.get(f"/applications/{n}/documents/0/pages/1.png").data == page.data      # kept, drawn once
    assert clerk.get(f"/applications/{n}/evidence/no_such_field.png").status_code == 404


def test_a_word_form_is_shown_as_pages_libreoffice_draws_and_boxes_no_crop(clerk, round_cfg):
    # 02-edu-department sends its 申请表 as a DOCX: the clerk sees its pages without Word; its fields'
    # boxes are places in the document's grid, not on a page, so no crop is offered for them.
    from urllib.parse import unquote

    from PIL import Image
    n = application_id(round_cfg, EDU)
    names = [unquote(clerk.get(f"/applications/{n}/documents/{i}/original").headers.get("Content-Disposition", ""))
             for i in range(3)]
    word = next(i for i, name in enumerate(names) if name.endswith(".docx"))
    page = clerk.get(f"/applications/{n}/documents/{word}/pages/1.png")
    assert page.status_code == 200 and page.mimetype == "image/png", page.get_data(as_text=True)
    img = Image.open(io.BytesIO(page.data)).convert("L")
    assert img.width > 800 and img.height > img.width                  # an A4 page, upright
    assert sum(1 for x in range(0, img.width, 4) for y in range(0, img.height, 4) if img.getpixel((x, y)) < 100) > 2000
    detail = clerk.get(f"/applications/{n}").get_data(as_text=True)
    assert f"documents/{word}/pages/1.png" in detail
    assert "evidence/credit_code.png" not in detail
    assert clerk.get(f"/applications/{n}/evidence/credit_code.png").status_code == 404


def test_originals_and_tables_download_as_attachments_never_as_pages(clerk, round_cfg):
    n = application_id(round_cfg, DONGYING)
    original = clerk.get(f"/applications/{n}/documents/0/original")
    assert original.status_code == 200 and original.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in original.headers["Content-Security-Policy"]
    xlsx = clerk.get("/downloads/file/附件2_申报汇总表_全省.xlsx")
    assert xlsx.headers["Content-Disposition"].startswith("attachment")
    assert load_workbook(io.BytesIO(xlsx.data)).active.max_row > 3
    export = clerk.get("/downloads/export.json")
    assert json.loads(export.data)["round"] == round_cfg.round.name
    review = clerk.get("/downloads/待处理.xlsx")
    assert "待处理" in load_workbook(io.BytesIO(review.data)).sheetnames
    for path in ("/downloads/file/../intake.sqlite3", "/downloads/file/%2e%2e/intake.sqlite3",
                 "/downloads/file/" + str(round_cfg.ledger_path)):
        assert clerk.get(path, follow_redirects=True).status_code == 404, path


def test_a_hostile_subject_is_shown_as_text(clerk):
    for path in ("/messages", "/items"):
        text = clerk.get(path).get_data(as_text=True)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;{{7*7}}" in text, path
        assert "<script>alert" not in text and "49=HYPERLINK" not in text


def test_a_page_knows_when_anything_it_shows_has_changed(clerk, round_cfg):
    first = clerk.get("/state.json").get_json()["mark"]
    assert clerk.get("/state.json").get_json()["mark"] == first
    with Ledger(round_cfg.ledger_path) as ledger:
        ledger.record_pass(round_cfg.round.name, __import__("datetime").datetime.now(), "intake run", False, {})
    assert clerk.get("/state.json").get_json()["mark"] != first


# ---------------------------------------------------------------- actions, through round/review.py

def test_a_correction_is_recorded_with_its_clerk_and_reaches_the_province_table(app, clerk, round_cfg):
    n = application_id(round_cfg, DONGYING)
    page = clerk.get(f"/applications/{n}")
    r = clerk.post(f"/applications/{n}/correct", data={"csrf_token": token(page), "f:avg_trainees": "3456",
                                                       "note": "已电话核实"}, follow_redirects=True)
    text = r.get_data(as_text=True)
    assert "更正为“3456”" in text and "已电话核实" in text
    mine = [c for c in corrections(round_cfg) if c["target"] == f"A{n}"]
    assert {(c["field"], c["by"], c["source"]) for c in mine} >= {("avg_trainees", CLERK, "web"), ("note", CLERK, "web")}
    assert app.extensions["intake"]["jobs"].wait(300)
    book = load_workbook(round_cfg.output_dir / round_cfg.round.name / "附件2_申报汇总表_全省.xlsx")
    cells = [str(c.value) for row in book.active.iter_rows() for c in row if c.value is not None]
    assert "3456" in cells


def test_a_request_still_answering_after_a_correction_keeps_the_clerks_message(clerk, round_cfg):
    # The browser asks for a page's images and state.json with the cookie it had before the correction:
    # answers that do not change the session must not set that old cookie again.
    n = application_id(round_cfg, DONGYING)
    page = clerk.get(f"/applications/{n}")
    slow = [f"/applications/{n}/evidence/credit_code.png", f"/applications/{n}/documents/0/pages/1.png", "/state.json"]
    for url in slow:
        assert "Set-Cookie" not in clerk.get(url).headers, url
    r = clerk.post(f"/applications/{n}/correct", data={"csrf_token": token(page), "f:avg_trainees": "3457",
                                                       "note": "已核"})
    assert r.status_code == 302 and "Set-Cookie" in r.headers           # the message rides the session
    for url in slow:
        assert "Set-Cookie" not in clerk.get(url).headers, url
    assert "更正为“3457”" in clerk.get(f"/applications/{n}").get_data(as_text=True)


def test_an_unreadable_correction_is_said_and_nothing_recorded(clerk, round_cfg):
    n = application_id(round_cfg, DONGYING)
    before = corrections(round_cfg)
    page = clerk.get(f"/applications/{n}")
    r = clerk.post(f"/applications/{n}/correct", data={"csrf_token": token(page), "f:avg_trainees": "三千"},
                   follow_redirects=True)
    assert "应为整数" in r.get_data(as_text=True)
    assert corrections(round_cfg) == before


def test_decide_and_mark_paper_copies(clerk, round_cfg):
    n = application_id(round_cfg, ENERGY)
    page = clerk.get(f"/applications/{n}")
    r = clerk.post(f"/applications/{n}/decide", data={"csrf_token": token(page), "status": "accepted",
                                                      "note": "人数已核实"}, follow_redirects=True)
    assert "核定为“已受理”" in r.get_data(as_text=True)
    r = clerk.post(f"/applications/{n}/paper", data={"csrf_token": token(page), "on": "9月31日", "copies": "3"},
                   follow_redirects=True)
    assert "纸质材料未登记" in r.get_data(as_text=True)
    r = clerk.post(f"/applications/{n}/paper", data={"csrf_token": token(page), "on": "9月20日", "copies": "3"},
                   follow_redirects=True)
    assert "纸质材料已收到（2019-09-20，3份）" in r.get_data(as_text=True)
    listed = clerk.get("/applications?status=accepted").get_data(as_text=True)
    assert ENERGY in listed and "2019-09-20（3份）" in listed


def test_a_failed_message_is_run_again_from_the_console(app, clerk, round_cfg):
    m = broken_message(round_cfg)
    page = clerk.get(f"/messages/{m}")
    r = clerk.post(f"/messages/{m}/retry", data={"csrf_token": token(page)}, follow_redirects=True)
    assert "已开始重新处理" in r.get_data(as_text=True)
    assert app.extensions["intake"]["jobs"].wait(300)
    with Ledger(round_cfg.ledger_path) as ledger:
        row = ledger.message(m)
        last = ledger.passes(round_cfg.round.name)[0]
    assert row["outcome"] != "review" or not row["error"], "read again without the defect, it is no longer an error"
    assert last["command"] == "intake web（重新处理）"
    assert "a defect met while reading" not in clerk.get(f"/messages/{m}").get_data(as_text=True)


def test_a_round_item_is_marked_handled(clerk, round_cfg):
    page = clerk.get("/items")
    target = re.search(r'action="/items/([RS]\d+)/decide"', page.get_data(as_text=True)).group(1)
    r = clerk.post(f"/items/{target}/decide", data={"csrf_token": token(page), "status": "handled", "back": "items",
                                                    "note": "已电话提醒"}, follow_redirects=True)
    assert f"{target} 核定为“已处理”" in r.get_data(as_text=True)
    assert f'action="/items/{target}/decide"' not in clerk.get("/items").get_data(as_text=True)


def test_behind_a_proxy_prefix_links_carry_it(app):
    r = app.test_client().get("/", environ_overrides={"SCRIPT_NAME": "/intake"})
    assert r.headers["Location"].startswith("/intake/login")
