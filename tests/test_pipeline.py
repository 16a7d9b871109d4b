"""The batch: pages in, rows and review queue out; bad input recorded, reruns idempotent."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from sheetscan.config import Settings
from sheetscan.fields import FieldKind, edit_distance
from sheetscan.pipeline import fit_template, ingest, read_page, spot_point
from sheetscan.records import CellReading, PageResult, ReviewReason
from sheetscan.stages.load import LoadedPage
from sheetscan.stages.recognize import CellImage, Reading
from sheetscan.store import Store
from sheetscan.template import Template
from tests.helpers import CrashingEngine, FakeEngine, fill_page

ROWS = {
    1: {"name": "MARIE COTE", "postal_code": "H2X 1Y4", "signature": "~", "birth_year": "1987"},
    2: {"name": "JEAN ROY", "postal_code": "H1A 2B3", "birth_year": "1950", "phone": "514 555 1234"},
    4: {"name": "ANNE LEBLANC"},
}
TEXTS = {"name": "MARIE COTE", "postal_code": "H2X1Y4", "birth_year": "1987", "phone": "(514) 555-1234",
         "email": "x@y.ca", "text": "GROUPE 1"}


@pytest.fixture(scope="module")
def page_png(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Path:
    path = tmp_path_factory.mktemp("scans") / "sheet.png"
    image = fill_page(template, ROWS)
    h, w = image.shape
    turned = cv2.warpAffine(image, cv2.getRotationMatrix2D((w / 2, h / 2), 1.5, 1.0), (w, h), borderValue=255)
    cv2.imwrite(str(path), np.ascontiguousarray(turned[::-1, ::-1]))  # upside down
    return path


def _loaded(path: Path) -> LoadedPage:
    return LoadedPage(path.name, 1, cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), None, "hash-1")


def test_rows_cells_and_review_reasons(page_png: Path, template: Template) -> None:
    result = read_page(_loaded(page_png), [template], FakeEngine(TEXTS), Settings(spot_check=0.0))
    assert result.geometry.orientation_deg == 180
    assert [r.number for r in result.rows if not r.empty] == [1, 2, 4]
    row1 = {c.field: c for c in result.rows[0].cells}
    assert row1["postal_code"].value == "H2X 1Y4" and row1["postal_code"].review_reason is None
    assert row1["signature"].value == "signed"
    assert row1["email"].written is False and row1["email"].review_reason is None  # optional, blank
    assert row1["name"].template == template.ref and row1["name"].engine == "fake-1"
    row2 = {c.field: c for c in result.rows[1].cells}
    assert row2["signature"].review_reason is ReviewReason.MISSING_REQUIRED
    assert row2["phone"].value == "514-555-1234"
    row4 = {c.field: c for c in result.rows[3].cells}
    assert row4["postal_code"].review_reason is ReviewReason.MISSING_REQUIRED
    assert row4["birth_year"].review_reason is ReviewReason.MISSING_REQUIRED
    empty_row = result.rows[2]
    assert empty_row.empty and all(c.review_reason is None for c in empty_row.cells)


def _email_on_the_line(template: Template, below_mm: float, row3: dict[str, str] | None = None
                       ) -> tuple[dict[str, CellReading], PageResult]:
    """Row 2 filled (and row 3 as given), row 2's e-mail written in large letters centred `below_mm` under the
    line below row 2."""
    from PIL import Image, ImageDraw, ImageFont

    dpi = 200
    rows = {2: {"name": "JEAN ROY", "postal_code": "H1A 2B3", "birth_year": "1950", "signature": "~"}}
    image = Image.fromarray(fill_page(template, rows | ({3: row3} if row3 else {}), dpi))
    x, y, _, h = template.cell_rect(2, "email")
    px = dpi / 25.4
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", int(9 * px))
    ImageDraw.Draw(image).text(((x + 2) * px, (y + h + below_mm) * px), "XY@A.CA", font=font, fill=0, anchor="lm")
    page = LoadedPage("line.png", 1, np.asarray(image), None, f"hash-{below_mm}")
    result = read_page(page, [template], FakeEngine(TEXTS), Settings(spot_check=0.0))
    return {c.field: c for c in result.rows[1].cells}, result


def test_writing_that_strays_into_an_empty_row_is_given_back_to_its_own_for_a_person_to_check(
    template: Template,
) -> None:
    row2, result = _email_on_the_line(template, 1.2)  # written low: the line runs through it, above its middle
    assert result.rows[2].empty  # most of its ink lies in row 3, but row 3 holds nothing else
    assert row2["email"].written and row2["email"].value == "x@y.ca"  # row 2 left its e-mail blank: it is row 2's
    assert row2["email"].review_reason is ReviewReason.SHARED_INK  # read, and a person checks whose it is
    tall, usual = (cv2.imdecode(np.frombuffer(c.crop_png, np.uint8), cv2.IMREAD_GRAYSCALE).shape[0]
                   for c in (row2["email"], row2["phone"]))
    assert tall > usual  # the reviewer sees past the line


def test_writing_across_a_line_into_a_written_row_stays_there_and_the_other_asks_a_person(template: Template) -> None:
    row2, result = _email_on_the_line(template, 1.2, row3={"name": "ANNE ROY", "birth_year": "1961"})
    row3 = {c.field: c for c in result.rows[2].cells}
    assert row3["email"].written and row3["email"].value == "x@y.ca"  # most of its ink lies in row 3, a signer's
    assert row2["email"].written and row2["email"].value is None  # but enough in row 2 to look written there:
    assert row2["email"].review_reason is ReviewReason.SHARED_INK  # not silently blank, not read as row 2's


def test_writing_reaching_into_an_empty_row_leaves_it_empty(template: Template) -> None:
    row2, result = _email_on_the_line(template, -1.2)  # most of it above the line, the rest well into row 3
    assert row2["email"].written and row2["email"].value == "x@y.ca" and row2["email"].review_reason is None
    assert result.rows[2].empty  # row 3 only holds the tail of row 2's e-mail: no phantom signer to review
    assert not any(c.written or c.review_reason for c in result.rows[2].cells)


def test_writing_that_runs_past_its_cells_right_hand_line_is_reviewed(template: Template) -> None:
    from PIL import Image, ImageDraw, ImageFont

    dpi = 200
    image = Image.fromarray(fill_page(template, {2: {"name": "JEAN ROY", "birth_year": "1950", "signature": "~"}},
                                      dpi))
    x, y, w, h = template.cell_rect(2, "postal_code")
    px = dpi / 25.4
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", int(6 * px))
    ImageDraw.Draw(image).text(((x + w - 12) * px, (y + h / 2) * px), "H2X 1Y4", font=font, fill=0, anchor="lm")
    page = LoadedPage("past.png", 1, np.asarray(image), None, "hash-past")
    row2 = {c.field: c for c in read_page(page, [template], FakeEngine(TEXTS), Settings(spot_check=0.0)).rows[1].cells}
    assert row2["postal_code"].value == "H2X 1Y4"  # read with full confidence ...
    assert row2["postal_code"].review_reason is ReviewReason.CUT_OFF  # ... but what lies past the line is unread
    assert row2["name"].review_reason is None


def test_spot_checks_draw_written_cells_whatever_their_confidence_the_same_way_every_time(
    page_png: Path, template: Template
) -> None:
    def read(share: float) -> dict[tuple[int | None, str], CellReading]:
        result = read_page(_loaded(page_png), [template], FakeEngine(TEXTS), Settings(spot_check=share))
        return {(c.row, c.field): c for row in result.rows for c in row.cells} | {
            (c.row, c.field): c for c in result.sender}

    everything, nothing, again = read(1.0), read(0.0), read(0.5)
    texts = [k for k, c in everything.items() if c.written and c.kind is not FieldKind.SIGNATURE]
    assert len(texts) == 8  # rows 1, 2 and 4 (ROWS)
    assert all(everything[k].review_reason is ReviewReason.SPOT_CHECK for k in texts)  # read at confidence 1
    assert not any(c.review_reason is ReviewReason.SPOT_CHECK for c in nothing.values())
    assert all(c.spot is None for c in everything.values() if not c.written or c.kind is FieldKind.SIGNATURE)
    drawn = {k for k in texts if again[k].review_reason is ReviewReason.SPOT_CHECK}
    assert drawn == {k for k in texts if everything[k].spot is not None and everything[k].spot < 0.5}
    assert [everything[k].spot for k in texts] == [again[k].spot for k in texts]  # same page, same draw


def test_the_spot_check_draw_is_uniform_across_pages_and_cells() -> None:
    points = [spot_point(f"page-{p}", row, key) for p in range(200) for row in [*range(1, 16), None]
              for key in ("name", "postal_code")]
    assert len(set(points)) == len(points)
    for share in (0.05, 0.5):
        assert abs(sum(p < share for p in points) / len(points) - share) < 0.01


def test_low_confidence_and_invalid_values_are_queued(page_png: Path, template: Template) -> None:
    texts = dict(TEXTS, postal_code="D2X 1Y4")
    result = read_page(_loaded(page_png), [template], FakeEngine(texts, confidence=0.3), Settings())
    row1 = {c.field: c for c in result.rows[0].cells}
    assert row1["postal_code"].review_reason is ReviewReason.INVALID
    assert row1["postal_code"].value is None and row1["postal_code"].error
    assert row1["name"].review_reason is ReviewReason.LOW_CONFIDENCE


def test_a_confidence_just_under_its_threshold_is_stored_as_it_was_judged(page_png: Path, template: Template) -> None:
    settings = Settings(review_threshold={FieldKind.NAME: 0.99999})
    result = read_page(_loaded(page_png), [template], FakeEngine(TEXTS, confidence=0.99996), settings)
    name = next(c for c in result.rows[0].cells if c.field == "name")
    assert name.review_reason is ReviewReason.LOW_CONFIDENCE
    assert name.confidence == 0.99996  # not rounded up to 1.0, which would read as "accepted" later


def test_batch_survives_bad_input_and_rerun_adds_nothing(page_png: Path, tmp_path: Path, template: Template) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "a.png").write_bytes(page_png.read_bytes())
    (batch / "b.pdf").write_bytes(b"%PDF-1.4 broken")
    cv2.imwrite(str(batch / "c.png"), np.full((1700, 1100), 255, np.uint8))
    (batch / "notes.txt").write_text("ignored: not a scan")
    with Store(tmp_path / "db.sqlite") as store:
        first = ingest([batch], store, [template], FakeEngine(TEXTS), Settings())
        assert [(o.source, o.status) for o in first.outcomes] == [
            ("a.png", "ok"), ("b.pdf", "failed"), ("c.png", "failed")
        ]
        counts = store.counts()
        second = ingest([batch], store, [template], FakeEngine(TEXTS), Settings())
        assert [o.status for o in second.outcomes] == ["skipped", "failed", "failed"]
        assert store.counts()["signer_rows"] == counts["signer_rows"] == 3
        assert store.counts()["cells"] == counts["cells"]


def test_an_engine_crash_fails_one_page_not_the_batch(page_png: Path, tmp_path: Path, template: Template) -> None:
    other = tmp_path / "other.png"
    other.write_bytes(page_png.read_bytes() + b"\x00")  # same image, different file bytes
    with Store(tmp_path / "db.sqlite") as store:
        summary = ingest([page_png, other], store, [template], CrashingEngine(), Settings())
        assert [o.status for o in summary.outcomes] == ["failed", "failed"]
        assert "erreur interne" in summary.outcomes[0].message
        assert store.counts()["pages"] == 0
        again = ingest([page_png], store, [template], FakeEngine(TEXTS), Settings())
        assert [o.status for o in again.outcomes] == ["ok"]


def test_a_wrong_declared_dpi_is_not_trusted(page_png: Path, template: Template) -> None:
    page = _loaded(page_png)
    lying = LoadedPage(page.source, 1, page.image, 72.0, "hash-2")  # a scanner's default, not the truth
    result = read_page(lying, [template], FakeEngine(TEXTS), Settings())
    assert result.geometry.dpi == pytest.approx(200, abs=5)
    assert [r.number for r in result.rows if not r.empty] == [1, 2, 4]


def test_a_plausible_but_wrong_declared_dpi_loses_to_the_measured_scale(page_png: Path, template: Template) -> None:
    page = _loaded(page_png)
    settings = Settings()
    for declared in (170.0, 230.0):  # near enough to be tried, far enough to fit badly
        lying = LoadedPage(page.source, 1, page.image, declared, "hash-3")
        _, geometry = fit_template(lying, [template], settings)
        assert geometry.dpi == pytest.approx(200, abs=3)
        assert not settings.doubtful_fit(geometry)


class _RowsEngine:
    """Reads the written cells in page order: each kind's texts one after the other; e-mails come with a
    network-like scorer (each letter away from what was read costs 5 nats)."""

    name = "rows-1"

    def __init__(self, texts: dict[FieldKind, list[str]]) -> None:
        self.texts = texts

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        queues = {kind: list(texts) for kind, texts in self.texts.items()}
        out = []
        for cell in cells:
            text = queues[cell.kind].pop(0) if queues.get(cell.kind) else ""
            scorer = (lambda values, t=text: [-5.0 * edit_distance(v, t) for v in values]) \
                if cell.kind is FieldKind.EMAIL else None
            out.append(Reading(text, 0.9, self.name, scorer))
        return out


def test_each_row_email_is_weighed_against_its_own_row_name(template: Template) -> None:
    rows = {1: {"name": "MARIE COTE", "birth_year": "1987", "email": "mariecote"},
            2: {"name": "JEAN ROY", "birth_year": "1950", "email": "jeanroy"}}
    page = LoadedPage("rows.png", 1, fill_page(template, rows), None, "hash-rows")
    engine = _RowsEngine({FieldKind.NAME: ["MARIE COTE", "JEAN ROY"], FieldKind.BIRTH_YEAR: ["1987", "1950"],
                          FieldKind.EMAIL: ["mariecote@y.ca", "jeanroy@y.ca"]})
    result = read_page(page, [template], engine, Settings())
    emails = [next(c for c in r.cells if c.field == "email") for r in result.rows[:2]]
    assert [e.value for e in emails] == ["marie.cote@y.ca", "jean.roy@y.ca"]  # a dot put back, rows not crossed
    assert all(e.engine == "rows-1+row-2" and e.review_reason is ReviewReason.LOW_CONFIDENCE for e in emails)
