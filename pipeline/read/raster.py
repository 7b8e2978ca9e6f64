"""Pages to images for OCR: PDF pages rendered by pdfium, photos upright by EXIF, red seals lifted,
small skew straightened. Pure image work: bytes or arrays in, greyscale arrays out."""
from __future__ import annotations

import io
import math
from dataclasses import dataclass

import cv2
import numpy as np
import pypdfium2 as pdfium
from PIL import Image, ImageOps

from . import Unreadable

# Photos have no physical size: their boxes are scaled to an A4-wide page, so the distances fields.py
# allows between a label and its value mean the same on a photo as on a PDF page.
A4_WIDTH_PT = 595.0
A4_HEIGHT_IN = 11.69
# The most pixels one rendered page may have: A3 at 300 dpi (~17 M) fits, about 50 MB of RGB. The
# recogniser works on at most 6000 px a side anyway; beyond this only memory is spent.
MAX_PIXELS = 18_000_000


@dataclass(frozen=True, eq=False)
class Raster:
    """One page as RGB pixels, and the resolution it was rendered at (None for a photo: no paper size)."""

    pixels: np.ndarray
    dpi: float | None
    # Where these pixels lie on the page as its file holds it (3×3, pixels → that page's points), for a
    # raster made from another (a photo's sheet flattened); None: this raster is that page.
    source: np.ndarray | None = None

    def points_per_pixel(self, width: int) -> float:
        """Box coordinates are PDF points; a photo counts as an A4-wide page, whichever way it was turned."""
        return 72 / self.dpi if self.dpi else A4_WIDTH_PT / width

    def to_source(self) -> np.ndarray:
        if self.source is not None:
            return self.source
        return scaling(self.points_per_pixel(self.pixels.shape[1]))


def scaling(factor: float) -> np.ndarray:
    return np.diag([factor, factor, 1.0])


def pdf_page_count(data: bytes) -> int:
    try:
        return len(pdfium.PdfDocument(data))
    except pdfium.PdfiumError as exc:
        raise Unreadable(f"PDF 页面无法渲染（{exc}）") from None


def render_dpi(width_pt: float, height_pt: float, dpi: float, max_pixels: int = MAX_PIXELS) -> float:
    """The resolution to render a page of this size at: `dpi`, or less when that would exceed
    max_pixels (a poster-sized or malformed /MediaBox would otherwise take all the memory there is)."""
    pixels = (width_pt * dpi / 72) * (height_pt * dpi / 72)
    if pixels <= max_pixels:
        return float(dpi)
    return dpi * math.sqrt(max_pixels / pixels)


def render_pdf_page(data: bytes, index: int, dpi: int, max_pixels: int = MAX_PIXELS) -> Raster:
    """Page `index` (0-based) at `dpi` (lowered for a huge page), in colour so that red seals can
    still be told from ink."""
    try:
        pdf = pdfium.PdfDocument(data)
        try:
            page = pdf[index]
            width_pt, height_pt = page.get_size()
            scaled = render_dpi(width_pt, height_pt, dpi, max_pixels)
            # Pages scanned sideways often carry /Rotate; pdfium applies it, as a viewer would.
            bitmap = page.render(scale=scaled / 72, rev_byteorder=True)
            pixels = bitmap.to_numpy().copy()
        finally:
            pdf.close()
    except pdfium.PdfiumError as exc:
        raise Unreadable(f"PDF 第{index + 1}页无法渲染（{exc}）") from None
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = pixels[:, :, :3]
    return Raster(np.ascontiguousarray(pixels), scaled)


def photo_page_count(data: bytes) -> int:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return max(1, getattr(img, "n_frames", 1))
    except (OSError, ValueError, Image.DecompressionBombError):
        return 1  # load_photo says why it cannot be opened


def load_photo(data: bytes, dpi: int, index: int = 0) -> Raster:
    """An image as the sender saw it: phones store pixels sideways and say so only in EXIF."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            if index:
                opened.seek(index)  # a page of a multi-page TIFF
            img = ImageOps.exif_transpose(opened).convert("RGB")
            # A phone photo is far larger than an A4 page at the OCR resolution; more pixels only cost time.
            longest = round(A4_HEIGHT_IN * dpi)
            if max(img.size) > longest:
                img.thumbnail((longest, longest), Image.Resampling.LANCZOS)
            pixels = np.asarray(img)
    except (OSError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise Unreadable(f"图片无法打开（{type(exc).__name__}）") from None
    return Raster(np.ascontiguousarray(pixels), None)


def drop_red(pixels: np.ndarray) -> np.ndarray:
    """Greyscale with red ink turned to paper: in the red channel a red 公章 is as light as the paper,
    while black toner under the seal and blue ink stay dark, so the stamped unit name still reads."""
    if pixels.ndim == 2:
        return pixels
    red = pixels[:, :, 0]
    grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    # Only where the pixel leans red (the seal and its pink, JPEG-blurred rim); elsewhere the
    # luminance, which keeps faint grey print and coloured (non-red) ink as dark as they look.
    reddish = (red.astype(np.int16) - np.maximum(pixels[:, :, 1], pixels[:, :, 2])) > 15
    # Seal ink itself is bright in the red channel but not paper-white; toner under it is far darker.
    lifted = np.where(red > 150, 255, red)
    return np.where(reddish, lifted, grey).astype(np.uint8)


def turn(grey: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Rotate by quarter turns counter-clockwise."""
    return np.ascontiguousarray(np.rot90(grey, quarter_turns % 4))


def turning(shape: tuple[int, ...], quarter_turns: int) -> np.ndarray:
    """Where turn() moves a point: 3×3, pixels of the image of this shape → pixels of the turned one."""
    h, w = shape[:2]
    m = np.eye(3)
    for _ in range(quarter_turns % 4):
        m = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, float(w)], [0.0, 0.0, 1.0]]) @ m   # (x, y) → (y, w - x)
        h, w = w, h
    return m


def skew_angle(grey: np.ndarray, limit: float = 5.0) -> float:
    """The small rotation (degrees, counter-clockwise positive) that makes text lines and table rules
    horizontal: the one whose row profile of ink is sharpest."""
    scale = 800 / max(grey.shape[1], 1)
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    _, ink = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    if not ink.any():
        return 0.0

    def sharpness(angle: float) -> float:
        h, w = ink.shape
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        rows = cv2.warpAffine(ink, m, (w, h), flags=cv2.INTER_NEAREST).sum(axis=1, dtype=np.float64)
        return float(np.sum(np.diff(rows) ** 2))

    coarse = max(np.arange(-limit, limit + 0.01, 0.5), key=sharpness)
    fine = max(np.arange(coarse - 0.5, coarse + 0.51, 0.1), key=sharpness)
    return round(float(fine), 2)


def straighten(grey: np.ndarray, angle: float) -> np.ndarray:
    if abs(angle) < 0.05:
        return grey
    h, w = grey.shape
    return cv2.warpAffine(grey, straightening(grey.shape, angle)[:2], (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def straightening(shape: tuple[int, ...], angle: float) -> np.ndarray:
    """Where straighten() moves a point: 3×3, pixels → pixels."""
    if abs(angle) < 0.05:
        return np.eye(3)
    h, w = shape[:2]
    return np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0.0, 0.0, 1.0]])
