"""The README's pictures of the console: the overview and an application with its evidence, as Debian's
chromium shows them, over a copy of the demo's round (the demo's own ledger gets no account from this).

    make pictures         # = make demo, then this script (and make_pictures.py)

    scripts/make_console_pictures.py [OUT]     # default: docs/pictures

Needs chromium (Debian's package) and Playwright (the test extras); neither `make demo` nor `make test`
needs this.
"""
from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402 - after the path, as the other scripts
from waitress import create_server  # noqa: E402

from pipeline import config as config_mod  # noqa: E402 - the project's own module, from a script run by path
from pipeline.store import Ledger  # noqa: E402
from pipeline.web import accounts  # noqa: E402
from pipeline.web.app import create_app  # noqa: E402

SCANNED = "东营石油技术培训中心"    # the demo's scanned form: its evidence is drawn on a scan


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "docs" / "pictures"
    cfg = config_mod.load(ROOT / "inbox_rules.yaml")
    if not cfg.ledger_path.exists():
        print("run `make demo` first", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "output"
        shutil.copytree(cfg.output_dir, copy, ignore=shutil.ignore_patterns("intake.lock", ".web"))
        cfg = dataclasses.replace(cfg, output_dir=copy)
        with Ledger(cfg.ledger_path) as ledger:
            accounts.add(ledger, "孙沛沛", "clerk", "pictures-only-password")
            number = next(r["id"] for r in ledger.applications(cfg.round.name) if r["applicant"] == SCANNED)
        server = create_server(create_app(cfg, b"p" * 32), host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{server.effective_port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium")
            page = browser.new_page(viewport={"width": 1360, "height": 860}, locale="zh-CN")
            page.goto(base + "/login")
            page.fill("input[name=name]", "孙沛沛")
            page.fill("input[name=password]", "pictures-only-password")
            page.click("button[type=submit]")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(out / "console-overview.png"))
            page.goto(f"{base}/applications/{number}#field-credit_code")
            page.wait_for_load_state("networkidle")
            page.locator("#field-unit_name, #field-applicant").first.scroll_into_view_if_needed()
            page.screenshot(path=str(out / "console-application.png"))
            browser.close()
        server.close()
    print(out / "console-overview.png", out / "console-application.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
