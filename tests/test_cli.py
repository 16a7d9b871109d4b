"""The command line as a volunteer uses it: messages, exit codes, files written."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from sheetscan.cli import cli
from sheetscan.review import synthetic
from sheetscan.store import Store
from sheetscan.template import TEMPLATES_DIR

TEMPLATE = TEMPLATES_DIR / "retour-hernandez-romero.json"


def test_template_check() -> None:
    result = CliRunner().invoke(cli, ["template", "check", str(TEMPLATE)])
    assert result.exit_code == 0 and "gabarit valide" in result.output


def test_template_check_reports_errors_with_exit_code(tmp_path: Path) -> None:
    data = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    data["version"] = 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(cli, ["template", "check", str(bad)])
    assert result.exit_code == 2
    assert "version" in result.output and "Erreur" in result.output


def test_template_render_is_true_size(tmp_path: Path) -> None:
    out = tmp_path / "vierge.pdf"
    result = CliRunner().invoke(cli, ["template", "render", str(TEMPLATE), "--out", str(out), "--dpi", "100"])
    assert result.exit_code == 0, result.output
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    size = next(line for line in info.splitlines() if line.startswith("Page size"))
    width, height = (float(v) for v in size.split()[2:5:2])
    assert abs(width - 792) < 1 and abs(height - 1224) < 1  # 11 x 17 in, in points


def test_synth_refuses_a_crossing_it_cannot_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["synth", "--out", str(tmp_path / "bench"), "--crossing", "0.3,1.8,left"])
    assert result.exit_code == 2 and "0.3,1.8,left" in result.output and "PART,MM" in result.output
    assert not (tmp_path / "bench").exists()


def test_ingest_reports_failed_pages_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "vide.png").write_bytes(b"")
    Image.fromarray(np.full((1700, 1100), 255, np.uint8)).save(tmp_path / "scans" / "blanche.png")
    db = tmp_path / "p.db"
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "scans"), "--db", str(db)])
    assert result.exit_code == 1
    assert "blanche.png p.1 : ÉCHEC — page blanche" in result.output
    assert "vide.png : ÉCHEC — vide.png : fichier vide" in result.output
    assert "0 page(s) lue(s)" in result.output and "2 en échec" in result.output
    queue = CliRunner().invoke(cli, ["queue", "--db", str(db)])
    assert queue.exit_code == 0 and "2 échec(s)" in queue.output and "File de révision vide" in queue.output


def test_a_missing_config_is_a_clear_error(tmp_path: Path) -> None:
    img = tmp_path / "x.png"
    Image.new("L", (10, 10), 255).save(img)
    result = CliRunner().invoke(cli, ["ingest", str(img), "--db", str(tmp_path / "p.db"), "--config", "nope.toml"])
    assert result.exit_code == 2 and "nope.toml" in result.output


def test_reroute_applies_changed_thresholds_to_the_stored_queue(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with Store(db) as store:
        synthetic.fill(store, pages=1, seed=2)
        pending = store.counts()["pending"]
    config = tmp_path / "seuils.toml"
    config.write_text("[review_threshold]\nname = 0.0\npostal_code = 0.0\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["reroute", "--db", str(db), "--config", str(config)])
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        left = store.counts()["pending"]
    # synthetic confidences (0.9-1.0) sit under the other kinds' default thresholds: those go to review
    queued, accepted = (int(n) for n in re.findall(r"\d+", result.output)[:2])
    assert accepted > 0 and queued > 0 and left == pending + queued - accepted
    assert "acceptée(s) sans révision" in result.output


def test_eval_measures_on_the_reviewed_spot_checks_or_asks_for_its_source(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with Store(db) as store:
        synthetic.fill(store, pages=1, seed=2)
        store.conn.execute("UPDATE cells SET spot = 0.01 WHERE written = 1 AND kind = 'birth_year'")
        drawn = store.conn.execute("SELECT COUNT(*) FROM cells WHERE spot IS NOT NULL").fetchone()[0]
    neither = CliRunner().invoke(cli, ["eval", "--db", str(db)])
    assert neither.exit_code == 2 and "--truth DOSSIER ou --reviews" in neither.output
    result = CliRunner().invoke(cli, ["eval", "--db", str(db), "--reviews"])
    assert result.exit_code == 0, result.output
    assert f"0 cellule(s) révisée(s) sur {drawn} tirée(s) ({drawn} encore à réviser" in result.output
