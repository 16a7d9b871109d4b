"""Write the hand-print test fixture: held-out EMNIST tiles as one PNG grid plus their labels.

    .venv/bin/python scripts/make_handprint_fixture.py [--data ../shared/data/emnist-byclass-test]

Picks, at random (fixed seed) among the characters `train_handprint.py` holds out of training, PER_DIGIT tiles
of each digit, PER_CAPITAL tiles of each capital letter and PER_LOWER of each lowercase letter (as EMNIST
labels them). Writes tests/fixtures/emnist_heldout_sample.png (a grid of 28x28 tiles, row-major, white ink on
black) and tests/fixtures/emnist_heldout_sample.json (`chars`, one per tile, and `source_index` in the EMNIST
test split).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _emnist
import numpy as np
from PIL import Image

FIXTURE = _emnist.REPO_ROOT / "tests" / "fixtures" / "emnist_heldout_sample"
PER_DIGIT = 5
PER_CAPITAL = 3
PER_LOWER = 3  # drawn after the others: adding them left the digits' and capitals' picks as they were
COLUMNS = 16
SEED = 7


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=_emnist.DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    data = _emnist.load(args.data)
    held = np.flatnonzero(_emnist.heldout_mask(len(data.chars)))
    rng = np.random.default_rng(SEED)
    picked: list[int] = []
    for chars, count in (("0123456789", PER_DIGIT), ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", PER_CAPITAL),
                         ("abcdefghijklmnopqrstuvwxyz", PER_LOWER)):
        for c in chars:
            pool = held[data.chars[held] == c]
            picked.extend(int(i) for i in rng.choice(pool, size=count, replace=False))
    rows = -(-len(picked) // COLUMNS)
    grid = np.zeros((rows * 28, COLUMNS * 28), np.uint8)
    for n, i in enumerate(picked):
        row, col = divmod(n, COLUMNS)
        grid[row * 28 : (row + 1) * 28, col * 28 : (col + 1) * 28] = data.tiles[i]
    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(FIXTURE.with_suffix(".png"), optimize=True)
    labels = {"chars": "".join(str(data.chars[i]) for i in picked), "source_index": picked, "tile": 28}
    FIXTURE.with_suffix(".json").write_text(json.dumps(labels) + "\n")
    print(f"wrote {len(picked)} tiles to {FIXTURE.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
