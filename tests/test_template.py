import json
from pathlib import Path

import pytest

from sheetscan.errors import ConfigError
from sheetscan.template import TEMPLATES_DIR, Template, load_template


def test_installed_template_geometry(template: Template) -> None:
    assert template.ref == "retour-hernandez-romero@1"
    assert len(template.row_ys) == template.grid.rows + 2
    assert template.column_xs[-1] <= template.page.width_mm
    x, y, w, h = template.cell_rect(1, "postal_code")
    assert (x, w, h) == (template.column_xs[2], 28.0, 13.0)
    assert y == template.grid.y_mm + template.grid.header_height_mm
    assert [c.key for c in template.read_columns] == [
        "name", "postal_code", "signature", "birth_year", "email", "phone"
    ]


def _write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_errors_are_reported_by_path(tmp_path: Path) -> None:
    data = json.loads((TEMPLATES_DIR / "retour-hernandez-romero.json").read_text(encoding="utf-8"))
    data["grid"]["columns"][2]["kind"] = "postcode"
    data["grid"]["colour"] = "red"
    with pytest.raises(ConfigError) as err:
        load_template(_write(tmp_path, data))
    assert "grid.columns.2.kind" in err.value.message
    assert "grid.colour" in err.value.message


def test_grid_outside_the_page_is_refused(tmp_path: Path) -> None:
    data = json.loads((TEMPLATES_DIR / "retour-hernandez-romero.json").read_text(encoding="utf-8"))
    data["grid"]["row_height_mm"] = 40
    with pytest.raises(ConfigError, match="outside the page"):
        load_template(_write(tmp_path, data))


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="introuvable"):
        load_template(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match="JSON illisible"):
        load_template(bad)
