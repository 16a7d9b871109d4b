"""Two independent readers, one answer: agreement is strong evidence, disagreement is a reason to ask a person.

The primary engine (PP-OCR, trained on real text lines) gives the reading; a second engine with a different
training set and method (the EMNIST character CNN) reads the same cells. When both give the same value after
the field's normaliser, the confidence rises; when they disagree, the primary's reading is kept (the second's if
only it obeys the field's rules) and its confidence falls below the default review threshold. (Picking the more
confident of the two instead was measured worse: their confidences are not on one scale.)
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
            elif va is None and vb is not None:  # the primary broke the field's rules, the second did not
                out.append(Reading(b.text, round(b.confidence * DISAGREE_FACTOR, 4), self.name))
            else:  # disagreement: the primary (the stronger reader overall), marked down
                out.append(Reading(a.text, round(a.confidence * DISAGREE_FACTOR, 4), self.name))
        return out
