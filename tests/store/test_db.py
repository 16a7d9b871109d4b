import sqlite3
from pathlib import Path

import pytest

from sheetscan.errors import StoreError
from sheetscan.store import Store
from sheetscan.store.db import _migrations


def test_migrations_run_once_and_set_the_version(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        latest = _migrations()[-1][0]
        assert store.schema_version == latest
        tables = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"batches", "pages", "page_failures", "signer_rows", "cells"} <= tables
    with Store(path) as again:  # reopening applies nothing twice
        assert again.schema_version == latest


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(StoreError, match="plus récente"):
        Store(path)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="illisible"):
        Store(path)


def test_review_state_is_constrained(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store, pytest.raises(sqlite3.IntegrityError):
        store.conn.execute("INSERT INTO batches (started_at) VALUES ('x')")
        store.conn.execute(
            "INSERT INTO pages (batch_id, source, page, content_hash, template, orientation_deg, skew_deg,"
            " residual_mm, matched_points, dpi, homography, page_jpeg, ingested_at)"
            " VALUES (1, 'a', 0, 'h', 't', 0, 0, 0, 0, 0, '[]', x'', 'now')"
        )
