"""Draw the blank sheet from its template, at true size, so the template and the paper agree by construction."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from sheetscan.errors import ConfigError
from sheetscan.template import Template, TextBlock

FONT_DIRS = [Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/liberation")]
# Printed-font families a blank sheet can be drawn with (regular, bold, the Debian package holding them); the
# sheets we print use "dejavu", the others test templates printed differently.
FAMILIES: dict[str, tuple[str, str, str]] = {
    "dejavu": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "fonts-dejavu-core"),
    "liberation-serif": ("LiberationSerif-Regular.ttf", "LiberationSerif-Bold.ttf", "fonts-liberation"),
    "liberation-narrow": ("LiberationSansNarrow-Regular.ttf", "LiberationSansNarrow-Bold.ttf", "fonts-liberation"),
}
MM_PER_INCH = 25.4
PT_PER_MM = 72 / MM_PER_INCH


@lru_cache(maxsize=64)
def _font(size_px: int, bold: bool, family: str = "dejavu") -> ImageFont.FreeTypeFont:
    name = FAMILIES[family][1 if bold else 0]
    for d in FONT_DIRS:
        if (d / name).exists():
            return ImageFont.truetype(str(d / name), size_px)
    raise ConfigError(f"police {name} introuvable (paquet Debian {FAMILIES[family][2]})")


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width_px: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            trial = f"{line} {word}".strip()
            if draw.textlength(trial, font=font) <= width_px or not line:
                line = trial
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return lines


def _draw_text(draw: ImageDraw.ImageDraw, block: TextBlock, px: float, family: str = "dejavu") -> None:
    size = max(6, round(block.size_pt / PT_PER_MM * px))
    font = _font(size, block.bold, family)
    x0, y = block.x_mm * px, block.y_mm * px
    for line in _wrap(draw, block.text, font, block.width_mm * px):
        x = x0
        if block.align == "center":
            x = x0 + (block.width_mm * px - draw.textlength(line, font=font)) / 2
        draw.text((x, y), line, font=font, fill=0)
        y += size * 1.2


def render_blank(template: Template, dpi: int = 300, family: str = "dejavu") -> Image.Image:
    """The blank sheet as a greyscale image at `dpi`; `family` (a key of FAMILIES) is the printed font."""
    px = dpi / MM_PER_INCH
    size = (round(template.page.width_mm * px), round(template.page.height_mm * px))
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for block in template.texts:
        _draw_text(draw, block, px, family)

    g = template.grid
    line = max(1, round(g.line_width_mm * px))
    xs, ys = template.column_xs, template.row_ys
    for x in xs:
        draw.line([(x * px, ys[0] * px), (x * px, ys[-1] * px)], fill=0, width=line)
    for y in ys:
        draw.line([(xs[0] * px, y * px), (xs[-1] * px, y * px)], fill=0, width=line)
    pad = 1.0
    for i, col in enumerate(g.columns):
        header = TextBlock(
            text=col.label, x_mm=xs[i] + pad, y_mm=ys[0] + pad, width_mm=col.width_mm - 2 * pad,
            size_pt=g.header_size_pt, bold=True, align="center",
        )
        _draw_text(draw, header, px, family)
    number_font = _font(round(9 / PT_PER_MM * px), False, family)
    for row in range(1, g.rows + 1):
        y = (ys[row] + g.row_height_mm / 2) * px
        draw.text(((xs[0] + xs[1]) / 2 * px, y), str(row), font=number_font, fill=0, anchor="mm")

    for box in template.sender:
        label = TextBlock(text=box.label, x_mm=box.x_mm, y_mm=box.y_mm - 5, width_mm=box.width_mm, size_pt=9)
        _draw_text(draw, label, px, family)
        draw.rectangle(
            [box.x_mm * px, box.y_mm * px, (box.x_mm + box.width_mm) * px, (box.y_mm + box.height_mm) * px],
            outline=0, width=line,
        )
    return image


def save_pdf(pages: list[Image.Image], out: Path, dpi: int) -> None:
    """Write images as a PDF whose pages have the true physical size."""
    first, *rest = [p.convert("L") for p in pages]
    first.save(out, "PDF", resolution=float(dpi), save_all=True, append_images=rest)
