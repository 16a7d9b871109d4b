"""End to end in Debian's headless Chromium (Playwright, no browser download): keyboard review, sheet fix.

The scenarios read the queue from whatever database `review_db` holds, so the same functions run on a
database made by ingesting `samples/` (give them another `ReviewDb`).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright import sync_api as playwright_api
from werkzeug.serving import make_server

from sheetscan.config import Settings
from sheetscan.export import export_csv
from sheetscan.fields import FieldKind, validate
from sheetscan.pipeline import ingest
from sheetscan.review import create_app
from sheetscan.review.commands import QuietHandler
from sheetscan.review.outcome import SIGNATURE_TYPED, shown
from sheetscan.stages.engines import make_engine
from sheetscan.store import Store
from sheetscan.store.review import ReviewCell, ReviewStore
from sheetscan.template import installed_templates
from tests.review.conftest import add_reviewers
from tests.review.helpers import ReviewDb, copy_of

ROOT = Path(__file__).resolve().parents[2]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
# A valid replacement per kind, as a reviewer would type it.
TYPED = {
    "name": "Zoé Gagnon-Roy", "postal_code": "h3z2y7", "birth_year": "1975", "email": "Zoe.G@Exemple.ca",
    "phone": "(514) 555 0199", "signature": "oui", "text": "Comité Villeray",
}

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Expected:
    state: str
    value: str | None


def snapshot(db: ReviewDb) -> dict[int, ReviewCell]:
    with Store(db.path) as store:
        review = ReviewStore(store)
        sheets = [review.sheet(s.page_id) for s in review.sheets()]
    return {c.id: c for sheet in sheets if sheet for c in sheet.all_cells()}


def normalised(kind: str, typed: str) -> str:
    text = SIGNATURE_TYPED.get(typed.lower(), typed) if kind == FieldKind.SIGNATURE else typed
    return validate(FieldKind(kind), text)


@contextmanager
def serve(db: ReviewDb) -> Iterator[str]:
    app = create_app(db.path, secret_key=b"browser-test-secret-key-32-bytes", lease_seconds=300)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def live_url(review_db: ReviewDb) -> Iterator[str]:
    with serve(review_db) as url:
        yield url


@pytest.fixture(scope="module")
def _ingested_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two committed sample pages read by the real pipeline and the default engine."""
    path = tmp_path_factory.mktemp("samples") / "samples.db"
    with Store(path) as store:
        scans = [ROOT / "samples" / "sheet-0001.jpg", ROOT / "samples" / "sheet-0003.png"]
        summary = ingest(scans, store, installed_templates(), make_engine(Settings().engine), Settings())
    assert [o.status for o in summary.outcomes] == ["ok", "ok"]
    add_reviewers(path)
    return path


@pytest.fixture
def samples_db(_ingested_samples: Path, tmp_path: Path) -> ReviewDb:
    return copy_of(_ingested_samples, tmp_path)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(page: object, url: str, username: str, password: str) -> None:
    """Keyboard only: the user-name box has the focus on arrival."""
    page.goto(url + "/review")  # type: ignore[attr-defined]
    # autofocus lands once the page has settled; typing before that would lose keys
    page.wait_for_function("document.activeElement && document.activeElement.id === 'username'")  # type: ignore[attr-defined]
    page.keyboard.type(username)  # type: ignore[attr-defined]
    page.keyboard.press("Tab")  # type: ignore[attr-defined]
    page.keyboard.type(password)  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_selector("#cell-id, h1")  # type: ignore[attr-defined]


def current_id(page: object) -> int:
    found = page.query_selector("#cell-id")  # type: ignore[attr-defined]
    assert found is not None, page.text_content("body")  # type: ignore[attr-defined]
    return int(found.text_content())


def press(page: object, *keys: str) -> None:
    """Press keys; the last one submits and the next item loads."""
    for key in keys[:-1]:
        page.keyboard.press(key)  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.keyboard.press(keys[-1])  # type: ignore[attr-defined]


def keyboard_review(page: object, before: dict[int, ReviewCell], count: int) -> tuple[dict[int, Expected], int]:
    """Review `count` cells by keyboard: confirm, retype, blank, illegible in turn (after one skip).

    Returns what each reviewed cell should now hold and the keystrokes spent on confirmed cells.
    """
    expected: dict[int, Expected] = {}
    skipped = current_id(page)
    press(page, "Control+s")
    assert current_id(page) != skipped
    confirm_keys = 0
    for i in range(count):
        cell = before[current_id(page)]
        assert cell.review_state == "pending"
        assert page.evaluate("document.activeElement.id") == "value"  # type: ignore[attr-defined]
        plan = ("confirm", "retype", "blank", "illegible")[i % 4]
        if plan == "confirm" and cell.value is None:
            plan = "retype"  # an invalid reading cannot be confirmed without an override
        if plan == "confirm":
            press(page, "Enter")
            confirm_keys += 1
            expected[cell.id] = Expected("confirmed", cell.value)
        elif plan == "retype":
            typed = TYPED[cell.kind]
            page.keyboard.type(typed)  # type: ignore[attr-defined]  # replaces the selected reading
            press(page, "Enter")
            value = normalised(cell.kind, typed)
            expected[cell.id] = Expected("confirmed" if value == cell.value else "corrected", value)
        elif plan == "blank":
            press(page, "Control+b")
            expected[cell.id] = Expected("blank", None)
        else:
            press(page, "Control+i")
            expected[cell.id] = Expected("illegible", None)
    assert skipped not in expected
    return expected, confirm_keys


def fix_sheet(page: object, url: str, page_id: int, before: dict[int, ReviewCell]) -> dict[int, Expected]:
    """On the sheet page: rename one signer, empty a crossed-out row, mark unreadable readings `?`, save."""
    cells = [c for c in before.values() if c.page_id == page_id]
    written_rows = sorted({c.row for c in cells if c.row is not None and c.raw})
    renamed_row, crossed_row = written_rows[0], written_rows[1]
    page.goto(f"{url}/sheets/{page_id}")  # type: ignore[attr-defined]
    expected: dict[int, Expected] = {}
    for c in cells:
        was = shown(c)
        if c.row == crossed_row:
            if was or c.review_state == "pending":
                expected[c.id] = Expected("blank", None)
        elif c.row == renamed_row and c.field == "name":
            page.fill(f"input[name=c{c.id}]", "Anne-Marie  Lévesque")  # type: ignore[attr-defined]
            expected[c.id] = Expected("corrected", "ANNE-MARIE LÉVESQUE")
        elif c.review_state == "pending" and c.value is None and c.raw:
            page.fill(f"input[name=c{c.id}]", "?")  # type: ignore[attr-defined]
            expected[c.id] = Expected("illegible", None)
        elif c.review_state == "pending":
            expected[c.id] = Expected("confirmed" if c.value else "blank", c.value)
    page.click(f"tr[data-row='{crossed_row}'] button.clear-row")  # type: ignore[attr-defined]
    page.focus(f"input[name=c{cells[0].id}]")  # type: ignore[attr-defined]
    press(page, "Control+Enter")
    assert "Feuille enregistrée" in page.text_content("body")  # type: ignore[attr-defined]
    return expected


def assert_db_is(
    db: ReviewDb, before: dict[int, ReviewCell], expected: dict[int, Expected], audited_before: list[int]
) -> None:
    """Cells in `expected` hold it (one version on), every other cell is as `before`; one audit line each."""
    after = snapshot(db)
    for cell_id, cell in after.items():
        if cell_id in expected:
            assert (cell.review_state, cell.value) == (expected[cell_id].state, expected[cell_id].value), cell_id
            assert cell.version == before[cell_id].version + 1
        else:
            assert cell == before[cell_id], f"cell {cell_id} changed without being reviewed"
    with Store(db.path) as store:
        audited = [e.cell_id for e in ReviewStore(store).audit(limit=10_000)]
    assert sorted(audited) == sorted([*audited_before, *expected])


def test_keyboard_review_then_sheet_fix(review_db: ReviewDb, live_url: str, browser: object) -> None:
    confirm_keys = review_then_fix(review_db, live_url, browser)
    assert confirm_keys >= 1


@pytest.mark.slow
def test_keyboard_review_then_sheet_fix_on_ingested_samples(samples_db: ReviewDb, browser: object) -> None:
    with serve(samples_db) as url:
        review_then_fix(samples_db, url, browser)
    with Store(samples_db.path) as store:
        out = io.StringIO()
        export_csv(store.signer_rows(), out, include_pending=True)
    assert "ANNE-MARIE LÉVESQUE" in out.getvalue()


def review_then_fix(review_db: ReviewDb, live_url: str, browser: object) -> int:
    """Sign in, review ten cells by keyboard, fix a sheet; check the database after each. Returns the
    keystrokes spent on confirmed cells."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    sign_in(page, live_url, review_db.usernames[0], review_db.password)
    before = snapshot(review_db)

    expected, confirm_keys = keyboard_review(page, before, count=10)
    assert len(expected) == 10
    assert_db_is(review_db, before, expected, audited_before=[])

    mid = snapshot(review_db)
    sheet_id = max(c.page_id for c in mid.values())
    sheet_expected = fix_sheet(page, live_url, sheet_id, mid)
    assert_db_is(review_db, mid, sheet_expected, audited_before=list(expected))

    with Store(review_db.path) as store:
        out = io.StringIO()
        export_csv((r for r in store.signer_rows() if r.page_id == sheet_id), out)
    assert "ANNE-MARIE LÉVESQUE" in out.getvalue()
    context.close()
    return confirm_keys


def test_two_browsers_at_once_never_get_the_same_item(review_db: ReviewDb, live_url: str, browser: object) -> None:
    pages = []
    for username in review_db.usernames[:2]:
        context = browser.new_context()  # type: ignore[attr-defined]
        page = context.new_page()
        sign_in(page, live_url, username, review_db.password)
        pages.append(page)
    seen: list[set[int]] = [set(), set()]
    for _ in range(8):
        for who, page in enumerate(pages):
            seen[who].add(current_id(page))
            upcoming = page.get_attribute("#upcoming", "data-img")
            if upcoming:
                seen[who].add(int(upcoming.rsplit("/", 1)[1].split(".")[0]))
        assert not seen[0] & seen[1]
        for page in pages:
            press(page, "Control+b")
    assert not seen[0] & seen[1]
    for page in pages:
        page.context.close()
