"""PDF copies of the Word outputs through LibreOffice, when it is installed; silently none otherwise."""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..filing import write_atomic
from ..mail.tools import minimal_env

log = logging.getLogger("intake.report")

# Documents per LibreOffice run below which a second run at once does not pay for its start-up: measured
# on a round's letters and tables (2 cores), 41 documents took 7.0 s in one run and 4.2 s in two.
PER_RUN = 12


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def to_pdf(documents: Sequence[Path], timeout: float = 180.0, fontconfig: Path | None = None) -> list[Path]:
    """Write <name>.pdf beside each document; returns the PDFs written.

    One LibreOffice run converts many (its start-up is most of the cost of a few); a round's worth is
    split over one run per core, at once, each with PER_RUN documents at least. Each run gets a private,
    throw-away profile: a clerk's desktop LibreOffice holding the default profile's lock, or another
    conversion running at the same time, would otherwise make it exit without converting anything.
    fontconfig: a fonts.conf naming the fallbacks for 宋体/仿宋/黑体 (templates/fonts.conf).
    """
    exe = soffice()
    if not documents:
        return []
    if exe is None:
        log.info("soffice not installed: %d documents left without a PDF copy", len(documents))
        return []
    runs = max(1, min(os.cpu_count() or 1, len(documents) // PER_RUN))
    size = -(-len(documents) // runs)
    parts = [documents[k:k + size] for k in range(0, len(documents), size)]
    with ThreadPoolExecutor(len(parts), thread_name_prefix="soffice") as pool:
        written = [pdf for done in pool.map(lambda part: _convert(exe, part, timeout, fontconfig), parts) for pdf in done]
    log.info("soffice: %d of %d PDF copies written (%d run(s))", len(written), len(documents), len(parts))
    return written


def _convert(exe: str, documents: Sequence[Path], timeout: float, fontconfig: Path | None) -> list[Path]:
    """One LibreOffice run over the documents."""
    with tempfile.TemporaryDirectory(prefix="intake-soffice-") as tmp:
        work = Path(tmp)
        inputs = work / "in"
        inputs.mkdir()
        # Copies under plain names: two documents of the same name in different folders would
        # otherwise overwrite each other in --outdir, and no Chinese path reaches the command line.
        sources = []
        for i, doc in enumerate(documents):
            copy = inputs / f"{i:04d}{doc.suffix}"
            shutil.copyfile(doc, copy)
            sources.append(copy)
        cmd = [exe, f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--norestore",
               "--nolockcheck", "--convert-to", "pdf", "--outdir", str(work / "out"), *map(str, sources)]
        # Its own process group, so a timeout also ends the oosplash/soffice.bin children.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                env=_environment(work, fontconfig))
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            log.warning("soffice took longer than %.0f s: no PDF copies this time", timeout)
            return []
        written = []
        for doc, source in zip(documents, sources):
            pdf = work / "out" / (source.stem + ".pdf")
            if pdf.is_file() and pdf.stat().st_size > 0:
                written.append(write_atomic(doc.with_suffix(".pdf"), pdf.read_bytes()))
            else:
                log.warning("soffice made no PDF of %s (exit %s): %s", doc, proc.returncode,
                            err.decode("utf-8", "replace").strip()[-300:])
        return written


def _environment(work: Path, fontconfig: Path | None) -> dict[str, str]:
    # Nothing intake was started with (the mailbox passwords): only what LibreOffice needs.
    extra = {"FONTCONFIG_FILE": str(fontconfig.resolve())} if fontconfig is not None and fontconfig.is_file() else {}
    return minimal_env(home=str(work), **extra)
