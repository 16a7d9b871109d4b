"""Reader benchmark: how each reader of the combined engine reads test-bench sheets, writer by writer (font by
font), and how often its first two readers agree. Acceptance needs that agreement (but for a name PP-OCR alone
spells as the lexicon knows it), so this shows why a kind of field is accepted seldom: a second reader that cannot
read a hand, or two readers sure of the same mistake.

    .venv/bin/python benchmarks/readers.py [--sheets 20] [--seed 4243] [--fonts validation] [--json]

Renders the sheets as `benchmarks/recognition.py` does (the held-out fonts by default), reads every page with the
combined engine, and prints per font and field kind: cells, read exactly by each reader alone (after the field's
normaliser) and by the engine, how often the first two readers gave the same value and how often that value was
right, and how many the default thresholds accept (no spot checks) and how many of those are wrong. Nothing is
stored.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from recognition import FONT_SETS, TEXT_KINDS  # the sibling benchmark's: the same fields and font sets

from sheetscan.config import Settings
from sheetscan.fields import FieldKind, valid_value
from sheetscan.pipeline import INK_ENGINE, read_page
from sheetscan.records import CellReading
from sheetscan.stages.combined import CombinedEngine
from sheetscan.stages.engines import make_engine
from sheetscan.stages.load import LoadedPage, load_pages
from sheetscan.stages.recognize import CellImage, Engine, Reading
from sheetscan.synth import generate
from sheetscan.template import TEMPLATES_DIR, Template, load_template


@dataclass
class Recorder:
    """An engine that remembers what it read last: one of the combined engine's readers, watched."""

    inner: Engine
    last: list[tuple[CellImage, Reading]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.inner.name

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        out = self.inner.read(cells)
        self.last = list(zip(cells, out, strict=True))
        return out


@dataclass
class Tally:
    cells: int = 0
    alone: list[int] = field(default_factory=list)  # read exactly by each reader alone
    engine: int = 0  # read exactly by the combined engine (the value stored, accepted or prefilled for review)
    agree: int = 0  # the first two readers gave the same valid value
    agree_right: int = 0
    accepted: int = 0
    accepted_wrong: int = 0

    def add(self, truth: str, readers: list[str | None], cell: CellReading) -> None:
        if not self.alone:
            self.alone = [0] * len(readers)
        self.cells += 1
        for i, value in enumerate(readers):
            self.alone[i] += value == truth
        got = cell.value or cell.raw
        self.engine += got == truth
        if readers[0] is not None and readers[0] == readers[1]:
            self.agree += 1
            self.agree_right += readers[0] == truth
        if cell.review_reason is None:
            self.accepted += 1
            self.accepted_wrong += got != truth


def page_cells(page: LoadedPage, engine: CombinedEngine, readers: list[Recorder], settings: Settings,
               template: Template) -> list[tuple[CellReading, list[str | None]]]:
    """Each written text cell of the page as stored, with each reader's own value for it."""
    result = read_page(page, [template], engine, settings)
    cells = [c for row in result.rows for c in row.cells] + result.sender  # the order the cells were cut
    read = [c for c in cells if c.written and c.kind is not FieldKind.SIGNATURE and c.engine != INK_ENGINE]
    per_reader = [[valid_value(image.kind, r.text) for image, r in rec.last] for rec in readers]
    kinds = [image.kind for image, _ in readers[0].last]
    if [c.kind for c in read] != kinds:
        raise RuntimeError("cells and readings out of step")
    return [(cell, [values[i] for values in per_reader]) for i, cell in enumerate(read)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sheets", type=int, default=20)
    parser.add_argument("--seed", type=int, default=4243)
    parser.add_argument("--fonts", choices=FONT_SETS, default="held-out")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    built = make_engine("combined")
    assert isinstance(built, CombinedEngine)
    readers = [Recorder(r) for r in built.readers]
    engine = CombinedEngine(*readers)
    settings = Settings(spot_check=0)
    template = load_template(TEMPLATES_DIR / "retour-hernandez-romero.json")
    tallies: dict[tuple[str, str], Tally] = defaultdict(Tally)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        generate(out, args.sheets, args.seed, template, fonts=FONT_SETS[args.fonts])
        for truth_path in sorted(out.glob("sheet-*.json")):
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
            [page] = [p for p in load_pages(out / truth["file"]) if isinstance(p, LoadedPage)]
            by_place = {(c.row, c.field): (c, values)
                        for c, values in page_cells(page, engine, readers, settings, template)}
            for row in truth["rows"]:
                for key, entry in row.get("fields", {}).items():
                    if key in TEXT_KINDS and (row["row"], key) in by_place:
                        cell, values = by_place[(row["row"], key)]
                        tallies[(row["font"], key)].add(entry["value"], values, cell)

    if args.json:
        print(json.dumps({f"{font}/{kind}": vars(t) for (font, kind), t in sorted(tallies.items())}, indent=1))
        return
    names = [r.name.split("-")[0] for r in readers]
    print(f"Readers — {args.sheets} sheets, seed {args.seed}, {args.fonts} fonts; readers: {', '.join(names)}")
    print(f"{'font':<18}{'field':<13}{'cells':>6}" + "".join(f"{n[:9]:>10}" for n in names)
          + f"{'engine':>8}{'1st=2nd':>9}{'right':>7}{'accepted':>10}{'wrong':>7}")
    for (font, kind), t in sorted(tallies.items()):
        print(f"{font:<18}{kind:<13}{t.cells:>6}" + "".join(f"{a / t.cells:>10.0%}" for a in t.alone)
              + f"{t.engine / t.cells:>8.0%}{t.agree / t.cells:>9.0%}"
              + (f"{t.agree_right / t.agree:>7.0%}" if t.agree else f"{'-':>7}")
              + f"{t.accepted / t.cells:>10.0%}{t.accepted_wrong:>7}")
    print("1st=2nd: the first two readers gave the same value; right: how often that value was right. A value is "
          "accepted only when they agree, but for a name PP-OCR alone spells as the lexicon knows it.")


if __name__ == "__main__":
    main()
