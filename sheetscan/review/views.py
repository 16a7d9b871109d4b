"""The review pages: sign-in, review by field (one cell at a time), review by sheet, images, journal.

URLs carry only ids and a field kind; values travel in POST bodies. Every POST is CSRF-checked in
`app.open_store_and_guard`, every value is escaped by Jinja's autoescape.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as WerkzeugResponse

from sheetscan.errors import HeldByOther, StaleSave
from sheetscan.fields import FieldInvalid, FieldKind
from sheetscan.review.auth import check_password, new_csrf_token
from sheetscan.review.images import row_strip_from_crops, row_strip_from_page, template_for
from sheetscan.review.labels import KIND_FR, STATE_FR
from sheetscan.review.outcome import BLANK, ILLEGIBLE, Outcome, decide, shown
from sheetscan.store.review import Change, ReviewCell, ReviewStore, Sheet

bp = Blueprint("review", __name__)

IMAGE_CACHE = "private, max-age=86400"  # crops and pages never change once stored
KIND_ORDER = [str(k) for k in FieldKind]
MAX_SKIPPED = 200  # skipped cell ids remembered in the session, so "skip" moves on


def _rs() -> ReviewStore:
    review: ReviewStore = g.review
    return review


def _me_id() -> int:
    return int(g.me.id)


def _kind_arg(value: str | None) -> str | None:
    if not value:
        return None
    if value not in KIND_ORDER:
        abort(400, description="Type de champ inconnu.")
    return value


def _version_arg(value: str | None) -> int:
    if value is None or not value.isdigit():
        abort(400, description="Version de la cellule absente.")
    return int(value)


def _queue_url(kind: str | None) -> str:
    return url_for("review.queue", kind=kind) if kind else url_for("review.queue")


def _progress() -> list[tuple[str, int]]:
    counts = {c.kind: c.count for c in _rs().remaining_by_kind()}
    return [(k, counts[k]) for k in KIND_ORDER if k in counts]


# -- sign-in ----------------------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login() -> str | WerkzeugResponse | tuple[str, int]:
    if request.method == "GET":
        return render_template("login.html")
    username = request.form.get("username", "").strip()
    reviewer = _rs().reviewer_by_name(username)
    if not check_password(reviewer, request.form.get("password", "")):
        return render_template("login.html", error="Nom d'utilisateur ou mot de passe incorrect."), 401
    assert reviewer is not None
    session.clear()  # a fresh session (and CSRF token) on every sign-in
    session["reviewer_id"] = reviewer.id
    session["csrf"] = new_csrf_token()
    return redirect(url_for("review.queue"))


@bp.post("/logout")
def logout() -> WerkzeugResponse:
    session.clear()
    return redirect(url_for("review.login"))


@bp.get("/")
def home() -> WerkzeugResponse:
    return redirect(url_for("review.queue"))


# -- review by field --------------------------------------------------------------------------------------
@bp.get("/review")
def queue() -> str:
    kind = _kind_arg(request.args.get("kind"))
    items = _rs().claim(_me_id(), kind, want=2, skipped=session.get("skipped", []))
    if not items:
        return render_template("done.html", kind=kind, progress=_progress())
    return _render_item(items[0], items[1] if len(items) > 1 else None, kind)


def _render_item(
    cell: ReviewCell, upcoming: ReviewCell | None, kind: str | None, typed: str | None = None,
    error: str | None = None,
) -> str:
    return render_template(
        "item.html", cell=cell, upcoming=upcoming, kind=kind, progress=_progress(),
        typed=shown(cell) if typed is None else typed, error=error,
    )


@bp.post("/review/<int:cell_id>")
def save_item(cell_id: int) -> WerkzeugResponse | tuple[str, int]:
    kind = _kind_arg(request.form.get("kind"))
    cell = _rs().cell(cell_id)
    if cell is None:
        abort(404)
    action = request.form.get("action", "accept")
    if action == "skip":
        _rs().release(_me_id(), cell_id)
        session["skipped"] = [*session.get("skipped", [])[-(MAX_SKIPPED - 1) :], cell_id]
        return redirect(_queue_url(kind))
    version = _version_arg(request.form.get("version"))
    typed = request.form.get("value", "")
    override = request.form.get("override") == "1"
    outcome: Outcome
    if action == "blank":
        outcome = BLANK
    elif action == "illegible":
        outcome = ILLEGIBLE
    elif action == "accept":
        try:
            outcome = decide(cell, typed, override)
        except FieldInvalid as exc:
            return _render_item(cell, None, kind, typed=typed, error=exc.reason), 422
    else:
        abort(400, description="Action inconnue.")
    try:
        _rs().apply(_me_id(), [outcome.change(cell, version)])
    except (StaleSave, HeldByOther) as exc:
        flash(f"Cellule n° {cell_id} : {exc.message}.", "error")
    else:
        flash(f"Cellule n° {cell_id} enregistrée : {STATE_FR[outcome.state]}.", "ok")
    return redirect(_queue_url(kind))


# -- images -------------------------------------------------------------------------------------------------
def _image(data: bytes, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = IMAGE_CACHE
    return response


@bp.get("/cells/<int:cell_id>.png")
def cell_png(cell_id: int) -> Response:
    data = _rs().crop_png(cell_id)
    if data is None:
        abort(404)
    return _image(data, "image/png")


@bp.get("/cells/<int:cell_id>/row.jpg")
def cell_row(cell_id: int) -> Response:
    cell = _rs().cell(cell_id)
    if cell is None:
        abort(404)
    strip = None
    template = template_for(cell.template)
    jpeg = _rs().page_jpeg(cell.page_id) if template else None
    if template and jpeg:
        page = current_app.extensions["page_cache"].get(cell.page_id, jpeg)
        strip = row_strip_from_page(page, template, cell)
    if strip is None:
        strip = row_strip_from_crops(_rs().row_crops(cell.page_id, cell.row))
    if strip is None:
        abort(404)
    return _image(strip, "image/jpeg")


@bp.get("/pages/<int:page_id>.jpg")
def page_jpg(page_id: int) -> Response:
    data = _rs().page_jpeg(page_id)
    if data is None:
        abort(404)
    return _image(data, "image/jpeg")


# -- review by sheet --------------------------------------------------------------------------------------
@bp.get("/sheets")
def sheets() -> str:
    return render_template("sheets.html", sheets=_rs().sheets(), progress=_progress())


def _columns(sheet: Sheet) -> list[tuple[str, str]]:
    """(field key, French label) of the grid columns, in template order."""
    template = template_for(sheet.template)
    if template is not None:
        return [(c.key, KIND_FR.get(str(c.kind), c.label)) for c in template.read_columns]
    seen: dict[str, str] = {}
    for row in sheet.rows:
        for key, cell in row.cells.items():
            seen.setdefault(key, KIND_FR.get(cell.kind, key))
    return list(seen.items())


def _sender_labels(sheet: Sheet) -> dict[str, str]:
    template = template_for(sheet.template)
    labels = {box.key: box.label for box in template.sender} if template else {}
    return {key: labels.get(key, KIND_FR.get(cell.kind, key)) for key, cell in sheet.sender.items()}


def _render_sheet(
    sheet: Sheet, values: dict[int, str] | None = None, originals: dict[int, str] | None = None,
    versions: dict[int, int] | None = None, errors: dict[int, str] | None = None,
    confirm_pending: bool = True,
) -> str:
    cells = list(sheet.all_cells())
    return render_template(
        "sheet.html", sheet=sheet, columns=_columns(sheet), sender_labels=_sender_labels(sheet),
        values=values or {c.id: shown(c) for c in cells},
        originals=originals or {c.id: shown(c) for c in cells},
        versions=versions or {c.id: c.version for c in cells},
        errors=errors or {}, confirm_pending=confirm_pending,
    )


@bp.get("/sheets/<int:page_id>")
def sheet_page(page_id: int) -> str:
    sheet = _rs().sheet(page_id)
    if sheet is None:
        abort(404)
    _rs().lease_page(_me_id(), page_id)
    return _render_sheet(sheet)


@bp.post("/sheets/<int:page_id>")
def save_sheet(page_id: int) -> WerkzeugResponse | tuple[str, int]:
    sheet = _rs().sheet(page_id)
    if sheet is None:
        abort(404)
    form = request.form
    confirm_pending = form.get("confirm_pending") == "1"
    values: dict[int, str] = {}
    originals: dict[int, str] = {}
    versions: dict[int, int] = {}
    errors: dict[int, str] = {}
    changes: list[Change] = []
    for cell in sheet.all_cells():
        if f"c{cell.id}" not in form:
            continue
        values[cell.id] = form[f"c{cell.id}"]
        originals[cell.id] = form.get(f"o{cell.id}", "")
        versions[cell.id] = _version_arg(form.get(f"v{cell.id}"))
        changed = values[cell.id].strip() != originals[cell.id].strip()
        if not changed and not (confirm_pending and cell.review_state == "pending"):
            continue
        try:
            outcome = decide(cell, values[cell.id], override=form.get(f"k{cell.id}") == "1")
        except FieldInvalid as exc:
            errors[cell.id] = exc.reason
            continue
        changes.append(outcome.change(cell, versions[cell.id]))
    if errors:
        flash(
            f"{len(errors)} valeur(s) ne respectent pas les règles : corrigez-les ou cochez « garder quand même ». "
            "Rien n'a été enregistré.",
            "error",
        )
        return _render_sheet(sheet, values, originals, versions, errors, confirm_pending), 422
    try:
        _rs().apply(_me_id(), changes)
    except (StaleSave, HeldByOther) as exc:
        flash(f"{exc.message} ({len(exc.cell_ids)} cellule(s)). La feuille est rechargée : refaites vos corrections.",
              "error")
        return redirect(url_for("review.sheet_page", page_id=page_id))
    _rs().release_page(_me_id(), page_id)
    flash(f"Feuille enregistrée : {len(changes)} cellule(s) mise(s) à jour.", "ok")
    return redirect(url_for("review.sheets"))


# -- journal ----------------------------------------------------------------------------------------------
@bp.get("/audit")
def audit() -> str:
    return render_template("audit.html", entries=_rs().audit(limit=300))
