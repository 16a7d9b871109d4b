"""The review queue's SQL: reviewer accounts, leases, saves with optimistic concurrency, audit, progress.

`ReviewStore` wraps a `Store` (one per request in the web app). Every write runs in one `BEGIN IMMEDIATE`
transaction, so two reviewers claiming at the same moment are serialised by SQLite and never get the same
cell, and a save whose `version` is no longer the cell's is refused rather than applied.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sheetscan.config import Settings
from sheetscan.errors import DuplicateReviewer, HeldByOther, StaleSave, UnknownCell
from sheetscan.records import ReviewReason
from sheetscan.store.db import Store, now

REVIEWED_STATES = ("confirmed", "corrected", "blank", "illegible")
ACTION_OF_STATE = {"confirmed": "confirm", "corrected": "correct", "blank": "blank", "illegible": "illegible"}


@dataclass(frozen=True)
class Rerouted:
    queued: int  # cells the machine had accepted, now sent to review
    accepted: int  # cells queued for their confidence alone or a spot check, now accepted


@dataclass(frozen=True)
class Reviewer:
    id: int
    username: str
    password_hash: str


@dataclass(frozen=True)
class ReviewCell:
    """A cell as the review pages need it."""

    id: int
    page_id: int
    source: str
    page: int
    row: int | None  # None: sender block
    field: str
    kind: str
    raw: str
    value: str | None
    confidence: float
    template: str
    error: str | None
    review_reason: str | None
    review_state: str
    version: int
    override: bool


@dataclass(frozen=True)
class KindCount:
    kind: str
    count: int


@dataclass(frozen=True)
class SheetRow:
    number: int
    empty: bool
    cells: dict[str, ReviewCell]  # by field key


@dataclass(frozen=True)
class Sheet:
    page_id: int
    source: str
    page: int
    template: str
    rows: list[SheetRow]
    sender: dict[str, ReviewCell]

    def all_cells(self) -> Iterator[ReviewCell]:
        for row in self.rows:
            yield from row.cells.values()
        yield from self.sender.values()


@dataclass(frozen=True)
class SheetSummary:
    page_id: int
    source: str
    page: int
    pending: int
    reviewed: int


@dataclass(frozen=True)
class Change:
    """A reviewer's decision on one cell, checked against the version they saw."""

    cell_id: int
    expected_version: int
    new_state: str  # one of REVIEWED_STATES
    new_value: str | None
    override_reason: str | None = None  # set when the reviewer kept a value that breaks its kind's rule


@dataclass(frozen=True)
class AuditEntry:
    at: str
    username: str
    cell_id: int
    source: str
    page: int
    row: int | None
    field: str
    action: str
    old_value: str | None
    new_value: str | None
    old_state: str
    new_state: str
    override: bool
    override_reason: str | None


_CELL_SELECT = (
    "SELECT c.id, c.page_id, p.source, p.page, r.number AS row_number, c.field, c.kind, c.raw, c.value,"
    " c.confidence, c.template, c.error, c.review_reason, c.review_state, c.version, c.override"
    " FROM cells c JOIN pages p ON p.id = c.page_id LEFT JOIN signer_rows r ON r.id = c.row_id"
)


def _cell(r: sqlite3.Row) -> ReviewCell:
    return ReviewCell(
        id=r["id"], page_id=r["page_id"], source=r["source"], page=r["page"], row=r["row_number"],
        field=r["field"], kind=r["kind"], raw=r["raw"], value=r["value"], confidence=r["confidence"],
        template=r["template"], error=r["error"], review_reason=r["review_reason"],
        review_state=r["review_state"], version=r["version"], override=bool(r["override"]),
    )


class ReviewStore:
    def __init__(self, store: Store, lease_seconds: float = 300, clock: Callable[[], float] = time.time) -> None:
        self.conn = store.conn
        self.lease_seconds = lease_seconds
        self.clock = clock

    @contextmanager
    def _write(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    # -- reviewers ------------------------------------------------------------------------------------
    def add_reviewer(self, username: str, password_hash: str) -> int:
        try:
            cur = self.conn.execute(
                "INSERT INTO reviewers (username, password_hash, created_at) VALUES (?, ?, ?)",
                (username, password_hash, now()),
            )
        except sqlite3.IntegrityError:
            raise DuplicateReviewer(username) from None
        return int(cur.lastrowid or 0)

    def set_password(self, reviewer_id: int, password_hash: str) -> None:
        self.conn.execute("UPDATE reviewers SET password_hash = ? WHERE id = ?", (password_hash, reviewer_id))

    def reviewer_by_name(self, username: str) -> Reviewer | None:
        r = self.conn.execute(
            "SELECT id, username, password_hash FROM reviewers WHERE username = ?", (username,)
        ).fetchone()
        return Reviewer(r[0], r[1], r[2]) if r else None

    def reviewer(self, reviewer_id: int) -> Reviewer | None:
        r = self.conn.execute(
            "SELECT id, username, password_hash FROM reviewers WHERE id = ?", (reviewer_id,)
        ).fetchone()
        return Reviewer(r[0], r[1], r[2]) if r else None

    # -- reads ----------------------------------------------------------------------------------------
    def cell(self, cell_id: int) -> ReviewCell | None:
        r = self.conn.execute(_CELL_SELECT + " WHERE c.id = ?", (cell_id,)).fetchone()
        return _cell(r) if r else None

    def crop_png(self, cell_id: int) -> bytes | None:
        r = self.conn.execute("SELECT crop_png FROM cells WHERE id = ?", (cell_id,)).fetchone()
        return bytes(r[0]) if r else None

    def page_jpeg(self, page_id: int) -> bytes | None:
        r = self.conn.execute("SELECT page_jpeg FROM pages WHERE id = ?", (page_id,)).fetchone()
        return bytes(r[0]) if r else None

    def row_crops(self, page_id: int, row: int | None) -> list[bytes]:
        """The crops of one grid row (or of the sender block), left to right as stored."""
        if row is None:
            rows = self.conn.execute(
                "SELECT crop_png FROM cells WHERE page_id = ? AND row_id IS NULL ORDER BY id", (page_id,)
            )
        else:
            rows = self.conn.execute(
                "SELECT c.crop_png FROM cells c JOIN signer_rows r ON r.id = c.row_id"
                " WHERE c.page_id = ? AND r.number = ? ORDER BY c.id",
                (page_id, row),
            )
        return [bytes(r[0]) for r in rows]

    def remaining_by_kind(self) -> list[KindCount]:
        rows = self.conn.execute(
            "SELECT kind, COUNT(*) FROM cells WHERE review_state = 'pending' GROUP BY kind ORDER BY kind"
        ).fetchall()
        return [KindCount(r[0], r[1]) for r in rows]

    def sheets(self, limit: int = 1000) -> list[SheetSummary]:
        rows = self.conn.execute(
            "SELECT p.id, p.source, p.page,"
            " COALESCE(SUM(c.review_state = 'pending'), 0),"
            " COALESCE(SUM(c.review_state IN ('confirmed', 'corrected', 'blank', 'illegible')), 0)"
            " FROM pages p LEFT JOIN cells c ON c.page_id = p.id"
            " GROUP BY p.id ORDER BY p.source, p.page LIMIT ?",
            (limit,),
        ).fetchall()
        return [SheetSummary(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def sheet(self, page_id: int) -> Sheet | None:
        p = self.conn.execute("SELECT id, source, page, template FROM pages WHERE id = ?", (page_id,)).fetchone()
        if p is None:
            return None
        cells = [_cell(r) for r in self.conn.execute(_CELL_SELECT + " WHERE c.page_id = ? ORDER BY c.id", (page_id,))]
        by_row: dict[int, dict[str, ReviewCell]] = {}
        for c in cells:
            if c.row is not None:
                by_row.setdefault(c.row, {})[c.field] = c
        empty = dict(
            self.conn.execute("SELECT number, empty FROM signer_rows WHERE page_id = ?", (page_id,)).fetchall()
        )
        rows = [SheetRow(n, bool(empty.get(n, 0)), by_row.get(n, {})) for n in sorted(set(empty) | set(by_row))]
        sender = {c.field: c for c in cells if c.row is None}
        return Sheet(p[0], p[1], p[2], p[3], rows, sender)

    def audit(self, limit: int = 200, cell_id: int | None = None) -> list[AuditEntry]:
        where = "WHERE a.cell_id = ?" if cell_id is not None else ""
        params: tuple[int, ...] = (cell_id, limit) if cell_id is not None else (limit,)
        rows = self.conn.execute(
            "SELECT a.at, v.username, a.cell_id, p.source, p.page, r.number, c.field, a.action, a.old_value,"
            " a.new_value, a.old_state, a.new_state, a.override, a.override_reason"
            " FROM review_audit a JOIN reviewers v ON v.id = a.reviewer_id JOIN cells c ON c.id = a.cell_id"
            " JOIN pages p ON p.id = c.page_id LEFT JOIN signer_rows r ON r.id = c.row_id"
            f" {where} ORDER BY a.id DESC LIMIT ?",
            params,
        ).fetchall()
        return [
            AuditEntry(
                at=r[0], username=r[1], cell_id=r[2], source=r[3], page=r[4], row=r[5], field=r[6], action=r[7],
                old_value=r[8], new_value=r[9], old_state=r[10], new_state=r[11], override=bool(r[12]),
                override_reason=r[13],
            )
            for r in rows
        ]

    # -- leases ---------------------------------------------------------------------------------------
    def claim(
        self, reviewer_id: int, kind: str | None = None, want: int = 2, skipped: Sequence[int] = ()
    ) -> list[ReviewCell]:
        """The reviewer's current item and the next ones (up to `want`), leased to them.

        Items already leased to the reviewer come first, in the order they were leased; more are taken
        lowest id first, leaving out the ones the reviewer `skipped` unless nothing else is left. Leases of
        other reviewers are never taken while they live; expired ones are dropped first.
        """
        t = self.clock()
        expires = t + self.lease_seconds
        with self._write():
            self.conn.execute("DELETE FROM leases WHERE expires_at <= ?", (t,))
            self.conn.execute(
                "DELETE FROM leases WHERE cell_id IN (SELECT l.cell_id FROM leases l JOIN cells c ON c.id = l.cell_id"
                " WHERE l.reviewer_id = ? AND (c.review_state != 'pending' OR (? IS NOT NULL AND c.kind != ?)))",
                (reviewer_id, kind, kind),
            )
            held = [
                r[0] for r in self.conn.execute(
                    "SELECT cell_id FROM leases WHERE reviewer_id = ? ORDER BY leased_at, cell_id LIMIT ?",
                    (reviewer_id, want),
                )
            ]
            if len(held) < want:
                for cell_id in self._free(kind, want - len(held), skipped):
                    self.conn.execute(
                        "INSERT INTO leases (cell_id, reviewer_id, leased_at, expires_at) VALUES (?, ?, ?, ?)",
                        (cell_id, reviewer_id, t + len(held) * 1e-6, expires),
                    )
                    held.append(cell_id)
            self.conn.execute("UPDATE leases SET expires_at = ? WHERE reviewer_id = ?", (expires, reviewer_id))
        items = [self.cell(cell_id) for cell_id in held]
        return [c for c in items if c is not None]

    def _free(self, kind: str | None, count: int, skipped: Sequence[int]) -> list[int]:
        """Up to `count` pending cells nobody holds, lowest id first, the skipped ones last."""
        sql = "SELECT c.id FROM cells c WHERE c.review_state = 'pending'"
        params: list[object] = []
        if kind is not None:
            sql += " AND c.kind = ?"
            params.append(kind)
        sql += " AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.cell_id = c.id)"
        skip_sql = f" AND c.id NOT IN ({', '.join('?' * len(skipped))})" if skipped else ""
        found = [r[0] for r in self.conn.execute(sql + skip_sql + " ORDER BY c.id LIMIT ?", [*params, *skipped, count])]
        if len(found) < count and skipped:
            found += [
                r[0] for r in self.conn.execute(
                    sql + f" AND c.id IN ({', '.join('?' * len(skipped))}) ORDER BY c.id LIMIT ?",
                    [*params, *skipped, count - len(found)],
                )
            ]
        return found

    def lease_page(self, reviewer_id: int, page_id: int) -> None:
        """Lease the page's pending cells that nobody else holds (review by sheet)."""
        t = self.clock()
        with self._write():
            self.conn.execute("DELETE FROM leases WHERE expires_at <= ?", (t,))
            self.conn.execute(
                "INSERT OR IGNORE INTO leases (cell_id, reviewer_id, leased_at, expires_at)"
                " SELECT id, ?, ?, ? FROM cells WHERE page_id = ? AND review_state = 'pending'",
                (reviewer_id, t, t + self.lease_seconds, page_id),
            )
            self.conn.execute(
                "UPDATE leases SET expires_at = ? WHERE reviewer_id = ?"
                " AND cell_id IN (SELECT id FROM cells WHERE page_id = ?)",
                (t + self.lease_seconds, reviewer_id, page_id),
            )

    def release(self, reviewer_id: int, cell_id: int) -> None:
        self.conn.execute("DELETE FROM leases WHERE cell_id = ? AND reviewer_id = ?", (cell_id, reviewer_id))

    def release_page(self, reviewer_id: int, page_id: int) -> None:
        self.conn.execute(
            "DELETE FROM leases WHERE reviewer_id = ? AND cell_id IN (SELECT id FROM cells WHERE page_id = ?)",
            (reviewer_id, page_id),
        )

    def lease_holder(self, cell_id: int) -> int | None:
        r = self.conn.execute(
            "SELECT reviewer_id FROM leases WHERE cell_id = ? AND expires_at > ?", (cell_id, self.clock())
        ).fetchone()
        return r[0] if r else None

    # -- thresholds -----------------------------------------------------------------------------------
    def reroute(self, settings: Settings) -> Rerouted:
        """The review thresholds and the spot-check share applied again to the cells nobody has reviewed
        (after a change of settings): a written cell the machine accepted goes to review when its confidence is
        now under its kind's threshold, or when the spot-check draw now takes it; one queued only for its
        confidence or for a spot check is accepted when it now reaches the threshold and is not drawn, unless a
        reviewer holds it or its page's grid fit is doubtful by these settings. Reviewed cells never move."""
        t = self.clock()
        low, spot = str(ReviewReason.LOW_CONFIDENCE), str(ReviewReason.SPOT_CHECK)
        share = settings.spot_check
        queued = accepted = 0
        self.conn.create_function("doubtful", 2, settings.doubtful, deterministic=True)  # the rule, in SQL
        settled = (" AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.cell_id = cells.id AND l.expires_at > ?)"
                   " AND page_id NOT IN (SELECT id FROM pages WHERE doubtful(residual_mm, text_match))")
        with self._write():
            # spot checks the draw no longer takes are judged by their confidence alone, below
            self.conn.execute(
                "UPDATE cells SET review_reason = ? WHERE review_state = 'pending' AND review_reason = ?"
                " AND spot >= ?",
                (low, spot, share),
            )
            for kind, threshold in settings.review_threshold.items():
                queued += self.conn.execute(
                    "UPDATE cells SET review_state = 'pending', review_reason = ?, version = version + 1"
                    " WHERE review_state = 'auto' AND written = 1 AND kind = ? AND confidence < ?",
                    (low, str(kind), threshold),
                ).rowcount
                confident = "review_state = 'pending' AND review_reason = ? AND kind = ? AND confidence >= ?"
                self.conn.execute(
                    f"UPDATE cells SET review_reason = ? WHERE {confident} AND spot < ?" + settled,
                    (spot, low, str(kind), threshold, share, t),
                )
                accepted += self.conn.execute(
                    "UPDATE cells SET review_state = 'auto', review_reason = NULL, version = version + 1"
                    f" WHERE {confident} AND COALESCE(spot, 1) >= ?" + settled,
                    (low, str(kind), threshold, share, t),
                ).rowcount
            queued += self.conn.execute(
                "UPDATE cells SET review_state = 'pending', review_reason = ?, version = version + 1"
                " WHERE review_state = 'auto' AND written = 1 AND spot < ?",
                (spot, share),
            ).rowcount
        return Rerouted(queued, accepted)

    # -- saves ----------------------------------------------------------------------------------------
    def apply(self, reviewer_id: int, changes: Sequence[Change]) -> None:
        """Write every change or none: refuse if a cell moved past the version seen or another holds it."""
        t = self.clock()
        at = now()
        with self._write():
            stale: list[int] = []
            held: list[int] = []
            current: dict[int, sqlite3.Row] = {}
            for ch in changes:
                if ch.new_state not in REVIEWED_STATES:
                    raise ValueError(f"unknown review state {ch.new_state!r}")
                r = self.conn.execute(
                    "SELECT c.value, c.review_state, c.version, l.reviewer_id AS holder FROM cells c"
                    " LEFT JOIN leases l ON l.cell_id = c.id AND l.expires_at > ? WHERE c.id = ?",
                    (t, ch.cell_id),
                ).fetchone()
                if r is None:
                    raise UnknownCell(ch.cell_id)
                if r["version"] != ch.expected_version:
                    stale.append(ch.cell_id)
                elif r["holder"] is not None and r["holder"] != reviewer_id:
                    held.append(ch.cell_id)
                current[ch.cell_id] = r
            if stale:
                raise StaleSave(stale)
            if held:
                raise HeldByOther(held)
            for ch in changes:
                old = current[ch.cell_id]
                override = int(ch.override_reason is not None)
                self.conn.execute(
                    "UPDATE cells SET value = ?, review_state = ?, version = version + 1, reviewed_by = ?,"
                    " reviewed_at = ?, override = ? WHERE id = ? AND version = ?",
                    (ch.new_value, ch.new_state, reviewer_id, at, override, ch.cell_id, ch.expected_version),
                )
                self.conn.execute(
                    "INSERT INTO review_audit (cell_id, reviewer_id, at, action, old_value, new_value, old_state,"
                    " new_state, override, override_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        ch.cell_id, reviewer_id, at, ACTION_OF_STATE[ch.new_state], old["value"], ch.new_value,
                        old["review_state"], ch.new_state, override, ch.override_reason,
                    ),
                )
                self.conn.execute("DELETE FROM leases WHERE cell_id = ?", (ch.cell_id,))
