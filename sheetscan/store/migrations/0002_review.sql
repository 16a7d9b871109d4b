-- The review layer: reviewer accounts, leases on queued cells, and the audit trail of every change.
CREATE TABLE reviewers (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,  -- argon2id, PHC string
    created_at TEXT NOT NULL
);

-- A cell handed to one reviewer until `expires_at` (unix seconds). At most one lease per cell.
CREATE TABLE leases (
    cell_id INTEGER PRIMARY KEY REFERENCES cells(id) ON DELETE CASCADE,
    reviewer_id INTEGER NOT NULL REFERENCES reviewers(id) ON DELETE CASCADE,
    leased_at REAL NOT NULL,
    expires_at REAL NOT NULL
);

CREATE INDEX leases_reviewer ON leases (reviewer_id, leased_at);

-- One line per change a reviewer made to a cell: who, when, from what to what.
CREATE TABLE review_audit (
    id INTEGER PRIMARY KEY,
    cell_id INTEGER NOT NULL REFERENCES cells(id) ON DELETE CASCADE,
    reviewer_id INTEGER NOT NULL REFERENCES reviewers(id),
    at TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('confirm', 'correct', 'blank', 'illegible')),
    old_value TEXT,
    new_value TEXT,
    old_state TEXT NOT NULL,
    new_state TEXT NOT NULL,
    override INTEGER NOT NULL DEFAULT 0 CHECK (override IN (0, 1)),
    override_reason TEXT  -- the rule the kept value breaks (French), when override = 1
);

CREATE INDEX review_audit_cell ON review_audit (cell_id);

ALTER TABLE cells ADD COLUMN reviewed_by INTEGER REFERENCES reviewers(id);
ALTER TABLE cells ADD COLUMN reviewed_at TEXT;
ALTER TABLE cells ADD COLUMN override INTEGER NOT NULL DEFAULT 0 CHECK (override IN (0, 1));

-- The queue walk: pending cells in id order, optionally one kind.
CREATE INDEX cells_queue ON cells (review_state, kind, id);
CREATE INDEX cells_queue_all ON cells (review_state, id);
