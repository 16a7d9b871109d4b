"""The test bench itself: seeded content, the filled render, the scan simulator and its stored transform."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sheetscan.fields import FieldKind, validate
from sheetscan.render import MM_PER_INCH, render_blank
from sheetscan.synth import generate
from sheetscan.synth.content import Entry, SheetContent, SignerRow, cased, make_sheet, postal_entry
from sheetscan.synth.fill import FONTS, RENDER_DPI, VALIDATION_FONTS, Crossing, fill_sheet
from sheetscan.synth.glyph_cells import Glyph, compose_cell
from sheetscan.synth.scan import ScanParams, output_size, scan_page
from sheetscan.template import TEMPLATES_DIR, Template, load_template


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template(TEMPLATES_DIR / "retour-hernandez-romero.json")


@pytest.fixture(scope="module")
def blank(template: Template) -> Image.Image:
    return render_blank(template, RENDER_DPI)


def _kinds(template: Template) -> dict[str, FieldKind]:
    kinds = {c.key: c.kind for c in template.grid.columns if c.kind is not None}
    kinds.update({b.key: b.kind for b in template.sender})
    return kinds


def test_content_is_deterministic_for_a_seed(template: Template) -> None:
    first = make_sheet(random.Random(11), template)
    again = make_sheet(random.Random(11), template)
    other = make_sheet(random.Random(12), template)
    assert first == again
    assert first != other


def test_content_values_are_the_validated_written_forms(template: Template) -> None:
    kinds = _kinds(template)
    filled_counts = []
    for seed in range(200):
        sheet = make_sheet(random.Random(seed), template)
        assert [r.row for r in sheet.rows] == list(range(1, template.grid.rows + 1))
        filled_counts.append(sum(not r.empty for r in sheet.rows))
        for row in sheet.rows:
            for key, entry in row.fields.items():
                assert entry.value == validate(kinds[key], entry.written)
            if "name" in row.fields:
                assert row.fields["name"].written == row.fields["name"].written.upper()
        for key, entry in sheet.sender.items():
            assert entry.value == validate(kinds[key], entry.written)
    assert min(filled_counts) == 0
    assert max(filled_counts) == template.grid.rows
    assert sum(n >= 5 for n in filled_counts) > 0.8 * len(filled_counts)


def test_postal_codes_are_mostly_quebec() -> None:
    rng = random.Random(3)
    codes = [postal_entry(rng).value for _ in range(500)]
    assert sum(c[0] in "HJG" for c in codes) > 0.85 * len(codes)
    assert any(" " not in postal_entry(rng).written for _ in range(50))


def test_names_not_in_capitals_keep_their_letters_and_capitalise_each_word_part() -> None:
    rng = random.Random(5)
    written = {cased("MARIE-ÈVE D'ANJOU", rng) for _ in range(60)}
    assert written == {"Marie-Ève D'Anjou", "Marie-Ève D'ANJOU", "marie-ève d'anjou"}
    assert all(validate(FieldKind.NAME, w) == "MARIE-ÈVE D'ANJOU" for w in written)


def test_blank_row_stays_blank_and_written_cells_get_ink(template: Template, blank: Image.Image) -> None:
    person = {"name": Entry("MARIE-ÈVE CÔTÉ", "MARIE-ÈVE CÔTÉ"), "postal_code": Entry("H2X1Y4", "H2X 1Y4")}
    rows = [SignerRow(row=n, signed=n != 3, fields=dict(person) if n != 3 else {}) for n in range(1, 6)]
    rows += [SignerRow(row=n, signed=False) for n in range(6, template.grid.rows + 1)]
    content = SheetContent(rows=rows, sender={})
    filled = fill_sheet(blank, template, content, random.Random(5))
    assert sorted(filled.row_fonts) == [1, 2, 4, 5]
    page = np.asarray(blank.convert("RGB"))
    px = RENDER_DPI / MM_PER_INCH
    clear = 1.2  # mm from a line's centre: past the farthest a crossing stroke may reach
    for column in template.read_columns:
        x, y, w, h = template.cell_rect(3, column.key)
        box = (
            slice(round((y + clear) * px), round((y + h - clear) * px)),
            slice(round((x + clear) * px), round((x + w - clear) * px)),
        )
        assert np.array_equal(filled.image[box], page[box]), column.key
    for key in ("name", "postal_code", "signature"):
        x, y, w, h = template.cell_rect(2, key)
        box = (slice(round(y * px), round((y + h) * px)), slice(round(x * px), round((x + w) * px)))
        assert (filled.image[box].min(axis=2) < 128).sum() > (page[box].min(axis=2) < 128).sum() + 200, key


def test_crossing_writes_past_the_grid_lines_as_asked(template: Template, blank: Image.Image) -> None:
    person = {"name": Entry("MARIE-ÈVE CÔTÉ", "MARIE-ÈVE CÔTÉ"), "postal_code": Entry("H2X1Y4", "H2X 1Y4"),
              "birth_year": Entry("1987", "1987")}
    rows = [SignerRow(row=n, signed=bool(n % 2), fields=dict(person) if n % 2 else {}) for n in range(1, 16)]
    px = RENDER_DPI / MM_PER_INCH

    def ink_in_blank_rows(crossing: Crossing) -> int:
        """Dark pixels in the empty rows' cells, 1.2 mm inside their lines and further (the read columns)."""
        filled = fill_sheet(blank, template, SheetContent(rows=rows, sender={}), random.Random(8), crossing=crossing)
        image = filled.image.min(axis=2)
        dark = 0
        for row in range(2, 15, 2):
            for column in template.read_columns:
                x, y, w, h = template.cell_rect(row, column.key)
                box = (slice(round((y + 1.2) * px), round((y + h - 1.2) * px)),
                       slice(round((x + 1) * px), round((x + w - 1) * px)))
                dark += int((image[box] < 128).sum())
        return dark

    never, slight, often = (ink_in_blank_rows(c) for c in (Crossing(0, 0), Crossing(), Crossing(1, 2.5)))
    assert never == slight == 0  # slightly: never more than 0.9 mm past a line's centre
    assert often > 200  # every field crossing, by up to 2.5 mm: descending into the empty rows


def test_crossing_is_parsed_as_the_command_lines_take_it() -> None:
    assert Crossing.parse("0.3,1.8") == Crossing(0.3, 1.8, Crossing().sides)
    assert Crossing.parse("0.5,2.5,right") == Crossing(0.5, 2.5, (0.0, 0.0, 1.0))
    for bad in ("0.3", "0.3,1.8,left", "a,b"):
        with pytest.raises(ValueError):
            Crossing.parse(bad)


def test_fonts_can_be_held_out(template: Template, blank: Image.Image) -> None:
    content = make_sheet(random.Random(1), template)
    filled = fill_sheet(blank, template, content, random.Random(1), fonts=["breip"])
    assert filled.row_fonts and set(filled.row_fonts.values()) == {"breip"}
    with pytest.raises(ValueError, match="unknown or no fonts"):
        fill_sheet(blank, template, content, random.Random(1), fonts=["times"])


def test_validation_fonts_are_drawn_only_when_asked_for(template: Template, blank: Image.Image) -> None:
    content = make_sheet(random.Random(2), template)
    drawn = set(fill_sheet(blank, template, content, random.Random(2)).row_fonts.values())
    assert drawn and not drawn & set(VALIDATION_FONTS)
    asked = fill_sheet(blank, template, content, random.Random(2), fonts=VALIDATION_FONTS).row_fonts.values()
    assert set(asked) <= set(VALIDATION_FONTS)


def test_every_font_is_installed() -> None:
    assert all(path.is_file() for path in FONTS.values())


def _params(**changes: object) -> ScanParams:
    base = ScanParams(
        dpi=200,
        skew_deg=2.5,
        shift_mm=(4.0, -3.0),
        scale=1.02,
        corner_mm=((0.0, 0.0),) * 4,
        upside_down=False,
        mode="grey",
        paper=(245, 245, 245),
        blur_sigma=0.5,
        noise_sigma=3.0,
        jpeg_quality=None,
    )
    return ScanParams(**{**base.__dict__, **changes})


def _grid_points_mm(template: Template) -> np.ndarray:
    return np.array([(x, y) for x in template.column_xs for y in template.row_ys], dtype=np.float64)


def _assert_transform_hits_grid(image: Image.Image, transform: np.ndarray, template: Template) -> None:
    grey = np.asarray(image.convert("L"))
    points = _grid_points_mm(template)
    homogeneous = np.c_[points, np.ones(len(points))] @ np.asarray(transform).T
    pixels = homogeneous[:, :2] / homogeneous[:, 2:]
    for u, v in np.rint(pixels).astype(int):
        assert 1 <= u < grey.shape[1] - 1 and 1 <= v < grey.shape[0] - 1
        assert grey[v - 1 : v + 2, u - 1 : u + 2].min() < 100, (u, v)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"upside_down": True, "mode": "bw", "dpi": 250},
        {
            "mode": "colour",
            "dpi": 300,
            "skew_deg": -3.0,
            "corner_mm": ((1.5, -1.0), (-1.2, 1.4), (1.0, 1.5), (-1.5, -1.5)),
        },
    ],
)
def test_scan_size_and_transform_match_the_page(
    template: Template, blank: Image.Image, changes: dict[str, object]
) -> None:
    params = _params(**changes)
    page_mm = (template.page.width_mm, template.page.height_mm)
    scan = scan_page(np.asarray(blank.convert("RGB")), RENDER_DPI, page_mm, params, seed=0)
    assert scan.image.size == output_size(page_mm, params.dpi)
    assert scan.image.mode == {"grey": "L", "colour": "RGB", "bw": "1"}[params.mode]
    _assert_transform_hits_grid(scan.image, scan.transform, template)


def test_generate_writes_deterministic_pages_and_truth(template: Template, tmp_path: Path) -> None:
    paths = generate(tmp_path / "a", sheets=2, seed=42, template=template)
    again = generate(tmp_path / "b", sheets=1, seed=42, template=template)
    assert [p.name for p in paths] == ["sheet-0001.json", "sheet-0002.json"]
    assert again[0].read_bytes() == paths[0].read_bytes()
    truth = json.loads(paths[0].read_text(encoding="utf-8"))
    image_path = paths[0].parent / truth["file"]
    assert image_path.read_bytes() == (again[0].parent / truth["file"]).read_bytes()

    kinds = _kinds(template)
    for path in paths:
        truth = json.loads(path.read_text(encoding="utf-8"))
        assert truth["template"] == template.ref and truth["page"] == 1
        assert [r["row"] for r in truth["rows"]] == list(range(1, template.grid.rows + 1))
        for row in truth["rows"]:
            for key, entry in row["fields"].items():
                assert entry["value"] == validate(kinds[key], entry["written"])
        with Image.open(path.parent / truth["file"]) as image:
            assert image.size == output_size((template.page.width_mm, template.page.height_mm), truth["dpi"])
            assert truth["file"].endswith(".jpg") == (image.format == "JPEG")
            _assert_transform_hits_grid(image, np.array(truth["transform"]), template)


def test_composed_accents_put_ink_above_the_letter_only_when_asked() -> None:
    tile = np.zeros((28, 28), np.uint8)
    tile[4:24, 10:18] = 255  # a bar of ink
    heights = {}
    for accent in (None, "acute", "diaeresis"):
        cell = compose_cell([Glyph(tile, accent)], np.random.default_rng(0))
        rows = np.nonzero((cell < 128).any(axis=1))[0]
        heights[accent] = rows.max() - rows.min()
    assert heights["acute"] > heights[None] and heights["diaeresis"] > heights[None]


def test_a_font_without_accented_letters_writes_the_letter_and_an_accent_stroke() -> None:
    from sheetscan.synth.fill import _font, _glyph, has_glyph

    havana = _font("havana", 80)
    assert not has_glyph(havana, "É") and has_glyph(havana, "E")  # Havana has no accented letter at all
    plain, _, oy = _glyph("E", havana, 0.0, 0.0)
    accented, _, _ = _glyph("É", havana, 0.0, 0.0)
    top = int(np.nonzero(plain > 127)[0].min())
    assert np.array_equal(accented[top - 2:], plain[top - 2:])  # the same letter...
    assert (accented[: top - 2] > 127).sum() > 20  # ...and a stroke above it
    cedilla, _, _ = _glyph("Ç", havana, 0.0, 0.0)
    assert (cedilla[oy + 2:] > 127).sum() > (_glyph("C", havana, 0.0, 0.0)[0][oy + 2:] > 127).sum() + 20


def test_every_font_writes_every_letter_the_bench_writes_never_a_missing_glyph_box() -> None:
    from sheetscan.synth.fill import _font, _glyph

    letters = "ÀÂÇÉÈÊËÎÏÔÙÛÜÿ" + "AZaz09-'.@_"
    for name in FONTS:
        font = _font(name, 60)
        box = _glyph("\U000F0000", font, 0.0, 0.0)[0]
        assert not any(np.array_equal(_glyph(c, font, 0.0, 0.0)[0], box) for c in letters), name


def test_continental_ones_get_a_flag_and_sevens_a_bar_in_the_tiles_own_stroke() -> None:
    from sheetscan.synth.glyph_cells import continental

    one = np.zeros((28, 28), np.uint8)
    one[4:24, 13:16] = 255  # a stick, 3 px wide
    seven = np.zeros((28, 28), np.uint8)
    seven[4:7, 8:20] = 255
    for y in range(7, 24):
        seven[y, 19 - (y - 7) // 2 - 1:19 - (y - 7) // 2 + 2] = 255
    rng = np.random.default_rng(3)
    flagged = continental(one, "1", rng)
    assert (flagged >= one).all() and (flagged[4:14, :12] > 127).sum() > 8  # the stick, and a flag to its left
    crossed = continental(seven, "7", rng)
    bar = (crossed > 127) & ~(seven > 127)
    rows = np.nonzero(bar.any(axis=1))[0]
    assert bar.sum() > 10 and rows.min() >= 11 and rows.max() <= 18  # across the stem, about mid-height
    assert continental(one, "4", rng) is one
