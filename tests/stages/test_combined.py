import numpy as np

from sheetscan.config import Settings
from sheetscan.fields import FieldKind
from sheetscan.stages.combined import CombinedEngine, combine
from sheetscan.stages.recognize import CellImage, Reading
from tests.helpers import CrashingEngine, FakeEngine

CELL = CellImage(np.full((10, 10), 255, np.uint8), FieldKind.POSTAL_CODE)


def test_agreement_after_normalising_raises_confidence() -> None:
    engine = CombinedEngine(FakeEngine({"postal_code": "H2X 1Y4"}, 0.8), FakeEngine({"postal_code": "h2x1y4"}, 0.7))
    [reading] = engine.read([CELL])
    assert reading.text == "H2X 1Y4" and reading.confidence > 0.9
    assert reading.engine == "vote-6:fake-1+fake-1"


def test_a_known_name_gains_the_lexicons_voice_when_all_three_agree_or_the_networks_read_it_unaided() -> None:
    cell = CellImage(CELL.image, FieldKind.NAME)
    threshold = Settings().threshold(FieldKind.NAME)

    def voted(text: str, third: str, aided: bool = False) -> float:
        readings = [Reading(text, 0.9, "ppocr", aided=aided), Reading(text, 0.9, "lines"), Reading(third, 0.9, "cnn")]
        return combine(cell, readings, "c").confidence

    assert voted("MARIE TREMBLAY", "MARIE TREMBLAY", aided=True) > threshold
    assert voted("MARIE TREMBLAY", "MARIE TREMBLAT") > threshold  # the networks read it without the lexicon
    assert voted("MARIE TREMBLAY", "MARIE TREMBLAT", aided=True) < threshold  # a snap both networks may share
    assert voted("MARIE TREMBLAX", "MARIE TREMBLAX") < threshold  # a word the lexicon does not know
    assert combine(cell, [Reading("MARIE TREMBLAY", 0.9, "x")] * 3, "c").voices == 3
    snapped = [Reading("MARIE TREMBLAY", 0.9, "x", aided=True), Reading("MARIE TREMBLAY", 0.9, "y")]
    assert combine(cell, snapped, "c").aided  # the row's check must know the lexicon had a hand in it


def test_a_name_the_primary_alone_spells_as_known_gains_the_lexicons_voice_unless_contradicted() -> None:
    cell = CellImage(CELL.image, FieldKind.NAME)
    threshold = Settings().threshold(FieldKind.NAME)

    def voted(first: str, second: str, third: str = "", confidence: float = 0.85, aided: bool = False) -> Reading:
        readings = [Reading(first, confidence, "ppocr", aided=aided), Reading(second, 0.9, "lines"),
                    Reading(third, 0.9, "cnn")]
        return combine(cell, readings, "c")

    alone = voted("NOËL TREMBLAY", "JQEL TBEMHLAY")  # the second network cannot read this hand
    assert alone.text == "NOËL TREMBLAY" and alone.confidence > threshold and alone.voices == 1
    assert voted("NOËL TREMBLAY", "JQEL TBEMHLAY", confidence=0.5).confidence < threshold  # the primary unsure
    assert voted("NOÊL TREMBLAY", "JQEL TBEMHLAY").confidence < threshold  # a spelling nobody has
    assert voted("NOËL TREMBLAY", "JQEL TBEMHLAY", aided=True).confidence < threshold  # the lexicon's own snap
    assert voted("NOËL TREMBLAY", "NOËL TREMBLAT").confidence > threshold  # an unknown word against it
    assert voted("MARIE TREMBLAY", "MARIO TREMBLAY").confidence < threshold  # another known name against it
    assert voted("MARIE TREMBLAY", "MARIA TREMBLAT", "MARIA TREMBLAT").confidence < threshold  # two against it


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


def _three(a: str, b: str, c: str) -> CombinedEngine:
    return CombinedEngine(FakeEngine({"postal_code": a}, 0.9), FakeEngine({"postal_code": b}, 0.9),
                          FakeEngine({"postal_code": c}, 0.9))


def test_the_third_reader_agreeing_too_raises_confidence_further() -> None:
    [two] = _three("H2X 1Y4", "H2X 1Y4", "H2X 1Y7").read([CELL])
    [three] = _three("H2X 1Y4", "H2X 1Y4", "H2X1Y4").read([CELL])
    assert two.text == three.text == "H2X 1Y4"
    assert two.confidence == 0.99 and three.confidence == 0.999


def test_two_later_readers_agreeing_against_the_primary_win_but_go_to_review() -> None:
    [reading] = _three("H2X 1Y4", "H2X 1Y7", "H2X 1Y7").read([CELL])
    assert reading.text == "H2X 1Y7" and reading.confidence < 0.5


def test_three_readers_disagreeing_keep_the_primary_marked_down_twice() -> None:
    [reading] = _three("H2X 1Y4", "H2X 1Y7", "H2X 1Y1").read([CELL])
    assert reading.text == "H2X 1Y4" and reading.confidence == round(0.9 * 0.3 * 0.3, 4)



def _network_reading(text: str, scores: dict[str, float]) -> Reading:
    """A CTC reader's reading: its value and how likely its network finds each value."""
    return Reading(text, 0.9, "ctc", lambda values: [scores.get(v, -50.0) for v in values])


def test_disagreeing_networks_weigh_every_value_and_the_likeliest_goes_to_review() -> None:
    primary = _network_reading("H2X 1Y4", {"H2X 1Y4": -5.0, "H2X 1Y9": -5.5})  # unsure between 4 and 9
    second = _network_reading("H2X 1Y9", {"H2X 1Y4": -9.0, "H2X 1Y9": -2.0})  # sure of its 9
    reading = combine(CELL, [primary, second, Reading("H2X 1Y1", 0.9, "cnn")], "c")
    assert reading.text == "H2X 1Y9" and reading.confidence == round(0.9 * 0.3 * 0.3, 6)
    sure = _network_reading("H2X 1Y4", {"H2X 1Y4": -1.0, "H2X 1Y9": -12.0})  # the primary sure: it stays
    assert combine(CELL, [sure, second, Reading("H2X 1Y1", 0.9, "cnn")], "c").text == "H2X 1Y4"


def test_readers_agreeing_against_the_primary_outweigh_the_networks_scores_on_names_only() -> None:
    # the line reader and the CNN learnt their glyphs from the same data: on a code, no independent evidence
    primary = _network_reading("H2X 1Y4", {"H2X 1Y4": -3.0, "H2X 1Y9": -5.0})
    second = _network_reading("H2X 1Y9", {"H2X 1Y4": -6.0, "H2X 1Y9": -4.0})  # joint: -6 for the 4, -7 for the 9
    reading = combine(CELL, [primary, second, Reading("H2X 1Y9", 0.9, "cnn")], "c")
    assert reading.text == "H2X 1Y4" and reading.confidence < Settings().threshold(FieldKind.POSTAL_CODE)
    name = CellImage(CELL.image, FieldKind.NAME)
    primary = _network_reading("XQZ WVK", {"XQZ WVK": -3.0, "XQZ WVH": -5.0})
    second = _network_reading("XQZ WVH", {"XQZ WVK": -6.0, "XQZ WVH": -4.0})
    assert combine(name, [primary, second, Reading("XQZ WVH", 0.9, "cnn")], "c").text == "XQZ WVH"


def test_a_name_the_lexicon_knows_is_not_overruled_by_network_scores_but_an_unknown_one_is_weighed() -> None:
    cell = CellImage(CELL.image, FieldKind.NAME)
    known = _network_reading("MARIE TREMBLAY", {"MARIE TREMBLAY": -9.0, "MARIE TREMBIAY": -4.0})
    other = _network_reading("MARIE TREMBIAY", {"MARIE TREMBLAY": -9.0, "MARIE TREMBIAY": -1.0})
    assert combine(cell, [known, other, Reading("", 0.0, "cnn")], "c").text == "MARIE TREMBLAY"
    unknown = _network_reading("XQZ WVK", {"XQZ WVK": -9.0, "XQZ WVH": -4.0})
    other = _network_reading("XQZ WVH", {"XQZ WVK": -9.0, "XQZ WVH": -1.0})
    assert combine(cell, [unknown, other, Reading("", 0.0, "cnn")], "c").text == "XQZ WVH"


def test_a_known_name_another_reader_gave_outweighs_a_somewhat_likelier_unknown_one() -> None:
    cell = CellImage(CELL.image, FieldKind.NAME)
    primary = _network_reading("CAMCLLE MICHAUD", {"CAMCLLE MICHAUD": -2.0, "CAMILLE MICHAUD": -8.0})
    second = _network_reading("CAMILLE MICHAUD", {"CAMCLLE MICHAUD": -6.0, "CAMILLE MICHAUD": -3.0})
    # joint: -5 for the unknown spelling, -9.5 for the known name, which the lexicon's 8 nats put ahead
    assert combine(cell, [primary, second, Reading("", 0.0, "cnn")], "c").text == "CAMILLE MICHAUD"
    far = _network_reading("CAMCLLE MICHAUD", {"CAMCLLE MICHAUD": -2.0, "CAMILLE MICHAUD": -20.0})
    assert combine(cell, [far, second, Reading("", 0.0, "cnn")], "c").text == "CAMCLLE MICHAUD"


def test_the_combined_reading_weighs_spellings_with_both_networks() -> None:
    primary = _network_reading("H2X 1Y4", {"H2X 1Y4": -1.0, "H2X 1Y9": -6.0})
    second = _network_reading("H2X 1Y4", {"H2X 1Y4": -2.0, "H2X 1Y9": -4.0})
    reading = combine(CELL, [primary, second, Reading("H2X 1Y4", 0.9, "cnn")], "c")
    assert reading.spelling_scores is not None
    assert reading.spelling_scores(["H2X 1Y9"]) == [-6.0 + 0.5 * -4.0]  # the second network counts half
    assert combine(CELL, [Reading("H2X 1Y4", 0.9, "cnn")], "c").spelling_scores is None
