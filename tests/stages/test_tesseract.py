"""The real Tesseract engine on printed cells (it is the baseline reader and one voice among several)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from sheetscan.fields import FieldKind
from sheetscan.stages.recognize import CELL_PX_PER_MM, CellImage
from sheetscan.stages.tesseract import TesseractEngine

pytestmark = pytest.mark.tesseract


def _cell(text: str, width_mm: float = 60) -> np.ndarray:
    image = Image.new("L", (int(width_mm * CELL_PX_PER_MM), int(11 * CELL_PX_PER_MM)), 255)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", int(6 * CELL_PX_PER_MM))
    ImageDraw.Draw(image).text((20, image.height // 2), text, font=font, fill=0, anchor="lm")
    return np.asarray(image)


def test_reads_a_batch_of_kinds_in_order() -> None:
    engine = TesseractEngine()
    cells = [
        CellImage(_cell("H2X 1Y4"), FieldKind.POSTAL_CODE),
        CellImage(_cell("1987", 24), FieldKind.BIRTH_YEAR),
        CellImage(_cell("ÉMILE CÔTÉ"), FieldKind.NAME),
        CellImage(_cell("1954", 24), FieldKind.BIRTH_YEAR),
    ]
    readings = engine.read(cells)
    assert [r.text for r in readings] == ["H2X 1Y4", "1987", "ÉMILE CÔTÉ", "1954"]
    assert all(0.5 < r.confidence <= 1 for r in readings)
    assert readings[0].engine.startswith("tesseract-") and readings[0].engine.endswith("-fra")


def test_an_empty_cell_reads_nothing() -> None:
    [reading] = TesseractEngine().read([CellImage(np.full((130, 300), 255, np.uint8), FieldKind.BIRTH_YEAR)])
    assert reading.text == "" and reading.confidence == 0.0
