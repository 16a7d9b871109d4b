"""Recognition benchmark: accuracy, calibrated review routing and speed, on test-bench sheets whose
handwriting fonts are held out from calibration.

    .venv/bin/python benchmarks/recognition.py [--sheets 30] [--engine NAME] [--json]

1. Renders two sets of sheets: a calibration set (CALIBRATION_FONTS) and a test set (HELD_OUT_FONTS, never
   used to choose anything).
2. Ingests both with the engine, timing the engine's CPU (this process and its child processes).
3. Chooses per field kind the lowest confidence threshold whose accepted values are wrong at most --target of
   the time on the calibration set, then applies those thresholds to the test set.
Prints per field kind on the test set: exact-match accuracy, blank/written accuracy, accepted share and
residual error with the calibrated thresholds; signed/unsigned accuracy; recognition CPU per sheet.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sheetscan.config import Settings
from sheetscan.evaluate import Report, calibrate, evaluate, residual_upper_bound, tradeoff
from sheetscan.fields import FieldKind
from sheetscan.pipeline import ingest
from sheetscan.stages.engines import make_engine
from sheetscan.stages.recognize import CellImage, Engine, Reading
from sheetscan.store import Store
from sheetscan.synth import generate
from sheetscan.synth.fill import CALIBRATION_FONTS, HELD_OUT_FONTS
from sheetscan.template import TEMPLATES_DIR, load_template

TEXT_KINDS = ["name", "postal_code", "birth_year", "email", "phone"]


@dataclass
class TimedEngine:
    """Wraps an engine and adds up its CPU time, including tesseract child processes."""

    inner: Engine
    cpu: float = 0.0
    calls: int = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        before = os.times()
        out = self.inner.read(cells)
        after = os.times()
        self.cpu += sum(a - b for a, b in zip(after[:4], before[:4], strict=True))
        self.calls += 1
        return out


def run(directory: Path, sheets: int, seed: int, fonts: Sequence[str], engine: TimedEngine) -> Report:
    template = load_template(TEMPLATES_DIR / "retour-hernandez-romero.json")
    generate(directory, sheets, seed, template, fonts=fonts)
    with Store(directory / "bench.db") as store:
        ingest([directory], store, [template], engine, Settings(review_threshold={}))
        return evaluate(store, directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sheets", type=int, default=30, help="test sheets (held-out fonts)")
    parser.add_argument("--calibration-sheets", type=int, default=60)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--engine", default=Settings().engine)
    parser.add_argument("--target", type=float, default=0.005)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    engine = TimedEngine(make_engine(args.engine))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        calib = run(Path(tmp) / "calibration", args.calibration_sheets, args.seed, CALIBRATION_FONTS, engine)
        engine.cpu, engine.calls = 0.0, 0
        test = run(Path(tmp) / "test", args.sheets, args.seed + 1, HELD_OUT_FONTS, engine)
    per_sheet = engine.cpu / max(1, engine.calls)

    rows = {}
    for kind in TEXT_KINDS:
        threshold = calibrate([r for r in calib.machine if r.kind == kind], args.target)
        readings = [r for r in test.machine if r.kind == kind]
        [point] = tradeoff(readings, [threshold])
        [default] = tradeoff(readings, [Settings().threshold(FieldKind(kind))])
        kept = [r for r in readings if r.valid and r.confidence >= default.threshold]
        bound = residual_upper_bound(sum(not r.correct for r in kept), len(kept))
        score = test.kinds.get(kind)
        d = score.as_dict() if score else {}
        rows[kind] = {
            "cells": len(readings), "exact": d.get("exact_rate", 0.0), "blank_written": d.get("presence_rate", 0.0),
            "threshold": threshold, "accepted": point.accepted, "residual": point.residual,
            "default_threshold": default.threshold, "default_accepted": default.accepted,
            "default_residual": default.residual, "default_residual_bound95": bound,
        }
    written = sum(r["cells"] for r in rows.values())
    accepted = sum(r["accepted"] * r["cells"] for r in rows.values()) / written if written else 0.0
    accepted_default = sum(r["default_accepted"] * r["cells"] for r in rows.values()) / written if written else 0.0
    result = {
        "engine": engine.name, "sheets": args.sheets, "held_out_fonts": HELD_OUT_FONTS,
        "signed": test.signed_right / test.signed_total if test.signed_total else 0.0,
        "recognition_cpu_s_per_sheet": per_sheet, "accepted_overall": accepted,
        "accepted_overall_default": accepted_default, "kinds": rows,
        "wall_s": time.perf_counter() - started,
    }
    result["thresholds_toml"] = "[review_threshold]\n" + "".join(
        f"{k} = {r['threshold']:.3f}\n" for k, r in rows.items()
    )
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print(f"Recognition — engine {engine.name}, {args.sheets} test sheets in held-out fonts {HELD_OUT_FONTS}")
    print(f"{'':<34}{'calibrated threshold':^31}{'default threshold':^31}")
    print(f"{'field':<12}{'cells':>7}{'exact':>7}{'blank/wr':>9}" + f"{'thr':>9}{'accepted':>11}{'residual':>11}" * 2
          + f"{'(95 % bound)':>14}")
    for kind, r in rows.items():
        print(f"{kind:<12}{r['cells']:>7}{r['exact']:>7.1%}{r['blank_written']:>9.2%}"
              f"{r['threshold']:>9.3f}{r['accepted']:>11.1%}{r['residual']:>11.2%}"
              f"{r['default_threshold']:>9.3f}{r['default_accepted']:>11.1%}{r['default_residual']:>11.2%}"
              f"{r['default_residual_bound95']:>14.2%}")
    print(f"signed/unsigned {result['signed']:.2%}; accepted overall {accepted:.1%} calibrated, "
          f"{accepted_default:.1%} default; "
          f"recognition CPU {per_sheet:.2f} s/sheet")
    print(f"Thresholds chosen on {args.calibration_sheets} calibration sheets (95 % bound <= {args.target:.1%}):")
    print(result["thresholds_toml"])


if __name__ == "__main__":
    main()
