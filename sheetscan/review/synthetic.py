"""A synthetic review queue: pages built straight as `PageResult`s, for tests, the benchmark and screenshots.

No scanning involved: each page is the blank sheet rendered at 4 px/mm with typed "hand-writing" drawn in
its cells, every cell's crop drawn the same way, and readings chosen so that a share of cells is queued
(low confidence, invalid, missing required). Deterministic for a given seed.
"""

from __future__ import annotations

import io
import random
import unicodedata
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from sheetscan.fields import FieldInvalid, FieldKind, validate
from sheetscan.records import CellReading, Geometry, PageResult, ReviewReason, RowResult
from sheetscan.render import render_blank
from sheetscan.store import Store
from sheetscan.template import Template, installed_templates

PAGE_PX_PER_MM = 4.0
CROP_PX_PER_MM = 6.0
INK = (20, 30, 90)
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

FIRST = ["MARIE", "JEAN-FRANÇOIS", "LÉA", "MOHAMED", "SOPHIE", "ÉLODIE", "LUC", "NGUYEN", "CHLOÉ", "GAËL"]
LAST = ["TREMBLAY", "CÔTÉ", "GAGNON", "ROY", "BOUCHARD", "LAVOIE", "O'NEIL", "BÉLANGER", "PAQUETTE", "DIALLO"]
POSTAL = ["H2X 1Y4", "G1R 4P5", "J4K 2T9", "H3Z 2Y7", "K1A 0B1", "H1N 3C2", "J8Y 6T3", "G6V 8N7"]
# What a reader might get wrong, per kind: (raw, is it still valid?)
MISREAD = {
    FieldKind.NAME: ["MAR1E TREMBLAY", "J0SÉE ROY"],
    FieldKind.POSTAL_CODE: ["H2X 1Y", "HZX 1Y4", "G1R 4PS"],
    FieldKind.BIRTH_YEAR: ["19B4", "197", "2031"],
    FieldKind.EMAIL: ["marie.tremblay@exemple", "luc roy@courriel.ca"],
    FieldKind.PHONE: ["514-555-01", "438 555 O199"],
    FieldKind.SIGNATURE: ["signed"],
    FieldKind.TEXT: ["COMITÉ ROSEMONT"],
}


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size)


_BLANKS: dict[str, Image.Image] = {}


def _blank(template: Template) -> Image.Image:
    if template.ref not in _BLANKS:
        _BLANKS[template.ref] = render_blank(template, dpi=round(PAGE_PX_PER_MM * 25.4)).convert("RGB")
    return _BLANKS[template.ref]


def _fitting_font(text: str, width_px: float, height_px: float) -> ImageFont.FreeTypeFont:
    size = round(height_px * 0.4)
    while size > 6 and _font(size).getlength(text) > width_px:
        size -= 1
    return _font(size)


def _truth(kind: FieldKind, rng: random.Random, first: str, last: str) -> str:
    if kind == FieldKind.NAME:
        return f"{first} {last}"
    if kind == FieldKind.POSTAL_CODE:
        return rng.choice(POSTAL)
    if kind == FieldKind.BIRTH_YEAR:
        return str(rng.randint(1940, 2008))
    if kind == FieldKind.EMAIL:
        plain = unicodedata.normalize("NFKD", first).encode("ascii", "ignore").decode().lower()
        return f"{plain[:3]}.{rng.randint(10, 99)}@exemple.ca"
    if kind == FieldKind.PHONE:
        return f"514-555-{rng.randint(1000, 9999)}"
    if kind == FieldKind.SIGNATURE:
        return "signed"
    return "COMITÉ DU QUARTIER"


def _ink(text: str, kind: FieldKind) -> str:
    """What appears written on paper for a value (signatures as a scrawl)."""
    return "~Signature~" if kind == FieldKind.SIGNATURE and text else text


def _crop(text: str, w_mm: float, h_mm: float) -> bytes:
    size = (round(w_mm * CROP_PX_PER_MM), round(h_mm * CROP_PX_PER_MM))
    image = Image.new("L", size, 255)
    if text:
        ImageDraw.Draw(image).text((8, size[1] // 4), text, font=_font(round(h_mm * CROP_PX_PER_MM * 0.45)), fill=30)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _reading(
    kind: FieldKind, field: str, required: bool, text: str, rng: random.Random, pending_share: float,
    template: Template,
) -> CellReading:
    """A machine reading of `text`: right and sure, right but unsure, or wrong (maybe invalid)."""
    written = bool(text)
    raw, confidence, reason = text, rng.uniform(0.9, 1.0), None
    if not written:
        reason = ReviewReason.MISSING_REQUIRED if required else None
        confidence = 1.0
    elif rng.random() < pending_share:
        if rng.random() < 0.4:
            raw = rng.choice(MISREAD[kind])
        confidence = rng.uniform(0.2, 0.7)
        reason = ReviewReason.LOW_CONFIDENCE
    value, error = None, None
    if raw:
        try:
            value = validate(kind, raw)
        except FieldInvalid as exc:
            error, reason = exc.reason, ReviewReason.INVALID
    return CellReading(
        field=field, kind=kind, row=None, required=required, ink=0.1 if written else 0.0, written=written, raw=raw,
        value=value, confidence=round(confidence, 3), engine="synthetic", template=template.ref, error=error,
        review_reason=reason, crop_png=b"",
    )


def synthetic_page(
    source: str, page: int, seed: int, pending_share: float = 0.35, written_rows: int = 11,
    template: Template | None = None,
) -> PageResult:
    """One page: `written_rows` signers, the rest of the grid empty, the sender block filled."""
    template = template or installed_templates()[0]
    rng = random.Random(f"{source}/{page}/{seed}")
    sheet = _blank(template).copy()
    draw = ImageDraw.Draw(sheet)
    px = sheet.width / template.page.width_mm
    rows = []
    for number in range(1, template.grid.rows + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        cells = []
        for col in template.read_columns:
            assert col.kind is not None
            text = _truth(col.kind, rng, first, last) if number <= written_rows else ""
            if number == 3 and col.kind == FieldKind.BIRTH_YEAR:
                text = ""  # a signer who left a required field empty
            required_here = col.required and number <= written_rows  # an empty row is not missing anything
            reading = _reading(col.kind, col.key, required_here, text, rng, pending_share, template)
            x, y, w, h = template.cell_rect(number, col.key)
            ink = _ink(text, col.kind)
            if ink:
                font = _fitting_font(ink, w * px - 8, h * px)
                draw.text((x * px + 4, y * px + h * px * 0.3), ink, font=font, fill=INK)
            cells.append(reading.model_copy(
                update={"row": number, "required": col.required, "crop_png": _crop(ink, w, h)}
            ))
        rows.append(RowResult(number=number, empty=number > written_rows, cells=cells))
    sender = []
    for box in template.sender:
        text = _truth(box.kind, rng, "LUC", "ROY") if box.kind != FieldKind.TEXT else "COMITÉ ROSEMONT"
        reading = _reading(box.kind, box.key, False, text, rng, 0.0, template)
        font = _fitting_font(text, box.width_mm * px - 8, box.height_mm * px)
        draw.text((box.x_mm * px + 4, box.y_mm * px + box.height_mm * px * 0.3), text, font=font, fill=INK)
        sender.append(reading.model_copy(update={"crop_png": _crop(text, box.width_mm, box.height_mm)}))
    out = io.BytesIO()
    sheet.save(out, "JPEG", quality=70)
    return PageResult(
        source=source, page=page, content_hash=f"synthetic:{source}:{page}:{seed}", template=template.ref,
        geometry=Geometry(
            orientation_deg=0, skew_deg=0.0, homography=[[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]], residual_mm=0.2,
            matched_points=64, dpi=300.0,
        ),
        rows=rows, sender=sender, page_jpeg=out.getvalue(),
    )


def fill(store: Store, pages: int, seed: int = 1, pending_share: float = 0.35) -> list[int]:
    """Add `pages` synthetic pages (as one batch) and return their ids."""
    batch = store.begin_batch()
    ids = [
        store.save_page(batch, synthetic_page(f"feuilles-{1 + i // 4:02d}.pdf", 1 + i % 4, seed, pending_share))
        for i in range(pages)
    ]
    store.finish_batch(batch, ok=pages, skipped=0, failed=0)
    return ids
