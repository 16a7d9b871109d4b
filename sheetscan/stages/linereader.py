"""The line reader: a small CTC network trained here on lines of real hand print, decoded like PP-OCR.

Trained by `scripts/train_linereader.py` from scratch on lines composed of EMNIST characters (real hand print by
thousands of writers) and lines written in handwriting-like fonts (never the bench's held-out ones), its names in
block capitals and, as some signers write them anyway, in lower or title case; no weights from elsewhere. It has
PP-OCR's interface (a 48-pixel-high line in, one column of character probabilities per 8 pixels out), so the
same field-constrained decoding (`ppocr.PpocrEngine.decode`) reads its output. Its value is as an independent
voice: different data, different network, different mistakes; where it and PP-OCR agree, they are rarely both
wrong.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from sheetscan.stages.ppocr import DECODER_VERSION, STRIDE, PpocrEngine, _Line

MODEL = Path(__file__).resolve().parent.parent / "models" / "linereader.onnx"
# In the engine's name (provenance). 2: also names written in lower or title case; 3: also the continental 1 and 7.
MODEL_VERSION = 3


class LineReaderEngine(PpocrEngine):
    def __init__(self, threads: int = 1) -> None:
        super().__init__(threads, MODEL, f"linereader-{MODEL_VERSION}-int8-constrained-{DECODER_VERSION}")

    def probabilities(self, lines: list[_Line]) -> list[np.ndarray]:
        """The network wants a width that is a multiple of its stride: pad with paper (1.0 once normalised)."""
        padded = []
        for line in lines:
            width = line.tensor.shape[2]
            extra = math.ceil(width / STRIDE) * STRIDE - width
            tensor = np.pad(line.tensor, ((0, 0), (0, 0), (0, extra)), constant_values=1.0) if extra else line.tensor
            padded.append(dataclasses.replace(line, tensor=tensor))
        return super().probabilities(padded)
