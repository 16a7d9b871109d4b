"""Stages 2-3: put the page upright, measure its skew, and register the grid against the template.

Detection runs on a small copy of the page (WORK_PX_PER_MM); the result is one homography from template
millimetres to the *original* image's pixels, so cells are later cut from the full-resolution scan in a
single resampling. The fit reports its own error (RMS residual in mm over the matched grid intersections).

Steps: scale to the working size -> quarter-turn a landscape scan -> ink mask -> skew from projection
profiles -> long horizontal / vertical line masks -> match line profiles to the template's grid lines
(both 0 and 180 degrees; the column widths are asymmetric, so only one fits) -> refine every grid
intersection locally -> RANSAC homography.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sheetscan.errors import BlankPage, NotOurForm
from sheetscan.records import Geometry
from sheetscan.template import Template

WORK_PX_PER_MM = 4.0
MAX_SKEW_DEG = 12.0
MIN_INK_SHARE = 0.002  # below this the page is blank
LINE_MM = 20.0  # a straight run this long is a printed rule, not handwriting
DOUBTFUL_RESIDUAL_MM = 0.8


@dataclass(frozen=True)
class LineFit:
    scale: float
    offset: float
    matched: dict[int, float]  # template line index -> detected position (px)

    @property
    def count(self) -> int:
        return len(self.matched)

    def error(self, lines_mm: np.ndarray) -> float:
        if not self.matched:
            return float("inf")
        return float(
            np.mean([abs(self.scale * lines_mm[i] + self.offset - p) for i, p in self.matched.items()])
        )


def _matrix_scale(s: float) -> np.ndarray:
    """cv2.resize by `s` as a point map (pixel centres: x' = s (x + 0.5) - 0.5)."""
    c = 0.5 * s - 0.5
    return np.array([[s, 0, c], [0, s, c], [0, 0, 1]], dtype=np.float64)


def _matrix_rot90(width: int) -> np.ndarray:
    """np.rot90(img, 1) (counter-clockwise) as a point map for an image of `width` columns."""
    return np.array([[0, 1, 0], [-1, 0, width - 1], [0, 0, 1]], dtype=np.float64)


def _matrix_rot180(width: int, height: int) -> np.ndarray:
    return np.array([[-1, 0, width - 1], [0, -1, height - 1], [0, 0, 1]], dtype=np.float64)


def ink_mask(grey: np.ndarray, block_px: int) -> np.ndarray:
    block = block_px | 1
    return cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 15)


def estimate_skew(mask: np.ndarray) -> float:
    """Skew in degrees (positive = content rotated counter-clockwise) from row-profile sharpness."""
    small = cv2.resize(mask, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    centre = (w / 2, h / 2)

    def sharpness(angle: float) -> float:
        rot = cv2.getRotationMatrix2D(centre, angle, 1.0)
        turned = cv2.warpAffine(small, rot, (w, h), flags=cv2.INTER_NEAREST)
        profile = turned.sum(axis=1, dtype=np.float64)
        return float(np.sum(np.diff(profile) ** 2))

    best = max(np.arange(-MAX_SKEW_DEG, MAX_SKEW_DEG + 0.01, 0.5), key=sharpness)
    fine = max(np.arange(best - 0.5, best + 0.51, 0.1), key=sharpness)
    return float(-fine)


def _peaks(profile: np.ndarray, threshold: float) -> np.ndarray:
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    above = smooth > threshold
    peaks = []
    i, n = 0, len(smooth)
    while i < n:
        if above[i]:
            j = i
            while j < n and above[j]:
                j += 1
            seg = smooth[i:j]
            idx = np.arange(i, j)
            peaks.append(float(np.sum(idx * seg) / np.sum(seg)))
            i = j
        else:
            i += 1
    return np.array(peaks)


def match_lines(peaks: np.ndarray, lines_mm: np.ndarray, px_per_mm: float, tol_mm: float = 2.0) -> LineFit:
    """Find scale and offset mapping template lines (mm) onto detected peaks (px), most matches first."""
    empty = LineFit(px_per_mm, 0.0, {})
    if len(peaks) < 2:
        return empty
    tol = tol_mm * px_per_mm
    peaks = np.sort(peaks)
    best: tuple[int, float, float, float] = (0, float("inf"), px_per_mm, 0.0)
    for scale in px_per_mm * np.linspace(0.85, 1.15, 61):
        offsets = (peaks[:, None] - scale * lines_mm[None, :]).ravel()
        pred = scale * lines_mm[None, :] + offsets[:, None]  # (candidates, lines)
        pos = np.clip(np.searchsorted(peaks, pred), 1, len(peaks) - 1)
        dist = np.minimum(np.abs(peaks[pos] - pred), np.abs(peaks[pos - 1] - pred))
        hits = dist < tol
        counts = hits.sum(axis=1)
        errs = np.where(hits, dist, 0).sum(axis=1)
        k = int(np.lexsort((errs, -counts))[0])
        if (counts[k], -errs[k]) > (best[0], -best[1]):
            best = (int(counts[k]), float(errs[k]), float(scale), float(offsets[k]))
    _, _, scale, offset = best
    matched: dict[int, float] = {}
    for i, line in enumerate(lines_mm):
        pred = scale * line + offset
        j = int(np.argmin(np.abs(peaks - pred)))
        if abs(peaks[j] - pred) < tol:
            matched[i] = float(peaks[j])
    if len(matched) >= 2:
        idx = np.array(list(matched))
        scale, offset = np.polyfit(lines_mm[idx], np.array(list(matched.values())), 1)
    return LineFit(float(scale), float(offset), matched)


def _line_masks(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Long straight rules. Thickening across the line first lets a rule tilted by a degree or two
    (keystone, a curled page) survive the opening."""
    length = int(LINE_MM * WORK_PX_PER_MM)
    rect = cv2.getStructuringElement
    thick_h = cv2.dilate(mask, rect(cv2.MORPH_RECT, (1, 3)))
    thick_v = cv2.dilate(mask, rect(cv2.MORPH_RECT, (3, 1)))
    horizontal = cv2.morphologyEx(thick_h, cv2.MORPH_OPEN, rect(cv2.MORPH_RECT, (length, 1)))
    vertical = cv2.morphologyEx(thick_v, cv2.MORPH_OPEN, rect(cv2.MORPH_RECT, (1, length)))
    return horizontal, vertical


def _local_peak(profile: np.ndarray, need: float) -> float | None:
    k = int(np.argmax(profile))
    if profile[k] < need:
        return None
    lo, hi = max(0, k - 2), min(len(profile), k + 3)
    seg = profile[lo:hi].astype(np.float64)
    return float(lo + np.sum(np.arange(len(seg)) * seg) / np.sum(seg))


def _intersections(
    horizontal: np.ndarray, vertical: np.ndarray, xs_fit: LineFit, ys_fit: LineFit,
    xs_mm: np.ndarray, ys_mm: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Each grid intersection located locally; returns (template mm points, image px points)."""
    h, w = horizontal.shape
    px = WORK_PX_PER_MM
    search, along = int(3 * px), int(5 * px)
    src, dst = [], []
    for j, x_mm in enumerate(xs_mm):
        for i, y_mm in enumerate(ys_mm):
            x = xs_fit.matched.get(j, xs_fit.scale * x_mm + xs_fit.offset)
            y = ys_fit.matched.get(i, ys_fit.scale * y_mm + ys_fit.offset)
            xi, yi = int(round(x)), int(round(y))
            y0, y1 = max(0, yi - search), min(h, yi + search + 1)
            x0, x1 = max(0, xi - along), min(w, xi + along + 1)
            if y1 - y0 < 3 or x1 - x0 < 3:
                continue
            hy = _local_peak(horizontal[y0:y1, x0:x1].sum(axis=1) / 255.0, 0.35 * (x1 - x0))
            y0b, y1b = max(0, yi - along), min(h, yi + along + 1)
            x0b, x1b = max(0, xi - search), min(w, xi + search + 1)
            if y1b - y0b < 3 or x1b - x0b < 3:
                continue
            vx = _local_peak(vertical[y0b:y1b, x0b:x1b].sum(axis=0) / 255.0, 0.35 * (y1b - y0b))
            if hy is None or vx is None:
                continue
            src.append((x_mm, y_mm))
            dst.append((x0b + vx, y0 + hy))
    return np.array(src, dtype=np.float64), np.array(dst, dtype=np.float64)


@dataclass(frozen=True)
class _Candidate:
    flip: bool
    xs: LineFit
    ys: LineFit


def register(grey: np.ndarray, template: Template, dpi_hint: float | None = None) -> Geometry:
    """Fit the template's grid onto `grey`. Raise BlankPage / NotOurForm when there is no grid to fit."""
    height, width = grey.shape
    long_mm = max(template.page.width_mm, template.page.height_mm)
    est_px_per_mm = max(height, width) / long_mm
    s = WORK_PX_PER_MM / est_px_per_mm
    small = cv2.resize(grey, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    to_work = _matrix_scale(s)
    quarter = 0
    if small.shape[1] > small.shape[0]:
        to_work = _matrix_rot90(small.shape[1]) @ to_work
        small = np.ascontiguousarray(np.rot90(small, 1))
        quarter = 1

    mask = ink_mask(small, int(8 * WORK_PX_PER_MM))
    if cv2.countNonZero(mask) < MIN_INK_SHARE * mask.size:
        raise BlankPage("page blanche (aucune encre)")

    skew = estimate_skew(mask)
    h, w = mask.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), -skew, 1.0)
    mask = cv2.warpAffine(mask, rot, (w, h), flags=cv2.INTER_NEAREST)
    to_work = np.vstack([rot, [0, 0, 1]]) @ to_work

    horizontal, vertical = _line_masks(mask)
    xs_mm = np.array(template.column_xs)
    ys_mm = np.array(template.row_ys)
    grid_w = (xs_mm[-1] - xs_mm[0]) * WORK_PX_PER_MM
    grid_h = (ys_mm[-1] - ys_mm[0]) * WORK_PX_PER_MM
    col_peaks = _peaks(vertical.sum(axis=0) / 255.0, 0.25 * grid_h)
    row_peaks = _peaks(horizontal.sum(axis=1) / 255.0, 0.25 * grid_w)

    candidates = []
    for flip in (False, True):
        cp = (w - 1 - col_peaks) if flip else col_peaks
        rp = (h - 1 - row_peaks) if flip else row_peaks
        candidates.append(
            _Candidate(flip, match_lines(cp, xs_mm, WORK_PX_PER_MM), match_lines(rp, ys_mm, WORK_PX_PER_MM))
        )
    best = max(
        candidates,
        key=lambda c: (c.xs.count + c.ys.count, -(c.xs.error(xs_mm) + c.ys.error(ys_mm))),
    )
    if best.xs.count < len(xs_mm) - 2 or best.ys.count < len(ys_mm) - 4:
        raise NotOurForm(
            f"grille du formulaire introuvable ({best.xs.count}/{len(xs_mm)} colonnes, "
            f"{best.ys.count}/{len(ys_mm)} lignes reconnues)"
        )
    if best.flip:
        to_work = _matrix_rot180(w, h) @ to_work
        horizontal = np.ascontiguousarray(horizontal[::-1, ::-1])
        vertical = np.ascontiguousarray(vertical[::-1, ::-1])

    src, dst = _intersections(horizontal, vertical, best.xs, best.ys, xs_mm, ys_mm)
    if len(src) < 8:
        raise NotOurForm("grille du formulaire introuvable (trop peu d'intersections)")
    fit, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 1.0 * WORK_PX_PER_MM)
    if fit is None:
        raise NotOurForm("grille du formulaire introuvable (ajustement impossible)")
    keep = inliers.ravel().astype(bool)
    back = cv2.perspectiveTransform(dst[keep][None], np.linalg.inv(fit))[0]
    residual = float(np.sqrt(np.mean(np.sum((back - src[keep]) ** 2, axis=1))))

    homography = np.linalg.inv(to_work) @ np.asarray(fit, dtype=np.float64)
    homography = homography / homography[2, 2]
    orientation = (quarter * 90 + (180 if best.flip else 0)) % 360
    scale_px_per_mm = float(np.sqrt(abs(np.linalg.det(homography[:2, :2]))))
    return Geometry(
        orientation_deg=orientation,
        skew_deg=round(skew, 2),
        homography=homography.tolist(),
        residual_mm=round(residual, 3),
        matched_points=int(keep.sum()),
        dpi=round(scale_px_per_mm * 25.4, 1),
    )
