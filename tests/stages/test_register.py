"""Registration on synthetic pages warped by a known transform: the fit must recover every cell corner."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sheetscan.config import Settings
from sheetscan.errors import BlankPage, NotOurForm
from sheetscan.stages.register import estimate_skew, ink_mask, match_lines, register
from sheetscan.template import Template

DPI = 200
PX = DPI / 25.4


def _scan(blank: np.ndarray, angle: float, scale: float, shift: tuple[float, float], keystone: float = 0.0,
          turns: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Warp the blank render; return (scan, template-mm -> scan-px homography)."""
    h, w = blank.shape
    rot = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale), [0, 0, 1]])
    rot[0, 2] += shift[0] * PX
    rot[1, 2] += shift[1] * PX
    persp = np.array([[1, 0, 0], [0, 1, 0], [keystone / w, 0, 1]])
    warp = persp @ rot
    scan = cv2.warpPerspective(blank, warp, (w, h), borderValue=255)
    to_px = np.array([[PX, 0, 0], [0, PX, 0], [0, 0, 1]])
    truth = warp @ to_px
    for _ in range(turns):  # np.rot90 counter-clockwise
        scan = np.ascontiguousarray(np.rot90(scan))
        truth = np.array([[0, 1, 0], [-1, 0, scan.shape[0] - 1], [0, 0, 1]]) @ truth
        h, w = scan.shape
    return scan, truth


def _corner_error_mm(template: Template, fitted: np.ndarray, truth: np.ndarray) -> float:
    pts = np.array([[(x, y) for x in template.column_xs for y in template.row_ys]], dtype=np.float64)
    a = cv2.perspectiveTransform(pts, fitted)[0]
    b = cv2.perspectiveTransform(pts, truth)[0]
    return float(np.max(np.linalg.norm(a - b, axis=1)) / PX)


@pytest.mark.parametrize(
    ("angle", "scale", "shift", "keystone", "turns", "orientation"),
    [
        (0.0, 1.0, (0, 0), 0.0, 0, 0),
        (3.0, 0.97, (4, -3), 0.0, 0, 0),
        (-2.5, 1.03, (-5, 2), 0.0, 2, 180),
        (1.5, 1.0, (2, 2), 0.02, 1, 270),
        (-1.0, 0.99, (0, 3), 0.0, 3, 90),
    ],
)
def test_recovers_known_transform(template: Template, blank_200: np.ndarray, angle: float, scale: float,
                                  shift: tuple[float, float], keystone: float, turns: int, orientation: int) -> None:
    scan, truth = _scan(blank_200, angle, scale, shift, keystone, turns)
    geometry = register(scan, template)
    assert geometry.orientation_deg == orientation
    assert geometry.residual_mm < 0.5
    assert _corner_error_mm(template, np.array(geometry.homography), truth) < 0.75


def test_skew_is_measured(blank_200: np.ndarray) -> None:
    small = cv2.resize(blank_200, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    h, w = small.shape
    turned = cv2.warpAffine(small, cv2.getRotationMatrix2D((w / 2, h / 2), 4.0, 1.0), (w, h), borderValue=255)
    assert estimate_skew(ink_mask(turned, 31)) == pytest.approx(4.0, abs=0.25)


def test_blank_page_is_not_registered(template: Template) -> None:
    page = np.full((3400, 2200), 250, np.uint8)
    page += np.random.default_rng(1).integers(0, 4, page.shape, dtype=np.uint8)
    with pytest.raises(BlankPage):
        register(page, template)


def test_other_document_is_not_our_form(template: Template) -> None:
    page = np.full((3400, 2200), 255, np.uint8)
    for y in range(200, 3200, 60):  # lines of "text"
        cv2.putText(page, "Lorem ipsum dolor sit amet, consectetur adipiscing elit sed do", (150, y),
                    cv2.FONT_HERSHEY_SIMPLEX, 1.6, 0, 3)
    with pytest.raises(NotOurForm, match="grille"):
        register(page, template)


def test_a_different_table_is_not_our_form(template: Template) -> None:
    page = np.full((3400, 2200), 255, np.uint8)
    for x in np.linspace(150, 2050, 5):  # a 4-column table, evenly spaced
        cv2.line(page, (int(x), 1000), (int(x), 3000), 0, 3)
    for y in np.linspace(1000, 3000, 21):
        cv2.line(page, (150, int(y)), (2050, int(y)), 0, 3)
    with pytest.raises(NotOurForm):
        register(page, template)


def test_match_lines_ignores_outliers() -> None:
    lines = np.array([0.0, 10.0, 80.0, 108.0, 150.0])
    peaks = np.array([5.0, 12.0 + 0, 12 + 40.0, 12 + 320.0, 12 + 432.0, 12 + 600.0, 900.0])
    fit = match_lines(peaks, lines, px_per_mm=4.0)
    assert fit.count == 5
    assert fit.scale == pytest.approx(4.0, abs=0.01)
    assert fit.offset == pytest.approx(12.0, abs=0.1)


# -- hard cases from the test bench (sheetscan.synth.degrade), checked against the scan's truth transform ----------
def _bench_scan(template: Template, page: np.ndarray, dpi: int = 150, skew: float = 2.0, margin_mm: float = 0.0,
                page_dpi: int = 200) -> tuple[np.ndarray, np.ndarray]:
    from sheetscan.synth import degrade
    from sheetscan.synth.scan import ScanParams, scan_page

    rgb = cv2.cvtColor(page, cv2.COLOR_GRAY2RGB) if page.ndim == 2 else page
    rgb, margin = degrade.pad(rgb, page_dpi, margin_mm) if margin_mm else (rgb, 0.0)
    size = (template.page.width_mm + 2 * margin, template.page.height_mm + 2 * margin)
    params = ScanParams(dpi=dpi, skew_deg=skew, shift_mm=(1.0, -2.0), scale=1.0, corner_mm=((0.0, 0.0),) * 4,
                        upside_down=False, mode="grey", paper=(245, 245, 245), blur_sigma=0.6, noise_sigma=3.0,
                        jpeg_quality=None)
    result = scan_page(rgb, page_dpi, size, params, seed=3)
    truth = result.transform @ np.array([[1, 0, margin], [0, 1, margin], [0, 0, 1]], dtype=np.float64)
    return np.asarray(result.image.convert("L")), truth


def _worst_mm(template: Template, geometry_h: list[list[float]], truth: np.ndarray, dpi: int) -> float:
    pts = np.array([[(x, y) for x in template.column_xs for y in template.row_ys]], dtype=np.float64)
    a = cv2.perspectiveTransform(pts, np.array(geometry_h))[0]
    b = cv2.perspectiveTransform(pts, truth)[0]
    return float(np.max(np.linalg.norm(a - b, axis=1)) / (dpi / 25.4))


def test_landscape_scan_with_large_skew(template: Template, blank_200: np.ndarray) -> None:
    from sheetscan.synth import degrade

    scan, truth = _bench_scan(template, blank_200, skew=-9.0, margin_mm=25)
    scan, truth = degrade.quarter_turns(scan, truth, 3)
    geometry = register(scan, template, 150)
    assert geometry.orientation_deg == 90
    assert _worst_mm(template, geometry.homography, truth, 150) < 1.0
    assert geometry.line_support is not None and geometry.line_support > 0.9


@pytest.mark.parametrize("hurt", ["crease", "stain", "cut"])
def test_crease_stain_and_cut_edge(template: Template, blank_200: np.ndarray, hurt: str) -> None:
    from sheetscan.synth import degrade

    page = cv2.cvtColor(blank_200, cv2.COLOR_GRAY2RGB)
    if hurt == "crease":
        page = degrade.crease(page, 200, template.row_ys[6] + 4, 0.8, darkness=140)
    if hurt == "stain":
        page = degrade.stain(page, 200, (template.column_xs[-1], template.row_ys[-1]), 25, np.random.default_rng(2))
    scan, truth = _bench_scan(template, page)
    if hurt == "cut":
        scan, truth = degrade.cut_edge(scan, truth, "right", 0.05)
    geometry = register(scan, template, 150 if hurt != "cut" else None)
    assert _worst_mm(template, geometry.homography, truth, 150) < 1.0
    assert geometry.residual_mm < 0.5


def test_600_dpi_scan(template: Template) -> None:
    from sheetscan.render import render_blank

    page = np.asarray(render_blank(template, 100))
    scan, truth = _bench_scan(template, page, dpi=600, page_dpi=100, skew=-1.0)
    geometry = register(scan, template, 600)
    assert geometry.dpi == pytest.approx(600, rel=0.02)
    assert _worst_mm(template, geometry.homography, truth, 600) < 1.0


def test_a_different_petition_form_is_not_our_form(template: Template) -> None:
    """Another petition's grid (other columns, rows) and, separately, our grid under another petition's text."""
    from sheetscan.render import render_blank
    from sheetscan.template import Column

    columns = [Column(key="row_number", label="No", width_mm=10),
               Column(key="name", label="Nom", kind="name", width_mm=60),
               Column(key="address", label="Adresse", kind="text", width_mm=80),
               Column(key="city", label="Ville", kind="text", width_mm=40),
               Column(key="signature", label="Signature", kind="signature", width_mm=59.4)]
    data = template.model_dump()
    grid = {**data["grid"], "columns": [c.model_dump() for c in columns], "rows": 20, "row_height_mm": 10.0}
    other_grid = Template.model_validate({**data, "grid": grid})
    texts = [{**b, "text": "POUR UN PARC AU BOUT DE LA RUE, MAINTENANT!"} if i == 0 else b
             for i, b in enumerate(data["texts"])]
    retitled = Template.model_validate({**data, "texts": texts})
    scan, _ = _bench_scan(template, np.asarray(render_blank(other_grid, 200)))
    with pytest.raises(NotOurForm, match="formulaire"):
        register(scan, template, 150)
    # Our grid under another petition's text fits, but its text does not agree: the pipeline sends it to review.
    scan, _ = _bench_scan(template, np.asarray(render_blank(retitled, 200)))
    geometry = register(scan, template, 150)
    assert Settings().doubtful_fit(geometry)


def test_our_sheet_printed_in_another_font_is_registered_not_refused(template: Template) -> None:
    from sheetscan.render import render_blank

    scan, truth = _bench_scan(template, np.asarray(render_blank(template, 200, family="liberation-serif")))
    geometry = register(scan, template, 150)
    assert geometry.residual_mm < 0.5


def test_the_fit_reports_its_quality(template: Template, blank_200: np.ndarray) -> None:
    scan, _ = _bench_scan(template, blank_200)
    geometry = register(scan, template, 150)
    assert geometry.grid_points == len(template.column_xs) * len(template.row_ys)
    assert geometry.matched_points >= 0.9 * geometry.grid_points
    assert geometry.max_error_mm is not None and geometry.max_error_mm < 0.6
    assert geometry.text_match is not None and geometry.text_match > 0.4
