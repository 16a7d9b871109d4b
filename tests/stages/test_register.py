"""Registration on synthetic pages warped by a known transform: the fit must recover every cell corner."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

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
