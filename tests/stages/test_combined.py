import numpy as np

from sheetscan.fields import FieldKind
from sheetscan.stages.combined import CombinedEngine
from sheetscan.stages.recognize import CellImage
from tests.helpers import CrashingEngine, FakeEngine

CELL = CellImage(np.full((10, 10), 255, np.uint8), FieldKind.POSTAL_CODE)


def test_agreement_after_normalising_raises_confidence() -> None:
    engine = CombinedEngine(FakeEngine({"postal_code": "H2X 1Y4"}, 0.8), FakeEngine({"postal_code": "h2x1y4"}, 0.7))
    [reading] = engine.read([CELL])
    assert reading.text == "H2X 1Y4" and reading.confidence > 0.9
    assert reading.engine == "fake-1+fake-1"


def test_disagreement_keeps_the_primary_marked_down() -> None:
    engine = CombinedEngine(FakeEngine({"postal_code": "H2X 1Y4"}, 0.6), FakeEngine({"postal_code": "H2X 1Y7"}, 0.9))
    [reading] = engine.read([CELL])
    assert reading.text == "H2X 1Y4" and reading.confidence < 0.5


def test_a_valid_second_reading_replaces_an_invalid_primary() -> None:
    engine = CombinedEngine(FakeEngine({"postal_code": "H2X 1Y"}, 0.4), FakeEngine({"postal_code": "H2X 1Y7"}, 0.8))
    [reading] = engine.read([CELL])
    assert reading.text == "H2X 1Y7" and reading.confidence < 0.5


def test_a_crashing_second_engine_only_costs_confidence() -> None:
    engine = CombinedEngine(FakeEngine({"postal_code": "H2X 1Y4"}, 0.9), CrashingEngine())
    [reading] = engine.read([CELL])
    assert reading.text == "H2X 1Y4" and reading.confidence < 0.5
