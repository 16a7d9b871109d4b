"""Stages 2-3: put the page upright, measure its skew, and register the grid against a template.

Detection runs on a small copy of the page (WORK_PX_PER_MM); the result is one homography from template
millimetres to the *original* image's pixels, so cells are later cut from the full-resolution scan in a
single resampling. The fit reports its own error and quality, and refuses pages that are not the form.

Two steps, so that a page is prepared once however many templates are installed:

`prepare` (template-free): scale to the working size -> quarter-turn a landscape scan -> ink mask -> skew
from projection profiles -> deskew -> long horizontal / vertical rule masks. Raises BlankPage.

`fit` (one template): match rule profiles to the template's grid lines, both 0 and 180 degrees (the column
widths are asymmetric, so only one fits) -> locate every grid intersection locally -> RANSAC homography ->
refine twice (predict each intersection, look again close by, least squares) -> check the result:
residual, share of the template's rules found on the page, no extra column rule inside the grid, and the
printed text where the template has it. Raises NotOurForm with the reason.
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
TABLOID_LONG_MM = 431.8

FIRST_SEARCH_MM = 3.0  # first look for an intersection this far across the line from the 1-D estimate
REFINE_SEARCH_MM = 1.5  # later looks, around the homography's prediction
INLIER_MM = 1.0  # RANSAC threshold
GATE_MM = 2.0  # an intersection further than this from the fit is not counted at all
MIN_POINT_SHARE = 0.5  # fewer matched intersections than this share of the grid's: not our form
MIN_LINE_SUPPORT = 0.6  # share of the template's rule length seen on the page
EXTRA_RULE_COVER = 0.6  # a vertical rule this long inside the grid, where the template has none: another form
TEXT_PX_PER_MM = 3.0


# -- small geometry helpers --------------------------------------------------------------------------------
def _matrix_scale(s: float) -> np.ndarray:
    """cv2.resize by `s` as a point map (pixel centres: x' = s (x + 0.5) - 0.5)."""
    c = 0.5 * s - 0.5
    return np.array([[s, 0, c], [0, s, c], [0, 0, 1]], dtype=np.float64)


def _matrix_rot90(width: int) -> np.ndarray:
    """np.rot90(img, 1) (counter-clockwise) as a point map for an image of `width` columns."""
    return np.array([[0, 1, 0], [-1, 0, width - 1], [0, 0, 1]], dtype=np.float64)


def _matrix_rot180(width: int, height: int) -> np.ndarray:
    return np.array([[-1, 0, width - 1], [0, -1, height - 1], [0, 0, 1]], dtype=np.float64)


def _apply(h: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return cv2.perspectiveTransform(pts.reshape(1, -1, 2).astype(np.float64), h)[0]


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


# -- 1-D line matching ---------------------------------------------------------------------------------------
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
        return float(np.mean([abs(self.scale * lines_mm[i] + self.offset - p) for i, p in self.matched.items()]))


def _peaks(profile: np.ndarray, threshold: float) -> np.ndarray:
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    above = smooth > threshold
    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
    peaks = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        seg = smooth[start:stop]
        peaks.append(float(np.sum(np.arange(start, stop) * seg) / np.sum(seg)))
    return np.array(peaks)


def match_lines(peaks: np.ndarray, lines_mm: np.ndarray, px_per_mm: float, tol_mm: float = 2.0,
                scale_range: tuple[float, float] = (0.85, 1.15)) -> LineFit:
    """Find scale and offset mapping template lines (mm) onto detected peaks (px), most matches first."""
    empty = LineFit(px_per_mm, 0.0, {})
    if len(peaks) < 2:
        return empty
    tol = tol_mm * px_per_mm
    peaks = np.sort(peaks)
    steps = int(round((scale_range[1] - scale_range[0]) / 0.005)) + 1
    best: tuple[int, float, float, float] = (0, float("inf"), px_per_mm, 0.0)
    for scale in px_per_mm * np.linspace(scale_range[0], scale_range[1], steps):
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


# -- preparing a page ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """A page made upright up to a half turn, deskewed, at WORK_PX_PER_MM (approximately): template-free."""

    to_work: np.ndarray  # original pixels -> work pixels
    quarter: int  # 0 or 1: the landscape scan was turned a quarter counter-clockwise
    skew_deg: float
    grey: np.ndarray  # work image
    horizontal: np.ndarray  # long horizontal rules (mask)
    vertical: np.ndarray  # long vertical rules (mask)
    known_scale: bool  # the work scale comes from the file's dpi, not from a guess at the page size


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


def prepare(grey: np.ndarray, dpi_hint: float | None = None, long_mm: float = TABLOID_LONG_MM) -> Prepared:
    """Work copy of the page, portrait and deskewed, with its rule masks. Raise BlankPage if nothing is printed.

    The work scale comes from `dpi_hint` when the file states a plausible one, else from the image's long
    side taken as the page's `long_mm`.
    """
    height, width = grey.shape
    known = dpi_hint is not None and 70 <= dpi_hint <= 1600
    est_px_per_mm = dpi_hint / 25.4 if known and dpi_hint else max(height, width) / long_mm
    s = WORK_PX_PER_MM / est_px_per_mm
    small = cv2.resize(grey, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    to_work = _matrix_scale(s)
    quarter = 0
    if small.shape[1] > small.shape[0]:
        to_work = _matrix_rot90(small.shape[1]) @ to_work
        small = np.ascontiguousarray(np.rot90(small, 1))
        quarter = 1

    block = int(8 * WORK_PX_PER_MM)
    mask = ink_mask(small, block)
    if cv2.countNonZero(mask) < MIN_INK_SHARE * mask.size:
        raise BlankPage("page blanche (aucune encre)")
    skew = estimate_skew(mask)
    h, w = small.shape
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), -skew, 1.0)
    small = cv2.warpAffine(small, rot, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    to_work = np.vstack([rot, [0, 0, 1]]) @ to_work
    horizontal, vertical = _line_masks(ink_mask(small, block))
    return Prepared(to_work, quarter, skew, small, horizontal, vertical, bool(known))


# -- fitting one template --------------------------------------------------------------------------------
def _local_peak(profile: np.ndarray, need: float) -> float | None:
    """Sub-pixel centre of the strongest run in a rule-mask profile, or None when too weak."""
    k = int(np.argmax(profile))
    if profile[k] < need:
        return None
    half = 0.5 * profile[k]
    lo, hi = k, k + 1
    while lo > 0 and profile[lo - 1] >= half:
        lo -= 1
    while hi < len(profile) and profile[hi] >= half:
        hi += 1
    seg = profile[lo:hi].astype(np.float64)
    return float(lo + np.sum(np.arange(len(seg)) * seg) / np.sum(seg))


def _find_points(horizontal: np.ndarray, vertical: np.ndarray, src: np.ndarray, guess: np.ndarray,
                 search_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Each grid intersection located around its guess: the horizontal rule's y in a window `search_mm` high
    (and 5 mm wide), the vertical rule's x likewise. Returns the template points and image points found."""
    h, w = horizontal.shape
    px = WORK_PX_PER_MM
    search, along = int(round(search_mm * px)), int(5 * px)
    found_src, found_dst = [], []
    for (x_mm, y_mm), (x, y) in zip(src, guess, strict=True):
        xi, yi = int(round(x)), int(round(y))
        y0, y1 = max(0, yi - search), min(h, yi + search + 1)
        x0, x1 = max(0, xi - along), min(w, xi + along + 1)
        y0b, y1b = max(0, yi - along), min(h, yi + along + 1)
        x0b, x1b = max(0, xi - search), min(w, xi + search + 1)
        if min(y1 - y0, x1 - x0, y1b - y0b, x1b - x0b) < 3:
            continue
        hy = _local_peak(horizontal[y0:y1, x0:x1].sum(axis=1) / 255.0, 0.35 * (x1 - x0))
        vx = _local_peak(vertical[y0b:y1b, x0b:x1b].sum(axis=0) / 255.0, 0.35 * (y1b - y0b))
        if hy is None or vx is None:
            continue
        found_src.append((x_mm, y_mm))
        found_dst.append((x0b + vx, y0 + hy))
    return np.array(found_src, dtype=np.float64).reshape(-1, 2), np.array(found_dst, dtype=np.float64).reshape(-1, 2)


def _distances_mm(fit: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Distance in template mm between each template point and its image point mapped back."""
    back = _apply(np.linalg.inv(fit), dst)
    return np.asarray(np.linalg.norm(back - src, axis=1))


def _line_support(horizontal: np.ndarray, vertical: np.ndarray, fit: np.ndarray, template: Template
                  ) -> tuple[float, int]:
    """(share of the template's rule length present on the page, vertical rules inside the grid that the
    template does not have). Masks are brought into the template frame at 1 px/mm."""
    width, height = int(np.ceil(template.page.width_mm)), int(np.ceil(template.page.height_mm))
    frame = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]], dtype=np.float64)  # pixel centre = mm + 0.5
    warp = fit @ frame
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    v = cv2.warpPerspective(vertical, warp, (width, height), flags=flags) > 64
    hmask = cv2.warpPerspective(horizontal, warp, (width, height), flags=flags) > 64
    inside = cv2.warpPerspective(np.full(vertical.shape, 255, np.uint8), warp, (width, height), flags=flags) > 128
    xs, ys = template.column_xs, template.row_ys
    ya, yb = int(ys[0]) + 1, int(ys[-1])
    xa, xb = int(xs[0]) + 1, int(xs[-1])
    seen = total = 0
    v_band = cv2.dilate(v.astype(np.uint8), np.ones((1, 3), np.uint8))
    h_band = cv2.dilate(hmask.astype(np.uint8), np.ones((3, 1), np.uint8))
    for x in xs:
        c = min(width - 1, int(x))
        ok = inside[ya:yb, c]
        seen += int(np.count_nonzero(v_band[ya:yb, c][ok]))
        total += int(np.count_nonzero(ok))
    for y in ys:
        r = min(height - 1, int(y))
        ok = inside[r, xa:xb]
        seen += int(np.count_nonzero(h_band[r, xa:xb][ok]))
        total += int(np.count_nonzero(ok))
    support = seen / total if total else 0.0
    cover = v[ya:yb, :].sum(axis=0) / max(1, yb - ya)
    extra = 0
    for x in range(xa + 2, xb - 2):
        peak = cover[x] >= EXTRA_RULE_COVER and cover[x] >= cover[x - 1] and cover[x] > cover[x + 1]
        if peak and min(abs(x + 0.5 - c) for c in xs) > 2.5:
            extra += 1
    return support, extra


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels
_TEXT_REFERENCES: dict[int, tuple[Template, tuple[np.ndarray, list[Box]]]] = {}


def _text_reference(template: Template) -> tuple[np.ndarray, list[Box]]:
    """The template's blank page at TEXT_PX_PER_MM as blurred ink, and one box per printed text block (cached)."""
    cached = _TEXT_REFERENCES.get(id(template))
    if cached is None or cached[0] is not template:
        cached = (template, _render_text_reference(template))
        _TEXT_REFERENCES[id(template)] = cached
    return cached[1]


def _text_boxes(template: Template) -> list[tuple[float, float, float, float]]:
    """Each text block's area in mm: from its top to the next block's (or the grid's, or 15 mm lower)."""
    tops = sorted({b.y_mm for b in template.texts} | {template.grid.y_mm, template.grid_bottom_mm})
    boxes = []
    for b in template.texts:
        below = [t for t in tops if t > b.y_mm + 1]
        bottom = min(below[0] if below else b.y_mm + 15, b.y_mm + 15) - 0.5
        boxes.append((b.x_mm, b.y_mm - 1, b.x_mm + b.width_mm, bottom))
    return boxes


def _render_text_reference(template: Template) -> tuple[np.ndarray, list[Box]]:
    from sheetscan.render import render_blank

    px = TEXT_PX_PER_MM
    blank = np.asarray(render_blank(template, dpi=round(px * 25.4 * 3)))
    size = (int(template.page.width_mm * px), int(template.page.height_mm * px))
    blank = cv2.resize(blank, size, interpolation=cv2.INTER_AREA)
    ink = cv2.GaussianBlur(255 - blank, (0, 0), 1.0).astype(np.float32)
    ink -= cv2.GaussianBlur(ink, (0, 0), 2.0 * px)
    boxes = [(int(x0 * px), int(y0 * px), int(x1 * px), int(y1 * px)) for x0, y0, x1, y1 in _text_boxes(template)]
    return ink, [b for b in boxes if ink[b[1]:b[3], b[0]:b[2]].std() > 3]


def text_match(work_grey: np.ndarray, fit: np.ndarray, template: Template) -> float | None:
    """How well the printed text blocks agree with the template's: the lowest correlation (-1..1) over the
    blocks present on the scan, or None when the template prints no text or none of it was scanned."""
    expected, boxes = _text_reference(template)
    if not boxes:
        return None
    px = TEXT_PX_PER_MM
    frame = np.array([[1 / px, 0, 0.5 / px], [0, 1 / px, 0.5 / px], [0, 0, 1]], dtype=np.float64)
    size = (expected.shape[1], expected.shape[0])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    seen = cv2.warpPerspective(work_grey, fit @ frame, size, flags=flags, borderMode=cv2.BORDER_CONSTANT,
                               borderValue=255)
    inside = cv2.warpPerspective(np.full(work_grey.shape, 255, np.uint8), fit @ frame, size, flags=flags) > 128
    paper = float(np.percentile(seen, 90))
    ink = cv2.GaussianBlur(np.clip(paper - seen.astype(np.float32), 0, 255), (0, 0), 1.0)
    ink -= cv2.GaussianBlur(ink, (0, 0), 2.0 * px)  # stains, shadows: slow changes are not print
    scores = []
    for x0, y0, x1, y1 in boxes:
        if inside[y0:y1, x0:x1].mean() < 0.9:
            continue
        # Each pixel row's mean is taken out: another text on the same lines must not count as agreement.
        a, b = expected[y0:y1, x0:x1], ink[y0:y1, x0:x1]
        a, b = (a - a.mean(axis=1, keepdims=True)).ravel(), (b - b.mean(axis=1, keepdims=True)).ravel()
        denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
        scores.append(float((a * b).sum() / denom) if denom > 0 else 0.0)
    return min(scores) if scores else None


@dataclass(frozen=True)
class _Candidate:
    flip: bool
    xs: LineFit
    ys: LineFit


def fit(page: Prepared, template: Template) -> Geometry:
    """Fit `template`'s grid onto a prepared page. Raise NotOurForm when it is not this form."""
    horizontal, vertical = page.horizontal, page.vertical
    h, w = horizontal.shape
    xs_mm, ys_mm = np.array(template.column_xs), np.array(template.row_ys)
    grid_w = (xs_mm[-1] - xs_mm[0]) * WORK_PX_PER_MM
    grid_h = (ys_mm[-1] - ys_mm[0]) * WORK_PX_PER_MM
    scale_range = (0.85, 1.15) if page.known_scale else (0.75, 1.3)
    col_peaks = _peaks(vertical.sum(axis=0) / 255.0, 0.25 * grid_h * scale_range[0])
    row_peaks = _peaks(horizontal.sum(axis=1) / 255.0, 0.25 * grid_w * scale_range[0])

    candidates = []
    for flip in (False, True):
        cp = (w - 1 - col_peaks) if flip else col_peaks
        rp = (h - 1 - row_peaks) if flip else row_peaks
        candidates.append(_Candidate(
            flip, match_lines(cp, xs_mm, WORK_PX_PER_MM, scale_range=scale_range),
            match_lines(rp, ys_mm, WORK_PX_PER_MM, scale_range=scale_range),
        ))
    best = max(candidates, key=lambda c: (c.xs.count + c.ys.count, -(c.xs.error(xs_mm) + c.ys.error(ys_mm))))
    if best.xs.count < len(xs_mm) - 2 or best.ys.count < len(ys_mm) - 4:
        raise NotOurForm(
            f"grille du formulaire introuvable ({best.xs.count}/{len(xs_mm)} colonnes, "
            f"{best.ys.count}/{len(ys_mm)} lignes reconnues)"
        )
    to_work = page.to_work
    if best.flip:
        to_work = _matrix_rot180(w, h) @ to_work
        horizontal = np.ascontiguousarray(horizontal[::-1, ::-1])
        vertical = np.ascontiguousarray(vertical[::-1, ::-1])
        grey = np.ascontiguousarray(page.grey[::-1, ::-1])
    else:
        grey = page.grey

    grid = np.array([(x, y) for x in xs_mm for y in ys_mm], dtype=np.float64)
    guess = np.array([(best.xs.matched.get(j, best.xs.scale * x + best.xs.offset),
                       best.ys.matched.get(i, best.ys.scale * y + best.ys.offset))
                      for j, x in enumerate(xs_mm) for i, y in enumerate(ys_mm)])
    src, dst = _find_points(horizontal, vertical, grid, guess, FIRST_SEARCH_MM)
    if len(src) < 8:
        raise NotOurForm("grille du formulaire introuvable (trop peu d'intersections)")
    homography, _ = cv2.findHomography(src, dst, cv2.RANSAC, INLIER_MM * WORK_PX_PER_MM)
    if homography is None:
        raise NotOurForm("grille du formulaire introuvable (ajustement impossible)")
    for _ in range(2):  # look again where the fit says each intersection is, then least squares
        src, dst = _find_points(horizontal, vertical, grid, _apply(homography, grid), REFINE_SEARCH_MM)
        if len(src) < 8:
            break
        keep = _distances_mm(homography, src, dst) < INLIER_MM
        if keep.sum() < 8:
            break
        refined, _ = cv2.findHomography(src[keep], dst[keep], 0)
        if refined is None:
            break
        homography = refined
    near = _distances_mm(homography, src, dst) if len(src) else np.zeros(0)
    gated = near[near < GATE_MM]
    if len(gated) < MIN_POINT_SHARE * len(grid):
        raise NotOurForm(f"grille du formulaire introuvable ({len(gated)}/{len(grid)} intersections)")
    residual = float(np.sqrt(np.mean(gated**2)))

    support, extra = _line_support(horizontal, vertical, homography, template)
    if support < MIN_LINE_SUPPORT:
        raise NotOurForm(f"grille du formulaire incomplète ({support:.0%} des traits retrouvés)")
    if extra:
        raise NotOurForm(f"ce n'est pas ce formulaire ({extra} colonne(s) en trop dans la grille)")
    # The printed text is evidence, not a gate: the same sheet printed in another font scores as low as
    # another petition on our grid, so a low score sends the page to review (pipeline) instead of refusing it.
    text = text_match(grey, homography, template)

    full = np.linalg.inv(to_work) @ homography
    full = full / full[2, 2]
    orientation = (page.quarter * 90 + (180 if best.flip else 0)) % 360
    scale_px_per_mm = float(np.sqrt(abs(np.linalg.det(full[:2, :2]))))
    return Geometry(
        orientation_deg=orientation,
        skew_deg=round(page.skew_deg, 2),
        homography=full.tolist(),
        residual_mm=round(residual, 3),
        matched_points=int(len(gated)),
        dpi=round(scale_px_per_mm * 25.4, 1),
        max_error_mm=round(float(gated.max()), 3),
        grid_points=len(grid),
        line_support=round(support, 3),
        text_match=None if text is None else round(text, 3),
    )


def register(grey: np.ndarray, template: Template, dpi_hint: float | None = None) -> Geometry:
    """Fit the template's grid onto `grey`. Raise BlankPage / NotOurForm when there is no grid to fit."""
    long_mm = max(template.page.width_mm, template.page.height_mm)
    return fit(prepare(grey, dpi_hint, long_mm), template)
