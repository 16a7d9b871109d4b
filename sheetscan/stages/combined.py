"""Independent readers, one answer: agreement is strong evidence, disagreement is a reason to ask a person.

The first engine (PP-OCR, trained on real text lines) is the primary reader; the others were trained here on
other data with other methods (the line reader, from scratch on lines of EMNIST hand print and fonts; the
EMNIST character CNN) and read the same cells. Values are compared after the field's normaliser:
- the primary and the second agree: that value, with their confidences combined (noisy-or), and the third's too
  when it agrees as well; a name whose every word the lexicon knows has one more voice, the lexicon's
  (LEXICON_VOICE), when all three read it alike or the two networks read it without the lexicon's help;
- a name the primary read alone whose every word is spelt as the lexicon knows it, with no letter changed by the
  lexicon, that no other reader reads as another known name or two others read alike otherwise: the lexicon's
  voice with the primary's confidence (`_spelt_as_known`); the other network's failure to read it is no evidence
  against it (it reads no name of some hands at all);
- otherwise the value goes to review, marked down (x DISAGREE_FACTOR, twice if only one reader gave it),
  and the prefilled value is the one the two CTC networks together find likeliest (`_weighed`: each scores
  every reader's value on its own view of the cell; a name the lexicon knows gains the decoder's own prior,
  and a name two readers gave gains AGREE_NATS). For a code, how many readers gave it does not count: the line
  reader and the CNN learnt their glyphs from the same data and share their mistakes (in fonts no model saw,
  when the two agreed against PP-OCR on a postal code, PP-OCR was right 43 times in 47). On names the CNN
  seldom agrees in such fonts (it cuts joined letters badly), and in EMNIST cells its agreement reads names of
  random letters 3.7 points better. The exception is a name whose every word the lexicon knows as the primary
  read it: the networks' scores see no lexicon, so it stays unless two other readers agree against it (the
  first valid reading if the primary broke the field's rules).
Marked-down readings fall below the review thresholds. (Picking the most confident reader instead was measured
worse: their confidences are not on one scale.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sheetscan.fields import FieldKind, valid_value
from sheetscan.stages.names import lexicon
from sheetscan.stages.ppocr import NAME_PRIOR_NATS
from sheetscan.stages.recognize import CellImage, Engine, Reading, opencv_single_threaded

VOTE_VERSION = 6  # in the engine's name (provenance); 2: disagreements weighed by the networks; 3: and names
# by the lexicon; 4: the lexicon's voice; 5: the bonus for a value two readers gave, when weighing, for names only;
# 6: the lexicon's voice for a name the primary alone read, spelt as known (`_spelt_as_known`)
DISAGREE_FACTOR = 0.3
# Names the two networks read alike whose every word the lexicon knows, in real EMNIST handwriting
# (`measure_handprint.py` cells, signers' names, seeds 100-4000, pens 0 and +3): when the third reader agreed
# too, 0 wrong of 2,013; when it did not but neither network's lexicon had changed a letter, 0 of 932; when one
# had (LINH snapped to the known LINA by both), 38 of 467. Names all three read alike that the lexicon does not
# wholly know: 72 of 2,763 wrong, random letters included. Counted as a voice of 0.999 in the first two cases,
# the lexicon lets 58 % of signers' names through the names' review threshold instead of 8 %.
LEXICON_VOICE = 0.999
# The same voice for a name the primary read alone, unaided, every word spelt as known (accents included), that no
# other reader reads as another known name: with the names' threshold (0.9998) it passes when the primary's own
# confidence reaches 0.8. In real EMNIST handwriting (the signers' names of `measure_handprint.py`'s e-mail rows,
# 4,800 names, seeds 100-4000, pens 0 and +3) the primary so read 1,223 names with that confidence, none wrong; of
# the 2,284 so read from 0.5, two were wrong (O'NEIL read O'NELL, JEAN read SEAN: a known word for another). There
# the two networks mostly agree on such names anyway: accepted, 56.1 -> 56.2 % (seeds 100 and 500), and the
# calibration's names 57 % either way, none wrong. On the bench (`benchmarks/recognition.py`) it
# accepts 37.9 -> 47.5 % and 44.7 -> 53.3 % of the validation fonts' names (seeds 31337, 4244) and 12.3 -> 18.7 %
# and 8.7 -> 15.4 % of the held-out fonts' (seeds 4243, 999), none wrong. The line reader reads no name of some
# hands at all (none of Havana's, where PP-OCR reads 92 %): its disagreement there says nothing.
AGREE_NATS = 4.0  # what a second reader's agreement on a name is worth when the networks weigh disagreeing names
DECIMALS = 9  # agreeing readers' doubts multiply down to 1e-9 and below: six decimals made a third of phones tie at
# 1.0, right and wrong alike, where no threshold could tell them apart
SECOND_WEIGHT = 0.5  # the line reader is the weaker network on unseen hands: its view counts half


def noisy_or(*confidences: float) -> float:
    """Noisy-or: the chance that not all of independent readers are wrong."""
    doubt = 1.0
    for c in confidences:
        doubt *= 1 - c
    return 1 - doubt


def joint_scores(readings: Sequence[Reading]) -> Callable[[Sequence[str]], list[float]] | None:
    """How likely the CTC networks together find some values: the primary's log probability, plus the others'
    counted SECOND_WEIGHT."""
    scorers = [(1.0 if i == 0 else SECOND_WEIGHT, r.spelling_scores) for i, r in enumerate(readings)
               if r.spelling_scores is not None]
    if not scorers:
        return None

    def joint(values: Sequence[str]) -> list[float]:
        per_network = [[w * x for x in score(values)] for w, score in scorers]
        return [sum(column) for column in zip(*per_network, strict=True)]

    return joint


def combine(cell: CellImage, readings: Sequence[Reading], name: str) -> Reading:
    values = [valid_value(cell.kind, r.text) for r in readings]
    first = values[0]
    joint = joint_scores(readings)
    if first is not None and len(values) > 1 and values[1] == first:
        agreeing = [r.confidence for r, v in zip(readings, values, strict=True) if v == first]
        voices = len(agreeing)
        unaided = not (readings[0].aided or readings[1].aided)
        if _known_name(cell.kind, first) and (voices == len(readings) >= 3 or unaided):
            agreeing.append(LEXICON_VOICE)
        return Reading(readings[0].text, round(noisy_or(*agreeing), DECIMALS), name, joint, voices, not unaided)
    if _spelt_as_known(cell.kind, readings[0], values):
        confidence = round(noisy_or(readings[0].confidence, LEXICON_VOICE), DECIMALS)
        return Reading(readings[0].text, confidence, name, joint)
    known_name = first is not None and _known_name(cell.kind, first)
    value = None if known_name or joint is None else _weighed(values, joint, cell.kind)
    if value is None:  # a known name, or no network to weigh with: what two readers agree on, else the first
        agreed = [v for v in values if v is not None and values.count(v) >= 2]
        value = next((v for v in [*agreed, *values] if v is not None), None)
    backers = [r for r, v in zip(readings, values, strict=True) if v is not None and v == value]
    if len(backers) >= 2:
        confidence = noisy_or(*(r.confidence for r in backers)) * DISAGREE_FACTOR
        return Reading(backers[0].text, round(confidence, DECIMALS), name, joint, len(backers),
                       any(r.aided for r in backers))
    chosen = backers[0] if backers else readings[0]
    marked_down = chosen.confidence * DISAGREE_FACTOR ** (len(readings) - 1)
    return Reading(chosen.text, round(marked_down, DECIMALS), name, joint, aided=chosen.aided)


def _known_name(kind: FieldKind, value: str) -> bool:
    """A name whose every word the lexicon knows."""
    return kind is FieldKind.NAME and all(map(lexicon().knows, value.split()))


def _spelt_as_known(kind: FieldKind, primary: Reading, values: list[str | None]) -> bool:
    """The primary's name, unaided, every word spelt as the lexicon knows it; no other reader reads another known
    name, nor do two others agree on another value."""
    first, others = values[0], [v for v in values[1:] if v is not None and v != values[0]]
    return (kind is FieldKind.NAME and first is not None and not primary.aided and lexicon().spells(first)
            and not any(_known_name(kind, v) or others.count(v) >= 2 for v in others))


def _weighed(values: list[str | None], joint: Callable[[Sequence[str]], list[float]], kind: FieldKind) -> str | None:
    """The value the networks together find likeliest (`joint_scores`: each CTC reader scores every reader's
    value on its own view of the cell); a name whose every word the lexicon knows gains NAME_PRIOR_NATS, as it
    does in the decoder, and a name two readers gave AGREE_NATS."""
    candidates = list(dict.fromkeys(v for v in values if v is not None))
    if len(candidates) < 2:
        return None
    scores = joint(candidates)
    agree = AGREE_NATS if kind is FieldKind.NAME else 0.0
    weights = [score + agree * (values.count(v) - 1) + NAME_PRIOR_NATS * _known_name(kind, v)
               for v, score in zip(candidates, scores, strict=True)]
    return candidates[weights.index(max(weights))]


class CombinedEngine:
    def __init__(self, primary: Engine, *others: Engine) -> None:
        self.readers = (primary, *others)
        self.name = f"vote-{VOTE_VERSION}:" + "+".join(r.name for r in self.readers)

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        with opencv_single_threaded():
            results = [self.readers[0].read(cells)]
            for reader in self.readers[1:]:
                try:
                    results.append(reader.read(cells))
                except Exception:  # noqa: BLE001 - another voice is optional evidence; without it, less agreement
                    results.append([Reading("", 0.0, reader.name)] * len(cells))
        per_cell = zip(*results, strict=True)
        return [combine(cell, readings, self.name) for cell, readings in zip(cells, per_cell, strict=True)]
