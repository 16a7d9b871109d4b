"""Helpers shared by tests: fake engines and a page filler."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sheetscan.render import render_blank
from sheetscan.stages.recognize import CellImage, Reading
from sheetscan.template import Template


class FakeEngine:
    """Reads every cell as a fixed text per kind, with a fixed confidence."""

    name = "fake-1"

    def __init__(self, texts: dict[str, str], confidence: float = 1.0) -> None:
        self.texts = texts
        self.confidence = confidence
        self.calls = 0

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        self.calls += 1
        return [Reading(self.texts.get(str(c.kind), ""), self.confidence, self.name) for c in cells]


class CrashingEngine:
    """Fails like a broken engine binary would."""

    name = "crash-1"

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        raise RuntimeError("engine crashed")


def fill_page(template: Template, rows: dict[int, dict[str, str]], dpi: int = 200) -> np.ndarray:
    """The blank sheet with printed text in the given cells; a value of "~" in `signature` draws a scribble."""
    from PIL import ImageDraw, ImageFont

    image = render_blank(template, dpi)
    draw = ImageDraw.Draw(image)
    px = dpi / 25.4
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", int(6 * px))
    for number, values in rows.items():
        for key, text in values.items():
            x, y, w, h = template.cell_rect(number, key)
            if key == "signature":
                pts = [((x + 4 + 6 * i) * px, (y + (3 if i % 2 else 10)) * px) for i in range(6)]
                draw.line(pts, fill=0, width=max(2, int(0.5 * px)))
                continue
            size = font
            while draw.textlength(text, font=size) > (w - 4) * px:
                size = ImageFont.truetype(font.path, int(size.size * 0.9))
            draw.text(((x + 2) * px, (y + h / 2) * px), text, font=size, fill=0, anchor="lm")
    return np.asarray(image)
