"""Recognition benchmark: accuracy, review routing and speed on test-bench sheets whose handwriting fonts no
model trained on.

    .venv/bin/python benchmarks/recognition.py [--sheets 30] [--engine NAME] [--fonts validation] [--json]
        [--crossing SHARE,MM[,SIDE]]

1. Renders test sheets in HELD_OUT_FONTS (the character CNN and the line reader trained on EMNIST and on other
   fonts, never on these; the review thresholds were chosen on real EMNIST handwriting, see sheetscan/config.py).
   With `--fonts validation`, in VALIDATION_FONTS instead: no model trains on those either, and choices between
   models are made on them, so that the held-out fonts stay a test. With `--crossing 0.3,1.8`, 30 % of fields
   cross a grid line, by up to 1.8 mm past its centre (the default: 10 %, 0.9 mm); `--crossing 0.5,2.5,right`
   makes every crossing one of the right-hand line (else 60 % bottom, 20 % top, 20 % right).
2. Ingests them with the engine, timing the engine's CPU (this process and its child processes).
Prints per field kind: exact-match accuracy, blank/written accuracy, and with the default review thresholds
the share accepted without review, the residual error among those and its 95 % upper bound; then what
threshold these sheets themselves would have needed for --target (hindsight, for comparison only);
signed/unsigned accuracy; recognition CPU per sheet.
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
from sheetscan.synth import Crossing, generate
from sheetscan.synth.fill import HELD_OUT_FONTS, SLIGHT_CROSSING, VALIDATION_FONTS
from sheetscan.template import TEMPLATES_DIR, load_template

TEXT_KINDS = ["name", "postal_code", "birth_year", "email", "phone"]
FONT_SETS = {"held-out": HELD_OUT_FONTS, "validation": VALIDATION_FONTS}


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


def run(directory: Path, sheets: int, seed: int, fonts: Sequence[str], engine: TimedEngine,
        crossing: Crossing = SLIGHT_CROSSING) -> Report:
    template = load_template(TEMPLATES_DIR / "retour-hernandez-romero.json")
    generate(directory, sheets, seed, template, fonts=fonts, crossing=crossing)
    with Store(directory / "bench.db") as store:
        ingest([directory], store, [template], engine, Settings())
        return evaluate(store, directory)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sheets", type=int, default=30, help="test sheets")
    parser.add_argument("--fonts", choices=FONT_SETS, default="held-out")
    parser.add_argument("--seed", type=int, default=4243)
    parser.add_argument("--engine", default=Settings().engine)
    parser.add_argument("--target", type=float, default=0.005)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--crossing", type=Crossing.parse, default=SLIGHT_CROSSING, metavar="SHARE,MM[,SIDE]",
                        help="share of fields crossing a grid line, how far past it in mm, and only which line "
                             "(bottom, top or right)")
    args = parser.parse_args()

    fonts = FONT_SETS[args.fonts]
    engine = TimedEngine(make_engine(args.engine))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        test = run(Path(tmp) / "test", args.sheets, args.seed, fonts, engine, args.crossing)
    per_sheet = engine.cpu / max(1, engine.calls)

    rows = {}
    for kind in TEXT_KINDS:
        readings = [r for r in test.machine if r.kind == kind]
        [default] = tradeoff(readings, [Settings().threshold(FieldKind(kind))])
        kept = [r for r in readings if r.valid and r.confidence >= default.threshold]
        score = test.kinds.get(kind)
        d = score.as_dict() if score else {}
        rows[kind] = {
            "cells": len(readings), "exact": d.get("exact_rate", 0.0), "blank_written": d.get("presence_rate", 0.0),
            "threshold": default.threshold, "accepted": default.accepted, "residual": default.residual,
            "residual_bound95": residual_upper_bound(sum(not r.correct for r in kept), len(kept)),
        }
        hindsight = calibrate(readings, args.target, bound=False)
        [then] = tradeoff(readings, [hindsight])
        rows[kind] |= {"hindsight_threshold": hindsight, "hindsight_accepted": then.accepted}
    written = sum(r["cells"] for r in rows.values())
    accepted = sum(r["accepted"] * r["cells"] for r in rows.values()) / written if written else 0.0
    result = {
        "engine": engine.name, "sheets": args.sheets, "fonts": fonts,
        "signed": test.signed_right / test.signed_total if test.signed_total else 0.0,
        "recognition_cpu_s_per_sheet": per_sheet, "accepted_overall": accepted, "kinds": rows,
        "wall_s": time.perf_counter() - started,
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return
    crossing = "" if args.crossing == SLIGHT_CROSSING else (
        f", {args.crossing.share:.0%} of fields crossing a line by up to {args.crossing.max_mm} mm"
        f" (bottom, top, right: {args.crossing.sides})")
    print(f"Recognition — engine {engine.name}, {args.sheets} test sheets in {args.fonts} fonts {fonts}{crossing}")
    print(f"{'field':<12}{'cells':>7}{'exact':>8}{'blank/wr':>10}{'threshold':>11}{'accepted':>10}{'residual':>10}"
          f"{'(95 % bound)':>14}{'hindsight':>11}{'accepted':>10}")
    for kind, r in rows.items():
        print(f"{kind:<12}{r['cells']:>7}{r['exact']:>8.1%}{r['blank_written']:>10.2%}{r['threshold']:>11.7f}"
              f"{r['accepted']:>10.1%}{r['residual']:>10.2%}{r['residual_bound95']:>14.2%}"
              f"{r['hindsight_threshold']:>11.7f}{r['hindsight_accepted']:>10.1%}")
    print(f"signed/unsigned {result['signed']:.2%}; accepted without review {accepted:.1%} of written cells; "
          f"recognition CPU {per_sheet:.2f} s/sheet")
    print(f"hindsight: the lowest threshold that would have kept these sheets' residual <= {args.target:.1%}")


if __name__ == "__main__":
    main()
