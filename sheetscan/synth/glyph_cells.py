"""Compose cell images from hand-written character tiles (EMNIST-style: 28x28, white ink on black).

Used by the hand-print tests and `scripts/measure_handprint.py`: each tile is scaled to a glyph about 7 mm
high at CELL_PX_PER_MM, inverted to dark ink on white and pasted left to right with random gaps, jitter and
pen weight, into a cell 13 mm high. Hyphens, underscores, apostrophes, dots and accents are drawn as short
strokes, '@' (absent from EMNIST) in one of OpenCV's Hershey fonts.

EMNIST's writers were American: their 1 is a plain stick and their 7 has no bar. `continental` draws the 1 and
the 7 most Quebecers write (as in France): a 1 with a long flag, sometimes a foot, and a 7 crossed in the middle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from sheetscan.stages.recognize import CELL_PX_PER_MM

CELL_HEIGHT_MM = 13.0
TILE_INK_PX = 22  # the longer side of a tile's ink, in tile pixels


@dataclass(frozen=True)
class Glyph:
    """One tile to paste, with an optional accent drawn above it ('acute', 'grave', 'circumflex',
    'diaeresis')."""

    tile: np.ndarray
    accent: str | None = None


Item = Glyph | str  # a str is one of " ", "-", "'", ".", "@" (drawn in a Hershey font)


def stroke_width(mask: np.ndarray) -> int:
    """The stroke width (pixels) of white ink on black: twice the ink's usual distance to the paper at the
    strokes' middle lines."""
    ink = (mask > 127).astype(np.uint8)
    if not ink.any():
        return 2
    depth = cv2.distanceTransform(ink, cv2.DIST_L2, 3)[ink > 0]
    return max(1, round(2 * float(np.percentile(depth, 90))))


def continental(tile: np.ndarray, char: str, rng: np.random.Generator) -> np.ndarray:
    """The tile of a 1 given a flag from its top down to the left (30-50 % of its height long, 25-45 degrees
    below the horizontal) and, half the time, a foot; of a 7, a bar across its stem at mid-height; any other
    tile as it is. Drawn in the tile's own stroke width."""
    ys, xs = np.nonzero(tile > 127)
    if char not in "17" or len(ys) == 0:
        return tile
    out = tile.copy()
    top, bottom = int(ys.min()), int(ys.max())
    height, pen = bottom - top, stroke_width(tile)
    if char == "1":
        x_top = int(np.median(xs[ys <= top + 2]))
        length, angle = height * rng.uniform(0.3, 0.5), np.radians(rng.uniform(25, 45))
        end = (round(x_top - length * np.cos(angle)), round(top + length * np.sin(angle)))
        cv2.line(out, (x_top, top), end, 255, pen, cv2.LINE_AA)
        if rng.random() < 0.5:
            x_foot, half = int(np.median(xs[ys >= bottom - 2])), height * rng.uniform(0.2, 0.3)
            cv2.line(out, (round(x_foot - half), bottom), (round(x_foot + half), bottom), 255, pen, cv2.LINE_AA)
        return out
    y = round(top + height * rng.uniform(0.45, 0.6))
    stem = xs[np.abs(ys - y) <= 1]
    if len(stem) == 0:
        return tile
    x, half = int(np.median(stem)), height * rng.uniform(0.18, 0.28)
    cv2.line(out, (round(x - half), y), (round(x + half), y), 255, pen, cv2.LINE_AA)
    return out


def _ink(tile: np.ndarray, scale: float, pen_px: int) -> np.ndarray:
    big = cv2.resize(tile, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    if pen_px:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(pen_px) + 1, 2 * abs(pen_px) + 1))
        big = cv2.dilate(big, kernel) if pen_px > 0 else cv2.erode(big, kernel)
    ys, xs = np.nonzero(big > 60)
    if len(ys) == 0:
        return np.zeros((1, 1), np.float32)
    return big[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255


def compose_cell(
    items: Sequence[Item],
    rng: np.random.Generator,
    *,
    glyph_mm: float = 7.0,
    pen_px: int = 0,
    residue: bool = False,
) -> np.ndarray:
    """A uint8 grey cell (dark ink on white) holding `items` left to right. `pen_px` < 0 thins the strokes."""
    px = CELL_PX_PER_MM
    height = round(CELL_HEIGHT_MM * px)
    stroke = max(2, round(0.12 * glyph_mm * px / 7 * 3)) if pen_px >= 0 else 3
    pieces: list[tuple[np.ndarray | None, str, Glyph | None]] = []
    for item in items:
        if isinstance(item, Glyph):
            scale = glyph_mm * px / TILE_INK_PX * rng.uniform(0.9, 1.1)
            pieces.append((_ink(item.tile, scale, pen_px), "glyph", item))
        elif item == "@":
            pieces.append((_at_sign(glyph_mm * px * rng.uniform(0.75, 0.95), stroke), "glyph", None))
        else:
            pieces.append((None, item, None))
    width = round(4 * px) + sum(
        p.shape[1] + round(rng.uniform(0.8, 2.5) * px) if p is not None else round(3 * px) for p, _, _ in pieces
    )
    ink = np.zeros((height, width + round(6 * px)), np.float32)
    x = round(2 * px)
    mid = height / 2
    glyph_h = glyph_mm * px
    for piece, kind, glyph in pieces:
        if piece is not None:
            h, w = piece.shape
            y = int(np.clip(mid - h / 2 + rng.uniform(-0.6, 0.6) * px, 0, height - h))
            region = ink[y : y + h, x : x + w]
            np.maximum(region, piece[: region.shape[0], : region.shape[1]], out=region)
            if glyph is not None and glyph.accent:
                _draw_accent(ink, glyph.accent, x + w // 2, y - round(0.8 * px), round(1.6 * px), stroke)
            x += w + round(rng.uniform(0.8, 2.5) * px)
        elif kind == " ":
            x += round(3.5 * px)
        elif kind == "-":
            y = round(mid + rng.uniform(-0.5, 0.5) * px)
            cv2.line(ink, (x, y), (x + round(2.5 * px), y), 1.0, stroke)
            x += round(2.5 * px + rng.uniform(1.0, 2.0) * px)
        elif kind == "'":
            top = round(mid - glyph_h / 2)
            cv2.line(ink, (x + round(0.5 * px), top), (x, top + round(2 * px)), 1.0, stroke)
            x += round(rng.uniform(1.2, 2.0) * px)
        elif kind == ".":
            bottom = round(mid + glyph_h / 2 - 0.4 * px)
            cv2.circle(ink, (x + round(0.4 * px), bottom), max(3, stroke // 2 + 1), 1.0, -1)
            x += round(rng.uniform(1.2, 2.0) * px)
        elif kind == "_":
            bottom = round(mid + glyph_h / 2)
            cv2.line(ink, (x, bottom), (x + round(3 * px), bottom), 1.0, stroke)
            x += round(3 * px + rng.uniform(1.0, 2.0) * px)
    ink = ink[:, : x + round(2 * px)]
    darkness = rng.uniform(0.7, 0.9)
    paper = rng.uniform(235, 250)
    cell = paper - ink * darkness * paper + rng.normal(0, 3, ink.shape)
    if residue:  # faint leftovers of removed grid lines along the top and bottom edges
        cell[:2, :] = np.minimum(cell[:2, :], 190)
        cell[-2:, :] = np.minimum(cell[-2:, :], 190)
    return np.clip(cell, 0, 255).astype(np.uint8)


def _at_sign(size: float, stroke: int) -> np.ndarray:
    canvas = np.zeros((round(size * 2), round(size * 2)), np.uint8)
    scale = size / 22  # FONT_HERSHEY_SIMPLEX at scale 1 draws an '@' about 22 px high
    cv2.putText(canvas, "@", (stroke, round(size * 1.5)), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, stroke)
    ys, xs = np.nonzero(canvas)
    return canvas[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32) / 255


def _draw_accent(ink: np.ndarray, accent: str, cx: int, bottom: int, size: int, stroke: int) -> None:
    half = size // 2
    top = max(0, bottom - size)
    if accent == "acute":
        cv2.line(ink, (cx - half // 2, bottom), (cx + half // 2, top), 1.0, stroke)
    elif accent == "grave":
        cv2.line(ink, (cx - half // 2, top), (cx + half // 2, bottom), 1.0, stroke)
    elif accent == "circumflex":
        cv2.line(ink, (cx - half, bottom), (cx, top), 1.0, stroke)
        cv2.line(ink, (cx, top), (cx + half, bottom), 1.0, stroke)
    elif accent == "diaeresis":
        for dx in (-half // 2 - 1, half // 2 + 1):
            cv2.circle(ink, (cx + dx, (top + bottom) // 2), max(2, stroke // 2 + 1), 1.0, -1)
    else:
        raise ValueError(f"unknown accent {accent!r}")
