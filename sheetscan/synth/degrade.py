"""Harder things that happen to returned sheets, for the geometry benchmark and tests.

Two kinds of function:
- on the paper (an H x W x 3 uint8 RGB page at `dpi`, template frame, before `scan_page`): faint or broken
  grid lines, a fold crease, a stain, handwriting across the lines, rows crowded with ink;
- on the scan (a grey image and its truth transform template mm -> pixels): quarter turns, an edge cut off,
  JPEG re-encoding, a wider scanner bed. Each returns the new image *and* the new transform, so the ground
  truth always follows the pixels.
"""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
from PIL import Image

from sheetscan.render import MM_PER_INCH
from sheetscan.template import Template

Edge = str  # "top" | "bottom" | "left" | "right"


def _px(dpi: int) -> float:
    return dpi / MM_PER_INCH


# -- on the paper ------------------------------------------------------------------------------------------
def faint(page: np.ndarray, strength: float) -> np.ndarray:
    """Lighten all print: ink at grey g becomes 255 - strength * (255 - g) (0 < strength <= 1)."""
    out = 255.0 - strength * (255.0 - page.astype(np.float32))
    return np.clip(out, 0, 255).astype(np.uint8)


def break_lines(page: np.ndarray, template: Template, dpi: int, rng: np.random.Generator,
                gaps: int = 60, gap_mm: tuple[float, float] = (1.5, 6.0)) -> np.ndarray:
    """White gaps cut into the grid lines (a worn toner cartridge, a bad photocopy)."""
    out = page.copy()
    px = _px(dpi)
    xs, ys = template.column_xs, template.row_ys
    half = template.grid.line_width_mm * px
    for _ in range(gaps):
        length = rng.uniform(*gap_mm) * px
        if rng.random() < 0.5:
            y = ys[int(rng.integers(len(ys)))] * px
            x = rng.uniform(xs[0], xs[-1]) * px
            box = (x, y - half - 1, x + length, y + half + 1)
        else:
            x = xs[int(rng.integers(len(xs)))] * px
            y = rng.uniform(ys[0], ys[-1]) * px
            box = (x - half - 1, y, x + half + 1, y + length)
        x0, y0, x1, y1 = (int(round(v)) for v in box)
        out[max(0, y0):y1, max(0, x0):x1] = 255
    return out


def crease(page: np.ndarray, dpi: int, y_mm: float, angle_deg: float, darkness: int = 90) -> np.ndarray:
    """A fold across the whole page: a thin dark shadow line with a lighter band beside it."""
    out = page.astype(np.float32)
    px = _px(dpi)
    h, w = page.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    slope = math.tan(math.radians(angle_deg))
    dist = (yy - (y_mm * px + (xx - w / 2) * slope)) / px  # mm from the fold, signed
    shadow = darkness * np.exp(-((dist / 0.25) ** 2))
    shade = 12.0 * np.exp(-(((dist - 2.0) / 2.0) ** 2))
    out -= (shadow + shade)[..., None]
    return np.clip(out, 0, 255).astype(np.uint8)


def stain(page: np.ndarray, dpi: int, centre_mm: tuple[float, float], radius_mm: float,
          rng: np.random.Generator) -> np.ndarray:
    """A coffee-like stain: an irregular translucent brown blob with a darker rim."""
    px = _px(dpi)
    h, w = page.shape[:2]
    cx, cy = centre_mm[0] * px, centre_mm[1] * px
    r = radius_mm * px
    pad = int(r * 1.5)
    x0, x1 = max(0, int(cx) - pad), min(w, int(cx) + pad)
    y0, y1 = max(0, int(cy) - pad), min(h, int(cy) + pad)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    angle = np.arctan2(yy - cy, xx - cx)
    wobble = sum(rng.uniform(0.03, 0.12) * np.cos(k * angle + rng.uniform(0, 2 * np.pi)) for k in range(2, 6))
    rel = np.hypot(xx - cx, yy - cy) / (r * (1 + wobble))
    body = np.clip(1.2 - rel, 0, 0.2) / 0.2
    rim = np.exp(-(((rel - 1.0) / 0.05) ** 2))
    alpha = (0.35 * body + 0.4 * rim)[..., None]
    brown = np.array([120, 80, 40], dtype=np.float32)
    region = page[y0:y1, x0:x1].astype(np.float32)
    tinted = region * (1 - alpha) + (region * brown / 255.0) * alpha
    out = page.copy()
    out[y0:y1, x0:x1] = np.clip(tinted, 0, 255).astype(np.uint8)
    return out


def _stroke(out: np.ndarray, pts: np.ndarray, px: float, ink: tuple[int, int, int], pen_mm: float) -> None:
    thickness = max(1, int(round(pen_mm * px)))
    cv2.polylines(out, [np.round(pts * px).astype(np.int32)], False, ink, thickness, cv2.LINE_AA)


def cross_lines(page: np.ndarray, template: Template, dpi: int, rng: np.random.Generator,
                strokes: int = 25) -> np.ndarray:
    """Handwriting that runs over the grid lines: long wavy strokes across cells, loops over row lines."""
    out = page.copy()
    px = _px(dpi)
    xs, ys = template.column_xs, template.row_ys
    for _ in range(strokes):
        x = rng.uniform(xs[0], xs[-1] - 30)
        y = rng.uniform(ys[1], ys[-1])
        length = rng.uniform(20, 70)
        t = np.linspace(0, 1, 40)
        if rng.random() < 0.6:  # along a row, wandering across the row line
            pts = np.stack([x + length * t, y + rng.uniform(2, 7) * np.sin(t * rng.uniform(6, 20))], axis=1)
        else:  # a tall stroke (a long descender, an arrow) crossing two or three row lines
            pts = np.stack([x + 3 * np.sin(t * 9), y - 15 + length / 2 * t], axis=1)
        _stroke(out, pts, px, (20, 30, 110), rng.uniform(0.3, 0.7))
    return out


def crowd_rows(page: np.ndarray, template: Template, dpi: int, rng: np.random.Generator) -> np.ndarray:
    """Every row written edge to edge in a heavy pen: dense scribble filling each cell, touching its lines."""
    out = page.copy()
    px = _px(dpi)
    xs, ys = template.column_xs, template.row_ys
    for row in range(2, len(ys)):
        top, bottom = ys[row - 1], ys[row]
        for j in range(1, len(xs) - 1):
            left, right = xs[j], xs[j + 1]
            n = max(8, int((right - left) / 2.5))
            t = np.linspace(0, 1, n * 6)
            x = left - 0.5 + (right - left + 1.0) * t
            y = (top + bottom) / 2 + (bottom - top) * 0.55 * np.sin(t * n * np.pi) * rng.uniform(0.7, 1.0)
            _stroke(out, np.stack([x, y], axis=1), px, (15, 15, 15), rng.uniform(0.4, 0.8))
    return out


def text_lines(page_mm: tuple[float, float], dpi: int, rng: np.random.Generator, top_mm: float = 20.0,
               bottom_mm: float | None = None, size: float = 1.6) -> np.ndarray:
    """A grey page of typed text only (the back of a sheet, a letter)."""
    px = _px(dpi)
    w, h = round(page_mm[0] * px), round(page_mm[1] * px)
    page = np.full((h, w), 255, np.uint8)
    words = ["pétition", "Montréal", "nous", "demandons", "droits", "personne", "liberté", "asile", "de", "la"]
    scale = size * dpi / 300
    y = top_mm * px
    end = (bottom_mm if bottom_mm is not None else page_mm[1] - 20) * px
    while y < end:
        line = " ".join(str(rng.choice(words)) for _ in range(int(rng.integers(6, 12))))
        cv2.putText(page, line, (int(20 * px), int(y)), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, max(1, int(2 * scale)))
        y += 8 * px
    return page


# -- on the scan -------------------------------------------------------------------------------------------
def pad(page: np.ndarray, dpi: int, margin_mm: float) -> tuple[np.ndarray, float]:
    """White margin around the paper (a scanner bed larger than the sheet); returns (page, margin in mm).

    Scan the result with page_mm grown by 2 * margin and compose the truth with a translation by the margin.
    """
    m = int(round(margin_mm * _px(dpi)))
    value: tuple[int, ...] | int = (255, 255, 255) if page.ndim == 3 else 255
    padded = cv2.copyMakeBorder(page, m, m, m, m, cv2.BORDER_CONSTANT, value=value)
    return padded, m / _px(dpi)


def quarter_turns(grey: np.ndarray, transform: np.ndarray, turns: int) -> tuple[np.ndarray, np.ndarray]:
    """np.rot90(grey, turns) (counter-clockwise) and the transform that follows it."""
    out, t = grey, transform
    for _ in range(turns % 4):
        width = out.shape[1]
        out = np.ascontiguousarray(np.rot90(out))
        t = np.array([[0, 1, 0], [-1, 0, width - 1], [0, 0, 1]], dtype=np.float64) @ t
    return out, t


def cut_edge(grey: np.ndarray, transform: np.ndarray, edge: Edge, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Drop `share` of the image at one edge (a sheet fed off the side of the scanner)."""
    h, w = grey.shape
    dy = int(round(h * share))
    dx = int(round(w * share))
    shift = np.eye(3)
    if edge == "top":
        out = grey[dy:]
        shift[1, 2] = -dy
    elif edge == "bottom":
        out = grey[: h - dy]
    elif edge == "left":
        out = grey[:, dx:]
        shift[0, 2] = -dx
    else:
        out = grey[:, : w - dx]
    return np.ascontiguousarray(out), shift @ transform


def jpeg(grey: np.ndarray, quality: int) -> np.ndarray:
    """Round-trip through JPEG at `quality`."""
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
