"""Learning a template from a blank scan, and drawing one over a scan."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from sheetscan.fields import FieldKind
from sheetscan.learn import column_kind, learn_command, learn_template, show_command
from sheetscan.render import render_blank
from sheetscan.synth.scan import ScanParams, scan_page
from sheetscan.template import Template, load_template


def _variant(template: Template) -> Template:
    """Our sheet with other margins, column widths, row height and title (drawn in another font below)."""
    data = template.model_dump()
    widths = [12, 62, 31, 47, 21, 50, 31.4]
    columns = [{**c, "width_mm": w} for c, w in zip(data["grid"]["columns"], widths, strict=True)]
    grid = {**data["grid"], "x_mm": 12.0, "y_mm": 136.0, "header_height_mm": 16.0, "row_height_mm": 13.6,
            "columns": columns, "header_size_pt": 9}
    sender = [{**b, "y_mm": b["y_mm"] + 4} for b in data["sender"]]
    return Template.model_validate({**data, "id": "variante", "grid": grid, "sender": sender})


@pytest.fixture(scope="module")
def variant_scan(tmp_path_factory: pytest.TempPathFactory, template: Template) -> tuple[Path, Template]:
    truth = _variant(template)
    blank = cv2.cvtColor(np.asarray(render_blank(truth, 200, family="liberation-serif")), cv2.COLOR_GRAY2RGB)
    params = ScanParams(dpi=200, skew_deg=0.8, shift_mm=(0.0, 0.0), scale=1.0, corner_mm=((0.0, 0.0),) * 4,
                        upside_down=True, mode="grey", paper=(240, 240, 240), blur_sigma=0.6, noise_sigma=3.0,
                        jpeg_quality=None)
    scan = scan_page(blank, 200, (truth.page.width_mm, truth.page.height_mm), params, seed=4)
    path = tmp_path_factory.mktemp("learn") / "vierge.png"
    scan.image.save(path, dpi=(200, 200))
    return path, truth


@pytest.mark.parametrize(
    ("label", "index", "width", "kind"),
    [
        ("No", 0, 10, None),
        ("Prénom, nom de famille (obligatoire)", 1, 70, FieldKind.NAME),
        ("Code postal", 2, 28, FieldKind.POSTAL_CODE),
        ("Numéro de cellulaire*", 6, 29, FieldKind.PHONE),
        ("Année de naissance", 4, 24, FieldKind.BIRTH_YEAR),
        ("Courriel*", 5, 46, FieldKind.EMAIL),
        ("Signature", 3, 42, FieldKind.SIGNATURE),
        ("Ville", 3, 42, FieldKind.TEXT),
    ],
)
def test_header_words_give_the_field_kind(label: str, index: int, width: float, kind: FieldKind | None) -> None:
    assert column_kind(label, index, width) == kind


@pytest.mark.tesseract
def test_learned_template_places_every_cell_within_1_mm(variant_scan: tuple[Path, Template]) -> None:
    path, truth = variant_scan
    learned = learn_template(path).template
    assert learned.grid.rows == truth.grid.rows
    assert [c.kind for c in learned.grid.columns] == [c.kind for c in truth.grid.columns]
    for row in range(1, truth.grid.rows + 1):
        for a, b in zip(learned.grid.columns, truth.grid.columns, strict=True):
            assert np.allclose(learned.cell_rect(row, a.key), truth.cell_rect(row, b.key), atol=1.0)
    assert len(learned.sender) == len(truth.sender)
    for p, q in zip(learned.sender, truth.sender, strict=True):
        assert p.kind == q.kind
        assert np.allclose((p.x_mm, p.y_mm, p.width_mm, p.height_mm), (q.x_mm, q.y_mm, q.width_mm, q.height_mm),
                           atol=1.0)


@pytest.mark.tesseract
def test_learn_then_check_then_show(variant_scan: tuple[Path, Template], tmp_path: Path) -> None:
    path, _ = variant_scan
    out = tmp_path / "appris.json"
    result = CliRunner().invoke(learn_command, [str(path), "--out", str(out), "--id", "variante"])
    assert result.exit_code == 0, result.output
    learned = load_template(out)  # what `template check` runs
    assert learned.id == "variante"
    overlay = tmp_path / "apercu.png"
    result = CliRunner().invoke(show_command, [str(out), "--on", str(path), "--out", str(overlay)])
    assert result.exit_code == 0, result.output
    image = np.asarray(Image.open(overlay))
    assert image.ndim == 3 and image.shape[:2] == np.asarray(Image.open(path)).shape[:2]
    colourful = np.abs(image[..., 0].astype(int) - image[..., 2].astype(int)) > 60
    assert colourful.mean() > 0.005  # the cells are drawn in colour


def test_show_refuses_a_scan_of_another_form(template: Template, tmp_path: Path) -> None:
    page = tmp_path / "lettre.png"
    image = np.full((1700, 1100), 255, np.uint8)
    for y in range(100, 1600, 40):
        cv2.putText(image, "Lorem ipsum dolor sit amet", (80, y), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    Image.fromarray(image).save(page, dpi=(100, 100))
    template_file = tmp_path / "gabarit.json"
    template_file.write_text(template.model_dump_json(), encoding="utf-8")
    result = CliRunner().invoke(show_command, [str(template_file), "--on", str(page), "--out", str(tmp_path / "a.png")])
    assert result.exit_code != 0
