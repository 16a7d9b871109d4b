"""Independent readers, one answer: agreement is strong evidence, disagreement is a reason to ask a person.

The first engine (PP-OCR, trained on real text lines) is the primary reader; the others were trained here on
other data with other methods (the line reader, from scratch on lines of EMNIST hand print and fonts; the
EMNIST character CNN) and read the same cells. Values are compared after the field's normaliser:
- the primary and the second agree: that value, with their confidences combined (noisy-or), and the third's too
  when it agrees as well;
- otherwise two readers agree: their value, with the combined confidence marked down (x DISAGREE_FACTOR);
- no two agree: the primary's reading (the first valid one if the primary broke the field's rules), marked
  down twice.
Marked-down readings fall below the review thresholds. (Picking the most confident reader instead was measured
worse: their confidences are not on one scale.)
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


def _either(*confidences: float) -> float:
    """Noisy-or: the chance that not all of independent readers are wrong."""
    doubt = 1.0
    for c in confidences:
        doubt *= 1 - c
    return 1 - doubt


def combine(cell: CellImage, readings: Sequence[Reading], name: str) -> Reading:
    values = [_normal(cell, r.text) for r in readings]
    first = values[0]
    if first is not None and len(values) > 1 and values[1] == first:
        agreeing = [r.confidence for r, v in zip(readings, values, strict=True) if v == first]
        return Reading(readings[0].text, round(_either(*agreeing), 6), name)
    for i, j in ((0, 2), (1, 2)):
        if j < len(values) and values[i] is not None and values[i] == values[j]:
            confidence = _either(readings[i].confidence, readings[j].confidence) * DISAGREE_FACTOR
            return Reading(readings[i].text, round(confidence, 6), name)
    chosen = next((r for r, v in zip(readings, values, strict=True) if v is not None), readings[0])
    return Reading(chosen.text, round(chosen.confidence * DISAGREE_FACTOR ** (len(readings) - 1), 6), name)


class CombinedEngine:
    def __init__(self, primary: Engine, *others: Engine) -> None:
        self.readers = (primary, *others)
        self.name = "+".join(r.name for r in self.readers)

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        results = [self.readers[0].read(cells)]
        for reader in self.readers[1:]:
            try:
                results.append(reader.read(cells))
            except Exception:  # noqa: BLE001 - another voice is optional evidence; without it, less agreement
                results.append([Reading("", 0.0, reader.name)] * len(cells))
        per_cell = zip(*results, strict=True)
        return [combine(cell, readings, self.name) for cell, readings in zip(cells, per_cell, strict=True)]
