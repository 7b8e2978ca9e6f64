"""How fast the console answers, on a round of a thousand messages. Prints figures; not a test.

    .venv/bin/python bench/console.py [--messages 1000] [--n 5]

The sample mailbox (pipeline/samples/*.eml) is processed once and its ledger grown by copying its rows
(bench/idle_pass.py's `grow`: every copy a unit of its own), to --messages messages — about as many
applications as messages, well over the 300 the target names. Then, in this process, the console's app
(pipeline/web/app.py) answers through Flask's test client: server time, no network, no browser.

1. Pages: each of 总览, 申报 (whole list, a search), 申报详情, 邮件, 邮件详情, 轮次事项 — the first request
   (it assesses the round; later requests reuse that assessment until the ledger changes) and the
   median and worst of --n more. Target: 100 ms.
2. Images: a page of a scanned form drawn for the first time (a child process renders it under the
   cage's limits) and again (kept under output_dir/.web), and a field's evidence crop, first and again.
   Target: 300 ms the first time.
"""
from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from idle_pass import _config, base, grow  # noqa: E402 - the bench's own helpers, from a script run by path

SCANNED = "东营石油技术培训中心"     # the sample whose form is a scan


def _login(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    answer = client.post("/login", data={"name": "bench", "password": "bench-password-1", "csrf_token": token.group(1)})
    assert answer.status_code == 302, "the bench account could not log in"


def _timed(client, path: str) -> float:
    start = time.perf_counter()
    answer = client.get(path)
    spent = time.perf_counter() - start
    assert answer.status_code == 200, f"{path}: {answer.status_code}"
    return spent * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--n", type=int, default=5)
    args = parser.parse_args()

    from pipeline.store import Ledger
    from pipeline.web import accounts
    from pipeline.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        first, root = Path(tmp) / "base", Path(tmp) / "round"
        base(first)
        shutil.copytree(first, root)
        grow(root / "output" / "intake.sqlite3", args.messages, first)
        cfg = _config(root)
        with Ledger(cfg.ledger_path) as ledger:
            accounts.add(ledger, "bench", "clerk", "bench-password-1")
            messages = len(ledger.messages(cfg.round.name))
            apps = ledger.applications(cfg.round.name)
            scanned = next(a["id"] for a in apps if a["applicant"] == SCANNED)
            other = apps[len(apps) // 2]["id"]
            message = apps[len(apps) // 2]["message"]
        app = create_app(cfg, b"x" * 32)
        client = app.test_client()
        _login(client)
        print(f"round: {messages} messages, {len(apps)} applications")
        print(f"{'page':<34}{'first ms':>10}{'median ms':>11}{'worst ms':>10}  target 100 ms")
        pages = (("总览 /", "/"), ("申报 /applications", "/applications"),
                 ("申报 search", "/applications?q=" + SCANNED[:4]), ("申报详情 (text PDF)", f"/applications/{other}"),
                 ("申报详情 (scan)", f"/applications/{scanned}"), ("邮件 /messages", "/messages"),
                 ("邮件详情", f"/messages/{message}"), ("轮次事项 /items", "/items"))
        missed = []
        for label, path in pages:
            once = _timed(client, path)
            again = [_timed(client, path) for _ in range(args.n)]
            median = statistics.median(again)
            print(f"{label:<34}{once:>10.1f}{median:>11.1f}{max(again):>10.1f}")
            if median > 100:
                missed.append(label)
        print("pages:", "all within 100 ms (median)" if not missed else "over 100 ms: " + ", ".join(missed))

        shutil.rmtree(cfg.output_dir / ".web" / "pages", ignore_errors=True)
        images = (("page image, scan p.1", f"/applications/{scanned}/documents/0/pages/1.png"),
                  ("evidence crop, scan", f"/applications/{scanned}/evidence/credit_code.png"),
                  ("page image, text PDF p.1", f"/applications/{other}/documents/0/pages/1.png"))
        print(f"{'image':<34}{'first ms':>10}{'cached ms':>11}  target 300 ms first")
        slow = []
        for label, path in images:
            once = _timed(client, path)
            cached = statistics.median(_timed(client, path) for _ in range(args.n))
            print(f"{label:<34}{once:>10.1f}{cached:>11.1f}")
            if once > 300:
                slow.append(label)
        print("images:", "all within 300 ms the first time" if not slow else "over 300 ms: " + ", ".join(slow))
    return 0


if __name__ == "__main__":
    sys.exit(main())
