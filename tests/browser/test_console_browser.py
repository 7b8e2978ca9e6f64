"""The console in a real browser: Debian's chromium, driven by Playwright, against the console served by
waitress on loopback over a round processed by a real pass. Each test leaves its screenshots in its
temporary folder."""
from __future__ import annotations

import io
import re
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from console_round import (
    CLERK,
    CLERK_PASSWORD,
    DONGYING,
    ENERGY,
    HOSTILE,
    JINAN,
    VIEWER,
    VIEWER_PASSWORD,
    application_id,
    broken_message,
    build,
)
from openpyxl import load_workbook
from playwright.sync_api import Page, expect, sync_playwright
from waitress import create_server

from pipeline.store import Ledger
from pipeline.web.app import create_app

pytestmark = [pytest.mark.browser, pytest.mark.ocr]   # the round's scanned sample is read
# A loaded two-core machine (OCR workers beside the browser) can take more than Playwright's 5 s.
expect.set_options(timeout=20_000)
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """(base URL, config, app) of a console serving a processed round."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `make test` installs it (scripts/system-packages.sh)")
    mp = pytest.MonkeyPatch()
    cfg = build(tmp_path_factory.mktemp("browser-round"), mp)
    mp.undo()
    app = create_app(cfg, b"b" * 32)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}", cfg, app
    assert app.extensions["intake"]["jobs"].wait(300)
    server.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield b
        b.close()


class Shots:
    def __init__(self, page: Page, folder: Path):
        self.page, self.folder, self.n = page, folder, 0

    def __call__(self, name: str) -> None:
        self.n += 1
        self.page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)


def open_page(browser, console, tmp_path, name=CLERK, password=CLERK_PASSWORD):
    base, _, app = console
    # An earlier test's rebuild ending would reload this test's page by itself (app.js) mid-typing.
    assert app.extensions["intake"]["jobs"].wait(300)
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: errors.append("a dialog opened: " + d.message))
    # A script's own errors; a load the browser gave up on (a page reloading by itself) is no error of ours.
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
    shots = Shots(page, tmp_path)
    page.goto(base + "/")
    expect(page.locator("h1")).to_have_text("登录")
    shots("login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("总览")
    return page, shots, errors


def test_log_in_and_see_the_round_at_a_glance(browser, console, tmp_path):
    page, shots, errors = open_page(browser, console, tmp_path)
    expect(page.locator("svg.chart rect").first).to_be_visible()
    expect(page.locator("table.lines")).to_contain_text(JINAN)
    shots("overview")
    assert not errors


def test_filter_and_search_the_applications(browser, console, tmp_path):
    page, shots, errors = open_page(browser, console, tmp_path)
    page.click("nav >> text=申报")
    page.select_option("select[name=recommender]", JINAN)
    page.click("text=筛选")
    rows = page.locator("table.list tbody tr")
    expect(rows.first).to_contain_text(JINAN)
    assert rows.count() >= 2 and DONGYING not in page.locator("table.list").inner_text()
    shots("filtered")
    page.fill("input[name=q]", "91370500165418739P")
    page.select_option("select[name=recommender]", "")
    page.click("text=筛选")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(DONGYING)
    shots("searched")
    assert not errors


def test_see_where_a_value_was_read_correct_it_and_see_the_province_table_change(browser, console, tmp_path):
    base, cfg, app = console
    page, shots, errors = open_page(browser, console, tmp_path)
    n = application_id(cfg, DONGYING)
    page.goto(f"{base}/applications/{n}")
    crop = page.locator("#field-credit_code img.crop")
    expect(crop).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 200", arg=crop.element_handle())
    expect(page.locator(".pages img").first).to_be_visible()
    shots("evidence")
    page.fill("textarea[name='f:avg_trainees']", "3789")
    page.fill("#fields input[name=note]", "与原件核对")
    page.click("#fields button[type=submit]")
    expect(page.locator(".flash.ok").first).to_contain_text("更正为“3789”")
    expect(page.locator("textarea[name='f:avg_trainees']")).to_have_value("3789")
    shots("corrected")
    assert app.extensions["intake"]["jobs"].wait(300)
    page.click("nav >> text=下载")
    with page.expect_download() as download:
        page.click("text=附件2_申报汇总表_全省.xlsx")
    data = Path(download.value.path()).read_bytes()
    values = [str(c.value) for row in load_workbook(io.BytesIO(data)).active.iter_rows() for c in row]
    assert "3789" in values
    shots("downloads")
    assert not errors


def test_decide_and_mark_the_paper_copies(browser, console, tmp_path):
    base, cfg, app = console
    page, shots, errors = open_page(browser, console, tmp_path)
    n = application_id(cfg, ENERGY)
    page.goto(f"{base}/applications/{n}")
    expect(page.locator("h1 .status")).to_have_text("待核实")
    page.select_option("#decide select[name=status]", "accepted")
    page.fill("#decide input[name=note]", "已电话核实培训人数")
    page.click("#decide button[type=submit]")
    expect(page.locator("h1 .status")).to_have_text("已受理")
    # The decision rebuilds the round in the background, and a page whose state changed reloads itself
    # (app.js) unless someone is typing: on a loaded machine that reload landed between the page
    # showing and the typing below and took the typing away. Let the rebuild end and the page show it.
    assert app.extensions["intake"]["jobs"].wait(300)
    page.reload()
    page.fill("#paper input[name=on]", "2019年9月31日")
    page.click("#paper button[type=submit]")
    expect(page.locator(".flash.error")).to_contain_text("纸质材料未登记")
    page.fill("#paper input[name=on]", "2019-09-21")
    page.click("#paper button[type=submit]")
    expect(page.locator(".actions")).to_contain_text("已于 2019-09-21 收到 3 份")
    expect(page.locator("table").last).to_contain_text("核定为“已受理”")
    shots("decided")
    assert not errors


def a_pass_ends(cfg) -> None:
    """What `intake poll` leaves in the ledger when it ends a pass: news for every console page."""
    with Ledger(cfg.ledger_path) as ledger:
        ledger.record_pass(cfg.round.name, datetime.now(UTC), "poll", False, {})


@pytest.mark.parametrize("clerk", ["away", "in a field", "typing"])
def test_news_reloads_a_page_nobody_is_in_and_waits_for_a_clerk_in_a_field(browser, console, tmp_path, clerk):
    base, cfg, _ = console
    page, shots, errors = open_page(browser, console, tmp_path)
    page.goto(f"{base}/applications/{application_id(cfg, DONGYING)}")
    note = page.locator("#fields input[name=note]")
    if clerk == "in a field":
        note.click()
    elif clerk == "typing":
        note.fill("与原件核对")
    page.evaluate("window.sameDocument = true")
    if clerk == "away":
        with page.expect_navigation(timeout=20_000):    # the page reloads by itself
            a_pass_ends(cfg)
        assert page.evaluate("window.sameDocument") is None
        expect(page.locator("#fresh")).to_be_hidden()
    else:
        a_pass_ends(cfg)
        expect(page.locator("#fresh")).to_be_visible()
        shots("news-waits")
        assert page.evaluate("window.sameDocument") is True
        expect(note).to_have_value("与原件核对" if clerk == "typing" else "")
    assert not errors


def test_a_failed_message_is_run_again_and_the_page_shows_the_end_without_a_reload(browser, console, tmp_path):
    base, cfg, _ = console
    page, shots, errors = open_page(browser, console, tmp_path)
    page.goto(f"{base}/messages?show=failed")
    m = broken_message(cfg)
    page.click(f"text=M{m}")
    expect(page.locator("main")).to_contain_text("a defect met while reading")
    shots("failed")
    page.click("#retry button")
    expect(page.locator(".flash.ok")).to_contain_text("已开始重新处理")
    # Nobody reloads: the page asks the console and reloads itself when the pass has ended.
    expect(page.locator("main")).not_to_contain_text("a defect met while reading", timeout=120_000)
    expect(page.locator(".flash.ok")).to_contain_text("已开始重新处理")     # what the clerk was told stays
    shots("rerun")
    assert not errors


def test_a_viewer_sees_no_actions_and_a_forged_post_is_refused(browser, console, tmp_path):
    base, cfg, _ = console
    page, shots, errors = open_page(browser, console, tmp_path, VIEWER, VIEWER_PASSWORD)
    n = application_id(cfg, DONGYING)
    page.goto(f"{base}/applications/{n}")
    expect(page.locator("#decide")).to_have_count(0)
    expect(page.locator("textarea[name='f:avg_trainees']")).to_have_attribute("readonly", "")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    forged = page.request.post(f"{base}/applications/{n}/decide", form={"status": "rejected", "csrf_token": token or ""})
    assert forged.status == 403 and "只读账号" in forged.text()
    shots("viewer")
    assert not errors


def test_a_post_without_its_csrf_token_is_refused(browser, console, tmp_path):
    base, cfg, _ = console
    page, shots, _ = open_page(browser, console, tmp_path)
    n = application_id(cfg, DONGYING)
    answer = page.request.post(f"{base}/applications/{n}/decide", form={"status": "rejected"})
    assert answer.status == 400 and "安全校验" in answer.text()
    page.goto(f"{base}/applications/{n}")
    expect(page.locator("h1 .status")).not_to_have_text("不予受理")
    shots("csrf")


def test_a_hostile_subject_is_shown_as_text_and_runs_nothing(browser, console, tmp_path):
    base, _, _ = console
    page, shots, errors = open_page(browser, console, tmp_path)
    page.goto(f"{base}/messages")
    cell = page.locator("table.list td", has_text=re.compile(r"alert\(1\)"))
    expect(cell.first).to_contain_text(HOSTILE[:40])
    assert page.locator("table.list script").count() == 0
    shots("hostile")
    assert not errors, errors
