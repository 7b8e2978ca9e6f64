"""Pages of a sender's file as PNG images for the console, and the crop of a page a value was read from.

A sender's file is never served as a page: it is drawn here, in a child process under the cage's limits
(a PDF is attacker bytes however many times it has been read), and the PNGs are kept under
output_dir/.web so that a page is drawn once.
"""
from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image, ImageDraw, ImageOps

from .. import caches, cage
from ..filing import write_atomic
from ..mail import tools
from ..read.raster import A4_WIDTH_PT
from ..read.sniff import sniff

log = logging.getLogger("intake.web")

DPI = 110                  # a whole page: A4 is 910 px wide, readable on an office screen
CROP_DPI = 200             # a field's crop: small print stays legible
MARGIN_PT = (60.0, 24.0)   # around the value and its label: enough of the table to recognise the row
LIMITS = cage.Limits(memory=1024 * 1024 * 1024, seconds=30.0)
MAX_SIDE = 4000            # a photo is shrunk to this before drawing: the screen shows less


class NoPages(ValueError):
    """The file has no pages to draw (a Word or Excel file, or bytes that are no PDF or picture)."""


@dataclass(frozen=True)
class Drawn:
    png: bytes
    pages: int


def _open(data: bytes, index: int, dpi: int) -> tuple[Image.Image, float, int]:
    """Page `index` as an image, its width in points (the evidence's unit) and the file's page count."""
    if data[:5] == b"%PDF-":
        pdf = pdfium.PdfDocument(data)
        try:
            pages = len(pdf)
            page = pdf[min(index, pages - 1)]
            width_pt, height_pt = page.get_size()
            scale = dpi / 72
            if width_pt * height_pt * scale * scale > 40_000_000:   # a malformed /MediaBox
                scale = (40_000_000 / (width_pt * height_pt)) ** 0.5
            img = page.render(scale=scale).to_pil().convert("RGB")
        finally:
            pdf.close()
        return img, width_pt, pages
    try:
        with Image.open(io.BytesIO(data)) as opened:
            pages = max(1, getattr(opened, "n_frames", 1))
            if index:
                opened.seek(min(index, pages - 1))
            img = ImageOps.exif_transpose(opened).convert("RGB")
    except (OSError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise NoPages(type(exc).__name__) from None
    img.thumbnail((MAX_SIDE, MAX_SIDE))
    # As OCR measured it (raster.Raster.points_per_pixel): a photo counts as an A4-wide page.
    return img, A4_WIDTH_PT, pages


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", compress_level=1)     # a noisy scan at the default level costs 130 ms of a 260 ms page
    return out.getvalue()


def draw_page(data: bytes, index: int) -> Drawn:
    img, _, pages = _open(data, index, DPI)
    return Drawn(_png(img), pages)


def draw_crop(data: bytes, index: int, box: Sequence[float], label: Sequence[float] | None, upright: int = 0) -> Drawn:
    """The part of the page around the value (red) and its label (blue), boxes in points from the top left,
    turned `upright` quarter turns anticlockwise so that a sideways page's row reads level."""
    img, width_pt, pages = _open(data, index, CROP_DPI)
    scale = img.width / width_pt
    boxes = [b for b in (box, label) if b]
    # The margins run along the row and across it, whichever way the row lies on the page.
    along, across = MARGIN_PT if upright % 2 == 0 else MARGIN_PT[::-1]
    x0 = max(0.0, min(b[0] for b in boxes) - along)
    top = max(0.0, min(b[1] for b in boxes) - across)
    x1 = min(img.width / scale, max(b[2] for b in boxes) + along)
    bottom = min(img.height / scale, max(b[3] for b in boxes) + across)
    if x1 <= x0 or bottom <= top:
        raise NoPages("the box lies outside the page")
    crop = img.crop((round(x0 * scale), round(top * scale), round(x1 * scale), round(bottom * scale)))
    pen = ImageDraw.Draw(crop)
    for b, colour in ((label, (37, 99, 235)), (box, (220, 38, 38))):
        if b:
            pen.rectangle(((b[0] - x0) * scale - 3, (b[1] - top) * scale - 3, (b[2] - x0) * scale + 3,
                           (b[3] - top) * scale + 3), outline=colour, width=3)
    if upright % 4:
        crop = crop.rotate(90 * (upright % 4), expand=True)     # PIL turns anticlockwise
    return Drawn(_png(crop), pages)


OFFICE = ("docx", "xlsx", "doc", "xls")
CONVERT_SECONDS = 60.0      # a cold LibreOffice on a busy server: the first page of a Word file waits for it


class Pictures:
    """Drawn pages and crops, kept on disk by the file's hash: the second look costs a file read. A Word
    or Excel file is drawn from its PDF, which LibreOffice makes once (when installed and allowed), in
    the background from the moment the file is listed, one file at a time for the whole console."""

    def __init__(self, output_dir: Path, soffice: str | None = None):
        self.output_dir = output_dir
        self.folder = output_dir / caches.PAGES
        self.soffice = soffice
        self._lock = threading.Lock()
        self._converting: dict[Path, threading.Event] = {}
        # LibreOffice takes a few hundred MB and a core: clerks opening several Word forms at once queue
        # for one converter instead of starting one each.
        self._converter = threading.Lock()

    def _printable(self, data: bytes, convert: bool = True) -> bytes | None:
        """The bytes to draw: a PDF or a picture as they are; a Word or Excel file's PDF, waited for
        unless `convert` is False (None then: not made yet, but under way)."""
        kind = sniff(data)
        if kind not in OFFICE or not self.soffice:
            return data
        path = self.folder / f"{hashlib.sha256(data).hexdigest()[:32]}.pdf"
        made = self._made(path)
        if made is not None or not convert:
            if made is None:
                self._convert_soon(data, kind, path)
            return made
        # Its turn behind the other files queued, then its own conversion.
        self._convert_soon(data, kind, path).wait(2 * CONVERT_SECONDS)
        made = self._made(path)
        if made is None:
            raise NoPages("LibreOffice 仍在转换，请稍后刷新")
        return made

    @staticmethod
    def _made(path: Path) -> bytes | None:
        """The file's PDF if made; NoPages if LibreOffice failed on it once (a file that hangs or breaks
        it is not tried again at every view)."""
        try:
            pdf = path.read_bytes()
        except FileNotFoundError:
            failed = path.with_suffix(".failed")
            if failed.exists():
                raise NoPages(failed.read_text(encoding="utf-8")) from None
            return None
        caches.used(path)
        return pdf

    def _convert_soon(self, data: bytes, kind: str, path: Path) -> threading.Event:
        with self._lock:
            done = self._converting.get(path)
            if done is None:
                done = self._converting[path] = threading.Event()
                threading.Thread(target=self._convert, args=(data, kind, path, done), name="web-convert",
                                 daemon=True).start()
            return done

    def _convert(self, data: bytes, kind: str, path: Path, done: threading.Event) -> None:
        try:
            with self._converter:
                if not path.exists():
                    try:
                        write_atomic(path, tools.convert(data, kind, "pdf", self.soffice or "", CONVERT_SECONDS))
                    except tools.ToolFailed as exc:
                        write_atomic(path.with_suffix(".failed"), f"LibreOffice: {exc}".encode())
        except OSError:   # the cache folder cannot be written: the page says it cannot be shown
            log.exception("a Word or Excel file could not be converted for the console")
        finally:
            with self._lock:
                del self._converting[path]
            done.set()

    def _path(self, key: str) -> Path:
        return self.folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.png"

    def _cached(self, key: str, make) -> bytes:
        path = self._path(key)
        try:
            png = path.read_bytes()
        except FileNotFoundError:
            pass
        else:
            caches.used(path)
            return png
        drawn = make()
        write_atomic(path, drawn.png)
        return drawn.png

    def page(self, data: bytes, index: int) -> bytes:
        sha = hashlib.sha256(data).hexdigest()
        return self._cached(f"page {sha} {index} {DPI}",
                            lambda: cage.run(draw_page, self._printable(data), index, limits=LIMITS))

    def crop(self, data: bytes, index: int, box: Sequence[float], label: Sequence[float] | None,
             upright: int = 0) -> bytes:
        sha = hashlib.sha256(data).hexdigest()
        key = f"crop {sha} {index} {CROP_DPI} {list(box)} {list(label or [])}" + (f" {upright}" if upright else "")
        return self._cached(key, lambda: cage.run(draw_crop, data, index, list(box), list(label) if label else None,
                                                  upright, limits=LIMITS))

    def pages(self, data: bytes) -> int:
        """How many pages the file has (0: none to draw); known once its first page is drawn. A Word or
        Excel file not yet converted counts one page: its conversion (seconds) starts now, in the
        background; the page listing its documents does not wait for it, its first page image does."""
        sha = hashlib.sha256(data).hexdigest()
        path = self.folder / f"{sha[:32]}.pages"
        try:
            return int(path.read_text())
        except (FileNotFoundError, ValueError):
            pass
        try:
            printable = self._printable(data, convert=False)
            if printable is None:
                return 1
            first = cage.run(draw_page, printable, 0, limits=LIMITS)
        except (NoPages, cage.CageError, pdfium.PdfiumError):
            count = 0
        else:
            count = first.pages
            write_atomic(self._path(f"page {sha} 0 {DPI}"), first.png)
        write_atomic(path, str(count).encode())
        return count
