-- Batches of ingested files, pages read from them, rows and cells read from pages.
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    pages_ok INTEGER NOT NULL DEFAULT 0,
    pages_skipped INTEGER NOT NULL DEFAULT 0,
    pages_failed INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE pages (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    source TEXT NOT NULL,
    page INTEGER NOT NULL CHECK (page >= 1),
    content_hash TEXT NOT NULL UNIQUE,
    template TEXT NOT NULL,
    orientation_deg INTEGER NOT NULL,
    skew_deg REAL NOT NULL,
    residual_mm REAL NOT NULL,
    matched_points INTEGER NOT NULL,
    dpi REAL NOT NULL,
    homography TEXT NOT NULL,
    page_jpeg BLOB NOT NULL,
    ingested_at TEXT NOT NULL
);

-- A page that could not be read. Not in `pages`, so a rerun tries it again.
CREATE TABLE page_failures (
    id INTEGER PRIMARY KEY,
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    source TEXT NOT NULL,
    page INTEGER,
    error_kind TEXT NOT NULL,
    message TEXT NOT NULL,
    at TEXT NOT NULL
);

CREATE TABLE signer_rows (
    id INTEGER PRIMARY KEY,
    page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    number INTEGER NOT NULL CHECK (number >= 1),
    empty INTEGER NOT NULL CHECK (empty IN (0, 1)),
    UNIQUE (page_id, number)
);

CREATE TABLE cells (
    id INTEGER PRIMARY KEY,
    page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
    row_id INTEGER REFERENCES signer_rows(id) ON DELETE CASCADE,  -- NULL: sender block
    field TEXT NOT NULL,
    kind TEXT NOT NULL,
    required INTEGER NOT NULL CHECK (required IN (0, 1)),
    ink REAL NOT NULL,
    written INTEGER NOT NULL CHECK (written IN (0, 1)),
    raw TEXT NOT NULL,
    value TEXT,
    confidence REAL NOT NULL,
    engine TEXT NOT NULL,
    template TEXT NOT NULL,
    error TEXT,
    review_reason TEXT,
    review_state TEXT NOT NULL
        CHECK (review_state IN ('auto', 'pending', 'confirmed', 'corrected', 'blank', 'illegible')),
    version INTEGER NOT NULL DEFAULT 1,
    crop_png BLOB NOT NULL
);

CREATE INDEX cells_pending ON cells (review_state, kind);
CREATE INDEX cells_page ON cells (page_id);
