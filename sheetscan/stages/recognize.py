"""Recognise hand-printed text in cut cells. Engines sit behind one Protocol and read a batch at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np

from sheetscan.fields import FieldKind

CELL_PX_PER_MM = 12.0  # canonical resolution of cut cells (~305 dpi)
# French accents are slanted strokes, a peaked one or dots: a long mark above a letter whose middle line rises
# less than this per pixel lies flat, and is a detached piece of the letter (an E's top bar), not an accent.
FLAT_MARK_SLOPE = 0.15


@dataclass(frozen=True)
class CellImage:
    """A written cell's interior: uint8 grey, dark ink on white, at CELL_PX_PER_MM, grid lines removed."""

    image: np.ndarray
    kind: FieldKind


@dataclass(frozen=True)
class Reading:
    text: str
    confidence: float  # 0..1: the engine's belief that `text` is exactly right
    engine: str  # name and version/config, stored as provenance
    # For a reader that can weigh other spellings of the same cell (a CTC network): the log probability of each
    # of some field values as its network saw the cell. Not stored; used to choose between values.
    spelling_scores: Callable[[Sequence[str]], list[float]] | None = field(default=None, compare=False, repr=False)
    voices: int = 1  # how many independent readers gave this value (the combined engine's agreement)
    aided: bool = False  # the name lexicon changed the letters the reader read (snapped a word to a known one)


class Engine(Protocol):
    @property
    def name(self) -> str: ...

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        """One reading per cell, same order. Must not raise on an odd cell: return confidence 0 instead."""
        ...


@contextmanager
def opencv_single_threaded() -> Iterator[None]:
    """OpenCV's thread pool costs more CPU than it saves on cell-sized images: readers run inside this
    (measured on full sheets of 75 cells: 1.78 -> 1.50 s of CPU with the readers of the time; wall time alike)."""
    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(previous)
