import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from sheetscan.config import Settings
from sheetscan.fields import FieldKind
from sheetscan.review import synthetic
from sheetscan.store import Store
from sheetscan.store.db import StoredCell
from sheetscan.store.review import Change, ReviewStore

# Synthetic pages: accepted cells read at 0.9-1.0, cells queued for their confidence at 0.2-0.7.
NOTHING_MOVES = {kind: 0.8 for kind in FieldKind}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "queue.db") as s:
        synthetic.fill(s, pages=3, seed=3)
        yield s


@pytest.fixture
def store(db: Store) -> ReviewStore:
    return ReviewStore(db, clock=lambda: 1000.0)


def _cells(db: Store, kind: FieldKind) -> list[StoredCell]:
    return [c for c in db.cells() if c.kind == kind]


def test_a_raised_threshold_sends_accepted_cells_to_review(db: Store, store: ReviewStore) -> None:
    before = _cells(db, FieldKind.POSTAL_CODE)
    accepted = [c for c in before if c.review_state == "auto" and c.written]
    assert accepted
    moved = store.reroute(Settings(review_threshold={**NOTHING_MOVES, FieldKind.POSTAL_CODE: 0.95}))
    after = {c.id: c for c in _cells(db, FieldKind.POSTAL_CODE)}
    sent = [c for c in accepted if c.confidence < 0.95]
    assert moved.queued == len(sent) and moved.accepted == 0
    assert all(after[c.id].review_state == "pending" and after[c.id].review_reason == "low_confidence" for c in sent)
    assert all(after[c.id].review_state == "auto" for c in accepted if c.confidence >= 0.95)
    assert all(after[c.id].version == c.version + 1 for c in sent)  # a reviewer's stale view is refused


def test_a_lowered_threshold_accepts_cells_queued_only_for_their_confidence(db: Store, store: ReviewStore) -> None:
    queued = [c for c in _cells(db, FieldKind.NAME) if c.review_state == "pending"]
    unsure = [c for c in queued if c.review_reason == "low_confidence"]
    other = [c for c in queued if c.review_reason != "low_confidence"]
    assert unsure and other
    moved = store.reroute(Settings(review_threshold={**NOTHING_MOVES, FieldKind.NAME: 0.0}))
    after = {c.id: c for c in _cells(db, FieldKind.NAME)}
    assert moved.accepted == len(unsure) and moved.queued == 0
    assert all(after[c.id].review_state == "auto" and after[c.id].review_reason is None for c in unsure)
    assert all(after[c.id].review_state == "pending" for c in other)  # invalid or missing: still a person's job


@pytest.mark.parametrize("doubt", ["residual_mm = 5.0", "text_match = 0.1"])  # a poor fit, or not our form's text
def test_reviewed_held_and_doubtful_cells_stay_where_they_are(db: Store, store: ReviewStore, doubt: str) -> None:
    reviewer = store.add_reviewer("anne", "hash")
    queued = store.claim(reviewer, kind="phone", want=100)
    held = next(c for c in queued if c.review_reason == "low_confidence")
    reviewed = next(c for c in queued if c.review_reason == "low_confidence" and c is not held)
    store.apply(reviewer, [Change(reviewed.id, reviewed.version, "confirmed", reviewed.value)])
    for c in queued:
        if c is not held:
            store.release(reviewer, c.id)
    unsure = [c for c in _cells(db, FieldKind.PHONE)
              if c.review_reason == "low_confidence" and c.id not in (held.id, reviewed.id)]
    doubtful_page = unsure[0].page_id
    assert any(c.page_id != doubtful_page for c in unsure)
    db.conn.execute(f"UPDATE pages SET {doubt} WHERE id = ?", (doubtful_page,))
    store.reroute(Settings(review_threshold={**NOTHING_MOVES, FieldKind.PHONE: 0.0}))
    after = {c.id: c for c in _cells(db, FieldKind.PHONE)}
    assert after[held.id].review_state == "pending"  # a reviewer is looking at it
    assert after[reviewed.id].review_state == "confirmed"
    for c in unsure:  # the grid fit of a doubtful page needs a person's eye whatever the reading
        assert after[c.id].review_state == ("pending" if c.page_id == doubtful_page else "auto")


def test_rerouting_works_with_more_doubtful_pages_than_sqlite_binds_parameters(db: Store, store: ReviewStore) -> None:
    db.conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)  # some builds' limit (this one's may be higher)
    db.conn.execute(
        "INSERT INTO pages (batch_id, source, page, content_hash, template, orientation_deg, skew_deg, residual_mm,"
        " matched_points, dpi, homography, page_jpeg, ingested_at)"
        " WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)"
        " SELECT batch_id, source, page, content_hash || '-' || i, template, orientation_deg, skew_deg, 5.0,"
        " matched_points, dpi, homography, x'', ingested_at FROM n, (SELECT * FROM pages LIMIT 1)"
    )
    unsure = [c for c in _cells(db, FieldKind.PHONE) if c.review_reason == "low_confidence"]
    moved = store.reroute(Settings(review_threshold={**NOTHING_MOVES, FieldKind.PHONE: 0.0}))
    assert unsure and moved.accepted == len(unsure)


def test_a_blank_cell_is_never_sent_to_review(db: Store, store: ReviewStore) -> None:
    store.reroute(Settings(review_threshold={kind: 2.0 for kind in FieldKind}))  # above every confidence
    blanks = [c for c in db.cells() if not c.written]
    assert blanks and all(c.review_state == "auto" or c.review_reason == "missing_required" for c in blanks)


def _draw(db: Store, cells: list[StoredCell], spot: float) -> None:
    db.conn.executemany("UPDATE cells SET spot = ? WHERE id = ?", [(spot, c.id) for c in cells])


def test_a_raised_spot_check_share_sends_accepted_cells_it_draws_to_review(db: Store, store: ReviewStore) -> None:
    accepted = [c for c in _cells(db, FieldKind.POSTAL_CODE) if c.review_state == "auto" and c.written]
    drawn, spared = accepted[: len(accepted) // 2], accepted[len(accepted) // 2:]
    assert drawn and spared
    _draw(db, drawn, 0.04)
    _draw(db, spared, 0.5)
    thresholds = {**NOTHING_MOVES, FieldKind.POSTAL_CODE: 0.0}
    assert store.reroute(Settings(review_threshold=thresholds, spot_check=0.01)).queued == 0  # 0.04 not drawn
    moved = store.reroute(Settings(review_threshold=thresholds, spot_check=0.05))
    after = {c.id: c for c in _cells(db, FieldKind.POSTAL_CODE)}
    assert moved.queued == len(drawn) and moved.accepted == 0
    assert all(after[c.id].review_state == "pending" and after[c.id].review_reason == "spot_check" for c in drawn)
    assert all(after[c.id].review_state == "auto" for c in spared)
    # the share lowered again: the spot checks nobody has reviewed go back, the confident ones accepted
    moved = store.reroute(Settings(review_threshold=thresholds, spot_check=0.0))
    assert moved.accepted == len(drawn) and moved.queued == 0
    again = {c.id: c for c in _cells(db, FieldKind.POSTAL_CODE)}
    assert all(again[c.id].review_state == "auto" and again[c.id].review_reason is None for c in drawn)


def test_a_drawn_cell_stays_in_review_when_a_lowered_threshold_accepts_its_confidence(
    db: Store, store: ReviewStore
) -> None:
    unsure = [c for c in _cells(db, FieldKind.NAME) if c.review_reason == "low_confidence"]
    drawn, spared = unsure[:1], unsure[1:]
    assert spared
    _draw(db, drawn, 0.01)
    moved = store.reroute(Settings(review_threshold={**NOTHING_MOVES, FieldKind.NAME: 0.0}, spot_check=0.05))
    after = {c.id: c for c in _cells(db, FieldKind.NAME)}
    assert moved.accepted == len(spared)
    assert after[drawn[0].id].review_state == "pending" and after[drawn[0].id].review_reason == "spot_check"
