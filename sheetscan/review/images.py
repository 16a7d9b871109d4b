"""The row strip shown beside a doubtful cell: its row cut from the registered page, the cell outlined.

`pages.page_jpeg` is the registered page in template coordinates (the whole page, so pixels per mm is its
width over the template's page width). Without a known template, the strip is the row's cell crops side
by side.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from functools import lru_cache
from threading import Lock

from PIL import Image, ImageDraw

from sheetscan.errors import ConfigError
from sheetscan.store.review import ReviewCell
from sheetscan.template import Template, installed_templates

STRIP_MARGIN_MM = 3.0
OUTLINE = (220, 40, 40)
STRIP_QUALITY = 80


@lru_cache(maxsize=1)
def _templates() -> dict[str, Template]:
    try:
        return {t.ref: t for t in installed_templates()}
    except ConfigError:
        return {}


class PageCache:
    """A few decoded page images, most recently used kept; shared by the server's threads."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._pages: OrderedDict[int, Image.Image] = OrderedDict()
        self._lock = Lock()

    def get(self, page_id: int, jpeg: bytes) -> Image.Image:
        with self._lock:
            if page_id in self._pages:
                self._pages.move_to_end(page_id)
                return self._pages[page_id]
        image = Image.open(io.BytesIO(jpeg)).convert("RGB")
        image.load()
        with self._lock:
            self._pages[page_id] = image
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)
        return image


def _cell_rect_mm(template: Template, cell: ReviewCell) -> tuple[float, float, float, float] | None:
    if cell.row is None:
        for box in template.sender:
            if box.key == cell.field:
                return box.x_mm, box.y_mm, box.width_mm, box.height_mm
        return None
    if cell.field not in [c.key for c in template.grid.columns] or not 1 <= cell.row <= template.grid.rows:
        return None
    return template.cell_rect(cell.row, cell.field)


def row_strip_from_page(page: Image.Image, template: Template, cell: ReviewCell) -> bytes | None:
    """JPEG of the cell's row (or sender band) cut from the registered page, the cell outlined."""
    rect = _cell_rect_mm(template, cell)
    if rect is None:
        return None
    px = page.width / template.page.width_mm
    x, y, w, h = rect
    if cell.row is None:
        left, right = 0.0, template.page.width_mm
    else:
        left, right = template.column_xs[0], template.column_xs[-1]
    box = (
        round((left - STRIP_MARGIN_MM) * px), round((y - STRIP_MARGIN_MM) * px),
        round((right + STRIP_MARGIN_MM) * px), round((y + h + STRIP_MARGIN_MM) * px),
    )
    strip = page.crop(box)
    draw = ImageDraw.Draw(strip)
    draw.rectangle(
        (round(x * px) - box[0], round(y * px) - box[1], round((x + w) * px) - box[0], round((y + h) * px) - box[1]),
        outline=OUTLINE, width=3,
    )
    out = io.BytesIO()
    strip.save(out, "JPEG", quality=STRIP_QUALITY)
    return out.getvalue()


def row_strip_from_crops(crops: list[bytes], height: int = 60) -> bytes | None:
    """JPEG of the crops side by side at one height (when the page cannot be used)."""
    images = []
    for png in crops:
        image = Image.open(io.BytesIO(png)).convert("RGB")
        width = max(1, round(image.width * height / max(1, image.height)))
        images.append(image.resize((width, height)))
    if not images:
        return None
    gap = 6
    strip = Image.new("RGB", (sum(i.width for i in images) + gap * (len(images) - 1), height), (200, 200, 200))
    x = 0
    for image in images:
        strip.paste(image, (x, 0))
        x += image.width + gap
    out = io.BytesIO()
    strip.save(out, "JPEG", quality=STRIP_QUALITY)
    return out.getvalue()


def template_for(ref: str) -> Template | None:
    return _templates().get(ref)
