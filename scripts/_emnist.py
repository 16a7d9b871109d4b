"""Shared helpers for the hand-print scripts: load the EMNIST byclass tiles, the class scheme, the split.

Not part of the package: the run-time never reads EMNIST. Imported by `train_handprint.py` and
`make_handprint_fixture.py` (both put this folder on `sys.path` by being run as scripts).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "emnist-byclass-test"

# Lowercase letters whose hand-printed shape is the capital's, merged into the capital class (the same
# merge as EMNIST "balanced", minus i, j and l, kept apart because e-mail addresses need them).
MERGED_LOWERCASE = "ckmopsuvwxyz"
CLASSES: tuple[str, ...] = tuple(
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    + "".join(c for c in "abcdefghijklmnopqrstuvwxyz" if c not in MERGED_LOWERCASE)
)
HELDOUT_FRACTION = 0.15


@dataclass(frozen=True)
class Emnist:
    tiles: np.ndarray  # (N, 28, 28) uint8, white ink on black, upright
    chars: np.ndarray  # (N,) str: the original byclass character
    labels: np.ndarray  # (N,) int64: index into CLASSES


def class_of(char: str) -> int:
    return CLASSES.index(char.upper() if char in MERGED_LOWERCASE else char)


def load(data_dir: Path = DEFAULT_DATA_DIR) -> Emnist:
    meta = json.loads((data_dir / "test.json").read_text())
    size = int(meta["width"])
    parts = []
    for name in meta["files"]:
        first, last = (int(v) for v in re.findall(r"\d+", name)[-2:])
        img = np.asarray(Image.open(data_dir / name).convert("L"))
        rows, cols = img.shape[0] // size, img.shape[1] // size
        tiles = img.reshape(rows, size, cols, size).swapaxes(1, 2).reshape(-1, size, size)
        parts.append(tiles[: last - first + 1])
    tiles = np.concatenate(parts)
    mapping = [chr(code) for code in meta["mapping"]]
    chars = np.array([mapping[i] for i in meta["id"]])
    if len(chars) != len(tiles):
        raise ValueError(f"{len(tiles)} tiles but {len(chars)} labels in {data_dir}")
    labels = np.array([class_of(c) for c in chars], dtype=np.int64)
    return Emnist(tiles=tiles, chars=chars, labels=labels)


def heldout_mask(count: int) -> np.ndarray:
    """Deterministic ~15 % held-out split by a multiplicative hash of the character's index.

    The EMNIST test split carries no writer ids, so the split is by character, not by writer.
    """
    index = np.arange(count, dtype=np.uint64)
    hashed = (index * np.uint64(2654435761) + np.uint64(12345)) % np.uint64(2**32)
    return hashed.astype(np.float64) / 2**32 < HELDOUT_FRACTION
