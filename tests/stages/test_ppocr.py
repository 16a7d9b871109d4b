"""The PP-OCR engine: grammar-constrained CTC decoding, accent marks, and the real network on printed cells."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from sheetscan.fields import FieldKind
from sheetscan.stages.ppocr import (
    NEG,
    Mark,
    PpocrEngine,
    _unspaced,
    best_path,
    constrained_viterbi,
    drop_stray_diaereses,
    find_marks,
    forced_score,
    forced_scores,
    prepared,
    restore_elisions,
)
from sheetscan.stages.recognize import CELL_PX_PER_MM, CellImage


def _logp(rows: list[dict[int, float]], width: int) -> np.ndarray:
    """Frames of probabilities over `width` columns (0 = blank); unspecified mass goes to the blank."""
    out = np.full((len(rows), width), 1e-6)
    for t, row in enumerate(rows):
        for k, p in row.items():
            out[t, k] = p
        out[t, 0] += max(0.0, 1 - sum(row.values()))
    return np.log(out / out.sum(axis=1, keepdims=True))


def test_best_path_collapses_repeats_and_blanks() -> None:
    logp = _logp([{1: 0.9}, {1: 0.9}, {}, {1: 0.9}, {2: 0.8}], 3)
    emitted, _ = best_path(logp)
    assert [k for k, _, _ in emitted] == [1, 1, 2]


def test_viterbi_spells_the_pattern_the_free_reading_misses() -> None:
    # columns: 1 = 'O' (a letter), 2 = '0' (a digit), 3 = '7'. Free reading: "O7"; pattern wants digit, digit.
    logp = _logp([{1: 0.7, 2: 0.25}, {}, {3: 0.9}], 4)
    free, free_score = best_path(logp)
    assert [k for k, _, _ in free] == [1, 3]
    chosen, score = constrained_viterbi(logp, [np.array([2, 3]), np.array([2, 3])])
    assert chosen == [2, 3]
    assert score < free_score


def test_viterbi_needs_a_blank_between_identical_labels() -> None:
    one_peak = _logp([{2: 0.95}, {2: 0.95}], 3)
    chosen, _ = constrained_viterbi(one_peak, [np.array([2]), np.array([2])])
    assert chosen == []  # "00" cannot be read from one uninterrupted '0'
    two_peaks = _logp([{2: 0.95}, {}, {2: 0.95}], 3)
    assert constrained_viterbi(two_peaks, [np.array([2]), np.array([2])])[0] == [2, 2]


def _brute_force(logp: np.ndarray, slots: list[np.ndarray]) -> float:
    """The best path by enumerating every frame labelling and collapsing it the CTC way."""
    best = NEG
    for path in itertools.product(range(logp.shape[1]), repeat=len(logp)):
        spelt = [k for t, k in enumerate(path) if k != 0 and (t == 0 or path[t - 1] != k)]
        if len(spelt) == len(slots) and all(k in slot for k, slot in zip(spelt, slots, strict=True)):
            best = max(best, float(sum(logp[t, k] for t, k in enumerate(path))))
    return best


def test_viterbi_finds_the_best_path_that_spells_the_slots() -> None:
    rng = np.random.default_rng(8)
    for _ in range(25):
        frames, width = int(rng.integers(2, 6)), int(rng.integers(2, 5))
        logp = np.log(rng.dirichlet(np.full(width, 0.5), size=frames))
        slots = [rng.choice(np.arange(1, width), size=int(rng.integers(1, width)), replace=False)
                 for _ in range(int(rng.integers(1, 4)))]
        chosen, score = constrained_viterbi(logp, slots)
        want = _brute_force(logp, slots)
        assert score == pytest.approx(want) if want > NEG / 2 else not chosen


def test_runs_of_sure_blanks_are_walked_as_one_frame_at_the_same_score() -> None:
    # '1', a long sure-blank gap, '1' again, '2': the gap is summed into one frame, the score is the full path's
    logp = _logp([{1: 0.9}, *[{}] * 4, {1: 0.8}, {}, {2: 0.9}], 3)
    slots = [np.array([1]), np.array([1]), np.array([1, 2])]
    chosen, score = constrained_viterbi(logp, slots)
    assert chosen == [1, 1, 2]
    assert score == pytest.approx(_brute_force(logp, slots))
    longer = _logp([{1: 0.9}, *[{}] * 40, {1: 0.8}, {}, {2: 0.9}], 3)
    assert constrained_viterbi(longer, slots)[1] == pytest.approx(score + 36 * float(logp[1, 0]))


def test_forced_score_is_the_viterbi_score_of_one_spelling() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        logp = np.log(rng.dirichlet(np.full(5, 0.3), size=int(rng.integers(3, 12))))
        labels = [int(v) for v in rng.integers(1, 5, size=int(rng.integers(1, 5)))]
        _, want = constrained_viterbi(logp, [np.array([k]) for k in labels])
        got = forced_score(logp, labels)
        assert got == pytest.approx(want) if want > NEG / 2 else got == NEG


def test_forced_scores_of_several_spellings_at_once_match_one_at_a_time() -> None:
    rng = np.random.default_rng(5)
    logp = np.log(rng.dirichlet(np.full(5, 0.3), size=9))
    spellings = [[1], [2, 2], [3, 1, 4, 2], [], [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]]  # the last cannot fit 9 frames
    got = forced_scores(logp, spellings)
    assert got == pytest.approx([forced_score(logp, s) for s in spellings])
    assert got[3] == got[4] == NEG and got[0] > NEG / 2


def test_the_same_cells_are_prepared_once_for_both_line_readers() -> None:
    image = np.full((40, 120), 255, np.uint8)
    image[10:30, 20:100] = 0
    first = prepared([image, None])
    assert first[1] is None
    assert prepared([image, None]) is first  # the very same images: the same lines, not recomputed
    again = prepared([image.copy(), None])
    assert again is not first and again[0] is not None and np.array_equal(again[0].tensor, first[0].tensor)


def test_accent_mark_above_a_letter_is_found() -> None:
    ink = np.zeros((48, 60), bool)
    ink[14:44, 10:14] = ink[14:17, 10:30] = ink[28:31, 10:26] = ink[41:44, 10:30] = True  # an E
    ink[4:10, 18:24] = np.eye(6, dtype=bool)[::-1]  # a small stroke rising to the right, above it
    [mark] = find_marks(ink)
    assert mark.above and mark.shape == "acute" and 16 <= mark.x0 <= 20


def test_a_flat_stroke_above_a_letter_is_no_accent() -> None:
    """An E whose top bar was drawn apart: the bar lies flat, an acute accent would rise."""
    ink = np.zeros((48, 60), bool)
    ink[14:44, 10:14] = ink[28:31, 10:26] = ink[41:44, 10:30] = True  # an E without its top bar
    ink[5:9, 10:25] = True  # the bar, above the letters' tops
    assert find_marks(ink) == []
    ink[5:9, 10:25] = False
    for x in range(10, 25):  # the same length, rising to the right by a third of its length
        ink[9 - (x - 10) // 3 - 1 : 9 - (x - 10) // 3 + 2, x] = True
    [mark] = find_marks(ink)
    assert mark.shape == "acute"


def test_an_apostrophe_hanging_between_two_letters_is_found() -> None:
    ink = np.zeros((48, 80), bool)
    ink[14:44, 10:14] = ink[41:44, 10:26] = True  # an L
    ink[14:44, 40:44] = ink[14:44, 56:60] = ink[27:30, 40:60] = True  # an H
    ink[14:22, 31:33] = True  # a short stroke from their tops, between them
    [mark] = find_marks(ink)
    assert mark.shape == "apostrophe" and not mark.above and 30 <= mark.x0 <= 32


def test_an_apostrophe_mark_elides_only_a_word_initial_d_l_or_o() -> None:
    mark = Mark(31, 33, False, "apostrophe")
    emitted = [(0, 1, 2), (0, 5, 6), (0, 8, 9)]  # characters centred at 20, 48 and 76 px
    assert restore_elisions(["L", "H", "E"], emitted, [mark], []) == ["L'", "H", "E"]
    assert restore_elisions(["N", "H", "E"], emitted, [mark], []) == ["N", "H", "E"]  # no elision after an N
    assert restore_elisions(["A", "L", "H"], emitted, [Mark(60, 62, False, "apostrophe")], []) == ["A", "L", "H"]
    assert restore_elisions(["A", "L", "H"], emitted, [Mark(60, 62, False, "apostrophe")], [(30, 38)]) == [
        "A", "L'", "H"]  # the L starts a word: the ink's word gap is before it
    assert restore_elisions(["L", "H", "E"], emitted, [Mark(31, 33, True, "acute")], []) == ["L", "H", "E"]


def test_an_apostrophe_read_inside_a_word_is_dropped() -> None:
    emitted = [(0, 1, 2), (0, 4, 4), (0, 5, 6), (0, 8, 9)]
    assert restore_elisions(["R", "'", "T", "E"], emitted, [], []) == ["R", "'", "T", "E"]  # after a first letter
    assert restore_elisions(["R", "T", "'", "E"], emitted, [], []) == ["R", "T", "", "E"]  # FOR'TIN: not a name


def test_a_space_read_where_the_ink_has_no_wide_gap_is_dropped() -> None:
    emitted = [(0, 1, 2), (0, 4, 4), (0, 6, 7), (0, 10, 10), (0, 12, 13)]  # H, space, A, space, D
    runs = [(76, 92), (30, 34)]  # a word gap near the second space, a narrow one near the first
    assert _unspaced(["H", " ", "A", " ", "D"], emitted, runs) == ["H", "", "A", " ", "D"]
    assert _unspaced(["H", " ", "A", " ", "D"], emitted, []) == ["H", " ", "A", " ", "D"]  # no ink measured


def test_a_diaeresis_stays_only_after_another_vowel() -> None:
    assert drop_stray_diaereses(list("SÉVÏGNY")) == list("SÉVIGNY")  # after a consonant: a stray mark
    assert drop_stray_diaereses(list("ANAÏS NOËL")) == list("ANAÏS NOËL")
    assert drop_stray_diaereses(["L'", "Ï", "S"]) == ["L'", "I", "S"]  # a word's first letter
    assert drop_stray_diaereses(list("MÜLLER")) == list("MÜLLER")  # not a French diaeresis: left as read


def _printed(text: str, width_mm: float) -> np.ndarray:
    image = Image.new("L", (int(width_mm * CELL_PX_PER_MM), int(11 * CELL_PX_PER_MM)), 255)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", int(5 * CELL_PX_PER_MM))
    ImageDraw.Draw(image).text((15, image.height // 2), text, font=font, fill=20, anchor="lm")
    return np.asarray(image)


@pytest.fixture(scope="module")
def engine() -> PpocrEngine:
    return PpocrEngine()


def test_reads_every_kind_in_its_grammar(engine: PpocrEngine) -> None:
    cells = [
        CellImage(_printed("H2X 1Y4", 28), FieldKind.POSTAL_CODE),
        CellImage(_printed("1987", 24), FieldKind.BIRTH_YEAR),
        CellImage(_printed("HÉLÈNE CÔTÉ", 68), FieldKind.NAME),
        CellImage(_printed("(514) 555-1234", 40), FieldKind.PHONE),
        CellImage(_printed("marc.roy@gmail.com", 70), FieldKind.EMAIL),
        CellImage(np.full((130, 300), 255, np.uint8), FieldKind.BIRTH_YEAR),
    ]
    readings = engine.read(cells)
    assert [r.text for r in readings] == ["H2X 1Y4", "1987", "HÉLÈNE CÔTÉ", "5145551234", "marc.roy@gmail.com", ""]
    assert all(r.confidence > 0.5 for r in readings[:5])
    assert readings[5].confidence == 0.0
    assert readings[0].engine == engine.name


def test_free_text_is_read_unconstrained(engine: PpocrEngine) -> None:
    [reading] = engine.read([CellImage(_printed("Groupe 12 Villeray", 69), FieldKind.TEXT)])
    assert reading.text == "Groupe 12 Villeray" and reading.confidence > 0.5


def _network(engine: PpocrEngine, frames: list[dict[str, float]]) -> np.ndarray:
    """Network-like output: per frame, probabilities of named characters; the rest of the mass is blank."""
    probs = np.full((len(frames), len(engine.classes)), 1e-7, np.float32)
    for t, frame in enumerate(frames):
        for ch, p in frame.items():
            probs[t, engine.classes.index(ch)] = p
        probs[t, 0] = max(1e-7, 1 - sum(frame.values()))
    return probs


def _digits(text: str, first: dict[str, float] | None = None) -> list[dict[str, float]]:
    frames: list[dict[str, float]] = []
    for i, ch in enumerate(text):
        frames += [first if i == 0 and first else {ch: 0.98}, {}]
    return frames


def test_a_reading_weighs_other_values_by_its_network(engine: PpocrEngine) -> None:
    [year, name] = engine.read([CellImage(_printed("1987", 24), FieldKind.BIRTH_YEAR),
                                CellImage(_printed("HÉLÈNE CÔTÉ", 68), FieldKind.NAME)])
    assert year.spelling_scores is not None and name.spelling_scores is not None
    right, wrong = year.spelling_scores(["1987", "1981"])
    assert right - wrong > 5 and wrong > NEG / 2  # a 7 printed clearly is no 1
    plain, accented, elided, longer = name.spelling_scores(["HELENE COTE", "HÉLÈNE CÔTÉ", "HÉLÈNE C'ÔTÉ",
                                                            "HÉLÈNE CÔTE-CÔTÉ"])
    assert plain == accented == elided > longer  # accents and apostrophes aside


def test_an_unsure_area_code_leans_to_quebec_but_a_clear_one_stays(engine: PpocrEngine) -> None:
    unsure = _network(engine, _digits("9385551234", {"9": 0.6, "4": 0.38}))
    assert engine.decode(FieldKind.PHONE, unsure, [])[0] == "4385551234"
    clear = _network(engine, _digits("4165551234"))  # Toronto, read clearly: 416, not Quebec's 418
    text, confidence, _ = engine.decode(FieldKind.PHONE, clear, [])
    assert text == "4165551234" and confidence > 0.9  # the prior chooses; it does not cast doubt on it


def test_an_unsure_first_postal_letter_leans_to_quebec_but_a_clear_one_stays(engine: PpocrEngine) -> None:
    unsure = _network(engine, _digits("P5P8L1", {"P": 0.6, "J": 0.38}))
    assert engine.decode(FieldKind.POSTAL_CODE, unsure, [])[0] == "J5P 8L1"
    clear = _network(engine, _digits("M1R4Z2"))  # Toronto, read clearly, stays
    text, confidence, _ = engine.decode(FieldKind.POSTAL_CODE, clear, [])
    assert text == "M1R 4Z2" and confidence > 0.9


def test_a_year_is_spelt_19xx_or_20xx_never_10xx(engine: PpocrEngine) -> None:
    frames = _digits("1965")
    frames[2] = {"0": 0.6, "9": 0.38}  # the network leans to 1065, a year no signer has
    assert engine.decode(FieldKind.BIRTH_YEAR, _network(engine, frames), [])[0] == "1965"
    assert engine.decode(FieldKind.BIRTH_YEAR, _network(engine, _digits("2003")), [])[0] == "2003"


def _letters(text: str, unsure: dict[int, dict[str, float]]) -> list[dict[str, float]]:
    frames: list[dict[str, float]] = []
    for i, ch in enumerate(text):
        frames += [unsure.get(i, {ch: 0.98}), {}]
    return frames


def test_a_word_one_letter_from_a_known_name_becomes_it_when_the_network_allows(engine: PpocrEngine) -> None:
    unsure = _network(engine, _letters("SAMUEL BERNFER", {11: {"F": 0.55, "I": 0.4}}))
    text, _, aided = engine.decode(FieldKind.NAME, unsure, [])
    assert text == "SAMUEL BERNIER" and aided  # the lexicon changed a letter: it cannot vouch for it later
    sure = _network(engine, _letters("SAMUEL BERNFER", {11: {"F": 0.995}}))  # the network saw an F: kept
    assert engine.decode(FieldKind.NAME, sure, [])[::2] == ("SAMUEL BERNFER", False)


def test_an_email_word_one_letter_from_a_known_name_becomes_it_when_the_network_allows(engine: PpocrEngine) -> None:
    unsure = _network(engine, _letters("jeon.tremblay@gmail.com", {2: {"o": 0.55, "a": 0.4}}))
    assert engine.decode(FieldKind.EMAIL, unsure, [])[0] == "jean.tremblay@gmail.com"
    sure = _network(engine, _letters("jeon.tremblay@gmail.com", {2: {"o": 0.995}}))
    assert engine.decode(FieldKind.EMAIL, sure, [])[0] == "jeon.tremblay@gmail.com"
    other = _network(engine, _letters("xkqz.tremblay@gmail.com", {}))  # no known name near: as read
    assert engine.decode(FieldKind.EMAIL, other, [])[0] == "xkqz.tremblay@gmail.com"


def test_email_words_of_new_lengths_are_each_put_in_their_own_place(engine: PpocrEngine) -> None:
    frames: list[dict[str, float]] = []
    for ch in "mrc.trembly@gmail.com":
        frames += [{ch: 0.98}, {}]
    frames[1] = {"a": 0.3}  # a faint 'a' after the 'm', and one after the 'l' of trembly
    frames[len("mrc.trembl") * 2 - 1] = {"a": 0.3}
    assert engine.decode(FieldKind.EMAIL, _network(engine, frames), [])[0] == "marc.tremblay@gmail.com"
