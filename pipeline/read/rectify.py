"""A phone photo's sheet as a flat page: the paper found against the desk it lies on and its
perspective undone, so that table rules run straight and meet at right angles before OCR. A scan,
whose paper fills the image, is left as it is. Pure image work: a Raster in, a Raster out."""
from __future__ import annotations

import cv2
import numpy as np

from .raster import A4_WIDTH_PT, Raster, scaling

# The paper is found on a copy this many pixels on its longer side: its edges are long straight runs,
# and a small copy keeps the search fast and deaf to print and noise.
_WORK_SIDE = 800
# A sheet covering less of the photo is too far away to read, or not the sheet (a desk's lighter patch).
_MIN_SHARE = 0.2
# Covering more, the paper fills the image (a scan, a tight crop): nothing worth undoing.
_MAX_SHARE = 0.95
# Corner angles of a sheet seen in perspective stay near a right angle; a quadrilateral far from one is
# the shape of a shadow or of two papers, and warping it would skew the print.
_MIN_ANGLE, _MAX_ANGLE = 55.0, 125.0
# The paper must stand out from its surroundings by this much (grey levels), or the edge is a guess.
_MIN_CONTRAST = 25.0
# A sheet lying on a desk leaves desk along the photo's edges: at least this share of the border. A
# scan's edges are paper, even where a dark picture on it reaches one edge and would pass for a desk.
_MIN_DESK_BORDER = 0.5


def rectified(raster: Raster, dpi: int) -> Raster:
    """The sheet alone, flattened to a rectangle, when the image shows it on a darker ground; else the
    raster unchanged. The result counts as a photo (no dpi): the sheet's width is the page's width,
    which is what Raster.points_per_pixel assumes of a photo, now without the desk around it. A sheet
    narrower than an A4 page at `dpi` is enlarged to it: a phone's sheet is often 800 px across, and
    the recogniser then misses rules and small figures that it reads at the scan's resolution."""
    corners = paper_corners(raster.pixels)
    if corners is None:
        return raster
    flat, moved = flatten(raster.pixels, corners)
    enlarge = A4_WIDTH_PT / 72 * dpi / min(flat.shape[:2])      # the shorter side: a sheet may lie sideways
    if enlarge > 1:
        flat = cv2.resize(flat, None, fx=enlarge, fy=enlarge, interpolation=cv2.INTER_CUBIC)
        moved = scaling(enlarge) @ moved
    # What is read off the sheet is shown on the photo as sent: the warp undone.
    return Raster(np.ascontiguousarray(flat), None, raster.to_source() @ np.linalg.inv(moved))


def paper_corners(pixels: np.ndarray) -> np.ndarray | None:
    """The paper's four corners in image pixels (top-left, top-right, bottom-right, bottom-left), or None
    when no sheet stands out clearly from a darker surround."""
    grey = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    h, w = grey.shape
    scale = min(1.0, _WORK_SIDE / max(h, w))
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else grey
    small = cv2.GaussianBlur(small, (5, 5), 0)
    _, mask = cv2.threshold(small, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    # Print and rules are dark islands on the paper: closed, the sheet is one bright region.
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    if float((border == 0).mean()) < _MIN_DESK_BORDER:
        return None
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    sheet = max(contours, key=cv2.contourArea)
    share = cv2.contourArea(sheet) / float(small.shape[0] * small.shape[1])
    if not _MIN_SHARE <= share <= _MAX_SHARE:
        return None
    hull = cv2.convexHull(sheet)
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True).reshape(-1, 2).astype(np.float32)
    if len(quad) != 4 or not _square_enough(quad) or not _stands_out(small, quad):
        return None
    return _ordered(quad / scale)


def flatten(pixels: np.ndarray, corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The quadrilateral warped to an upright rectangle as long as its longer opposite sides, and the
    warp (3×3, pixels of the photo → pixels of the rectangle)."""
    tl, tr, br, bl = corners
    width = round(max(np.linalg.norm(tr - tl), np.linalg.norm(br - bl)))
    height = round(max(np.linalg.norm(bl - tl), np.linalg.norm(br - tr)))
    target = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    border = 255 if pixels.ndim == 2 else (255, 255, 255)
    out = cv2.warpPerspective(pixels, m, (width, height), flags=cv2.INTER_CUBIC, borderValue=border)
    return np.ascontiguousarray(out), m


def _ordered(quad: np.ndarray) -> np.ndarray:
    """Corners clockwise from the top-left, as they lie in the image (a sheet photographed sideways
    stays sideways: turning it upright is the OCR engine's business)."""
    centre = quad.mean(axis=0)
    angles = np.arctan2(quad[:, 1] - centre[1], quad[:, 0] - centre[0])
    quad = quad[np.argsort(angles)]             # clockwise in image coordinates (y grows downwards)
    start = int(np.argmin(quad.sum(axis=1)))    # the top-left: smallest x + y
    return np.roll(quad, -start, axis=0)


def _square_enough(quad: np.ndarray) -> bool:
    ordered = _ordered(quad)
    for i in range(4):
        a, b, c = ordered[i - 1], ordered[i], ordered[(i + 1) % 4]
        u, v = a - b, c - b
        cos = float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-9))
        if not _MIN_ANGLE <= np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))) <= _MAX_ANGLE:
            return False
    return True


def _stands_out(grey: np.ndarray, quad: np.ndarray) -> bool:
    inside = np.zeros(grey.shape, np.uint8)
    cv2.fillConvexPoly(inside, _ordered(quad).astype(np.int32), 255)
    paper, ground = grey[inside > 0], grey[inside == 0]
    return ground.size > 0 and float(np.median(paper)) - float(np.median(ground)) >= _MIN_CONTRAST
