"""End to end on a committed sample page with the real engine, against a golden export.

Regenerate the golden file after a deliberate change: SHEETSCAN_UPDATE_GOLDEN=1 pytest tests/test_e2e_samples.py
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from sheetscan.cli import cli

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "sheet-0001.csv"
# Columns that do not depend on the text engine: provenance, signature, presence of each field.
STABLE = ["fichier", "page", "rangée", "signature", "gabarit"]

pytestmark = [pytest.mark.tesseract, pytest.mark.slow]


def _export(tmp_path: Path) -> str:
    db, out = tmp_path / "e2e.db", tmp_path / "out.csv"
    runner = CliRunner()
    ingest = runner.invoke(cli, ["ingest", str(ROOT / "samples" / "sheet-0001.jpg"), "--db", str(db)])
    assert ingest.exit_code == 0, ingest.output
    again = runner.invoke(cli, ["ingest", str(ROOT / "samples" / "sheet-0001.jpg"), "--db", str(db)])
    assert "déjà importée" in again.output
    export = runner.invoke(cli, ["export", "--db", str(db), "--out", str(out), "--all"])
    assert export.exit_code == 0, export.output
    return out.read_text(encoding="utf-8-sig")


def test_sample_page_matches_golden_export(tmp_path: Path) -> None:
    got = _export(tmp_path)
    if os.environ.get("SHEETSCAN_UPDATE_GOLDEN"):
        GOLDEN.write_text(got, encoding="utf-8")
    want = GOLDEN.read_text(encoding="utf-8")
    got_rows = list(csv.DictReader(io.StringIO(got), delimiter=";"))
    want_rows = list(csv.DictReader(io.StringIO(want), delimiter=";"))
    assert [{k: r[k] for k in STABLE} for r in got_rows] == [{k: r[k] for k in STABLE} for r in want_rows]
    assert got == want


def test_every_sample_page_is_read_and_scored(tmp_path: Path) -> None:
    db = tmp_path / "all.db"
    runner = CliRunner()
    ingest = runner.invoke(cli, ["ingest", str(ROOT / "samples"), "--db", str(db)])
    assert ingest.exit_code == 0, ingest.output
    assert "7 page(s) lue(s)" in ingest.output and "0 en échec" in ingest.output
    assert "ATTENTION" not in ingest.output  # lot-scanner.tif declares one dpi for two pages scanned at two
    scored = runner.invoke(cli, ["eval", "--db", str(db), "--truth", str(ROOT / "samples"), "--json"])
    report = json.loads(scored.output)
    assert report["pages_found"] == report["pages_truth"] == 7
    assert report["signed_rate"] > 0.95
    assert report["kinds"]["birth_year"]["exact_rate"] > 0.8  # a floor that catches a broken reader, not a target
