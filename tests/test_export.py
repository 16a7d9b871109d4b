"""Export: what the campaign team opens in Excel every night."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from sheetscan.config import Settings
from sheetscan.export import export_file
from sheetscan.pipeline import ingest
from sheetscan.store import Store
from sheetscan.template import Template
from tests.helpers import FakeEngine, fill_page

TEXTS = {"name": "MARIE-ÈVE CÔTÉ", "postal_code": "H2X 1Y4", "birth_year": "1987", "email": "me@x.ca",
         "phone": "514 555 1234", "text": "=HYPERLINK(1)"}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory, template: Template) -> Path:
    import cv2

    root = tmp_path_factory.mktemp("export")
    full = {"name": "X", "postal_code": "X", "signature": "~", "birth_year": "X"}
    rows = {1: full, 2: full, 3: {"name": "X"}}  # row 3 lacks required fields -> held for review
    page = np.array(fill_page(template, rows))
    page[3090:3130, 300:700] = 0  # ink in the sender name box
    cv2.imwrite(str(root / "scan.png"), page)
    db = root / "db.sqlite"
    with Store(db) as store:
        ingest([root / "scan.png"], store, [template], FakeEngine(TEXTS), Settings())
    return db


def test_csv_for_excel(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "signataires.csv"
    with Store(store_path) as store:
        stats = export_file(store.signer_rows(), out, "csv", ";", include_pending=False)
    assert (stats.written, stats.held_back) == (2, 1)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 accents right
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["fichier", "page", "rangée", "prénom_nom"]
    assert rows[1][:9] == ["scan.png", "1", "1", "MARIE-ÈVE CÔTÉ", "H2X 1Y4", "oui", "1987", "", ""]
    assert rows[1][9] == "'=HYPERLINK(1)"  # never a live formula
    assert not (tmp_path / "signataires.csv.partial").exists()


def test_jsonl_carries_confidence_and_state(store_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "rows.jsonl"
    with Store(store_path) as store:
        stats = export_file(store.signer_rows(), out, "jsonl", ";", include_pending=True)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert stats.written == len(records) == 3
    name = records[0]["fields"]["name"]
    assert name["value"] == "MARIE-ÈVE CÔTÉ" and name["engine"] == "fake-1" and name["review_state"] == "auto"
    assert records[2]["complete"] is False
    assert records[2]["fields"]["postal_code"]["review_reason"] == "missing_required"
