"""The PP-OCR engine: a recogniser trained on real text lines (PP-OCRv6 recognition, Apache-2.0, its weights
shipped inside the `rapidocr` wheel, rebuilt by `scripts/build_ppocr_model.py`), run with onnxruntime on pre-cut
cells, and decoded under each field's grammar rather than corrected afterwards.

The network outputs, for every 8-pixel column of a 48-pixel-high line, a probability for each of ~540
characters plus the CTC blank (the wheel's network knows ~18,700; `scripts/build_ppocr_model.py` keeps those
our fields and Latin text use, and runs its convolutions in int8). We fold those columns onto the field's
alphabet (case folded, separators treated as gaps) and then:
- postal code, birth year, phone: a Viterbi search over CTC alignments that must spell exactly the pattern
  (letter-digit-letter digit-letter-digit with the letters Canada Post uses; 19xx or 20xx up to 2019; ten
  digits, or eleven starting with 1, with a plausible area code and exchange, Quebec area codes preferred);
- name and e-mail: best path restricted to the alphabet; spaces in names come from gaps in the ink (a space
  the net read where the ink has no wide gap is dropped), accents and elisions' apostrophes (D', L', O') the
  net dropped from small marks in the ink (a diaeresis only after a vowel), then known given names and
  surnames put back missed spaces and accents (`names.py`), and a word one letter away from a known name (two
  for a long word) becomes that name when the network finds it nearly as likely (`_known_names`); the words of
  an e-mail's local part likewise (`_email_names`), after its domain is matched to a known one (`_email`).
Confidence = (the smallest margin of a character over its best rival where it is strongest) x (probability of
the least certain character) x (how much of the unconstrained best path's probability the constrained reading
keeps): a reading the network hesitated over, or would not have produced itself, scores low.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np

from sheetscan.errors import ConfigError
from sheetscan.fields import (
    MAX_BIRTH_YEAR,
    NAME_LETTERS,
    OTHER_AREA_CODE_NATS,
    OTHER_PROVINCE_NATS,
    POSTAL_FIRST,
    POSTAL_OTHER,
    QUEBEC_POSTAL_FIRST,
    FieldKind,
    edit_distance,
    quebec_codes_near,
)
from sheetscan.stages.names import lexicon, strip_accents
from sheetscan.stages.recognize import FLAT_MARK_SLOPE, CellImage, Reading

# What the engine runs: the network of the rapidocr wheel with its classifier cut to the characters fields use
# and its convolutions in int8 (same readings within noise, half the CPU), built reproducibly by
# scripts/build_ppocr_model.py --int8.
BUILT_MODEL = Path(__file__).resolve().parent.parent / "models" / "ppocr_rec_int8.onnx"
HEIGHT = 48
STRIDE = 8  # input pixels per output column
INK_LEVEL = 160
NEG = -1e9
SURE_BLANK = 0.999
DECODER_VERSION = 9  # in the engines' names (provenance); 6: name spaces re-placed; 7: Quebec postal letters;
# 8: known e-mail domains weighed further and more strongly, elisions' apostrophes from the ink, known names
# one letter away (two for long words) at 8 nats (was one letter, 5 nats), spaces the ink gaps do not back
# dropped, diaereses after a consonant dropped; 9: a flat stroke above a letter is no accent

# The e-mail providers most Quebec signers use: a reading whose domain is up to half its letters away from one
# of these is re-scored as that domain, and kept unless the network is sure of what it read.
KNOWN_DOMAINS = (
    "gmail.com", "hotmail.com", "hotmail.ca", "outlook.com", "live.ca", "live.com", "msn.com", "yahoo.ca",
    "yahoo.com", "yahoo.fr", "videotron.ca", "videotron.qc.ca", "bell.net", "sympatico.ca", "icloud.com",
    "me.com", "cgocable.ca", "cogeco.ca", "globetrotter.net", "telus.net", "shaw.ca", "rogers.com", "proton.me",
    "protonmail.com", "umontreal.ca", "uqam.ca", "ulaval.ca", "usherbrooke.ca", "mcgill.ca", "concordia.ca",
)
DOMAIN_BUDGET = 0.5  # a known domain is weighed against a read domain this share of its letters away
DOMAIN_PRIOR_NATS = 30.0  # how much less likely than the raw reading a known domain may be and still win
DOMAIN_TRUSTED_NATS = 6.0  # what a replaced domain may cost before its reading's confidence drops

DIGITS = "0123456789"
LOWER = "abcdefghijklmnopqrstuvwxyz"
SEPARATORS = " -.()/,_–"


@dataclass(frozen=True)
class Alphabet:
    """A field's output alphabet and, for each network class, the output character it counts for."""

    chars: str  # index 0 is the CTC blank, so output char k is chars[k - 1]
    column_of: np.ndarray  # network class -> reduced column (0 = blank / gap, -1 = not allowed)

    def fold(self, probs: np.ndarray) -> np.ndarray:
        """(T, classes) -> (T, 1 + len(chars)) probabilities, disallowed classes dropped."""
        out = np.zeros((probs.shape[0], len(self.chars) + 1), np.float32)
        keep = self.column_of >= 0
        np.add.at(out.T, self.column_of[keep], probs[:, keep].T)
        return out


def _alphabet(classes: list[str], chars: str, mapping: dict[str, str], gaps: str) -> Alphabet:
    column_of = np.full(len(classes), -1, np.int64)
    column_of[0] = 0
    for k, ch in enumerate(classes[1:], start=1):
        target = mapping.get(ch, ch)
        if target in gaps or ch in gaps:
            column_of[k] = 0
        elif len(target) == 1 and target in chars:
            column_of[k] = chars.index(target) + 1
    return Alphabet(chars, column_of)


def build_alphabets(classes: list[str]) -> dict[FieldKind, Alphabet]:
    upper = {c: c.upper() for c in classes if len(c) == 1 and c.upper() in NAME_LETTERS}
    name_map = upper | {"’": "'", "`": "'", "´": "'", "‘": "'", "—": "-", "–": "-"}
    email_map = {c: strip_accents(c).lower() for c in classes if len(c) == 1 and strip_accents(c).lower() in LOWER}
    email_map |= {",": "."}
    digit_like = {d: d for d in DIGITS}
    postal_map = {c: c.upper() for c in classes if len(c) == 1 and c.upper() in POSTAL_OTHER}
    return {
        FieldKind.NAME: _alphabet(classes, NAME_LETTERS + "-' ", name_map, ""),
        FieldKind.EMAIL: _alphabet(classes, LOWER + DIGITS + "@.-_+", email_map, " "),
        FieldKind.POSTAL_CODE: _alphabet(classes, POSTAL_OTHER + DIGITS, postal_map, SEPARATORS),
        FieldKind.BIRTH_YEAR: _alphabet(classes, DIGITS, digit_like, SEPARATORS),
        FieldKind.PHONE: _alphabet(classes, DIGITS, digit_like, SEPARATORS + "+"),
    }


def _indexes(alphabet: Alphabet, allowed: str) -> np.ndarray:
    return np.array([alphabet.chars.index(c) + 1 for c in allowed], np.int64)


def _collapse_blanks(logp: np.ndarray, labels: int) -> np.ndarray:
    """Each run of frames that are surely blank (p > SURE_BLANK) summed into one frame: a CTC output is mostly
    such frames, and a path crosses them as blank or stays on one character through them at the same cost as
    before. What is lost, placing a character inside the run, costs about 7 nats or more a frame. Halves the
    frames the constrained decoder walks."""
    sure = logp[:, 0] > math.log(SURE_BLANK)
    keep = ~sure
    keep[1:] |= sure[1:] & ~sure[:-1]
    keep[0] = True
    starts = np.flatnonzero(keep)
    if len(starts) == len(logp) or len(starts) < labels:
        return logp
    return np.add.reduceat(logp, starts, axis=0)


def constrained_viterbi(logp: np.ndarray, slots: list[np.ndarray]) -> tuple[list[int], float]:
    """Best CTC alignment of `logp` (T, K; column 0 = blank) that spells one class from each slot, in order.

    Returns the chosen columns and the path's log probability (NEG when no alignment fits)."""
    logp = _collapse_blanks(logp, len(slots))
    frames, width = logp.shape
    labels = len(slots)
    if labels == 0 or frames < labels:
        return [], NEG
    masks = np.full((labels, width), NEG)
    for i, slot in enumerate(slots):
        masks[i, slot] = 0.0
    blank = np.full(labels + 1, NEG)  # blank[j]: in a blank after j labels
    emit = np.full((labels, width), NEG)  # emit[i, c]: emitting label i as column c
    blank[0] = logp[0, 0]
    emit[0] = masks[0] + logp[0]
    # back-pointers: for emit, 0 = repeat, 1 = from the blank before, 2 = from the previous label; for a blank,
    # 1 = from the label before it. The previous label's best and second-best classes per frame tell which
    # class a step from it came from.
    bp_emit = np.zeros((frames, labels, width), np.int8)
    bp_blank = np.zeros((frames, labels + 1), bool)
    firsts = np.zeros((frames, labels), np.int64)
    seconds = np.zeros((frames, labels), np.int64)
    rows, columns = np.arange(labels), np.arange(width)
    gain = logp[:, None, :] + masks[None]  # what emitting each label as each column adds, per frame
    come = np.full(labels + 1, NEG)  # what reaches each blank from the label before it
    ways = np.full((3, labels, width), NEG)  # repeat, from the blank before, from the previous label
    for t in range(1, frames):
        # The best and second-best class of each label: a label may follow the previous one directly only
        # with a different class (else CTC would merge them), so the second-best stands in for the best.
        first = np.argmax(emit, axis=1)
        best1 = emit[rows, first]
        masked = emit.copy()
        masked[rows, first] = NEG * 2
        second = np.argmax(masked, axis=1)
        firsts[t], seconds[t] = first, second
        come[1:] = best1
        bp_blank[t] = come > blank
        new_blank = np.maximum(come, blank) + logp[t, 0]
        ways[0] = emit
        ways[1] = blank[:-1, None]
        if labels > 1:
            same = columns[None, :] == first[:-1, None]
            ways[2, 1:] = np.where(same, masked[rows[:-1], second[:-1]][:, None], best1[:-1, None])
        choice = np.argmax(ways, axis=0)  # the first best, as argmax picks it
        bp_emit[t] = choice
        emit = np.max(ways, axis=0) + gain[t]
        blank = new_blank
    end_emit = int(np.argmax(emit[labels - 1]))
    if emit[labels - 1, end_emit] >= blank[labels]:
        score, state = float(emit[labels - 1, end_emit]), ("e", labels - 1, end_emit)
    else:
        score, state = float(blank[labels]), ("b", labels, 0)
    if score <= NEG / 2:
        return [], NEG

    def came_from(t: int, i: int, c: int) -> int:
        """The class of label i - 1 a step into label i as class c at frame t came from."""
        return int(seconds[t, i - 1] if firsts[t, i - 1] == c else firsts[t, i - 1])

    chosen = [0] * labels
    for t in range(frames - 1, 0, -1):
        kind, i, c = state
        if kind == "e":
            chosen[i] = c
            how = bp_emit[t, i, c]
            if how == 0:
                state = ("e", i, c)
            elif how == 1:
                state = ("b", i, 0)
            else:
                state = ("e", i - 1, came_from(t, i, c))
        else:
            state = ("e", i - 1, int(firsts[t, i - 1])) if bp_blank[t, i] else ("b", i, 0)
    if state[0] == "e":
        chosen[state[1]] = state[2]
    return chosen, score


def forced_scores(logp: np.ndarray, spellings: Sequence[Sequence[int]]) -> list[float]:
    """For each spelling (a list of labels), the log probability of the best CTC alignment of `logp` spelling
    exactly it (NEG if none fits): the one-class-per-slot case of `constrained_viterbi`, vectorised over the
    alignment states of all the spellings at once (shorter ones padded with blanks past their end)."""
    if not spellings:
        return []
    frames, longest = len(logp), max(len(s) for s in spellings)
    ext = np.zeros((len(spellings), 2 * longest + 1), np.int64)  # blank, l1, blank, l2, ..., blank
    for j, labels in enumerate(spellings):
        ext[j, 1:2 * len(labels):2] = labels
    skip = np.zeros(ext.shape, bool)  # a label may follow the previous label directly when they differ
    skip[:, 3::2] = (ext[:, 3::2] != ext[:, 1:-2:2]) & (ext[:, 3::2] > 0)
    no_jump = np.where(skip, 0.0, NEG)
    emissions = logp[:, ext]  # (frames, spellings, states), gathered once
    score = np.full(ext.shape, NEG)
    score[:, :2] = emissions[0, :, :2]
    shifted = np.full((len(spellings), ext.shape[1] + 2), NEG)  # score moved one and two states on
    for t in range(1, frames):
        shifted[:, 2:] = score
        moved = np.maximum(score, shifted[:, 1:-1])
        np.maximum(moved, shifted[:, :-2] + no_jump, out=moved)
        score = moved + emissions[t]
    out = []
    for j, labels in enumerate(spellings):
        end = 2 * len(labels)
        best = float(max(score[j, end], score[j, end - 1])) if labels and frames >= len(labels) else NEG
        out.append(best if best > NEG / 2 else NEG)
    return out


def forced_score(logp: np.ndarray, labels: Sequence[int]) -> float:
    """`forced_scores` of one spelling."""
    return forced_scores(logp, [labels])[0]


def best_path(logp: np.ndarray) -> tuple[list[tuple[int, int, int]], float]:
    """Greedy CTC decoding: (column, first frame, last frame) per emitted character, and the path's log prob."""
    idx = np.argmax(logp, axis=1)
    out: list[tuple[int, int, int]] = []
    prev = 0
    for t, k in enumerate(idx):
        k = int(k)
        if k != 0 and k == prev and out:
            out[-1] = (k, out[-1][1], t)
        elif k != 0:
            out.append((k, t, t))
        prev = k
    return out, float(logp[np.arange(len(idx)), idx].sum())


def margin(folded: np.ndarray, column: int, frames: slice, rivals: np.ndarray) -> float:
    """How clearly `column` beats its best rival where it is strongest: p / (p + p_rival), 0.5 for a tie."""
    window = folded[frames]
    if window.size == 0:
        return 0.0
    t = int(np.argmax(window[:, column]))
    p = float(window[t, column])
    others = [r for r in rivals.tolist() if r != column]
    rival = float(window[t, others].max()) if others else 0.0
    return p / (p + rival) if p + rival > 0 else 0.0


def _peaks(probs: np.ndarray, chosen: list[int]) -> float:
    """Probability of the least certain chosen character, at its best frame."""
    if not chosen:
        return 0.0
    return float(min(probs[:, c].max() for c in chosen))


@dataclass(frozen=True)
class Mark:
    """A small ink mark above the letters (an accent), below them (a cedilla) or hanging from their tops between
    two of them (an apostrophe), in line pixels."""

    x0: int
    x1: int
    above: bool
    shape: str  # "acute", "grave", "circumflex", "diaeresis", "cedilla", "apostrophe"


@dataclass(frozen=True)
class _Line:
    tensor: np.ndarray  # (3, 48, W) normalised
    gaps: list[tuple[int, int]]  # the ink-free column run that stands out as a word space, if any
    marks: list[Mark]
    runs: list[tuple[int, int]]  # every ink-free column run between two inked columns, widest first


def prepare(image: np.ndarray) -> _Line | None:
    """Crop to the ink, scale to 48 px high, normalise like PP-OCR; find word gaps."""
    ink = image < INK_LEVEL
    left, top, w, h = cv2.boundingRect(ink.view(np.uint8))
    if w == 0:
        return None
    pad = 6
    y0, y1 = max(0, top - pad), min(image.shape[0], top + h + pad)
    x0, x1 = max(0, left - pad), min(image.shape[1], left + w + pad)
    crop = image[y0:y1, x0:x1]
    scale = HEIGHT / crop.shape[0]
    width = max(STRIDE * 2, int(round(crop.shape[1] * scale)))
    line = cv2.resize(crop, (width, HEIGHT), interpolation=cv2.INTER_AREA)
    small_ink = cv2.resize(ink[y0:y1, x0:x1].astype(np.uint8), (width, HEIGHT), interpolation=cv2.INTER_AREA)
    inked = np.flatnonzero((small_ink > 0).any(axis=0))
    # ink-free runs between two inked columns: where consecutive inked columns are more than one apart
    runs = [(int(a) + 1, int(b)) for a, b in zip(inked[:-1], inked[1:], strict=True) if b - a > 1]
    # A word space is the widest gap when it is clearly wider than the next one (names: « PRÉNOM NOM »).
    runs.sort(key=lambda r: r[1] - r[0], reverse=True)
    gaps = []
    if runs:
        widest = runs[0][1] - runs[0][0]
        second = runs[1][1] - runs[1][0] if len(runs) > 1 else 0
        if widest >= 0.12 * HEIGHT and widest >= 1.4 * second:
            gaps = [runs[0]]
    tensor = (line.astype(np.float32) / 255.0 - 0.5) / 0.5
    return _Line(np.repeat(tensor[None], 3, axis=0), gaps, find_marks(line < INK_LEVEL), runs)


_last_batch: tuple[list[np.ndarray | None], list[_Line | None]] = ([], [])


def prepared(images: list[np.ndarray | None]) -> list[_Line | None]:
    """`prepare` for each image (None stays None). The combined engine's two CTC readers read the same cells
    one after the other: the last batch's lines are kept (with their images, so that no id is reused) and
    served again when the very same image objects come back."""
    global _last_batch
    seen, lines = _last_batch
    if len(seen) == len(images) and all(a is b for a, b in zip(seen, images, strict=True)):
        return lines
    lines = [prepare(image) if image is not None else None for image in images]
    _last_batch = (images, lines)
    return lines


def find_marks(ink: np.ndarray) -> list[Mark]:
    """Small components wholly above the letters' tops (accents), below their feet (cedillas), or hanging from
    their tops (apostrophes)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    boxes = [stats[i] for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= 3]
    if not boxes:
        return []
    tall = max(b[cv2.CC_STAT_HEIGHT] for b in boxes)
    bodies = [b for b in boxes if b[cv2.CC_STAT_HEIGHT] >= 0.5 * tall]
    top = float(np.median([b[cv2.CC_STAT_TOP] for b in bodies]))
    bottom = float(np.median([b[cv2.CC_STAT_TOP] + b[cv2.CC_STAT_HEIGHT] for b in bodies]))
    body = max(1.0, bottom - top)
    marks: list[Mark] = []
    small = [b for b in boxes if b[cv2.CC_STAT_HEIGHT] < 0.4 * body and b[cv2.CC_STAT_WIDTH] < 0.6 * body]
    for b in small:
        x, y, w, h = (int(v) for v in b[:4])
        if y + h <= top + 0.1 * body:
            shape = _accent_shape(ink[y:y + h, x:x + w])
            if shape != "bar":
                marks.append(Mark(x, x + w, True, shape))
        elif y >= bottom - 0.1 * body:
            marks.append(Mark(x, x + w, False, "cedilla"))
        elif y <= top + 0.2 * body and y + h <= top + 0.55 * body and h >= 0.15 * body:
            marks.append(Mark(x, x + w, False, "apostrophe"))  # hangs from the letters' tops
    # two dots side by side are one diaeresis
    marks.sort(key=lambda m: m.x0)
    merged: list[Mark] = []
    for m in marks:
        if merged and m.above and merged[-1].above and m.x0 - merged[-1].x1 < 0.35 * body:
            merged[-1] = Mark(merged[-1].x0, m.x1, True, "diaeresis")
        else:
            merged.append(m)
    return merged


def _accent_shape(mark: np.ndarray) -> str:
    """Acute rises to the right, grave falls, circumflex peaks in the middle. A long stroke lying flat is no
    French accent: it is a "bar", a detached piece of the letter below (an E's top stroke drawn apart)."""
    h, w = mark.shape
    cols = [np.nonzero(mark[:, x])[0] for x in range(w)]
    tops = np.array([c.min() if len(c) else h for c in cols], float)
    if w >= 3:
        left, mid, right = tops[: w // 3].mean(), tops[w // 3: 2 * w - w // 3].mean(), tops[2 * w // 3:].mean()
        if mid < left - 1 and mid < right - 1 and w >= 1.3 * h:
            return "circumflex"
        inked = [(x, (c.min() + c.max()) / 2) for x, c in enumerate(cols) if len(c)]
        if w >= 2 * h and len(inked) >= 3:
            xs, centres = zip(*inked, strict=True)
            if abs(np.polyfit(xs, centres, 1)[0]) < FLAT_MARK_SLOPE:
                return "bar"
        if right < left:
            return "acute"
        if left < right:
            return "grave"
    return "acute"


ACCENTED = {
    ("E", "acute"): "É", ("E", "grave"): "È", ("E", "circumflex"): "Ê", ("E", "diaeresis"): "Ë",
    ("A", "grave"): "À", ("A", "circumflex"): "Â", ("A", "acute"): "À",
    ("I", "circumflex"): "Î", ("I", "diaeresis"): "Ï", ("I", "acute"): "Ï", ("I", "grave"): "Ï",
    ("O", "circumflex"): "Ô", ("O", "acute"): "Ô", ("O", "grave"): "Ô", ("O", "diaeresis"): "Ö",
    ("U", "grave"): "Ù", ("U", "circumflex"): "Û", ("U", "diaeresis"): "Ü", ("U", "acute"): "Ù",
    ("C", "cedilla"): "Ç",
}


def restore_accents(chars: list[str], emitted: list[tuple[int, int, int]], marks: list[Mark]) -> list[str]:
    """Give a bare capital the accent whose mark sits over (or, for Ç, under) it; the net often drops them."""
    out = list(chars)
    centres = [(first + last + 1) / 2 * STRIDE for _, first, last in emitted]
    for mark in marks:
        mid = (mark.x0 + mark.x1) / 2
        best = min(range(len(out)), key=lambda n: abs(centres[n] - mid), default=None)
        if best is None or abs(centres[best] - mid) > 1.2 * STRIDE + (mark.x1 - mark.x0):
            continue
        base = strip_accents(out[best])
        if out[best] == base and (base, mark.shape) in ACCENTED:
            out[best] = ACCENTED[(base, mark.shape)]
    return out


ELIDED = "DLO"  # D'ANJOU, L'HEUREUX, O'NEIL
DIAERESES = {"Ë": "E", "Ï": "I", "Ÿ": "Y"}  # French ones; Ä, Ö and Ü stay (MÜLLER, GÖKHAN)


def drop_stray_diaereses(chars: list[str]) -> list[str]:
    """French puts a diaeresis on E, I or Y only after another vowel (ANAÏS, NOËL, LOÏC): one read after a
    consonant or at a word's start is a stray mark (a dotted I, a serif) and goes."""
    out = list(chars)
    previous = ""
    for n, c in enumerate(chars):
        before = strip_accents(previous[-1:])
        if c in DIAERESES and (not before or before not in "AEIOUY"):
            out[n] = DIAERESES[c]
        if c:
            previous = out[n] if c not in " -'" else ""
    return out


def restore_elisions(chars: list[str], emitted: list[tuple[int, int, int]], marks: list[Mark],
                     gaps: list[tuple[int, int]]) -> list[str]:
    """Names elide only after a word's first letter (D'ANJOU, L'HEUREUX, O'NEIL). A first D, L or O gets the
    apostrophe whose mark hangs between it and the next letter (the net often misses so small a stroke); an
    apostrophe the net read after another letter than a first one or a D, L or O is dropped (« FOR'TIN »), and
    an apostrophe-like mark elsewhere is left alone (a letter's stray stroke). A word starts the name, or
    follows a space, a hyphen or the ink's word gap. Dropped characters become empty strings, so the list
    stays aligned with `emitted`."""
    centres = [(first + last + 1) / 2 * STRIDE for _, first, last in emitted]

    def starts_word(i: int) -> bool:
        return i == 0 or chars[i - 1] in " -" or any(centres[i - 1] < (g0 + g1) / 2 < centres[i] for g0, g1 in gaps)

    out = ["" if c == "'" and not (n > 0 and (starts_word(n - 1) or chars[n - 1] in ELIDED)) else c
           for n, c in enumerate(chars)]
    for mark in marks:
        if mark.shape != "apostrophe":
            continue
        mid = (mark.x0 + mark.x1) / 2
        n = next((n for n in range(1, len(out)) if centres[n - 1] < mid < centres[n]), None)
        if n is not None and out[n - 1] in ELIDED and starts_word(n - 1) and out[n] not in " -'":
            out[n - 1] += "'"
    return out


Decoded = tuple[str, list[int], float, list[np.ndarray]]  # text, network columns, log score, slots


class PpocrEngine:
    """Reads cells with a CTC line network of PP-OCR's interface; `model` and `name` select which network."""

    def __init__(self, threads: int = 1, model: Path = BUILT_MODEL,
                 name: str = f"ppocr-v6-rec-small-int8-constrained-{DECODER_VERSION}") -> None:
        import onnxruntime as ort

        path = model
        if not path.exists():
            raise ConfigError(f"modèle de lecture introuvable : {path.name} (réinstallez sheetscan)")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.classes = ["<blank>", *meta["character"].splitlines(), " "]
        self.alphabets = build_alphabets(self.classes)
        self.skeleton_column = skeleton_columns(self.alphabets[FieldKind.NAME])
        self.spelling_column = np.where(self.skeleton_column == SKELETON.index("'") + 1, 0, self.skeleton_column)
        self.input_name = self.session.get_inputs()[0].name
        self.name = name

    def probabilities(self, lines: list[_Line]) -> list[np.ndarray]:
        """Network output (T, classes) per line, one line per run: no padding to compute (measured cheaper
        than batches), and a cell reads the same whatever its neighbours."""
        out = []
        for line in lines:
            probs = self.session.run(None, {self.input_name: line.tensor[None]})[0]
            out.append(probs[0, : math.ceil(line.tensor.shape[2] / STRIDE)])
        return out

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        empty = Reading("", 0.0, self.name)
        lines = prepared([c.image if c.kind in self.alphabets or c.kind is FieldKind.TEXT else None for c in cells])
        todo = [i for i, line in enumerate(lines) if line is not None]
        readings = [empty] * len(cells)
        try:
            probs = self.probabilities([lines[i] for i in todo])  # type: ignore[misc]
        except Exception:  # noqa: BLE001 - a broken model must not sink a page: everything goes to review
            return readings
        for i, p in zip(todo, probs, strict=True):
            line = lines[i]
            assert line is not None
            kind = cells[i].kind
            text, confidence, aided = self.decode(kind, p, line.gaps, line.marks, line.runs)
            scorer = partial(self.spelling_scores, kind, p) if kind in self.alphabets else None
            readings[i] = Reading(text, confidence, self.name, scorer, aided=aided)
        return readings

    def decode(self, kind: FieldKind, probs: np.ndarray, gaps: list[tuple[int, int]],
               marks: Sequence[Mark] = (), runs: Sequence[tuple[int, int]] = ()) -> tuple[str, float, bool]:
        """The field's value, its confidence, and whether the name lexicon changed the letters read."""
        if kind is FieldKind.TEXT:  # free text (a group's name): whatever the network reads
            emitted, _ = best_path(np.log(np.maximum(probs, 1e-12)))
            text = "".join(self.classes[k] for k, _, _ in emitted).strip()
            return text, round(_peaks(probs, [k for k, _, _ in emitted]), 4) if text else 0.0, False
        alphabet = self.alphabets[kind]
        folded = alphabet.fold(probs)
        logp = np.log(np.maximum(folded, 1e-12))
        free = float(np.log(np.maximum(probs.max(axis=1), 1e-12)).sum())
        aided = False
        everything = np.arange(1, folded.shape[1])
        if kind in (FieldKind.NAME, FieldKind.EMAIL):
            emitted, score = best_path(logp)
            margins = [margin(folded, k, slice(f0, f1 + 1), everything) for k, f0, f1 in emitted]
            chars = [alphabet.chars[k - 1] for k, _, _ in emitted]
            if kind is FieldKind.NAME:
                chars = restore_accents(chars, emitted, list(marks))
                chars = drop_stray_diaereses(restore_elisions(chars, emitted, list(marks), gaps))
                chars = _unspaced(chars, emitted, runs)
                chars = _spaced(chars, emitted, gaps)
            text = "".join(chars)
            columns = [k for k, _, _ in emitted]
            if kind is FieldKind.NAME:
                read = text
                text, cost = _known_names(lexicon().fix(text), folded, self.skeleton_column)
                score -= cost
                aided = text != read
            if kind is FieldKind.EMAIL:
                read = text
                text, columns, score = _email(text, columns, score, alphabet, logp)
                text, columns, score = _email_names(text, columns, score, alphabet, logp)
                if text != read:
                    margins = [margin(folded, c, slice(None), everything) for c in columns]
        else:
            text, columns, score, slots = self._pattern(kind, alphabet, logp)
            margins = [margin(folded, c, slice(None), slot) for c, slot in zip(columns, slots, strict=True)]
        if not columns:
            return "", 0.0, False
        keep = math.exp(min(0.0, score - free))
        return text, round(min(margins) * _peaks(folded, columns) * keep, 4), aided

    def spelling_scores(self, kind: FieldKind, probs: np.ndarray, values: Sequence[str]) -> list[float]:
        """Log probability of the best alignment of the network's output that spells each value (a field
        value: separators aside, and for names spaces, accents and apostrophes aside, which the ink decides)."""
        alphabet = self.alphabets[kind]
        folded = alphabet.fold(probs)
        if kind is FieldKind.NAME:  # apostrophes aside too: a reader may miss an elision's small mark
            logp = _skeleton_logp(folded, self.spelling_column)
            return forced_scores(logp, [_skeleton(v.replace("'", "")) for v in values])
        labels = [[alphabet.chars.index(c) + 1 for c in v if c in alphabet.chars] for v in values]
        return forced_scores(np.log(np.maximum(folded, 1e-12)), labels)

    def _pattern(self, kind: FieldKind, alphabet: Alphabet, logp: np.ndarray) -> Decoded:
        ix = lambda allowed: _indexes(alphabet, allowed)  # noqa: E731
        if kind is FieldKind.POSTAL_CODE:
            first, other, digit = ix(POSTAL_FIRST), ix(POSTAL_OTHER), ix(DIGITS)
            options = [[first, digit, other, digit, other, digit]]
        elif kind is FieldKind.BIRTH_YEAR:
            # 19xx or 20xx up to MAX_BIRTH_YEAR: the two centuries as separate spellings, never 10xx or 29xx
            options = [[ix("1"), ix("9"), ix(DIGITS), ix(DIGITS)],
                       [ix("2"), ix("0"), ix(DIGITS[: MAX_BIRTH_YEAR // 10 % 10 + 1]), ix(DIGITS)]]
        else:
            d, nz = ix(DIGITS), ix("23456789")
            ten = [nz, d, d, nz, d, d, d, d, d, d]
            options = [ten, [ix("1"), *ten]]
        best: Decoded = ("", [], NEG, [])
        for slots in options:
            columns, score = constrained_viterbi(logp, slots)
            if columns and score > best[2]:
                best = ("".join(alphabet.chars[c - 1] for c in columns), columns, score, slots)
        if kind is FieldKind.PHONE and best[1]:
            best = self._area_code(alphabet, logp, best)
        if kind is FieldKind.POSTAL_CODE and best[1] and best[0][0] not in QUEBEC_POSTAL_FIRST:
            quebec = [ix(QUEBEC_POSTAL_FIRST), *best[3][1:]]
            columns, score = constrained_viterbi(logp, quebec)
            if columns and score > best[2] - OTHER_PROVINCE_NATS:  # a clear letter from elsewhere stays
                best = ("".join(alphabet.chars[c - 1] for c in columns), columns, score, quebec)
        text = best[0]
        if kind is FieldKind.POSTAL_CODE and len(text) == 6:
            text = f"{text[:3]} {text[3:]}"
        return text, best[1], best[2], best[3]

    def _area_code(self, alphabet: Alphabet, logp: np.ndarray, read: Decoded) -> Decoded:
        """A number read with an area code outside Quebec is weighed against the same number with a Quebec
        area code one digit away; the outside code pays OTHER_AREA_CODE_NATS in that choice only."""
        text, _, score, slots = read
        lead = len(text) - 10
        best, best_score = read, score - OTHER_AREA_CODE_NATS
        for code in quebec_codes_near(text):
            fixed = [*slots[:lead], *(_indexes(alphabet, c) for c in code), *slots[lead + 3:]]
            columns, cand = constrained_viterbi(logp, fixed)
            if columns and cand > best_score:
                best = ("".join(alphabet.chars[c - 1] for c in columns), columns, cand, fixed)
                best_score = cand
        return best  # with its own score: a clear number outside Quebec keeps its confidence


SKELETON = "ABCDEFGHIJKLMNOPQRSTUVWXYZ-'"  # a name's letters without accents, for comparing spellings
NAME_PRIOR_NATS = 8.0  # how much less likely than the reading a known name nearby (`Lexicon.near`) may be and win


def _skeleton(text: str) -> list[int]:
    return [SKELETON.index(c) + 1 for c in strip_accents(text) if c in SKELETON]


def skeleton_columns(alphabet: Alphabet) -> np.ndarray:
    """For each of a name alphabet's characters, its column in SKELETON (0: blank, for spaces and the rest)."""
    return np.array([SKELETON.index(strip_accents(c)) + 1 if strip_accents(c) in SKELETON else 0
                     for c in alphabet.chars])


def _skeleton_logp(folded: np.ndarray, column: np.ndarray) -> np.ndarray:
    """A name alphabet's output folded onto SKELETON (accents summed into their letter, spaces into the blank)."""
    skeleton = np.zeros((len(folded), len(SKELETON) + 1), np.float32)
    skeleton[:, 0] = folded[:, 0]
    np.add.at(skeleton.T, column, folded[:, 1:].T)
    return np.log(np.maximum(skeleton, 1e-12))


def _known_names(text: str, folded: np.ndarray, column: np.ndarray) -> tuple[str, float]:
    """Each word of the name that is no known name but near some (`Lexicon.near`) is weighed against them: the
    network's output is re-scored spelling each (accents and spaces aside, which the ink decides) and a known
    name within NAME_PRIOR_NATS of the reading replaces the word. Returns the name and what it cost in nats."""
    names = lexicon()
    logp = _skeleton_logp(folded, column)
    words = re.split(r"([ \-'])", text)
    candidates = ["".join([*words[:i], names.respell_word(key), *words[i + 1:]])
                  for i, word in enumerate(words) if len(word) >= 3 and not names.knows(word)
                  for key in names.near(word)]
    read, *scores = forced_scores(logp, [_skeleton(c) for c in [text, *candidates]])
    best, best_score = text, read
    for candidate, score in zip(candidates, scores, strict=True):
        if score > best_score - (NAME_PRIOR_NATS if best == text else 0.0):
            best, best_score = candidate, score
    return best, max(0.0, read - best_score)


SPACE_SHARE = 0.3  # a space the net reads needs an ink gap at least this share of the widest one


def _unspaced(chars: list[str], emitted: list[tuple[int, int, int]], runs: Sequence[tuple[int, int]]) -> list[str]:
    """A space the net read where the ink's gap is much narrower than the widest one (under SPACE_SHARE of it) is
    a wide gap between two letters of a word (« HA DDAD »): dropped (an empty string, so the list stays aligned
    with `emitted`)."""
    if not runs or " " not in chars:
        return chars
    widest = runs[0][1] - runs[0][0]
    out = list(chars)
    for n, (c, (_, f0, f1)) in enumerate(zip(chars, emitted, strict=True)):
        if c != " ":
            continue
        x0, x1 = (f0 - 1) * STRIDE, (f1 + 2) * STRIDE
        width = max((r1 - r0 for r0, r1 in runs if r0 < x1 and r1 > x0), default=0)
        if width < SPACE_SHARE * widest:
            out[n] = ""
    return out


def _spaced(chars: list[str], emitted: list[tuple[int, int, int]], gaps: list[tuple[int, int]]) -> list[str]:
    """If the net wrote no space, put one at the widest ink gap between two characters, when that gap stands
    out (names are mostly « PRÉNOM NOM »)."""
    if " " in chars or not gaps or len(chars) < 4:
        return chars
    g0, g1 = max(gaps, key=lambda g: g[1] - g[0])
    mid = (g0 + g1) / 2
    for n in range(1, len(chars)):
        left = (emitted[n - 1][2] + 1) * STRIDE
        right = emitted[n][1] * STRIDE
        if left - STRIDE <= mid <= right + STRIDE and chars[n - 1] not in "-'" and chars[n] not in "-'":
            return [*chars[:n], " ", *chars[n:]]
    return chars


def _email(text: str, columns: list[int], score: float, alphabet: Alphabet,
           logp: np.ndarray) -> tuple[str, list[int], float]:
    """Re-score the reading with its domain replaced by a near known domain; keep the best within the prior."""
    if "@" in text:
        local, read = text.rsplit("@", 1)
        tails = [(local, read)]
    else:  # the '@' was missed: try the tails that look like a domain
        tails = [(text[:cut], text[cut:]) for cut in range(1, len(text))]
    candidates = set()
    for local, read in tails:
        for domain in KNOWN_DOMAINS:
            budget = max(1, int(len(domain) * DOMAIN_BUDGET))
            if abs(len(read) - len(domain)) <= budget and edit_distance(read, domain) <= budget and local:
                candidates.add(f"{local}@{domain}")
    best = (text, columns, score - DOMAIN_PRIOR_NATS)
    # The network often misses a domain's small dots: the domain may be spelt with or without them.
    spelt = [(c, s) for c in sorted(candidates)
             for s in dict.fromkeys([c, c[: c.index("@")] + c[c.index("@"):].replace(".", "")])]
    labels = [[alphabet.chars.index(ch) + 1 for ch in s] for _, s in spelt]
    for (candidate, _), cand_labels, cand_score in zip(spelt, labels, forced_scores(logp, labels), strict=True):
        if cand_score > best[2]:
            best = (candidate, cand_labels, cand_score)
    if best[0] == text:
        return text, columns, score
    return best[0], best[1], best[2] + DOMAIN_TRUSTED_NATS


def _email_names(text: str, columns: list[int], score: float, alphabet: Alphabet,
                 logp: np.ndarray) -> tuple[str, list[int], float]:
    """Most addresses spell their owner's names (« marie.tremblay@... »): each word of the part before the '@'
    that is no known name but near some is weighed against them, like a name cell's words (`_known_names`),
    and a known name within NAME_PRIOR_NATS of the reading replaces it."""
    if "@" not in text or not columns:
        return text, columns, score
    names = lexicon()
    at = text.index("@")  # the columns spell the same local part (a domain's dots may be missing from them)
    read = base = forced_score(logp, columns)
    for match in reversed(list(re.finditer(r"[a-z]{3,}", text[:at]))):  # from the right: spans stay put
        word = match.group().upper()
        if names.knows(word):
            continue
        best = (text, columns, base - NAME_PRIOR_NATS)
        locals_ = [text[: match.start()] + key.lower() + text[match.end(): at] for key in names.near(word)]
        labels = [[alphabet.chars.index(c) + 1 for c in local] + columns[at:] for local in locals_]
        for local, cand_labels, cand in zip(locals_, labels, forced_scores(logp, labels), strict=True):
            if cand > best[2]:
                best = (local + text[at:], cand_labels, cand)
        if best[0] != text:
            text, columns, base = best
            at = text.index("@")
    return text, columns, score - max(0.0, read - base)
