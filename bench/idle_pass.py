"""What a pass costs when nothing is new, as the ledger grows. Prints figures; not a test.

    .venv/bin/python bench/idle_pass.py [--sizes 500 5000 20000] [--n 3]

The sample mailbox (pipeline/samples/*.eml) is processed once; its ledger is then grown to each size
by copying its rows (messages, applications, receipts — every copy a unit of its own, every receipt
sent), as a round with that much mail behind it would look. For each size, in a fresh process:

1. an idle pass: `run_pass` with nothing new in the mailbox (median of --n);
2. the floor: what any idle pass must do — open the ledger and ask the mailbox for what is new;
3. the round assessed and stored again (`reassess`), which new mail or a clerk's correction needs;
4. the pass that follows a change (here: the growth): the round assessed, every table rebuilt (no
   PDF copies: LibreOffice's time is its own).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _environ(root: Path) -> dict[str, str]:
    return {"INTAKE_CONFIG": str(ROOT / "inbox_rules.yaml"),
            "INTAKE_MAILBOX_URL": f"maildir:{root / 'mail' / 'inbox'}",
            "INTAKE_OUTBOX_URL": f"maildir:{root / 'mail' / 'sent'}",
            "INTAKE_OUTPUT_DIR": str(root / "output")}


def _config(root: Path):
    from pipeline import config as config_mod
    return config_mod.load(environ=_environ(root))


def base(root: Path) -> None:
    """The sample mailbox, processed once (OCR included)."""
    from pipeline import demo
    from pipeline.flow import run_pass
    cfg = _config(root)
    demo.install(cfg)
    run_pass(cfg)


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"PRAGMA table_info({table})")]


def grow(ledger: Path, size: int, moved_from: Path) -> None:
    """Copies of the sample messages until the ledger holds `size` messages; the folder was copied from
    moved_from (the ledger names its mailbox and raw files by path)."""
    db = sqlite3.connect(ledger)
    for column in ("mailbox", "raw_path"):
        db.execute(f"UPDATE messages SET {column} = replace({column}, ?, ?)", (str(moved_from), str(ledger.parents[1])))
    messages = _columns(db, "messages")
    apps = _columns(db, "applications")
    receipts = _columns(db, "receipts")
    originals = db.execute("SELECT id FROM messages ORDER BY id").fetchall()
    copy = 0
    while db.execute("SELECT count(*) FROM messages").fetchone()[0] < size:
        copy += 1
        for (mid,) in originals:
            if db.execute("SELECT count(*) FROM messages").fetchone()[0] >= size:
                break
            row = dict(zip(messages, db.execute("SELECT * FROM messages WHERE id = ?", (mid,)).fetchone()))
            row.update(id=None, uid=f"{row['uid']}.{copy}", sha256=f"{row['sha256'][:56]}{copy:08d}",
                       message_id=f"<copy{copy}.{row['message_id'] or mid}>", duplicate_of=None)
            new = db.execute(f"INSERT INTO messages ({','.join(row)}) VALUES ({','.join('?' * len(row))})",
                             list(row.values())).lastrowid
            for a in db.execute("SELECT * FROM applications WHERE message = ?", (mid,)).fetchall():
                app = dict(zip(apps, a))
                app.update(id=None, message=new, applicant=f"{app['applicant']}第{copy}分部", superseded_by=None)
                db.execute(f"INSERT INTO applications ({','.join(app)}) VALUES ({','.join('?' * len(app))})",
                           list(app.values()))
            for r in db.execute("SELECT * FROM receipts WHERE message = ?", (mid,)).fetchall():
                rec = dict(zip(receipts, r))
                rec.update(id=None, message=new, receipt_id=f"<copy{copy}.{rec['receipt_id']}>", state="sent",
                           number=None)
                db.execute(f"INSERT INTO receipts ({','.join(rec)}) VALUES ({','.join('?' * len(rec))})",
                           list(rec.values()))
    db.execute("UPDATE receipts SET number = id WHERE number IS NULL")
    db.commit()
    db.close()


def measure(root: Path, n: int) -> dict:
    from pipeline.flow import _Seen, run_pass
    from pipeline.mail.connect import open_mailbox
    from pipeline.round.apply import reassess
    from pipeline.store import Ledger
    # No PDF copies: LibreOffice over a table of fifteen thousand rows would be all the bench measured.
    cfg = dataclasses.replace(_config(root), pdf=False)
    start = time.perf_counter()
    run_pass(cfg)                       # the first pass after growing: the round assessed, files rebuilt
    changed = time.perf_counter() - start
    idle = []
    for _ in range(n):
        start = time.perf_counter()
        report = run_pass(cfg)
        idle.append(time.perf_counter() - start)
        assert report.fetched == 0, "the bench's mailbox had new mail"
    start = time.perf_counter()
    with Ledger(cfg.ledger_path) as ledger:
        reassess(cfg, ledger)
    again = time.perf_counter() - start
    floor = []
    for _ in range(n):
        start = time.perf_counter()
        with Ledger(cfg.ledger_path) as ledger:
            mailbox = open_mailbox(cfg)
            try:
                assert not list(mailbox.fetch_new(_Seen(ledger, mailbox.name)))
            finally:
                mailbox.close()
        floor.append(time.perf_counter() - start)
    return {"idle": statistics.median(idle), "reassess": again, "floor": statistics.median(floor),
            "changed": changed}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 5000, 20000])
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(Path(args.child[0]), int(args.child[1]))))
        return 0
    with tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp:
        first = Path(tmp) / "base"
        base(first)
        print(f"{'ledger messages':>16} {'idle pass':>10} {'floor':>8} {'ratio':>7} {'reassess':>9} {'rebuild pass':>13}")
        for size in args.sizes:
            root = Path(tmp) / str(size)
            shutil.copytree(first, root)
            grow(_config(root).ledger_path, size, first)
            out = subprocess.run([sys.executable, __file__, "--child", str(root), str(args.n)], check=True,
                                 stdout=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
            m = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{size:>16} {m['idle'] * 1000:>8.0f}ms {m['floor'] * 1000:>6.0f}ms "
                  f"{m['idle'] / m['floor']:>6.1f}x {m['reassess'] * 1000:>7.0f}ms {m['changed'] * 1000:>11.0f}ms")
            shutil.rmtree(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
