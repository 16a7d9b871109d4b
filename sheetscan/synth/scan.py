"""Simulate scanning a filled page: resample to the scan dpi, skew, shift, scale, maybe a little perspective,
maybe upside down; then paper tint, blur, noise, and the output mode (grey, colour or black-and-white).

The forward transform is kept: `Scan.transform` maps template millimetres to output image pixels (pixel
centres at integer coordinates, as OpenCV has them), after any 180° rotation.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image

from sheetscan.render import MM_PER_INCH

Mode = Literal["grey", "colour", "bw"]

SCAN_DPIS = (200, 250, 300)
MODES: tuple[tuple[Mode, int], ...] = (("grey", 70), ("colour", 18), ("bw", 12))
UPSIDE_DOWN_SHARE = 1 / 8
PERSPECTIVE_SHARE = 0.3
JPEG_SHARE = 0.5  # share of grey and colour pages saved as JPEG
MAX_SKEW_DEG = 3.0
MAX_SHIFT_MM = 5.0
SCALE_RANGE = (0.97, 1.03)
MAX_PERSPECTIVE_MM = 1.5  # how far a corner may move


@dataclass(frozen=True)
class ScanParams:
    dpi: int
    skew_deg: float
    shift_mm: tuple[float, float]
    scale: float
    corner_mm: tuple[tuple[float, float], ...]  # perspective: 4 corner offsets (all zero = none)
    upside_down: bool
    mode: Mode
    paper: tuple[int, int, int]  # RGB of the paper under the scanner light
    blur_sigma: float  # pixels at the output dpi
    noise_sigma: float  # grey levels
    jpeg_quality: int | None  # None: PNG


@dataclass(frozen=True)
class Scan:
    image: Image.Image  # "L", "RGB" or "1"
    params: ScanParams
    transform: np.ndarray  # 3x3: template mm -> output pixels

    @property
    def extension(self) -> str:
        return ".jpg" if self.params.jpeg_quality is not None else ".png"

    @property
    def orientation_deg(self) -> int:
        """Rotation that makes the scan upright again."""
        return 180 if self.params.upside_down else 0

    def save(self, path: Path) -> None:
        if self.params.jpeg_quality is not None:
            self.image.save(path, "JPEG", quality=self.params.jpeg_quality, dpi=(self.params.dpi, self.params.dpi))
        else:
            # Fast compression: noisy scans barely shrink at higher levels, and take far longer.
            self.image.save(path, "PNG", dpi=(self.params.dpi, self.params.dpi), compress_level=1)


def random_params(rng: random.Random) -> ScanParams:
    mode = rng.choices([m for m, _ in MODES], weights=[w for _, w in MODES])[0]
    if rng.random() < PERSPECTIVE_SHARE:
        corners = tuple(
            (rng.uniform(-MAX_PERSPECTIVE_MM, MAX_PERSPECTIVE_MM), rng.uniform(-MAX_PERSPECTIVE_MM, MAX_PERSPECTIVE_MM))
            for _ in range(4)
        )
    else:
        corners = ((0.0, 0.0),) * 4
    white = rng.randint(232, 252)
    if mode == "colour":
        paper = (white, max(0, white - rng.randint(0, 6)), max(0, white - rng.randint(4, 16)))
    else:
        paper = (white, white, white)
    jpeg = rng.randint(50, 95) if mode != "bw" and rng.random() < JPEG_SHARE else None
    return ScanParams(
        dpi=rng.choice(SCAN_DPIS),
        skew_deg=rng.uniform(-MAX_SKEW_DEG, MAX_SKEW_DEG),
        shift_mm=(rng.uniform(-MAX_SHIFT_MM, MAX_SHIFT_MM), rng.uniform(-MAX_SHIFT_MM, MAX_SHIFT_MM)),
        scale=rng.uniform(*SCALE_RANGE),
        corner_mm=corners,
        upside_down=rng.random() < UPSIDE_DOWN_SHARE,
        mode=mode,
        paper=paper,
        blur_sigma=rng.uniform(0.3, 0.9),
        noise_sigma=rng.uniform(1.5, 6.0),
        jpeg_quality=jpeg,
    )


def _translate(dx: float, dy: float) -> np.ndarray:
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def _scale(s: float) -> np.ndarray:
    return np.array([[s, 0, 0], [0, s, 0], [0, 0, 1]], dtype=np.float64)


def _rotate(deg: float) -> np.ndarray:
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]], dtype=np.float64)


def output_size(page_mm: tuple[float, float], dpi: int) -> tuple[int, int]:
    """(width, height) in pixels of a scan of the whole page at `dpi`."""
    px = dpi / MM_PER_INCH
    return round(page_mm[0] * px), round(page_mm[1] * px)


def page_transform(page_mm: tuple[float, float], params: ScanParams) -> np.ndarray:
    """3x3 homography from template millimetres to output pixels for these scan parameters."""
    px = params.dpi / MM_PER_INCH
    width, height = output_size(page_mm, params.dpi)
    centre = (page_mm[0] / 2, page_mm[1] / 2)
    # Placement of the paper on the scanner bed, in millimetres.
    place = (
        _translate(centre[0] + params.shift_mm[0], centre[1] + params.shift_mm[1])
        @ _rotate(params.skew_deg)
        @ _scale(params.scale)
        @ _translate(-centre[0], -centre[1])
    )
    corners = np.array([[0, 0], [page_mm[0], 0], [page_mm[0], page_mm[1]], [0, page_mm[1]]], dtype=np.float32)
    moved = corners + np.array(params.corner_mm, dtype=np.float32)
    perspective = cv2.getPerspectiveTransform(corners, moved).astype(np.float64)
    to_pixels = _scale(px)
    matrix = to_pixels @ perspective @ place
    if params.upside_down:
        matrix = _translate(width - 1, height - 1) @ _scale(-1) @ matrix
    normalised: np.ndarray = matrix / matrix[2, 2]
    return normalised


def _resample_matrix(factor: float) -> np.ndarray:
    """cv2.resize's pixel mapping: destination = factor * source + (factor - 1) / 2."""
    offset = (factor - 1) / 2
    return np.array([[factor, 0, offset], [0, factor, offset], [0, 0, 1]], dtype=np.float64)


def scan_page(page: np.ndarray, page_dpi: int, page_mm: tuple[float, float], params: ScanParams, seed: int) -> Scan:
    """Scan `page` (H x W x 3 uint8 RGB at `page_dpi`, showing the template at true size) with `params`."""
    factor = params.dpi / page_dpi
    width, height = output_size(page_mm, params.dpi)
    colour = params.mode == "colour"
    source = page if colour else cv2.cvtColor(page, cv2.COLOR_RGB2GRAY)
    if factor != 1:
        source = cv2.resize(source, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    # source pixels -> template mm -> output pixels
    mm_to_source = _resample_matrix(factor) @ _scale(page_dpi / MM_PER_INCH)
    transform = page_transform(page_mm, params)
    warp = transform @ np.linalg.inv(mm_to_source)
    border: float | tuple[float, float, float] = (255.0, 255.0, 255.0) if colour else 255.0
    out = cv2.warpPerspective(
        source, warp, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border
    )
    out = degrade(out, params, np.random.default_rng(seed))
    image: Image.Image
    if params.mode == "bw":
        _, binary = cv2.threshold(out, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        image = Image.fromarray(binary).convert("1", dither=Image.Dither.NONE)
    else:
        image = Image.fromarray(out, "RGB" if colour else "L")
    return Scan(image=image, params=params, transform=transform)


def degrade(image: np.ndarray, params: ScanParams, rng: np.random.Generator) -> np.ndarray:
    """Optical blur, paper tint and uneven light, sensor noise (uint8 in, uint8 out, same shape)."""
    blurred = cv2.GaussianBlur(image, (0, 0), params.blur_sigma)
    width = image.shape[1]
    # A soft light falloff across the page: a few grey levels darker towards one edge.
    light = 1.0 - rng.uniform(0.0, 0.04) * np.linspace(0, 1, width, dtype=np.float32) ** 2
    if image.ndim == 3:
        gain = light[None, :, None] * (np.array(params.paper, dtype=np.float32) / 255.0)[None, None, :]
    else:
        gain = light[None, :] * np.float32(params.paper[0] / 255.0)
    out = blurred.astype(np.float32)
    out *= gain
    noise = rng.standard_normal(image.shape[:2], dtype=np.float32)
    noise *= np.float32(params.noise_sigma)
    noise += np.float32(0.5)  # rounding, for the truncating cast below
    out += noise[..., None] if image.ndim == 3 else noise
    np.clip(out, 0, 255, out=out)
    return out.astype(np.uint8)
