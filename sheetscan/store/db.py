"""The SQLite store: schema migrations, saving pages, the review queue summary, and reads for export/eval.

One file, WAL mode so reviewers and an ingest can work at once. Migrations are numbered SQL files in
`migrations/`, applied in order and recorded in `PRAGMA user_version`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sheetscan.errors import StoreError
from sheetscan.records import CellReading, PageResult

MIGRATIONS = Path(__file__).parent / "migrations"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _migrations() -> list[tuple[int, Path]]:
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        found.append((int(path.name.split("_", 1)[0]), path))
    return found


@dataclass(frozen=True)
class QueueCount:
    kind: str
    reason: str
    count: int


@dataclass(frozen=True)
class StoredCell:
    id: int
    page_id: int
    source: str
    page: int
    row: int | None
    field: str
    kind: str
    written: bool
    raw: str
    value: str | None
    confidence: float
    engine: str
    template: str
    error: str | None
    review_reason: str | None
    review_state: str
    version: int
    spot: float | None = None  # place in the spot-check draw (CellReading.spot)


@dataclass(frozen=True)
class SignerRow:
    """One non-empty grid row, with its cells by field key."""

    page_id: int
    source: str
    page: int
    number: int
    template: str
    cells: dict[str, StoredCell]
    sender: dict[str, StoredCell]

    @property
    def pending(self) -> bool:
        return any(c.review_state == "pending" for c in self.cells.values())


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self.conn.row_factory = sqlite3.Row
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA busy_timeout = 30000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: base de données illisible ({exc})") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------------------------
    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        known = _migrations()
        current = self.schema_version
        if known and current > known[-1][0]:
            raise StoreError(
                f"{self.path}: base créée par une version plus récente de sheetscan (schéma {current})"
            )
        for number, path in known:
            if number <= current:
                continue
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(path.read_text(encoding="utf-8")):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    # -- ingest ---------------------------------------------------------------------------------------
    def begin_batch(self) -> int:
        cur = self.conn.execute("INSERT INTO batches (started_at) VALUES (?)", (now(),))
        return int(cur.lastrowid or 0)

    def finish_batch(self, batch_id: int, ok: int, skipped: int, failed: int) -> None:
        self.conn.execute(
            "UPDATE batches SET finished_at = ?, pages_ok = ?, pages_skipped = ?, pages_failed = ? WHERE id = ?",
            (now(), ok, skipped, failed, batch_id),
        )

    def has_page(self, content_hash: str) -> bool:
        row = self.conn.execute("SELECT 1 FROM pages WHERE content_hash = ?", (content_hash,)).fetchone()
        return row is not None

    def record_failure(self, batch_id: int, source: str, page: int | None, kind: str, message: str) -> None:
        self.conn.execute(
            "INSERT INTO page_failures (batch_id, source, page, error_kind, message, at) VALUES (?, ?, ?, ?, ?, ?)",
            (batch_id, source, page, kind, message, now()),
        )

    def save_page(self, batch_id: int, result: PageResult) -> int:
        """Store a page, its rows and cells in one transaction; return the page id."""
        g = result.geometry
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            cur = self.conn.execute(
                "INSERT INTO pages (batch_id, source, page, content_hash, template, orientation_deg, skew_deg,"
                " residual_mm, matched_points, dpi, homography, page_jpeg, ingested_at,"
                " max_error_mm, grid_points, line_support, text_match)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    batch_id, result.source, result.page, result.content_hash, result.template,
                    g.orientation_deg, g.skew_deg, g.residual_mm, g.matched_points, g.dpi,
                    json.dumps(g.homography), result.page_jpeg, now(),
                    g.max_error_mm, g.grid_points, g.line_support, g.text_match,
                ),
            )
            page_id = int(cur.lastrowid or 0)
            for row in result.rows:
                cur = self.conn.execute(
                    "INSERT INTO signer_rows (page_id, number, empty) VALUES (?, ?, ?)",
                    (page_id, row.number, int(row.empty)),
                )
                row_id = int(cur.lastrowid or 0)
                for cell in row.cells:
                    self._insert_cell(page_id, row_id, cell)
            for cell in result.sender:
                self._insert_cell(page_id, None, cell)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        return page_id

    def _insert_cell(self, page_id: int, row_id: int | None, cell: CellReading) -> None:
        state = "pending" if cell.review_reason else "auto"
        self.conn.execute(
            "INSERT INTO cells (page_id, row_id, field, kind, required, ink, written, raw, value, confidence,"
            " engine, template, error, review_reason, review_state, spot, crop_png)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                page_id, row_id, cell.field, str(cell.kind), int(cell.required), cell.ink, int(cell.written),
                cell.raw, cell.value, cell.confidence, cell.engine, cell.template, cell.error,
                str(cell.review_reason) if cell.review_reason else None, state, cell.spot, cell.crop_png,
            ),
        )

    # -- reads ----------------------------------------------------------------------------------------
    def queue_summary(self) -> list[QueueCount]:
        rows = self.conn.execute(
            "SELECT kind, review_reason, COUNT(*) FROM cells WHERE review_state = 'pending'"
            " GROUP BY kind, review_reason ORDER BY kind, review_reason"
        ).fetchall()
        return [QueueCount(r[0], r[1], r[2]) for r in rows]

    def counts(self) -> dict[str, int]:
        one = self.conn.execute
        return {
            "pages": one("SELECT COUNT(*) FROM pages").fetchone()[0],
            "failures": one("SELECT COUNT(*) FROM page_failures").fetchone()[0],
            "signer_rows": one("SELECT COUNT(*) FROM signer_rows WHERE empty = 0").fetchone()[0],
            "cells": one("SELECT COUNT(*) FROM cells").fetchone()[0],
            "pending": one("SELECT COUNT(*) FROM cells WHERE review_state = 'pending'").fetchone()[0],
        }

    _CELL_SELECT = (
        "SELECT c.id, c.page_id, p.source, p.page, r.number AS row_number, c.field, c.kind, c.written, c.raw,"
        " c.value, c.confidence, c.engine, c.template, c.error, c.review_reason, c.review_state, c.version,"
        " c.spot FROM cells c JOIN pages p ON p.id = c.page_id LEFT JOIN signer_rows r ON r.id = c.row_id"
    )

    @staticmethod
    def _cell(r: sqlite3.Row) -> StoredCell:
        return StoredCell(
            id=r["id"], page_id=r["page_id"], source=r["source"], page=r["page"], row=r["row_number"],
            field=r["field"], kind=r["kind"], written=bool(r["written"]), raw=r["raw"], value=r["value"],
            confidence=r["confidence"], engine=r["engine"], template=r["template"], error=r["error"],
            review_reason=r["review_reason"], review_state=r["review_state"], version=r["version"],
            spot=r["spot"],
        )

    def cells(self) -> Iterator[StoredCell]:
        for r in self.conn.execute(self._CELL_SELECT + " ORDER BY p.source, p.page, c.id"):
            yield self._cell(r)

    def signer_rows(self) -> Iterator[SignerRow]:
        """Every non-empty grid row, in source/page/row order, with its sender block."""
        pages = self.conn.execute("SELECT id, source, page, template FROM pages ORDER BY source, page").fetchall()
        for p in pages:
            cells = [self._cell(r) for r in self.conn.execute(self._CELL_SELECT + " WHERE c.page_id = ?", (p[0],))]
            sender = {c.field: c for c in cells if c.row is None}
            empty = {
                r[0] for r in self.conn.execute(
                    "SELECT number FROM signer_rows WHERE page_id = ? AND empty = 1", (p[0],)
                )
            }
            by_row: dict[int, dict[str, StoredCell]] = {}
            for c in cells:
                if c.row is not None and c.row not in empty:
                    by_row.setdefault(c.row, {})[c.field] = c
            for number in sorted(by_row):
                yield SignerRow(p[0], p[1], p[2], number, p[3], by_row[number], sender)


def _split_sql(script: str) -> list[str]:
    """Split a migration file into statements (no semicolons inside literals in our migrations)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
