"""Templates from paper: learn one from a scan of the blank printed sheet, and draw one over a scan to check it.

`learn_template`: the page is made portrait and deskewed (stages.register.prepare), the grid's long rules
give the column and row lines, the header cells are read with Tesseract (French) and their words say what
each column holds, boxes outside the grid become the sender block. Positions are in millimetres from the
scan's top-left corner, so the scan should show the whole sheet (scanner glass, not a cropped photo).
The volunteer then checks the file with `template check` and `template show`.

The two click commands at the end (`learn_command`, `show_command`) belong in the `template` group.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import click
import cv2
import numpy as np

from sheetscan.errors import ConfigError, InputError, NotOurForm
from sheetscan.fields import FieldKind
from sheetscan.stages.load import LoadedPage, load_pages
from sheetscan.stages.register import WORK_PX_PER_MM, Prepared, fit, ink_mask, prepare
from sheetscan.template import Template, load_template

OCR_PX_PER_MM = 12.0  # ~ 300 dpi, what Tesseract reads best
NARROW_MM = 15.0  # a first column narrower than this, headed "No", holds the printed row numbers
MIN_BOX_MM = (20.0, 6.0)  # smallest sender box (width, height)

# Header words (lower case, no accents) -> field kind; the first rule that matches wins.
KEYWORDS: list[tuple[tuple[str, ...], FieldKind]] = [
    (("courriel", "email", "e-mail", "@"), FieldKind.EMAIL),
    (("postal",), FieldKind.POSTAL_CODE),
    (("signature",), FieldKind.SIGNATURE),
    (("annee", "naissance"), FieldKind.BIRTH_YEAR),
    (("cellulaire", "telephone", "tel."), FieldKind.PHONE),
    (("prenom", "nom"), FieldKind.NAME),
]
KIND_KEYS = {FieldKind.EMAIL: "email", FieldKind.POSTAL_CODE: "postal_code", FieldKind.SIGNATURE: "signature",
             FieldKind.BIRTH_YEAR: "birth_year", FieldKind.PHONE: "phone", FieldKind.NAME: "name"}


@dataclass
class Learned:
    template: Template
    warnings: list[str] = field(default_factory=list)  # French, for the volunteer


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def column_kind(label: str, index: int, width_mm: float) -> FieldKind | None:
    """The field kind a header announces; None for the row-number column; TEXT when nothing matches."""
    plain = _plain(label)
    words = re.findall(r"[a-z@.\-]+", plain)
    if index == 0 and width_mm < NARROW_MM and (not words or words[0] in {"no", "n", "numero", "#", "n.", "no."}):
        return None
    for keys, kind in KEYWORDS:
        if any(k in plain if not k.isalpha() else any(w.startswith(k) for w in words) for k in keys):
            return kind
    return FieldKind.TEXT


def _slug(text: str, default: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", _plain(text)).strip("-")[:40].strip("-")
    return slug or default


# -- finding the grid ----------------------------------------------------------------------------------------
def _runs(profile: np.ndarray, threshold: float) -> list[float]:
    above = profile >= threshold
    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
    centres = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        seg = profile[start:stop].astype(np.float64)
        centres.append(float(np.sum(np.arange(start, stop) * seg) / np.sum(seg)))
    return centres


def _to_mm(px: float) -> float:
    return (px + 0.5) / WORK_PX_PER_MM


def find_grid(page: Prepared) -> tuple[list[float], list[float]]:
    """(x of every column rule, y of every row rule) in mm of the work frame, before any half turn."""
    vertical, horizontal = page.vertical, page.horizontal
    cols = vertical.sum(axis=0) / 255.0
    xs_px = _runs(cols, 0.5 * float(cols.max()))
    if len(xs_px) < 3:
        raise NotOurForm("grille introuvable sur la feuille vierge (moins de 2 colonnes)")
    strongest = int(round(xs_px[int(np.argmax([cols[int(round(x))] for x in xs_px]))]))
    band = vertical[:, max(0, strongest - 2):strongest + 3].max(axis=1)
    on = np.flatnonzero(band)
    top, bottom = int(on.min()), int(on.max())
    x0, x1 = int(round(xs_px[0])), int(round(xs_px[-1]))
    rows = horizontal[:, x0:x1 + 1].sum(axis=1) / 255.0
    margin = int(2 * WORK_PX_PER_MM)
    ys_px = [y for y in _runs(rows, 0.6 * (x1 - x0)) if top - margin <= y <= bottom + margin]
    if len(ys_px) < 3:
        raise NotOurForm("grille introuvable sur la feuille vierge (moins de 2 rangées)")
    return [_to_mm(x) for x in xs_px], [_to_mm(y) for y in ys_px]


def _find_boxes(page: Prepared, grid_mm: tuple[float, float, float, float], flip: bool,
                size_mm: tuple[float, float]) -> list[tuple[float, float, float, float]]:
    """Closed rectangles outside the grid (x, y, w, h in upright mm), top to bottom, left to right."""
    mask = ink_mask(page.grey, int(8 * WORK_PX_PER_MM))
    if flip:
        mask = np.ascontiguousarray(mask[::-1, ::-1])
    rect = cv2.getStructuringElement
    h_rules = cv2.morphologyEx(mask, cv2.MORPH_OPEN, rect(cv2.MORPH_RECT, (int(8 * WORK_PX_PER_MM), 1)))
    v_rules = cv2.morphologyEx(mask, cv2.MORPH_OPEN, rect(cv2.MORPH_RECT, (1, int(5 * WORK_PX_PER_MM))))
    rules = cv2.bitwise_or(h_rules, v_rules)
    gx0, gy0, gx1, gy1 = grid_mm
    px = WORK_PX_PER_MM
    cv2.rectangle(rules, (int((gx0 - 2) * px), int((gy0 - 2) * px)), (int((gx1 + 2) * px), int((gy1 + 2) * px)), 0, -1)
    contours, _ = cv2.findContours(rules, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w < MIN_BOX_MM[0] * px or h < MIN_BOX_MM[1] * px or w > 0.9 * size_mm[0] * px:
            continue
        left, right = v_rules[y:y + h, x:x + 3].max(axis=1), v_rules[y:y + h, x + w - 3:x + w].max(axis=1)
        if left.mean() < 0.7 * 255 or right.mean() < 0.7 * 255:
            continue
        # rule centres: the bounding box runs to the outer edge of a line about 1 px thick at each side
        boxes.append((_to_mm(x + 1), _to_mm(y + 1), (w - 2) / px, (h - 2) / px))
    return sorted(boxes, key=lambda b: (round(b[1] / 5), b[0]))


# -- reading the header ---------------------------------------------------------------------------------------
def _ocr(image: np.ndarray, psm: int = 6, first_line: bool = False) -> str:
    import pytesseract

    try:
        text = pytesseract.image_to_string(image, lang="fra", config=f"--psm {psm}")
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError) as exc:
        raise ConfigError(f"Tesseract (fra) est nécessaire pour lire les en-têtes : {exc}") from None
    if first_line:
        text = next((line for line in str(text).splitlines() if len(line.strip()) >= 3), "")
    return " ".join(str(text).split())


def _upright(loaded: LoadedPage, page: Prepared, flip: bool, size_mm: tuple[float, float]) -> np.ndarray:
    """3x3 map from upright mm (the learned frame) to the original scan's pixels."""
    px = WORK_PX_PER_MM
    mm_to_work = np.array([[px, 0, -0.5], [0, px, -0.5], [0, 0, 1]], dtype=np.float64)
    if flip:
        h, w = page.grey.shape
        mm_to_work = np.array([[-1, 0, w - 1], [0, -1, h - 1], [0, 0, 1]], dtype=np.float64) @ mm_to_work
    return np.linalg.inv(page.to_work) @ mm_to_work


def _crop(grey: np.ndarray, mm_to_px: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    x, y, w, h = box
    p = OCR_PX_PER_MM
    frame = np.array([[1 / p, 0, x + 0.5 / p], [0, 1 / p, y + 0.5 / p], [0, 0, 1]])
    size = (max(1, int(round(w * p))), max(1, int(round(h * p))))
    return cv2.warpPerspective(grey, mm_to_px @ frame, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def learn_template(scan: Path, template_id: str | None = None) -> Learned:
    """A template (and warnings) from a scan or PDF of the blank sheet; the first page is used."""
    loaded = next((p for p in load_pages(scan) if isinstance(p, LoadedPage)), None)
    if loaded is None:
        raise InputError(f"{scan.name} : aucune page lisible")
    page = prepare(loaded.image, loaded.dpi)
    h, w = page.grey.shape
    size_mm = (round(w / WORK_PX_PER_MM, 1), round(h / WORK_PX_PER_MM, 1))
    xs, ys = find_grid(page)
    warnings: list[str] = []
    if loaded.dpi is None:
        warnings.append("la numérisation n'indique pas sa résolution : page supposée au format tabloïd")

    # Upside down? The header (labels in every column) is the band of the grid with the most ink.
    mask = ink_mask(page.grey, int(8 * WORK_PX_PER_MM))
    px = WORK_PX_PER_MM

    def band_ink(y0: float, y1: float) -> float:
        inset = 1.5
        return float(mask[int((y0 + inset) * px):int((y1 - inset) * px), int(xs[0] * px):int(xs[-1] * px)].mean())

    flip = band_ink(ys[-2], ys[-1]) > band_ink(ys[0], ys[1])
    if flip:
        xs = sorted(size_mm[0] - x for x in xs)
        ys = sorted(size_mm[1] - y for y in ys)
    mm_to_px = _upright(loaded, page, flip, size_mm)

    rows = len(ys) - 2
    row_heights = np.diff(ys[1:])
    row_height = (ys[-1] - ys[1]) / rows
    if float(np.max(np.abs(row_heights - row_height))) > 0.5:
        warnings.append("les rangées n'ont pas toutes la même hauteur : à vérifier sur l'aperçu")

    columns: list[dict[str, object]] = []
    used: set[str] = set()
    for i in range(len(xs) - 1):
        width = xs[i + 1] - xs[i]
        label = _ocr(_crop(loaded.image, mm_to_px, (xs[i] + 0.8, ys[0] + 0.8, width - 1.6, ys[1] - ys[0] - 1.6)))
        kind = column_kind(label, i, width)
        if kind is None:
            key, kind_value, required = "row_number", None, False
        else:
            key = KIND_KEYS.get(kind, f"col_{i + 1}")
            kind_value = str(kind)
            required = "obligatoire" in _plain(label)
            if kind == FieldKind.TEXT:
                warnings.append(f"colonne {i + 1} « {label or '?'} » : nature inconnue, lue comme du texte")
        while key in used:
            key += "_b"
        used.add(key)
        columns.append({"key": key, "label": label or f"Colonne {i + 1}", "kind": kind_value,
                        "width_mm": round(width, 2), "required": required})

    sender: list[dict[str, object]] = []
    grid_box = (xs[0], ys[0], xs[-1], ys[-1])
    for n, (bx, by, bw, bh) in enumerate(_find_boxes(page, grid_box, flip, size_mm), start=1):
        label = _ocr(_crop(loaded.image, mm_to_px, (bx, max(0.0, by - 6.5), bw, 6.0)), psm=7)
        plain = _plain(label)
        kind = FieldKind.EMAIL if "courriel" in plain or "@" in plain else FieldKind.TEXT
        key = ("sender_email" if kind == FieldKind.EMAIL else "sender_group" if "groupe" in plain
               else "sender_name" if "nom" in plain else f"sender_{n}")
        while key in used:
            key += "_b"
        used.add(key)
        sender.append({"key": key, "label": label or f"Case {n}", "kind": str(kind), "x_mm": round(bx, 2),
                       "y_mm": round(by, 2), "width_mm": round(bw, 2), "height_mm": round(bh, 2)})

    title = ""
    if ys[0] > 15:
        text = _ocr(_crop(loaded.image, mm_to_px, (xs[0], 5.0, xs[-1] - xs[0], min(40.0, ys[0] - 8))), first_line=True)
        title = text[:120]
    data = {
        "id": template_id or _slug(title, "gabarit-appris"),
        "version": 1,
        "title": title or "Gabarit appris (titre à compléter)",
        "page": {"width_mm": size_mm[0], "height_mm": size_mm[1]},
        "texts": [],
        "grid": {"x_mm": round(xs[0], 2), "y_mm": round(ys[0], 2), "header_height_mm": round(ys[1] - ys[0], 2),
                 "row_height_mm": round(row_height, 3), "rows": rows, "columns": columns},
        "sender": sender,
    }
    try:
        template = Template.model_validate(data)
    except ValueError as exc:
        raise ConfigError(f"{scan.name} : le gabarit appris est invalide ({exc})") from None
    return Learned(template, warnings)


def write_template(template: Template, out: Path) -> None:
    data = template.model_dump(mode="json", exclude_defaults=False)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


# -- drawing a template over a scan ----------------------------------------------------------------------------
COLOURS = {  # BGR per field kind
    None: (160, 160, 160), "name": (40, 40, 220), "postal_code": (40, 160, 40), "signature": (200, 60, 160),
    "birth_year": (0, 140, 230), "email": (200, 120, 0), "phone": (150, 150, 0), "text": (90, 60, 140),
}


def overlay(grey: np.ndarray, template: Template, homography: np.ndarray) -> np.ndarray:
    """The scan in colour with every cell of the template outlined where the registration puts it."""
    image = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    thickness = max(1, int(round(np.sqrt(abs(np.linalg.det(homography[:2, :2]))) * 0.35)))

    def outline(rect: tuple[float, float, float, float], colour: tuple[int, int, int]) -> None:
        x, y, w, h = rect
        corners = np.array([[(x, y), (x + w, y), (x + w, y + h), (x, y + h)]], dtype=np.float64)
        pts = cv2.perspectiveTransform(corners, homography)[0]
        cv2.polylines(image, [np.round(pts * 16).astype(np.int32)], True, colour, thickness, cv2.LINE_AA, 4)

    xs, ys = template.column_xs, template.row_ys
    for i, col in enumerate(template.grid.columns):
        colour = COLOURS.get(str(col.kind) if col.kind else None, (0, 0, 0))
        outline((xs[i], ys[0], xs[i + 1] - xs[i], ys[1] - ys[0]), colour)
        for row in range(1, template.grid.rows + 1):
            outline(template.cell_rect(row, col.key), colour)
    for box in template.sender:
        outline((box.x_mm, box.y_mm, box.width_mm, box.height_mm), COLOURS.get(str(box.kind), (0, 0, 0)))
    return image


def show_template(template: Template, scan: Path, out: Path) -> float:
    """Register `template` on the first page of `scan` and write the overlay PNG; return the fit's residual (mm)."""
    loaded = next((p for p in load_pages(scan) if isinstance(p, LoadedPage)), None)
    if loaded is None:
        raise InputError(f"{scan.name} : aucune page lisible")
    geometry = fit(prepare(loaded.image, loaded.dpi), template)
    image = overlay(loaded.image, template, np.array(geometry.homography))
    if not cv2.imwrite(str(out), image):
        raise InputError(f"{out} : impossible d'écrire l'image")
    return geometry.residual_mm


# -- commands (register under the `template` group) -------------------------------------------------------------
@click.command("learn")
@click.argument("blank_scan", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Gabarit JSON à écrire.")
@click.option("--id", "template_id", default=None, help="Identifiant du gabarit (défaut : tiré du titre).")
def learn_command(blank_scan: Path, out: Path, template_id: str | None) -> None:
    """Fabrique un gabarit à partir d'une feuille vierge numérisée (PDF ou image)."""
    learned = learn_template(blank_scan, template_id)
    write_template(learned.template, out)
    t = learned.template
    kinds = ", ".join(f"{c.key}" for c in t.grid.columns)
    click.echo(f"Gabarit écrit : {out} ({t.grid.rows} rangées ; colonnes : {kinds} ; "
               f"{len(t.sender)} case(s) hors grille)")
    for warning in learned.warnings:
        click.echo(f"Attention : {warning}", err=True)
    click.echo(f"À vérifier : sheetscan template check {out} ; sheetscan template show {out} --on {blank_scan} "
               "--out apercu.png")


@click.command("show")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--on", "scan", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Feuille numérisée sur laquelle dessiner le gabarit.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Image PNG à écrire.")
def show_command(file: Path, scan: Path, out: Path) -> None:
    """Dessine chaque case du gabarit sur une feuille numérisée (aperçu en couleur)."""
    residual = show_template(load_template(file), scan, out)
    click.echo(f"Aperçu écrit : {out} (écart moyen de la grille : {residual:.2f} mm)")
