"""Composes the stages for one page, and runs a batch of files. The only module that knows their order:

load -> register (orient, deskew, fit the grid) -> cut cells -> ink / signature -> recognise -> cross-check a
row's fields -> validate -> decide review -> store.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from sheetscan.config import Settings
from sheetscan.errors import InputError, NotOurForm, PageError
from sheetscan.fields import FieldInvalid, FieldKind, validate
from sheetscan.records import CellReading, Geometry, PageResult, ReviewReason, RowResult
from sheetscan.stages.cells import Cut, cut_cells, page_preview, png
from sheetscan.stages.crosscheck import check_row
from sheetscan.stages.ink import Ink, is_signed, measure, paper_level
from sheetscan.stages.load import LoadedPage, PageFailure, load_pages
from sheetscan.stages.recognize import CellImage, Engine, Reading
from sheetscan.stages.register import fit, prepare
from sheetscan.store import Store
from sheetscan.template import Template

log = logging.getLogger(__name__)

INK_ENGINE = "ink-v1"
SUFFIXES = {".pdf", ".tif", ".tiff", ".png", ".jpg", ".jpeg"}


def fit_score(geometry: Geometry) -> float:
    """How well a template fits a page, to choose between installed templates: the share of its rules found,
    its printed text's agreement (when it has text), less a penalty for the residual."""
    return (geometry.line_support or 0.0) + (geometry.text_match or 0.0) - 0.2 * geometry.residual_mm


def fit_template(image: LoadedPage, templates: Sequence[Template],
                 settings: Settings | None = None) -> tuple[Template, Geometry]:
    """Register the page against every installed template and keep the best fit. A page no template fits
    raises NotOurForm (BlankPage when it holds no ink).

    A file's declared resolution can lie (one dpi for every page of a TIFF, a scanner's 72 dpi default): when
    the fit made with it is doubtful or incomplete, the page is fitted again measuring its scale alone, and the
    better of the two fits is kept."""
    settings = settings or Settings()
    long_mm = max(max(t.page.width_mm, t.page.height_mm) for t in templates)
    hints = [image.dpi, None] if image.dpi else [None]
    errors: list[PageError] = []
    fits: list[tuple[float, Template, Geometry]] = []
    for dpi in hints:
        page = prepare(image.image, dpi, long_mm)
        for template in templates:
            try:
                geometry = fit(page, template)
            except NotOurForm as exc:
                errors.append(exc)
                continue
            fits.append((fit_score(geometry), template, geometry))
        if fits:
            _, template, geometry = max(fits, key=lambda f: f[0])
            if not settings.doubtful_fit(geometry) and (geometry.line_support is None or geometry.line_support >= 0.95):
                return template, geometry
    if not fits:
        if len(templates) == 1:
            raise errors[-1]
        raise NotOurForm("ce n'est pas une feuille de pétition connue")
    _, template, geometry = max(fits, key=lambda f: f[0])
    return template, geometry


def spot_point(content_hash: str, row: int | None, key: str) -> float:
    """A cell's place in the spot-check draw, uniform in [0, 1): a hash of its page's content and its place
    on the page, so that the draw is random across cells but the same every time a page is read."""
    digest = hashlib.blake2b(f"{content_hash}:{row}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _decide(cut: Cut, ink: Ink, reading: Reading | None, template: Template, doubtful_fit: bool,
            settings: Settings, spot: float) -> CellReading:
    """Turn a cell's ink and reading into a validated value, and decide whether a person must look at it."""

    def cell(written: bool, raw: str, value: str | None, confidence: float, engine: str,
             error: str | None = None, reason: ReviewReason | None = None) -> CellReading:
        return CellReading(
            field=cut.field, kind=cut.kind, row=cut.row, required=cut.required, ink=round(ink.share, 5),
            written=written, raw=raw, value=value, confidence=confidence, engine=engine,
            template=template.ref, error=error, review_reason=reason,
            spot=spot if written and cut.kind is not FieldKind.SIGNATURE else None,
            crop_png=png(cut.review_crop(ink.overflow)),
        )

    if cut.kind is FieldKind.SIGNATURE:
        signed = is_signed(ink)
        return cell(ink.written, "signed" if signed else "unsigned", "signed" if signed else None, 1.0, INK_ENGINE)
    if ink.shared:  # writing across a line that another cell took: a person decides whose it is
        return cell(True, "", None, 0.0, INK_ENGINE, reason=ReviewReason.SHARED_INK)
    if not ink.written or reading is None:
        return cell(False, "", None, 1.0, INK_ENGINE)
    value, error, reason = None, None, None
    try:
        value = validate(cut.kind, reading.text)
    except FieldInvalid as exc:
        error, reason = exc.reason, ReviewReason.INVALID
    if reason is None and ink.moved:  # given back by the row it strayed into (_settle_rows): a person checks
        reason = ReviewReason.SHARED_INK
    if reason is None and ink.cut_off:  # before the confidence: `reroute` never accepts it for a new threshold
        reason = ReviewReason.CUT_OFF
    if reason is None and reading.confidence < settings.threshold(cut.kind):
        reason = ReviewReason.LOW_CONFIDENCE
    if reason is None and doubtful_fit:
        reason = ReviewReason.REGISTRATION_DOUBTFUL
    if reason is None and settings.spot_checked(spot):
        reason = ReviewReason.SPOT_CHECK
    return cell(True, reading.text, value, reading.confidence, reading.engine, error, reason)


def _settle_rows(cuts: Sequence[Cut], inks: list[Ink]) -> list[Ink]:
    """Writing across the line between two rows, settled row by row:
    - a row whose only writing crosses into the row above (or below), where that row left the same cell blank:
      it is that row's writing, written low (or high). Given back, marked `moved`, for a person to check;
    - a row with no writing of its own is empty: its `shared` cells hold another row's writing, read there."""
    rows: dict[int, list[int]] = {}
    for i, c in enumerate(cuts):
        if c.row is not None:
            rows.setdefault(c.row, []).append(i)
    out = list(inks)
    for number, members in rows.items():
        written = [i for i in members if inks[i].written]
        for side, step in ((0, -1), (1, 1)):  # crossing the top line: back up; the bottom line: back down
            other = {cuts[j].field: j for j in rows.get(number + step, [])}
            strays = [i for i in written if inks[i].crosses[side] and not inks[i].crosses[1 - side]
                      and cuts[i].kind is not FieldKind.SIGNATURE and cuts[i].field in other
                      and not inks[other[cuts[i].field]].written]
            if written and len(strays) == len(written) and any(inks[j].written for j in other.values()):
                for i in strays:
                    out[other[cuts[i].field]] = replace(inks[i], moved=True)
                    out[i] = replace(inks[i], written=False, share=0.0, crosses=(False, False))
    for members in rows.values():
        if not any(out[i].written for i in members):
            for i in members:
                out[i] = replace(out[i], shared=False)
    return out


def read_page(image: LoadedPage, templates: Sequence[Template], engine: Engine, settings: Settings) -> PageResult:
    template, geometry = fit_template(image, templates, settings)
    cuts = cut_cells(image.image, geometry, template)
    paper = paper_level(image.image)
    inks = _settle_rows(cuts, [measure(c.window, paper, c.lines) for c in cuts])
    wanted = [
        i for i, (c, k) in enumerate(zip(cuts, inks, strict=True)) if k.written and c.kind is not FieldKind.SIGNATURE
    ]
    readings: dict[int, Reading] = dict(
        zip(wanted, engine.read([CellImage(inks[i].cleaned, cuts[i].kind) for i in wanted]), strict=True)
    )
    for number in range(1, template.grid.rows + 1):
        in_row = [i for i in wanted if cuts[i].row == number]
        by_kind = {cuts[i].kind: i for i in in_row}
        if len(by_kind) == len(in_row):  # one cell of each kind, as on our forms
            checked = check_row({kind: readings[i] for kind, i in by_kind.items()})
            readings.update({i: checked[kind] for kind, i in by_kind.items()})
    doubtful = settings.doubtful_fit(geometry)
    cells = [
        _decide(c, k, readings.get(i), template, doubtful, settings, spot_point(image.content_hash, c.row, c.field))
        for i, (c, k) in enumerate(zip(cuts, inks, strict=True))
    ]
    rows: list[RowResult] = []
    for number in range(1, template.grid.rows + 1):
        row_cells = [c for c in cells if c.row == number]
        empty = not any(c.written for c in row_cells)
        if not empty:
            row_cells = [
                c.model_copy(update={"review_reason": ReviewReason.MISSING_REQUIRED})
                if c.required and c.value is None and c.review_reason is None
                else c
                for c in row_cells
            ]
        rows.append(RowResult(number=number, empty=empty, cells=row_cells))
    return PageResult(
        source=image.source, page=image.page, content_hash=image.content_hash, template=template.ref,
        geometry=geometry, rows=rows, sender=[c for c in cells if c.row is None],
        page_jpeg=page_preview(image.image, geometry, template),
    )


@dataclass(frozen=True)
class PageOutcome:
    source: str
    page: int | None
    status: str  # "ok", "skipped" (already stored), "failed"
    message: str = ""
    signers: int = 0
    pending: int = 0
    doubtful: bool = False  # registered, but the fit or the printed text is doubtful: its cells go to review


@dataclass
class BatchSummary:
    batch_id: int
    outcomes: list[PageOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and the scans inside directories (sorted); other files in directories are ignored."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        else:
            files.append(path)
    return files


def ingest(
    paths: Iterable[Path], store: Store, templates: Sequence[Template], engine: Engine, settings: Settings,
    on_page: Callable[[PageOutcome], None] = lambda _: None,
) -> BatchSummary:
    """Read every page of every file into the store. A bad file or page is recorded and skipped."""
    summary = BatchSummary(store.begin_batch())

    def done(outcome: PageOutcome) -> None:
        summary.outcomes.append(outcome)
        on_page(outcome)

    for path in expand(paths):
        try:
            for item in load_pages(path):
                done(_ingest_one(item, store, summary.batch_id, templates, engine, settings))
        except InputError as exc:
            store.record_failure(summary.batch_id, path.name, None, type(exc).__name__, exc.message)
            done(PageOutcome(path.name, None, "failed", exc.message))
    store.finish_batch(summary.batch_id, summary.count("ok"), summary.count("skipped"), summary.count("failed"))
    return summary


def _ingest_one(item: LoadedPage | PageFailure, store: Store, batch_id: int, templates: Sequence[Template],
                engine: Engine, settings: Settings) -> PageOutcome:
    if isinstance(item, PageFailure):
        store.record_failure(batch_id, item.source, item.page, type(item.error).__name__, item.error.message)
        return PageOutcome(item.source, item.page, "failed", item.error.message)
    if store.has_page(item.content_hash):
        return PageOutcome(item.source, item.page, "skipped", "déjà importée")
    try:
        result = read_page(item, templates, engine, settings)
    except PageError as exc:
        store.record_failure(batch_id, item.source, item.page, type(exc).__name__, exc.message)
        return PageOutcome(item.source, item.page, "failed", exc.message)
    except Exception as exc:  # noqa: BLE001 - one page's bug must not sink the batch
        log.exception("internal error on %s page %s", item.source, item.page)
        message = f"erreur interne ({type(exc).__name__}) ; la page est à reprendre"
        store.record_failure(batch_id, item.source, item.page, "InternalError", message)
        return PageOutcome(item.source, item.page, "failed", message)
    store.save_page(batch_id, result)
    signers = sum(1 for r in result.rows if not r.empty)
    pending = sum(1 for r in result.rows for c in r.cells if c.review_reason) + sum(
        1 for c in result.sender if c.review_reason
    )
    return PageOutcome(item.source, item.page, "ok", "", signers, pending, settings.doubtful_fit(result.geometry))
