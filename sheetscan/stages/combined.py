"""Two independent readers, one answer: agreement is strong evidence, disagreement is a reason to ask a person.

The primary engine (PP-OCR, trained on real text lines) gives the reading; a second engine with a different
training set and method (the EMNIST character CNN) reads the same cells. When both give the same value after
the field's normaliser, the confidence rises; when they disagree, the more confident valid reading is kept and
its confidence falls below the default review threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

from sheetscan.fields import FieldInvalid, validate
from sheetscan.stages.recognize import CellImage, Engine, Reading

DISAGREE_FACTOR = 0.3


def _normal(cell: CellImage, text: str) -> str | None:
    try:
        return validate(cell.kind, text)
    except FieldInvalid:
        return None


class CombinedEngine:
    def __init__(self, primary: Engine, second: Engine) -> None:
        self.primary = primary
        self.second = second
        self.name = f"{primary.name}+{second.name}"

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        first = self.primary.read(cells)
        try:
            other = self.second.read(cells)
        except Exception:  # noqa: BLE001 - the second voice is optional evidence; without it, less agreement
            other = [Reading("", 0.0, self.second.name)] * len(cells)
        out = []
        for cell, a, b in zip(cells, first, other, strict=True):
            va, vb = _normal(cell, a.text), _normal(cell, b.text)
            if va is not None and va == vb:
                confidence = 1 - (1 - a.confidence) * (1 - b.confidence)
                out.append(Reading(a.text, round(confidence, 4), self.name))
            else:  # disagreement: the more confident valid reading, marked down
                best = max((a, va), (b, vb), key=lambda r: (r[1] is not None, r[0].confidence))[0]
                out.append(Reading(best.text, round(best.confidence * DISAGREE_FACTOR, 4), self.name))
        return out
