"""The console's page images: drawn once and kept (the most recently shown kept longest); Word files
through LibreOffice once per file, a failure remembered."""
from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from pipeline.web.images import NoPages, Pictures

WORD = Path(__file__).resolve().parents[1] / "data" / "samples" / "form-sdut-continuing-edu.docx"


def test_a_word_file_libreoffice_cannot_convert_is_not_tried_again_at_every_view(tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.fail("LibreOffice is not installed: `make test` installs it (scripts/system-packages.sh)")
    data = WORD.read_bytes()
    broken = Pictures(tmp_path, "/bin/false")        # a converter that fails, as a hung or crashed one does
    with pytest.raises(NoPages, match="LibreOffice"):
        broken.page(data, 0)
    assert broken.pages(data) == 0
    # Remembered: even a working LibreOffice is not run for that file again (a file that hangs it would
    # otherwise hold a console thread for a minute at each view).
    again = Pictures(tmp_path, soffice)
    with pytest.raises(NoPages, match="LibreOffice"):
        again.page(data, 0)
    fresh = Pictures(tmp_path / "other", soffice)
    assert fresh.pages(data) == 1 and fresh.page(data, 0)[:4] == b"\x89PNG" and fresh.pages(data) == 1


def test_a_page_shown_again_is_read_from_disk_and_counts_as_used(tmp_path):
    pdf = WORD.with_suffix(".pdf").read_bytes()
    pictures = Pictures(tmp_path)
    first = pictures.page(pdf, 0)
    (kept,) = pictures.folder.glob("*.png")
    old = time.time() - 5000
    os.utime(kept, (old, old))
    assert pictures.page(pdf, 0) == first
    assert kept.stat().st_mtime > old + 4000, "the least recently used go first when the cache is trimmed"


def _counting(tmp_path: Path, soffice: str) -> tuple[str, Path]:
    """The real LibreOffice behind a script that notes each start: how many times the console ran it."""
    runs = tmp_path / "runs.log"
    script = tmp_path / "soffice-counted"
    script.write_text(f'#!/bin/sh\necho run >> "{runs}"\nexec "{soffice}" "$@"\n')
    script.chmod(0o755)
    return str(script), runs


def test_a_word_file_is_converted_once_in_the_background_however_many_ask(tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.fail("LibreOffice is not installed: `make test` installs it (scripts/system-packages.sh)")
    counted, runs = _counting(tmp_path, soffice)
    data = WORD.read_bytes()
    pictures = Pictures(tmp_path / "out", counted)
    assert pictures.pages(data) == 1          # listed: not converted yet, the listing does not wait
    # Two clerks open its first page at once: both wait for the conversion already under way.
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: pictures.page(data, 0), range(2))
    assert first[:4] == b"\x89PNG" and first == second
    assert runs.read_text().splitlines() == ["run"], "one LibreOffice for the file"
    assert Pictures(tmp_path / "out", counted).page(data, 0) == first and len(runs.read_text().splitlines()) == 1
