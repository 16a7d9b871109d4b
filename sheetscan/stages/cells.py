"""Stage 4: cut every cell out of the scan through the registration, at a fixed resolution.

The page is resampled once into the template's frame (millimetres x CELL_PX_PER_MM); each cell is then a
plain slice. Its window reaches REACH_MM past its top and bottom lines, because people write across them; the
ink stage decides which of the ink there is the cell's own. Reviewers get a slightly larger crop (with the grid
lines) so they see what the machine saw, reaching as far as the window when the cell's writing does.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from sheetscan.fields import FieldKind
from sheetscan.records import Geometry
from sheetscan.stages.recognize import CELL_PX_PER_MM
from sheetscan.template import Template

INSET_MM = 1.0  # cell interior starts this far inside the grid lines
REACH_MM = 4.0  # a cell's window reaches this far past the centres of its top and bottom lines
REVIEW_MARGIN_MM = 2.0
REVIEW_PX_PER_MM = 8.0
PREVIEW_PX_PER_MM = 4.0  # the page image kept for review by sheet


@dataclass(frozen=True)
class Cut:
    field: str
    kind: FieldKind
    row: int | None  # None: sender block
    required: bool
    window: np.ndarray  # grey, CELL_PX_PER_MM: inside the side lines, REACH_MM past the top and bottom lines
    review: np.ndarray  # grey, REVIEW_PX_PER_MM, the cell and REVIEW_MARGIN_MM around it, REACH_MM above and below

    @property
    def lines(self) -> tuple[int, int]:
        """The rows of `window` where the cell's top and bottom lines run (their centres)."""
        reach = round(REACH_MM * CELL_PX_PER_MM)
        return reach, self.window.shape[0] - reach

    def review_crop(self, tall: bool) -> np.ndarray:
        """What a reviewer sees: the cell and REVIEW_MARGIN_MM around it, or REACH_MM above and below (`tall`)
        when its writing reaches past its lines."""
        if tall:
            return self.review
        trim = round((REACH_MM - REVIEW_MARGIN_MM) * REVIEW_PX_PER_MM)
        return self.review[trim:self.review.shape[0] - trim]


def warp_to_template(grey: np.ndarray, geometry: Geometry, px_per_mm: float,
                     box_mm: tuple[float, float, float, float]) -> np.ndarray:
    """The part `box_mm` (x, y, w, h) of the template frame, resampled from the scan at `px_per_mm`."""
    x, y, w, h = box_mm
    homography = np.array(geometry.homography)
    # output pixel (u, v) sits at template mm (x + (u + 0.5) / px, y + (v + 0.5) / px)
    frame = np.array([[1 / px_per_mm, 0, x + 0.5 / px_per_mm], [0, 1 / px_per_mm, y + 0.5 / px_per_mm], [0, 0, 1]])
    size = (int(round(w * px_per_mm)), int(round(h * px_per_mm)))
    return cv2.warpPerspective(
        grey, homography @ frame, size, flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT, borderValue=255,
    )


def _slice(region: np.ndarray, origin: tuple[float, float], px: float,
           rect: tuple[float, float, float, float], pad_x_mm: float, pad_y_mm: float) -> np.ndarray:
    x, y, w, h = rect
    x0 = int(round((x - origin[0] - pad_x_mm) * px))
    y0 = int(round((y - origin[1] - pad_y_mm) * px))
    x1 = int(round((x + w - origin[0] + pad_x_mm) * px))
    y1 = int(round((y + h - origin[1] + pad_y_mm) * px))
    return region[max(0, y0):max(0, y1), max(0, x0):max(0, x1)]


def cut_cells(grey: np.ndarray, geometry: Geometry, template: Template) -> list[Cut]:
    """Every readable cell of the grid (row by row) and of the sender block."""
    top = template.grid.y_mm - REACH_MM
    origin = (0.0, top)
    box = (0.0, top, template.page.width_mm, template.page.height_mm + REACH_MM - top)  # windows past the edge: paper
    fine = warp_to_template(grey, geometry, CELL_PX_PER_MM, box)
    coarse = cv2.resize(fine, None, fx=REVIEW_PX_PER_MM / CELL_PX_PER_MM, fy=REVIEW_PX_PER_MM / CELL_PX_PER_MM,
                        interpolation=cv2.INTER_AREA)

    def cut(key: str, kind: FieldKind, row: int | None, required: bool, rect: tuple[float, float, float, float]) -> Cut:
        return Cut(
            field=key, kind=kind, row=row, required=required,
            window=_slice(fine, origin, CELL_PX_PER_MM, rect, -INSET_MM, REACH_MM),
            review=_slice(coarse, origin, REVIEW_PX_PER_MM, rect, REVIEW_MARGIN_MM, REACH_MM),
        )

    cuts = []
    for row in range(1, template.grid.rows + 1):
        for col in template.read_columns:
            assert col.kind is not None
            cuts.append(cut(col.key, col.kind, row, col.required, template.cell_rect(row, col.key)))
    for b in template.sender:
        cuts.append(cut(b.key, b.kind, None, False, (b.x_mm, b.y_mm, b.width_mm, b.height_mm)))
    return cuts


def page_preview(grey: np.ndarray, geometry: Geometry, template: Template) -> bytes:
    """The whole registered page, small, as JPEG (template frame, PREVIEW_PX_PER_MM)."""
    page = warp_to_template(grey, geometry, PREVIEW_PX_PER_MM, (0, 0, template.page.width_mm, template.page.height_mm))
    ok, data = cv2.imencode(".jpg", page, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return data.tobytes()


def png(image: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", image)
    assert ok
    return data.tobytes()
