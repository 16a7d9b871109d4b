"""Geometry benchmark (issue 3): registration, rejection of other pages, template identification, learning.

    .venv/bin/python benchmarks/geometry.py [--pages 230] [--json] [--jobs 2] [--group NAME]

Every page is generated in memory from the test bench with a fixed seed and a known truth transform
(template mm -> scan pixels), then read by `pipeline.fit_template` with two templates installed (ours and
a variant with other margins, column widths and title) followed by `cells.cut_cells`. Printed per
degradation: pages, share registered on the right template, median and worst cell-corner error in mm
(over every grid intersection of every page, fitted homography vs truth), CPU seconds per page for the
geometry (orientation + deskew + registration + identification + cell cutting; time.process_time in a
single-threaded worker), and for the pages that are not our form, how many were wrongly registered.
Last, a template is learned from a simulated scan of the variant's blank sheet printed in another font,
and every cell of it is compared with the truth.

Targets: 100 % registered, median <= 0.5 mm, worst <= 1.5 mm, 0 non-form pages registered, 100 % right
template, <= 0.5 s CPU per 300-dpi page, learned cells within 1 mm.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from multiprocessing import Pool
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from sheetscan.config import Settings
from sheetscan.errors import PageError
from sheetscan.fields import FieldKind
from sheetscan.pipeline import fit_template
from sheetscan.records import Geometry
from sheetscan.render import MM_PER_INCH, render_blank
from sheetscan.stages.cells import cut_cells
from sheetscan.stages.load import LoadedPage
from sheetscan.synth import degrade
from sheetscan.synth.content import make_sheet
from sheetscan.synth.fill import fill_sheet
from sheetscan.synth.scan import ScanParams, scan_page
from sheetscan.template import TEMPLATES_DIR, Column, Template, load_template

SEED = 20251
MAIN_FILE = TEMPLATES_DIR / "retour-hernandez-romero.json"


# -- templates -----------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def main_template() -> Template:
    return load_template(MAIN_FILE)


def variant_template() -> Template:
    """A second petition printed by the office: other title, margins, column widths, row height."""
    t = main_template()
    widths = {"row_number": 12, "name": 62, "postal_code": 31, "signature": 47, "birth_year": 21,
              "email": 50, "phone": 31.4}
    columns = [c.model_copy(update={"width_mm": widths[c.key]}) for c in t.grid.columns]
    grid = t.grid.model_copy(update={"x_mm": 12.0, "y_mm": 136.0, "header_height_mm": 16.0,
                                     "row_height_mm": 13.6, "columns": columns, "header_size_pt": 9})
    texts = [b.model_copy(update={"text": "LIBÉREZ LES DÉFENSEURS DES DROITS HUMAINS!"}) if i == 0 else b
             for i, b in enumerate(t.texts)]
    sender = [b.model_copy(update={"y_mm": b.y_mm + 4}) for b in t.sender]
    return Template.model_validate({
        **t.model_dump(), "id": "liberez-defenseurs", "title": "LIBÉREZ LES DÉFENSEURS DES DROITS HUMAINS!",
        "grid": grid.model_dump(), "texts": [b.model_dump() for b in texts], "sender": [b.model_dump() for b in sender],
    })


def other_petition() -> Template:
    """Somebody else's petition: not installed, must never be registered."""
    t = main_template()
    columns = [
        Column(key="row_number", label="No", width_mm=10),
        Column(key="name", label="Nom et prénom", kind=FieldKind.NAME, width_mm=60),
        Column(key="address", label="Adresse", kind=FieldKind.TEXT, width_mm=80),
        Column(key="city", label="Ville", kind=FieldKind.TEXT, width_mm=40),
        Column(key="signature", label="Signature", kind=FieldKind.SIGNATURE, width_mm=59.4),
    ]
    grid = t.grid.model_copy(update={"y_mm": 120.0, "header_height_mm": 10.0, "row_height_mm": 11.0, "rows": 20,
                                     "columns": columns})
    return Template.model_validate({
        **t.model_dump(), "id": "autre-petition", "title": "Pour un parc au bout de la rue",
        "texts": [t.texts[0].model_copy(update={"text": "POUR UN PARC AU BOUT DE LA RUE"}).model_dump()],
        "grid": grid.model_dump(), "sender": [],
    })


def same_grid_other_text() -> Template:
    """Another petition printed on our very grid, with its own title and text: not installed."""
    t = main_template()
    texts = [b.model_copy(update={"text": new}).model_dump() for b, new in zip(t.texts[:3], [
        "POUR LA GRATUITÉ DU TRANSPORT EN COMMUN!", "Pétition adressée au ministre des Transports du Québec",
        "Monsieur le Ministre,"], strict=True)]
    texts.append(t.texts[3].model_copy(update={"text": "Les usagers du transport collectif paient de plus en plus "
                                                        "cher un service qui se dégrade. " * 3}).model_dump())
    return Template.model_validate({**t.model_dump(), "id": "transport-gratuit", "title": "Transport gratuit",
                                    "texts": texts})


@lru_cache(maxsize=1)
def installed() -> tuple[Template, Template]:
    return main_template(), variant_template()


# -- cases ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    group: str
    index: int
    template: str | None  # id of the template printed on the page; None: not a form
    kind: str = "form"  # form | blank | back | table | other-petition
    dpi: int = 300
    fill_dpi: int = 200
    skew: float = 0.0
    scale: float = 1.0
    keystone: float = 0.0  # share of the page width
    turns: int = 0  # counter-clockwise quarter turns after scanning
    cut: tuple[str, float] | None = None
    mode: str = "grey"
    blur: float = 0.6
    noise: float = 3.0
    jpeg: int | None = None
    faint: float = 1.0
    broken: int = 0
    crease: bool = False
    stain: bool = False
    cross: bool = False
    crowd: bool = False
    margin_mm: float = 0.0
    declare_dpi: bool = True


def _rng(case: Case) -> random.Random:
    return random.Random(f"{SEED}:{case.group}:{case.index}")


def build_cases(pages: int) -> list[Case]:
    """The suite; `pages` scales the number of pages per group (about 230 at the default)."""
    k = pages / 230
    cases: list[Case] = []

    def add(group: str, n: int, make: Callable[[random.Random, int], Case]) -> None:
        for i in range(max(2, round(n * k))):
            rng = random.Random(f"{SEED}:{group}:{i}:spec")
            cases.append(make(rng, i))

    main, var = "retour-hernandez-romero", "liberez-defenseurs"

    def base(group: str, i: int, rng: random.Random, template: str = main) -> Case:
        return Case(group, i, template, skew=rng.uniform(-1.5, 1.5), scale=rng.uniform(0.99, 1.01))

    add("clean", 10, lambda r, i: base("clean", i, r))
    add("skew ±10°", 12, lambda r, i: replace(base("skew ±10°", i, r), skew=r.choice([-1, 1]) * r.uniform(4, 10),
                                            margin_mm=25))
    add("orientation 90/180/270", 12, lambda r, i: replace(base("orientation 90/180/270", i, r), turns=1 + i % 3))
    add("scale 90-110 %", 12, lambda r, i: replace(base("scale 90-110 %", i, r), scale=r.uniform(0.9, 1.1),
                                                 margin_mm=25, declare_dpi=i % 2 == 0))
    dpis = [200, 200, 200, 300, 300, 300, 400, 400, 600, 600]
    add("dpi 200-600", 10, lambda r, i: replace(base("dpi 200-600", i, r), dpi=dpis[i % len(dpis)],
                                              fill_dpi=300 if dpis[i % len(dpis)] > 300 else 200))
    add("perspective 3 %", 12, lambda r, i: replace(base("perspective 3 %", i, r), keystone=r.uniform(0.015, 0.03)
                                                  * r.choice([-1, 1]), declare_dpi=False, margin_mm=10))
    edges = ["top", "bottom", "left", "right"]
    add("edge cut ≤5 %", 12, lambda r, i: replace(base("edge cut ≤5 %", i, r),
                                                cut=(edges[i % 4], r.uniform(0.02, 0.05)), declare_dpi=i % 2 == 0))
    add("noise", 10, lambda r, i: replace(base("noise", i, r), noise=r.uniform(12, 25)))
    add("blur", 10, lambda r, i: replace(base("blur", i, r), blur=r.uniform(1.5, 3.0)))
    add("JPEG q30", 10, lambda r, i: replace(base("JPEG q30", i, r), jpeg=30, dpi=200 + 100 * (i % 2)))
    add("black-and-white", 10, lambda r, i: replace(base("black-and-white", i, r), mode="bw", faint=r.uniform(0.5, 1)))
    add("fold crease", 10, lambda r, i: replace(base("fold crease", i, r), crease=True))
    add("stain on a corner", 10, lambda r, i: replace(base("stain on a corner", i, r), stain=True))
    add("lines broken/faint", 12, lambda r, i: replace(base("lines broken/faint", i, r), broken=int(r.uniform(40, 120)),
                                                     faint=r.uniform(0.25, 0.6)))
    add("ink across lines", 10, lambda r, i: replace(base("ink across lines", i, r), cross=True))
    add("rows crowded", 10, lambda r, i: replace(base("rows crowded", i, r), crowd=True))
    add("all at once", 12, lambda r, i: replace(
        base("all at once", i, r), skew=r.uniform(-6, 6), turns=r.choice([0, 1, 2, 3]), scale=r.uniform(0.93, 1.07),
        keystone=r.uniform(-0.015, 0.015), cut=(r.choice(edges), r.uniform(0.0, 0.03)), noise=r.uniform(4, 12),
        jpeg=r.choice([None, 40]), crease=r.random() < 0.5, stain=r.random() < 0.5, cross=r.random() < 0.5,
        broken=r.choice([0, 40]), margin_mm=20, declare_dpi=r.random() < 0.5))
    add("second template", 20, lambda r, i: replace(
        base("second template", i, r, var), turns=i % 4, skew=r.uniform(-4, 4), margin_mm=15,
        crease=i % 3 == 0, stain=i % 3 == 1, mode="bw" if i % 5 == 0 else "grey"))
    add("not a form: blank", 5, lambda r, i: Case("not a form: blank", i, None, "blank", noise=r.uniform(2, 8)))
    add("not a form: back of sheet", 5,
        lambda r, i: Case("not a form: back of sheet", i, None, "back", skew=r.uniform(-3, 3), turns=i % 2))
    add("not a form: other table", 5,
        lambda r, i: Case("not a form: other table", i, None, "table", skew=r.uniform(-3, 3), turns=i % 4))
    add("not a form: other petition", 5,
        lambda r, i: Case("not a form: other petition", i, None, "other-petition", skew=r.uniform(-3, 3),
                          turns=i % 4))
    add("not a form: same grid, other text", 5,
        lambda r, i: Case("not a form: same grid, other text", i, None, "same-grid", skew=r.uniform(-3, 3),
                          turns=i % 4))
    return cases


# -- rendering a case ----------------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _blank(template_id: str, dpi: int) -> np.ndarray:
    templates = {t.id: t for t in (*installed(), other_petition(), same_grid_other_text())}
    return np.asarray(render_blank(templates[template_id], dpi))


def _table_page(dpi: int, rng: random.Random) -> np.ndarray:
    px = dpi / MM_PER_INCH
    page = degrade.text_lines((279.4, 431.8), dpi, np.random.default_rng(rng.randrange(1 << 30)), 20, 90)
    cols = rng.randint(3, 6)
    rows = rng.randint(12, 30)
    x0, x1, y0, y1 = 20 * px, 259 * px, 110 * px, 400 * px
    for x in np.linspace(x0, x1, cols + 1):
        cv2.line(page, (int(x), int(y0)), (int(x), int(y1)), 0, max(1, int(0.4 * px)))
    for y in np.linspace(y0, y1, rows + 1):
        cv2.line(page, (int(x0), int(y)), (int(x1), int(y)), 0, max(1, int(0.4 * px)))
    return page


def paper(case: Case) -> np.ndarray:
    """The page before scanning: RGB at case.fill_dpi, template frame."""
    rng = _rng(case)
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    dpi = case.fill_dpi
    if case.kind == "blank":
        return np.full((round(431.8 * dpi / MM_PER_INCH), round(279.4 * dpi / MM_PER_INCH), 3), 255, np.uint8)
    if case.kind == "back":
        return cv2.cvtColor(degrade.text_lines((279.4, 431.8), dpi, nrng), cv2.COLOR_GRAY2RGB)
    if case.kind == "table":
        return cv2.cvtColor(_table_page(dpi, rng), cv2.COLOR_GRAY2RGB)
    if case.kind == "other-petition":
        return cv2.cvtColor(_blank("autre-petition", dpi), cv2.COLOR_GRAY2RGB)
    if case.kind == "same-grid":
        other = same_grid_other_text()
        blank = Image.fromarray(_blank(other.id, dpi))
        return fill_sheet(blank, other, make_sheet(rng, other), rng, dpi=dpi).image
    template = {t.id: t for t in installed()}[str(case.template)]
    blank = Image.fromarray(degrade.faint(_blank(template.id, dpi), case.faint))
    page = fill_sheet(blank, template, make_sheet(rng, template), rng, dpi=dpi).image
    if case.broken:
        page = degrade.break_lines(page, template, dpi, nrng, gaps=case.broken)
    if case.crowd:
        page = degrade.crowd_rows(page, template, dpi, nrng)
    if case.cross:
        page = degrade.cross_lines(page, template, dpi, nrng)
    if case.crease:
        y = rng.uniform(template.row_ys[2], template.row_ys[-2])
        page = degrade.crease(page, dpi, y, rng.uniform(-1.5, 1.5), darkness=rng.randint(60, 140))
    if case.stain:
        corner = (rng.choice([template.column_xs[0], template.column_xs[-1]]),
                  rng.choice([template.row_ys[0], template.row_ys[-1]]))
        centre = (corner[0] + rng.uniform(-8, 8), corner[1] + rng.uniform(-8, 8))
        page = degrade.stain(page, dpi, centre, rng.uniform(12, 25), nrng)
    return page


def scan(case: Case) -> tuple[np.ndarray, np.ndarray]:
    """(grey scan, truth transform template mm -> scan px)."""
    rng = _rng(case)
    page = paper(case)
    page, margin = degrade.pad(page, case.fill_dpi, case.margin_mm) if case.margin_mm else (page, 0.0)
    page_mm = (279.4 + 2 * margin, 431.8 + 2 * margin)
    w = page_mm[0]
    k = case.keystone * w / 2
    corners = ((k, 0.0), (-k, 0.0), (0.0, 0.0), (0.0, 0.0)) if case.keystone else ((0.0, 0.0),) * 4
    params = ScanParams(
        dpi=case.dpi, skew_deg=case.skew, shift_mm=(rng.uniform(-3, 3), rng.uniform(-3, 3)), scale=case.scale,
        corner_mm=corners, upside_down=False, mode="bw" if case.mode == "bw" else "grey",
        paper=(245, 245, 245), blur_sigma=case.blur, noise_sigma=case.noise, jpeg_quality=None,
    )
    result = scan_page(page, case.fill_dpi, page_mm, params, seed=rng.randrange(1 << 62))
    grey = np.asarray(result.image.convert("L"))
    truth = result.transform @ np.array([[1, 0, margin], [0, 1, margin], [0, 0, 1]], dtype=np.float64)
    if case.jpeg:
        grey = degrade.jpeg(grey, case.jpeg)
    grey, truth = degrade.quarter_turns(grey, truth, case.turns)
    if case.cut:
        grey, truth = degrade.cut_edge(grey, truth, case.cut[0], case.cut[1])
    return grey, truth


# -- measuring -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    group: str
    index: int
    form: bool
    dpi: int
    registered: bool  # a template was fitted
    right_template: bool
    corner_errors_mm: list[float]
    cpu_s: float
    residual_mm: float | None
    message: str


def corner_errors(template: Template, fitted: np.ndarray, truth: np.ndarray, dpi: int) -> list[float]:
    pts = np.array([[(x, y) for x in template.column_xs for y in template.row_ys]], dtype=np.float64)
    a = cv2.perspectiveTransform(pts, fitted)[0]
    b = cv2.perspectiveTransform(pts, truth)[0]
    return [float(v) for v in np.linalg.norm(a - b, axis=1) / (dpi / MM_PER_INCH)]


BASELINE: Path | None = None  # --baseline FILE: another register.py to measure instead (e.g. the version before)


def _baseline_fit(page: LoadedPage, templates: tuple[Template, ...]) -> tuple[Template, Geometry]:
    """The pre-issue-3 fit_template loop around `register` from the file given with --baseline."""
    import importlib.util

    assert BASELINE is not None
    module = sys.modules.get("baseline_register")
    if module is None:
        spec = importlib.util.spec_from_file_location("baseline_register", BASELINE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["baseline_register"] = module
        spec.loader.exec_module(module)
    fits, errors = [], []
    for template in templates:
        try:
            g = module.register(page.image, template, page.dpi)
        except PageError as exc:
            errors.append(exc)
            continue
        fits.append((g.residual_mm - 0.01 * g.matched_points, template, g))
    if not fits:
        raise errors[0]
    _, template, g = min(fits, key=lambda f: f[0])
    return template, g


def _set_baseline(path: Path | None) -> None:
    global BASELINE
    BASELINE = path


def run_case(case: Case) -> Outcome:
    cv2.setNumThreads(1)
    grey, truth = scan(case)
    page = LoadedPage("bench", 1, grey, float(case.dpi) if case.declare_dpi else None, f"{case.group}:{case.index}")
    templates = installed()
    started = time.process_time()
    try:
        template, geometry = _baseline_fit(page, templates) if BASELINE else fit_template(page, templates)
        cut_cells(grey, geometry, template)
    except PageError as exc:
        return Outcome(case.group, case.index, case.template is not None, case.dpi, False, False, [],
                       time.process_time() - started, None, exc.message)
    cpu = time.process_time() - started
    if case.template is None:
        if Settings().doubtful_fit(geometry):  # its cells all go to review
            return Outcome(case.group, case.index, False, case.dpi, False, False, [], cpu, geometry.residual_mm,
                           f"fitted on {template.id}, flagged doubtful (text {geometry.text_match}): sent to review")
        return Outcome(case.group, case.index, False, case.dpi, True, False, [], cpu, geometry.residual_mm,
                       f"registered as {template.id}")
    truth_template = {t.id: t for t in templates}[case.template]
    errors = corner_errors(truth_template, np.array(geometry.homography), truth, case.dpi)
    return Outcome(case.group, case.index, True, case.dpi, True, template.id == case.template, errors, cpu,
                   geometry.residual_mm, "" if template.id == case.template else f"wrong template {template.id}")


def summarise(outcomes: list[Outcome]) -> dict[str, dict[str, float | int | None]]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(o.group, []).append(o)
    table: dict[str, dict[str, float | int | None]] = {}
    for name, items in [*groups.items(), ("ALL FORM PAGES", [o for o in outcomes if o.form]),
                        ("ALL NON-FORM PAGES", [o for o in outcomes if not o.form])]:
        errors = [e for o in items if o.registered and o.form for e in o.corner_errors_mm]
        forms = [o for o in items if o.form]
        table[name] = {
            "pages": len(items),
            "registered_pct": round(100 * sum(o.registered and o.right_template for o in forms) / len(forms), 1)
            if forms else None,
            "median_mm": round(statistics.median(errors), 3) if errors else None,
            "worst_mm": round(max(errors), 3) if errors else None,
            "cpu_s_per_page": round(statistics.mean(o.cpu_s for o in items), 3) if items else None,
            "non_form_registered": sum(o.registered for o in items if not o.form),
            "template_right_pct": round(100 * sum(o.right_template for o in forms) / len(forms), 1) if forms else None,
        }
    return table


def learn_check() -> dict[str, float | int | str]:
    """Learn a template from a simulated scan of the variant's blank, printed in another font; compare cells."""
    try:
        from sheetscan.learn import learn_template
    except ImportError:
        return {"status": "sheetscan.learn absent"}
    truth = variant_template()
    blank = cv2.cvtColor(np.asarray(render_blank(truth, 300, family="liberation-serif")), cv2.COLOR_GRAY2RGB)
    params = ScanParams(dpi=300, skew_deg=0.7, shift_mm=(0.0, 0.0), scale=1.0, corner_mm=((0.0, 0.0),) * 4,
                        upside_down=False, mode="grey", paper=(240, 240, 240), blur_sigma=0.7, noise_sigma=4.0,
                        jpeg_quality=None)
    grey = np.asarray(scan_page(blank, 300, (279.4, 431.8), params, seed=5).image.convert("L"))
    started = time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "blank.png"
        Image.fromarray(grey).save(path, dpi=(300, 300))
        learned = learn_template(path).template
    cpu = time.process_time() - started
    return {"cpu_s": round(cpu, 2), **compare_templates(learned, truth)}


def compare_templates(learned: Template, truth: Template) -> dict[str, float | int | str]:
    """Worst distance (mm) between corresponding cell edges, and whether the field kinds agree."""
    if len(learned.grid.columns) != len(truth.grid.columns) or learned.grid.rows != truth.grid.rows:
        return {"status": f"grid differs: {len(learned.grid.columns)} columns x {learned.grid.rows} rows"}
    worst = 0.0
    for row in range(1, truth.grid.rows + 1):
        for a, b in zip(learned.grid.columns, truth.grid.columns, strict=True):
            ra, rb = learned.cell_rect(row, a.key), truth.cell_rect(row, b.key)
            edges_a = (ra[0], ra[1], ra[0] + ra[2], ra[1] + ra[3])
            edges_b = (rb[0], rb[1], rb[0] + rb[2], rb[1] + rb[3])
            worst = max(worst, *(abs(p - q) for p, q in zip(edges_a, edges_b, strict=True)))
    kinds = sum(a.kind == b.kind for a, b in zip(learned.grid.columns, truth.grid.columns, strict=True))
    boxes = 0.0
    if len(learned.sender) == len(truth.sender):
        for p, q in zip(learned.sender, truth.sender, strict=True):
            boxes = max(boxes, abs(p.x_mm - q.x_mm), abs(p.y_mm - q.y_mm), abs(p.width_mm - q.width_mm),
                        abs(p.height_mm - q.height_mm))
    return {"status": "ok", "worst_cell_mm": round(worst, 3), "kinds_right": f"{kinds}/{len(truth.grid.columns)}",
            "sender_boxes": f"{len(learned.sender)}/{len(truth.sender)}", "worst_box_mm": round(boxes, 3)}


def print_table(table: dict[str, dict[str, float | int | None]], outcomes: list[Outcome]) -> None:
    def f(v: float | int | None, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    print(f"{'degradation':<28}{'pages':>6}{'reg %':>8}{'med mm':>8}{'worst mm':>9}{'CPU s':>7}"
          f"{'ident %':>8}{'non-form reg':>13}")
    for name, row in table.items():
        if name.startswith("ALL"):
            print("-" * 87)
        print(f"{name:<28}{row['pages']:>6}{f(row['registered_pct'], '.1f'):>8}{f(row['median_mm'], '.3f'):>8}"
              f"{f(row['worst_mm'], '.3f'):>9}{f(row['cpu_s_per_page'], '.3f'):>7}"
              f"{f(row['template_right_pct'], '.1f'):>8}{row['non_form_registered']:>13}")
    at300 = [o.cpu_s for o in outcomes if o.dpi == 300 and o.form]
    if at300:
        print(f"CPU per 300-dpi form page: median {statistics.median(at300):.3f} s, max {max(at300):.3f} s "
              f"({len(at300)} pages, one thread)")
    failures = [o for o in outcomes if (o.form and not (o.registered and o.right_template)) or (not o.form and
                                                                                                o.registered)]
    bad = [o for o in outcomes if o.form and o.registered and o.corner_errors_mm and max(o.corner_errors_mm) > 1.5]
    for o in failures + bad:
        worst = f" worst {max(o.corner_errors_mm):.2f} mm" if o.corner_errors_mm else ""
        print(f"  ! {o.group} #{o.index}: {o.message}{worst} residual {o.residual_mm}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=230)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--group", default=None, help="run only the groups whose name contains this")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--no-learn", action="store_true")
    parser.add_argument("--baseline", type=Path, default=None, help="measure this register.py instead")
    args = parser.parse_args()
    global BASELINE
    BASELINE = args.baseline
    cases = build_cases(args.pages)
    if args.group:
        cases = [c for c in cases if args.group in c.group]
    started = time.perf_counter()
    with Pool(args.jobs, initializer=_set_baseline, initargs=(args.baseline,)) as pool:
        outcomes = pool.map(run_case, cases, chunksize=1)
    table = summarise(outcomes)
    learned = {} if args.no_learn else learn_check()
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps({"table": table, "learn": learned, "wall_s": round(elapsed, 1)}, indent=1,
                         ensure_ascii=False))
    else:
        print_table(table, outcomes)
        if learned:
            print(f"learned template vs truth: {learned}")
        print(f"{len(cases)} pages in {elapsed:.0f} s wall")
    all_forms = table["ALL FORM PAGES"]
    ok = (all_forms["registered_pct"] == 100.0 and (all_forms["worst_mm"] or math.inf) <= 1.5
          and table["ALL NON-FORM PAGES"]["non_form_registered"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
