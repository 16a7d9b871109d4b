"""Write a sheet's content into the blank form with handwriting-like fonts: one writer per row.

Each glyph is drawn on its own with a small random shift, rotation and scale, so no two letters are alike.
Ink is laid over the paper multiplicatively (ink over a printed line stays dark). The result is an RGB
page at RENDER_DPI, before any scan degradation. A font without an accented letter (Havana has none) writes
the plain letter and the accent as a pen stroke above it (a cedilla below), as people do.
"""

from __future__ import annotations

import math
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sheetscan.fields import FieldKind
from sheetscan.render import MM_PER_INCH
from sheetscan.synth.content import SheetContent
from sheetscan.synth.glyph_cells import stroke_width
from sheetscan.template import Template

RENDER_DPI = 300

FONTS: dict[str, Path] = {
    "dkg": Path("/usr/share/fonts/truetype/fifthhorseman/dkg.ttf"),
    "breip": Path("/usr/share/fonts/truetype/breip/Breip.ttf"),
    "comic-neue": Path("/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf"),
    "comic-neue-bold": Path("/usr/share/fonts/opentype/comic-neue/ComicNeue-Bold.otf"),
    "comic-neue-light": Path("/usr/share/fonts/opentype/comic-neue/ComicNeue-Light.otf"),
    "kristi": Path("/usr/share/fonts/truetype/kristi/Kristi.ttf"),
    "delphine": Path("/usr/share/fonts/truetype/sjfonts/Delphine.ttf"),
    "stevehand": Path("/usr/share/fonts/truetype/sjfonts/SteveHand.ttf"),
    "havana": Path("/usr/share/fonts/opentype/havana/Havana-Regular.otf"),
    "domestic-manners": Path("/usr/share/fonts/truetype/dustin/Domestic_Manners.ttf"),
    "yusei-magic": Path("/usr/share/fonts/truetype/yusei-magic/YuseiMagic-Regular.ttf"),
}

# Models may train on the first fonts; the recognition benchmark tests on the held-out ones, which no model may
# train on (the training scripts refuse them). No model trains on the validation fonts either: choices between
# models are measured on them (`benchmarks/recognition.py --fonts validation`), so that the held-out fonts stay
# a test. Sheets drawn without a choice of fonts use the training and held-out ones.
TRAINING_FONTS = ("dkg", "breip", "comic-neue", "comic-neue-bold", "comic-neue-light")
HELD_OUT_FONTS = ("kristi", "delphine", "stevehand")
VALIDATION_FONTS = ("havana", "domestic-manners", "yusei-magic")
UNTRAINED_FONTS = (*HELD_OUT_FONTS, *VALIDATION_FONTS)

FONT_SPACING = {"kristi": 1.12}  # script fonts whose capitals overlap when jittered
CELL_MARGIN_MM = 0.6  # clear space kept between ink and a grid line's edge


@dataclass(frozen=True)
class Crossing:
    """How signers cross the grid lines: `share` of fields (and signatures) cross one, reaching up to `max_mm`
    past its centre. The default crosses slightly; `benchmarks/recognition.py --crossing` draws more."""

    share: float = 0.10
    max_mm: float = 0.9
    sides: tuple[float, float, float] = (60, 20, 20)  # how often a field crosses its bottom, top or right line

    @classmethod
    def parse(cls, text: str) -> Crossing:
        """« SHARE,MM » or « SHARE,MM,SIDE » (bottom, top or right: that line only), as the command lines take it."""
        share, mm, *side = text.split(",")
        only = {"bottom": (1.0, 0.0, 0.0), "top": (0.0, 1.0, 0.0), "right": (0.0, 0.0, 1.0)}
        if len(side) > 1 or (side and side[0] not in only):
            raise ValueError(f"unknown side: {','.join(side)}")
        return cls(float(share), float(mm), only[side[0]] if side else cls.sides)


SLIGHT_CROSSING = Crossing()

GLYPH_ROTATION_DEG = 4.0
GLYPH_SCALE = 0.08


@dataclass(frozen=True)
class Writer:
    """One person's hand: the same for every field of a row."""

    font: str  # key of FONTS
    ink: tuple[int, int, int]  # RGB, luminance 0-90
    cap_frac: float  # capital height as a share of the row height (0.45-0.70)
    baseline_mm: float  # preferred gap between the baseline and the cell's bottom line
    slant: float  # horizontal shear per unit of height (positive leans right)
    spacing: float  # advance multiplier
    jitter: float  # per-glyph jitter strength (1 = nominal)
    pen_px: int  # extra stroke dilation in pixels at RENDER_DPI (0 = font weight)
    pressure: float  # ink opacity 0.8-1.0


@dataclass(frozen=True)
class FilledSheet:
    image: np.ndarray  # H x W x 3 uint8 RGB at `dpi`
    dpi: int
    row_fonts: dict[int, str]  # grid row -> font of its writer (written rows only)
    sender_font: str | None


def _luminance(rgb: tuple[int, int, int]) -> float:
    r, g, b = rgb
    return 0.299 * r + 0.587 * g + 0.114 * b


def make_writer(rng: random.Random, fonts: Sequence[str]) -> Writer:
    if rng.random() < 0.55:
        grey = rng.randint(10, 45)
        ink = (grey, grey + rng.randint(0, 8), grey + rng.randint(0, 15))
    else:
        ink = (rng.randint(10, 40), rng.randint(25, 65), rng.randint(95, 150))
    assert _luminance(ink) <= 90
    return Writer(
        font=rng.choice(list(fonts)),
        ink=ink,
        cap_frac=rng.uniform(0.45, 0.70),
        baseline_mm=rng.uniform(1.8, 4.0),
        slant=rng.gauss(0.08, 0.08),
        spacing=rng.uniform(0.95, 1.15),
        jitter=rng.uniform(0.5, 1.2),
        pen_px=rng.choices([0, 1, 2], weights=[55, 35, 10])[0],
        pressure=rng.uniform(0.8, 1.0),
    )


@lru_cache(maxsize=1024)
def _font(name: str, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS[name]), size_px)


@lru_cache(maxsize=32)
def _cap_ratio(name: str) -> float:
    """Height of a capital H as a share of the font size."""
    font = _font(name, 200)
    _, top, _, bottom = font.getbbox("H", anchor="ls")
    return (bottom - top) / 200


def _bitmap(font: ImageFont.FreeTypeFont, text: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(text)
    return mask.size, bytes(mask)


@lru_cache(maxsize=4096)
def has_glyph(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """Whether the font draws `char` itself, rather than its box for a missing glyph."""
    return _bitmap(font, char) != _bitmap(font, "\U000F0000")  # a private-use code point no font here has


def _written(font: ImageFont.FreeTypeFont, char: str) -> str:
    """What the pen draws for `char` in `font`: the character, or, when the font lacks it, its letter then its
    marks (NFD), the marks drawn by hand (`_accent`)."""
    return char if has_glyph(font, char) else unicodedata.normalize("NFD", char)


def _accent(canvas: np.ndarray, mark: str, size: float) -> None:
    """Draw a combining mark by hand over (or, a cedilla, under) the letter already on `canvas` (in place)."""
    ys, xs = np.nonzero(canvas > 127)
    if len(xs) == 0:
        return
    top, bottom, cx = int(ys.min()), int(ys.max()), (int(xs.min()) + int(xs.max())) / 2
    pen = max(2, stroke_width(canvas))
    u = size / 100  # accent geometry in hundredths of the font size

    def stroke(*points: tuple[float, float]) -> None:
        pts = np.array([[round(cx + x * u), round(top - y * u)] for x, y in points], dtype=np.int32)
        cv2.polylines(canvas, [pts], False, 255, pen, cv2.LINE_AA)

    if mark == "\u0301":  # acute
        stroke((-7, 9), (8, 26))
    elif mark == "\u0300":  # grave
        stroke((-8, 26), (7, 9))
    elif mark == "\u0302":  # circumflex
        stroke((-12, 9), (0, 23), (12, 9))
    elif mark == "\u0308":  # diaeresis
        for x in (-9, 9):
            cv2.circle(canvas, (round(cx + x * u), round(top - 15 * u)), pen, 255, -1, cv2.LINE_AA)
    elif mark == "\u0327":  # cedilla, under the baseline
        below = (bottom - top) / u
        stroke((0, -below), (0, -below - 8), (6, -below - 12), (-5, -below - 18))


def _glyph(char: str, font: ImageFont.FreeTypeFont, slant: float, angle_deg: float) -> tuple[np.ndarray, int, int]:
    """One glyph mask, sheared and rotated around its baseline origin; returns (mask, origin x, origin y)."""
    size = font.size
    width, height = round(2.2 * size) + 8, round(2.4 * size) + 8
    ox, oy = round(0.5 * size) + 4, round(1.5 * size) + 4
    canvas = Image.new("L", (width, height), 0)
    letter, *marks = list(_written(font, char))
    ImageDraw.Draw(canvas).text((ox, oy), letter, font=font, fill=255, anchor="ls")
    mask = np.array(canvas)
    for mark in marks:
        _accent(mask, mark, size)
    a = math.radians(angle_deg)
    to_origin = np.array([[1, 0, -ox], [0, 1, -oy], [0, 0, 1]], dtype=np.float64)
    shear = np.array([[1, -slant, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float64)
    rotate = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    back = np.array([[1, 0, ox], [0, 1, oy], [0, 0, 1]], dtype=np.float64)
    matrix = back @ rotate @ shear @ to_origin
    warped = cv2.warpAffine(mask, matrix[:2], (width, height), flags=cv2.INTER_LINEAR, borderValue=0)
    return warped, ox, oy


def text_mask(text: str, writer: Writer, size_px: float, rng: random.Random) -> tuple[np.ndarray, int]:
    """Ink coverage (uint8) of `text` in `writer`'s hand, cropped to its ink; returns (mask, baseline row)."""
    nominal = _font(writer.font, max(6, round(size_px)))
    spacing = writer.spacing * FONT_SPACING.get(writer.font, 1.0)
    advance_total = nominal.getlength(text) * spacing
    pad = round(1.5 * size_px) + 8
    width, height = round(advance_total + 2 * pad), round(3.2 * size_px) + 16
    baseline = round(1.9 * size_px) + 8
    field: np.ndarray = np.zeros((height, width), dtype=np.uint8)
    pen = float(pad)
    drift = 0.0
    for char in text:
        if char == " ":
            pen += nominal.getlength(" ") * spacing * rng.uniform(0.8, 1.4)
            continue
        scale = 1 + rng.uniform(-GLYPH_SCALE, GLYPH_SCALE) * writer.jitter
        font = _font(writer.font, max(6, round(size_px * scale)))
        angle = rng.uniform(-GLYPH_ROTATION_DEG, GLYPH_ROTATION_DEG) * writer.jitter
        glyph, ox, oy = _glyph(char, font, writer.slant, angle)
        drift += rng.gauss(0, 0.015 * size_px) * writer.jitter
        drift *= 0.8  # the baseline wanders but comes back
        dx = rng.gauss(0, 0.03 * size_px) * writer.jitter
        x0 = round(pen + dx) - ox
        y0 = round(baseline + drift) - oy
        gh, gw = glyph.shape
        xa, ya = max(0, x0), max(0, y0)
        xb, yb = min(width, x0 + gw), min(height, y0 + gh)
        if xb > xa and yb > ya:
            region = field[ya:yb, xa:xb]
            np.maximum(region, glyph[ya - y0 : yb - y0, xa - x0 : xb - x0], out=region)
        pen += font.getlength(_written(font, char)[0]) * spacing + rng.gauss(0, 0.02 * size_px)
    if writer.pen_px:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * writer.pen_px + 1, 2 * writer.pen_px + 1))
        field = cv2.dilate(field, kernel)
    ys, xs = np.nonzero(field > 8)
    if len(xs) == 0:
        return np.zeros((1, 1), dtype=np.uint8), 0
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return np.ascontiguousarray(field[top:bottom, left:right]), int(baseline - top)


def lay_ink(page: np.ndarray, mask: np.ndarray, x0: int, y0: int, ink: tuple[int, int, int], opacity: float) -> None:
    """Multiply ink into `page` (H x W x 3 uint8, in place) where `mask` (coverage) says, top-left at (x0, y0)."""
    h, w = mask.shape
    xa, ya = max(0, x0), max(0, y0)
    xb, yb = min(page.shape[1], x0 + w), min(page.shape[0], y0 + h)
    if xb <= xa or yb <= ya:
        return
    alpha = mask[ya - y0 : yb - y0, xa - x0 : xb - x0].astype(np.float32) * (opacity / 255.0)
    region = page[ya:yb, xa:xb].astype(np.float32)
    for c in range(3):
        region[..., c] *= 1.0 - alpha * (1.0 - ink[c] / 255.0)
    page[ya:yb, xa:xb] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Rect:
    """A cell's writable interior in pixels, plus how far ink may cross its lines."""

    left: float
    top: float
    right: float
    bottom: float
    cross: float  # pixels past the interior reachable by a crossing stroke
    crossing: Crossing  # how likely the ink in it crosses a line, and which

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top


def interior(rect_mm: tuple[float, float, float, float], line_mm: float, px: float,
             crossing: Crossing = SLIGHT_CROSSING) -> Rect:
    x, y, w, h = rect_mm
    inset = line_mm / 2 + CELL_MARGIN_MM
    return Rect(
        left=(x + inset) * px,
        top=(y + inset) * px,
        right=(x + w - inset) * px,
        bottom=(y + h - inset) * px,
        cross=(inset + crossing.max_mm) * px,
        crossing=crossing,
    )


def write_field(
    page: np.ndarray, text: str, cell: Rect, writer: Writer, px: float, row_height_mm: float, rng: random.Random
) -> None:
    """Write `text` in `cell`: left-aligned with a random indent, shrunk to fit, sometimes crossing a line."""
    size_px = writer.cap_frac * row_height_mm * px / _cap_ratio(writer.font)
    mask, baseline = text_mask(text, writer, size_px, rng)
    indent = rng.uniform(0.3, 2.5) * px
    if mask.shape[1] > cell.width - indent:
        indent = rng.uniform(0.0, 0.4) * px
    crossing = rng.random() < cell.crossing.share
    side = rng.choices(["bottom", "top", "right"], weights=cell.crossing.sides)[0] if crossing else ""
    slack = rng.uniform(0.2, 1.5) * px  # people rarely write right up to the line
    extra_w = slack + cell.cross * rng.uniform(0.3, 1.0) if side == "right" else 0.0
    scale = min(1.0, (cell.width - indent - slack + extra_w) / mask.shape[1], cell.height / mask.shape[0])
    if scale < 1.0:
        new_size = (max(1, round(mask.shape[1] * scale)), max(1, round(mask.shape[0] * scale)))
        mask = cv2.resize(mask, new_size, interpolation=cv2.INTER_AREA)
        baseline = round(baseline * scale)
    h = mask.shape[0]
    top = cell.bottom - writer.baseline_mm * px + rng.gauss(0, 0.3) * px - baseline
    top = min(max(top, cell.top), cell.bottom - h)
    if side == "bottom":
        top = cell.bottom - h + cell.cross * rng.uniform(0.3, 1.0)
    elif side == "top":
        top = cell.top - cell.cross * rng.uniform(0.3, 1.0)
    left = cell.left + indent
    lay_ink(page, mask, round(left), round(top), writer.ink, writer.pressure)


def _smooth_noise(rng: random.Random, n: int, knots: int, amplitude: float) -> np.ndarray:
    values = [rng.uniform(-amplitude, amplitude) for _ in range(knots)]
    t = np.linspace(0, knots - 1, n)
    base = np.interp(t, np.arange(knots), values)
    kernel = np.hanning(max(3, n // knots))
    kernel /= kernel.sum()
    return np.convolve(np.pad(base, len(kernel), mode="edge"), kernel, mode="same")[len(kernel) : -len(kernel)]


def signature_strokes(rng: random.Random) -> list[np.ndarray]:
    """A scribble in a unit box (x 0..1, y 0..1): a looping cursive-like stroke, sometimes a flourish."""
    n = 600
    t = np.linspace(0.0, 1.0, n)
    loops = rng.randint(3, 9)
    theta = 2 * math.pi * loops * t + rng.uniform(0, 2 * math.pi)
    loop_x = rng.uniform(0.15, 0.6) / loops
    x = t + loop_x * (1 + _smooth_noise(rng, n, 6, 0.6)) * np.sin(theta)
    y = 0.3 * (1 + _smooth_noise(rng, n, 7, 0.7)) * np.cos(theta * rng.uniform(0.9, 1.1))
    y += _smooth_noise(rng, n, 4, 0.25) + np.linspace(0, rng.uniform(-0.25, 0.25), n)
    strokes = [np.stack([x, y], axis=1)]
    if rng.random() < 0.5:  # a capital-like first loop
        a = np.linspace(0, 2 * math.pi * rng.uniform(0.8, 1.3), 120)
        cap = np.stack([0.08 * np.sin(a) + 0.05, -0.55 * np.cos(a) * rng.uniform(0.6, 1.0)], axis=1)
        strokes.append(cap)
    if rng.random() < 0.45:  # underline flourish
        u = np.linspace(0, 1, 160)
        fx = rng.uniform(0.0, 0.3) + u * rng.uniform(0.6, 1.0)
        fy = 0.55 + 0.12 * np.sin(math.pi * u * rng.uniform(0.5, 1.5)) + _smooth_noise(rng, 160, 3, 0.05)
        strokes.append(np.stack([fx, fy], axis=1))
    points = np.concatenate(strokes)
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    return [(s - lo) / span for s in strokes]


def write_signature(page: np.ndarray, cell: Rect, writer: Writer, px: float, rng: random.Random) -> None:
    crossing = rng.random() < cell.crossing.share
    width = cell.width * rng.uniform(0.4, 0.9)
    height = cell.height * rng.uniform(0.45, 0.9)
    left = cell.left + rng.uniform(0, cell.width - width)
    top = cell.top + rng.uniform(0, cell.height - height)
    if crossing:
        height = min(cell.height + cell.cross * 0.8, height * 1.3)
        top = cell.top - (height - cell.height) * rng.uniform(0, 1)
    thickness = rng.randint(3, 6)
    pad = thickness + 2
    mask = np.zeros((round(height) + 2 * pad, round(width) + 2 * pad), dtype=np.uint8)
    shift = 4
    for stroke in signature_strokes(rng):
        pts = (stroke * [width, height] + pad) * (1 << shift)
        cv2.polylines(mask, [pts.astype(np.int32)], False, 255, thickness, cv2.LINE_AA, shift)
    lay_ink(page, mask, round(left) - pad, round(top) - pad, writer.ink, writer.pressure)


def fill_sheet(
    blank: Image.Image,
    template: Template,
    content: SheetContent,
    rng: random.Random,
    fonts: Sequence[str] | None = None,
    dpi: int = RENDER_DPI,
    crossing: Crossing = SLIGHT_CROSSING,
) -> FilledSheet:
    """Write `content` on `blank` (render_blank(template, dpi)): one writer per row, one for the sender block."""
    names = list(fonts) if fonts is not None else [*TRAINING_FONTS, *HELD_OUT_FONTS]
    unknown = [n for n in names if n not in FONTS]
    if unknown or not names:
        raise ValueError(f"unknown or no fonts: {unknown}")
    px = dpi / MM_PER_INCH
    page = np.array(blank.convert("RGB"))
    line_mm = template.grid.line_width_mm
    row_h = template.grid.row_height_mm
    kinds = {c.key: c.kind for c in template.grid.columns}
    signature_keys = [k for k, kind in kinds.items() if kind == FieldKind.SIGNATURE]
    row_fonts: dict[int, str] = {}
    for row in content.rows:
        if row.empty:
            continue
        writer = make_writer(rng, names)
        row_fonts[row.row] = writer.font
        for key, entry in row.fields.items():
            cell = interior(template.cell_rect(row.row, key), line_mm, px, crossing)
            write_field(page, entry.written, cell, writer, px, row_h, rng)
        if row.signed:
            for key in signature_keys:
                cell = interior(template.cell_rect(row.row, key), line_mm, px, crossing)
                write_signature(page, cell, writer, px, rng)
    sender_font = None
    if content.sender:
        writer = make_writer(rng, names)
        sender_font = writer.font
        boxes = {b.key: b for b in template.sender}
        for key, entry in content.sender.items():
            box = boxes[key]
            cell = interior((box.x_mm, box.y_mm, box.width_mm, box.height_mm), line_mm, px, crossing)
            write_field(page, entry.written, cell, writer, px, box.height_mm, rng)
    return FilledSheet(image=page, dpi=dpi, row_fonts=row_fonts, sender_font=sender_font)
