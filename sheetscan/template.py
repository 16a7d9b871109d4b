"""A sheet template: the printed page described as data (millimetres from the page's top-left corner).

Templates live in `templates/*.json` and are validated with `extra="forbid"`, so a typo is an error with
its path, never a silently ignored key. The geometry helpers here are the single source of where every
grid line and cell is; the renderer, the registration and the cell cutter all read them.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sheetscan.errors import ConfigError
from sheetscan.fields import FieldKind

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PageSize(_Strict):
    width_mm: float = Field(gt=50, lt=2000)
    height_mm: float = Field(gt=50, lt=2000)


class TextBlock(_Strict):
    """Printed text: wrapped to `width_mm`, top at `y_mm`."""

    text: str
    x_mm: float
    y_mm: float
    width_mm: float = Field(gt=0)
    size_pt: float = Field(gt=3, lt=72)
    bold: bool = False
    align: Literal["left", "center"] = "left"


class Column(_Strict):
    key: str = Field(pattern=r"^[a-z_]+$")
    label: str
    kind: FieldKind | None = None  # None: the printed row-number column, never read
    width_mm: float = Field(gt=3)
    required: bool = False


class Grid(_Strict):
    x_mm: float
    y_mm: float
    header_height_mm: float = Field(gt=3)
    row_height_mm: float = Field(gt=5)
    rows: int = Field(ge=1, le=60)
    columns: list[Column] = Field(min_length=2)
    line_width_mm: float = Field(default=0.4, gt=0, lt=3)
    header_size_pt: float = Field(default=8, gt=3, lt=30)

    @model_validator(mode="after")
    def _unique_keys(self) -> Grid:
        keys = [c.key for c in self.columns]
        if len(keys) != len(set(keys)):
            raise ValueError("column keys must be unique")
        return self


class Box(_Strict):
    """A labelled writing box outside the grid (the sender block)."""

    key: str = Field(pattern=r"^[a-z_]+$")
    label: str
    kind: FieldKind
    x_mm: float
    y_mm: float
    width_mm: float = Field(gt=3)
    height_mm: float = Field(gt=3)


class Template(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: int = Field(ge=1)
    title: str
    page: PageSize
    texts: list[TextBlock] = []
    grid: Grid
    sender: list[Box] = []

    @model_validator(mode="after")
    def _inside_page(self) -> Template:
        right = self.grid.x_mm + sum(c.width_mm for c in self.grid.columns)
        bottom = self.grid_bottom_mm
        if self.grid.x_mm < 0 or self.grid.y_mm < 0:
            raise ValueError("grid starts outside the page")
        if right > self.page.width_mm or bottom > self.page.height_mm:
            raise ValueError(f"grid ends outside the page ({right:.1f} x {bottom:.1f} mm)")
        for box in self.sender:
            if box.x_mm + box.width_mm > self.page.width_mm or box.y_mm + box.height_mm > self.page.height_mm:
                raise ValueError(f"sender box {box.key!r} ends outside the page")
        return self

    @property
    def ref(self) -> str:
        """Provenance string stored with every value: `id@version`."""
        return f"{self.id}@{self.version}"

    @property
    def grid_bottom_mm(self) -> float:
        g = self.grid
        return g.y_mm + g.header_height_mm + g.rows * g.row_height_mm

    @cached_property
    def column_xs(self) -> list[float]:
        """x of every vertical grid line, left to right (len = columns + 1)."""
        xs = [self.grid.x_mm]
        for col in self.grid.columns:
            xs.append(xs[-1] + col.width_mm)
        return xs

    @cached_property
    def row_ys(self) -> list[float]:
        """y of every horizontal grid line, top to bottom (len = rows + 2: top, under header, rows)."""
        g = self.grid
        first = g.y_mm + g.header_height_mm
        return [g.y_mm] + [first + i * g.row_height_mm for i in range(g.rows + 1)]

    @property
    def read_columns(self) -> list[Column]:
        return [c for c in self.grid.columns if c.kind is not None]

    def cell_rect(self, row: int, key: str) -> tuple[float, float, float, float]:
        """(x, y, w, h) in mm of grid cell `key` on `row` (1-based)."""
        index = [c.key for c in self.grid.columns].index(key)
        x0, x1 = self.column_xs[index], self.column_xs[index + 1]
        y0 = self.row_ys[row]
        return x0, y0, x1 - x0, self.grid.row_height_mm


def load_template(path: Path) -> Template:
    """Read and validate a template file; raise ConfigError with one line per problem, by path."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: gabarit introuvable") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: JSON illisible ({exc})") from None
    try:
        return Template.model_validate(data)
    except ValidationError as exc:
        lines = [f"{path}: gabarit invalide"]
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "(racine)"
            lines.append(f"  {where}: {err['msg']}")
        raise ConfigError("\n".join(lines)) from None


def installed_templates(directory: Path = TEMPLATES_DIR) -> list[Template]:
    """All templates in `directory`, in file-name order."""
    templates = [load_template(p) for p in sorted(directory.glob("*.json"))]
    if not templates:
        raise ConfigError(f"{directory}: aucun gabarit installé")
    return templates
