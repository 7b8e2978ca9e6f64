"""The files kept only for speed stay under outputs.cache_size, least recently used first; nothing else
under output_dir is touched."""
from __future__ import annotations

import os
import time
from dataclasses import replace

from pipeline import caches
from pipeline.schedule import Service

KB = 1024


def _file(path, size: int, age: float, now: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    os.utime(path, (now - age, now - age))
    return path


def test_the_least_recently_used_go_first_down_below_the_limit(tmp_path):
    now = time.time()
    ocr, pages = tmp_path / caches.OCR, tmp_path / caches.PAGES
    oldest = _file(ocr / "ab" / "1.json", 40 * KB, 5000, now)
    old_page = _file(pages / "p1.png", 40 * KB, 4000, now)
    used_again = _file(ocr / "cd" / "2.json", 40 * KB, 3000, now)
    newer = _file(pages / "p2.png", 40 * KB, 100, now)
    caches.used(used_again)                             # read a moment ago: back of the queue
    secret = _file(tmp_path / ".web" / "secret", 64, 9000, now)
    ledger = _file(tmp_path / "intake.sqlite3", 400 * KB, 9000, now)
    original = _file(tmp_path / "2019" / "济南市" / "申请表.pdf", 400 * KB, 9000, now)

    assert caches.size(tmp_path) == 160 * KB, "what intake check reports: the kept files alone"
    done = caches.trim(tmp_path, limit=100 * KB, now=now)

    assert not oldest.exists() and not old_page.exists()
    assert used_again.exists() and newer.exists()
    assert (done.files, done.freed, done.kept) == (2, 80 * KB, 80 * KB)
    assert secret.exists() and ledger.exists() and original.exists(), "only the kept-for-speed folders"


def test_under_the_limit_nothing_goes_and_a_file_being_written_is_left_alone(tmp_path):
    now = time.time()
    pages = tmp_path / caches.PAGES
    kept = _file(pages / "p1.png", 10 * KB, 9000, now)
    writing = _file(pages / ".tmp-abc.png", 10 * KB, 5, now)
    left_by_a_dead_writer = _file(pages / ".tmp-def.png", 10 * KB, 2 * caches.STALE_SECONDS, now)

    done = caches.trim(tmp_path, limit=1024 * KB, now=now)

    assert kept.exists() and writing.exists() and not left_by_a_dead_writer.exists()
    assert (done.files, done.freed) == (1, 0)


def test_the_service_trims_to_the_configured_size(config):
    now = time.time()
    folder = config.output_dir / caches.OCR
    files = [_file(folder / f"{i:02x}" / f"{i}.json", 30 * KB, 1000 - i, now) for i in range(10)]
    Service(replace(config, cache_size=100 * KB)).tidy()
    assert [f.exists() for f in files] == [False] * 7 + [True] * 3


def test_a_kept_reading_read_again_counts_as_used(tmp_path):
    from pipeline.read.ocr import Line, Reading, Readings
    now = time.time()
    place = tmp_path / caches.OCR / "ab" / "ab.json"
    reading = Reading((Line("申请单位", (1.0, 2.0, 30.0, 12.0), 0.98),), (), 0.36)
    Readings.put(place, reading)
    os.utime(place, (now - 5000, now - 5000))
    assert Readings.get(place) == reading
    assert place.stat().st_mtime > now - 60
