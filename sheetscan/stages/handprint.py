"""Read hand-printed cells with a small CNN (ONNX, run by onnxruntime) and field-constrained decoding.

For each cell: binarise, find the characters (connected components; accents and i-dots joined to the letter
below; hyphens, apostrophes, dots and underscores recognised by their geometry; over-wide blobs offered to the
decoder both whole and split at column-projection minima), normalise each character like an EMNIST tile and
classify every character of every cell in one forward pass. The per-character class probabilities are then
decoded under the field's grammar (postal code letter/digit pattern, four-digit year in range, ten-digit phone,
block-capital name). E-mails are left to the line networks: joined lowercase letters segment badly, and in the
vote this engine's e-mails cost 4-9 points of signers' e-mails read right (scripts/measure_handprint.py).

The model and its class list come from `scripts/train_handprint.py` (see `sheetscan/models/handprint.json`).
Run-time needs numpy, OpenCV and onnxruntime (one thread; measured 1.7x less CPU than OpenCV's dnn module).

Heuristics worth knowing:
- An accent is a small mark above a letter. Its shape picks the accent: two marks side by side = diaeresis,
  a mark whose middle is higher than its ends = circumflex, a mark rising to the right = acute, falling =
  grave. If that accent does not exist on the letter, the letter's most frequent accented form in French is
  used (É, À, Î, Ô, Ù); a cedilla is any small mark below a C. A single round dot above I or J is an i-dot.
- Hyphen = flat mark (width >= 1.6 x height) around mid-height between letters; apostrophe = small mark in
  the upper half between letters, kept in a name only after a one-letter word (D'ARC, L'HEUREUX, O'NEIL);
  '.' = small blob near the baseline; '_' = flat stroke at the baseline (neither belongs in a name).
- Classes are folded onto each field's alphabet (a lowercase class counts for its capital in a name, O for 0
  in a number, ...). Fixed-length fields are decoded by a dynamic programme that may also split a wide glyph
  or drop a stray one, each at a prior cost; the year is then re-decoded jointly, years in
  MIN_BIRTH_YEAR..MAX_BIRTH_YEAR being 1000x likelier than others.
- Confidence = product of the chosen characters' probabilities (relative to the field's whole alphabet) x
  the priors of any split or dropped glyph x small factors for marks read from geometry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from sheetscan.fields import (
    MAX_BIRTH_YEAR,
    MIN_BIRTH_YEAR,
    NAME_LETTERS,
    OTHER_AREA_CODE_NATS,
    POSTAL_FIRST,
    POSTAL_OTHER,
    FieldKind,
    quebec_codes_near,
)
from sheetscan.stages.names import lexicon
from sheetscan.stages.recognize import CELL_PX_PER_MM, FLAT_MARK_SLOPE, CellImage, Reading

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

log = logging.getLogger(__name__)

MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "handprint.onnx"
DECODER_VERSION = 3  # 2: name lexicon, Quebec area-code prior, touching digits split in fixed-length fields;
# 3: no e-mails, a flat stroke above a letter is no accent

GLYPH_SIZE = 28
GLYPH_BOX = 22  # the longer side of the ink's bounding box in an EMNIST tile (median, ink > 50 %)
GLYPH_STROKE = 2.8  # EMNIST's median stroke width in a tile, pixels
GLYPH_BLUR = 0.7  # Gaussian sigma giving EMNIST's soft stroke edges

MIN_CHAR_HEIGHT_MM = 2.5  # below this, a cell holds no character, only specks
MIN_BLOB_AREA = 10  # pixels: smaller connected components are noise
SPLIT_WIDTH = 1.15  # a glyph wider than this x the line height may be two touching characters
# A fixed-length field showing fewer glyphs than it needs has touching characters somewhere: then any glyph
# wider than this x the line height is offered split, into as many pieces as are missing (and one more).
SHORT_SPLIT_WIDTH = 0.55
FIXED_LENGTH = {FieldKind.POSTAL_CODE: 6, FieldKind.BIRTH_YEAR: 4, FieldKind.PHONE: 10}
SPACE_GAP = 0.55  # a gap wider than this x the line height is a space
P_SPLIT = 0.15  # prior that a wide glyph is touching characters, per extra character
P_DROP = 0.02  # prior that a glyph is not part of the value (fixed-length fields)

MAX_BLOBS = 120  # more ink pieces than this is a scribble or a texture, not a line of print
READS = (FieldKind.NAME, FieldKind.POSTAL_CODE, FieldKind.BIRTH_YEAR, FieldKind.PHONE)

DIGITS = "0123456789"
CAPITALS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

# Shape twins folded across letters and digits when a field allows only one of them (weights).
_AS_DIGIT = {"O": ("0", 1.0), "D": ("0", 0.3), "I": ("1", 1.0), "l": ("1", 1.0), "Z": ("2", 0.8),
             "S": ("5", 0.8), "b": ("6", 0.8), "G": ("6", 0.4), "q": ("9", 0.8), "g": ("9", 0.8),
             "B": ("8", 0.4), "T": ("7", 0.3), "A": ("4", 0.2)}  # fmt: skip
_AS_CAPITAL = {"0": ("O", 1.0), "1": ("I", 1.0), "2": ("Z", 0.8), "5": ("S", 0.8), "8": ("B", 0.5),
               "6": ("G", 0.4), "l": ("I", 1.0), "4": ("A", 0.2)}  # fmt: skip

# Accented capitals by (base, accent); the first entry per base is its default in French.
_ACCENTED = {
    "A": {"grave": "À", "circumflex": "Â", "diaeresis": "Ä"},
    "E": {"acute": "É", "grave": "È", "circumflex": "Ê", "diaeresis": "Ë"},
    "I": {"circumflex": "Î", "diaeresis": "Ï"},
    "O": {"circumflex": "Ô", "diaeresis": "Ö"},
    "U": {"grave": "Ù", "circumflex": "Û", "diaeresis": "Ü"},
    "Y": {"diaeresis": "Ÿ"},
}
_DEFAULT_ACCENT = {"A": "À", "E": "É", "I": "Î", "O": "Ô", "U": "Ù", "Y": "Ÿ"}


# ----------------------------------------------------------------------------------------------------------
# Glyph normalisation (shared convention with the training data)


def normalise_glyph(mask: np.ndarray) -> np.ndarray:
    """A binary glyph crop (nonzero = ink) -> float32 28x28 EMNIST-like tile: white ink on black, 0..1.

    The ink's bounding box is scaled to fit GLYPH_BOX keeping its aspect ratio and centred in the tile; the
    stroke is thickened or thinned towards EMNIST's typical width, then softened by a small blur.
    """
    x, y, w, h = cv2.boundingRect((mask > 0).view(np.uint8))
    if w == 0:
        return np.zeros((GLYPH_SIZE, GLYPH_SIZE), np.float32)
    crop: np.ndarray = (mask[y : y + h, x : x + w] > 0).astype(np.uint8)
    # Work at twice the tile's scale: cheap morphology, and strokes still a few pixels wide.
    work = 2 * GLYPH_BOX / max(crop.shape)
    if work < 1:
        size = (max(1, round(crop.shape[1] * work)), max(1, round(crop.shape[0] * work)))
        crop = (cv2.resize(crop.astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.4).astype(np.uint8)
    crop = cv2.copyMakeBorder(crop, 3, 3, 3, 3, cv2.BORDER_CONSTANT, value=0)
    # Stroke width from area and boundary (a stroke of width t and length L has area tL, ~2L boundary pixels).
    boundary = int(crop.sum()) - int(cv2.erode(crop, _CROSS).sum())
    stroke = 2.0 * float(crop.sum()) / max(boundary, 1) * GLYPH_BOX / (max(crop.shape) - 6)
    change = (GLYPH_STROKE - stroke) * (max(crop.shape) - 6) / GLYPH_BOX  # in working pixels, whole width
    if change > 1.2 or (change < -1.2 and stroke > 1.6 * GLYPH_STROKE):
        radius = min(3, max(1, round(abs(change) / 2)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        adjusted = cv2.dilate(crop, kernel) if change > 0 else cv2.erode(crop, kernel)
        if adjusted.any():
            crop = adjusted
    x, y, w, h = cv2.boundingRect(crop)
    ink = crop[y : y + h, x : x + w].astype(np.float32)
    scale = GLYPH_BOX / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = cv2.resize(ink, (nw, nh), interpolation=cv2.INTER_AREA)
    tile = np.zeros((GLYPH_SIZE, GLYPH_SIZE), np.float32)
    y0, x0 = (GLYPH_SIZE - nh) // 2, (GLYPH_SIZE - nw) // 2
    tile[y0 : y0 + nh, x0 : x0 + nw] = small
    soft = np.asarray(cv2.GaussianBlur(tile, (0, 0), GLYPH_BLUR), np.float32)
    peak = float(soft.max())
    return soft / peak if peak > 0 else soft


_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


# ----------------------------------------------------------------------------------------------------------
# Segmentation


@dataclass
class Blob:
    """A connected component of ink (or a union of them), in cell coordinates."""

    x0: int
    y0: int
    x1: int  # exclusive
    y1: int  # exclusive
    labels: list[int]
    area: int

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2

    def overlap_x(self, other: Blob) -> int:
        return max(0, min(self.x1, other.x1) - max(self.x0, other.x0))

    def merged(self, other: Blob) -> Blob:
        return Blob(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1),
                    max(self.y1, other.y1), self.labels + other.labels, self.area + other.area)  # fmt: skip


@dataclass
class Token:
    """One item on the written line: a character to classify, or a mark read from its geometry."""

    kind: str  # "char", "-", "'", ".", "_"
    blob: Blob
    above: list[Blob] = field(default_factory=list)  # accents, i-dots
    below: list[Blob] = field(default_factory=list)  # cedillas
    glyphs: list[list[int]] = field(default_factory=list)  # glyph batch indices: [whole], then splits


@dataclass
class Segmented:
    tokens: list[Token]
    line_h: float
    labels: np.ndarray  # connected-component label image


def binarise(image: np.ndarray) -> np.ndarray | None:
    """Ink mask (uint8 0/1) of a grey cell, or None when the cell holds no ink of real contrast."""
    grey = image
    if grey.ndim == 3:
        grey = cv2.cvtColor(grey, cv2.COLOR_BGR2GRAY)
    if grey.dtype != np.uint8:
        grey = np.clip(grey, 0, 255).astype(np.uint8)
    if grey.size == 0 or min(grey.shape) < 8:
        return None
    smooth = cv2.medianBlur(grey, 3)
    sample = smooth[::3, ::3].ravel()
    background = float(np.partition(sample, int(0.75 * (len(sample) - 1)))[int(0.75 * (len(sample) - 1))])
    darkest = float(smooth.min())
    if background - darkest < 60:
        return None
    threshold = background - 0.4 * (background - darkest)
    return (grey < threshold).astype(np.uint8)


def segment(mask: np.ndarray) -> Segmented | None:
    # BBDT: the same labels as the default (Spaghetti), measured a third faster on cells
    n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_BBDT)
    height, width = mask.shape
    if int((stats[1:, cv2.CC_STAT_AREA] >= MIN_BLOB_AREA).sum()) > MAX_BLOBS:
        return None
    blobs = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if area < MIN_BLOB_AREA:
            continue
        touches = x <= 1 or y <= 1 or x + w >= width - 1 or y + h >= height - 1
        if touches and min(w, h) <= 0.6 * CELL_PX_PER_MM and max(w, h) >= 4 * min(w, h):
            continue  # a grid-line residue along the edge
        if touches and max(w, h) < 1.0 * CELL_PX_PER_MM:
            continue  # a speck in the margin
        blobs.append(Blob(x, y, x + w, y + h, [i], area))
    if not blobs or len(blobs) > MAX_BLOBS or max(b.h for b in blobs) < MIN_CHAR_HEIGHT_MM * CELL_PX_PER_MM:
        return None
    tallest = max(b.h for b in blobs)
    big = [b for b in blobs if b.h >= 0.5 * tallest]
    line_top = float(np.median([b.y0 for b in big]))
    line_bot = float(np.median([b.y1 for b in big]))
    line_h = max(line_bot - line_top, 1.0)
    small_h = 0.4 * line_h

    # Characters: blobs at least 40 % of the line high, joined when parts of one character. The rest are marks.
    chars = sorted((b for b in blobs if b.h >= small_h), key=lambda b: b.x0)
    marks = [b for b in blobs if b.h < small_h]
    merged: list[Blob] = []
    for b in chars:
        if merged and _same_character(merged[-1], b, line_h):
            merged[-1] = merged[-1].merged(b)
        else:
            merged.append(b)
    tokens = [Token("char", b) for b in merged]

    for m in marks:
        owner = max(tokens, key=lambda t: t.blob.overlap_x(m), default=None)
        if owner is not None and owner.blob.overlap_x(m) >= 0.4 * m.w:
            base = owner.blob
            if m.y1 <= base.y0 + 0.2 * base.h:
                owner.above.append(m)
            elif m.y0 >= base.y1 - 0.2 * base.h:
                owner.below.append(m)
            else:
                owner.blob = base.merged(m)  # a broken-off piece of the character (or of a faint one)
                if owner.kind != "char" and owner.blob.h >= small_h:
                    owner.kind = "char"
            continue
        rel = ((m.y0 + m.y1) / 2 - line_top) / line_h  # 0 = top of the line, 1 = baseline
        if m.w >= 2.5 * m.h and rel > 0.8:
            kind = "_"
        elif m.w >= 1.6 * m.h and 0.2 <= rel <= 0.8:
            kind = "-"
        elif rel < 0.45:
            kind = "'"
        elif rel > 0.65 and max(m.w, m.h) <= 0.3 * line_h:
            kind = "."
        else:
            kind = "char"
        tokens.append(Token(kind, m))
    tokens.sort(key=lambda t: (t.blob.x0 + t.blob.x1) / 2)
    return Segmented(tokens, line_h, labels)


def _same_character(a: Blob, b: Blob, line_h: float) -> bool:
    """Two big blobs are one character when stacked (heavy horizontal overlap, little vertical), or when the
    smaller one sits mostly inside the other's columns (a G's bar, a broken stroke) and together they are no
    wider than a character."""
    small, large = (a, b) if a.area < b.area else (b, a)
    overlap = a.overlap_x(b)
    stacked = min(a.y1, b.y1) - max(a.y0, b.y0) < 0.5 * min(a.h, b.h)
    if stacked and overlap >= 0.6 * min(a.w, b.w):
        return True
    inside = large.x0 <= (small.x0 + small.x1) / 2 <= large.x1 and overlap >= 0.7 * small.w
    return inside and max(a.x1, b.x1) - min(a.x0, b.x0) <= line_h


def _split_columns(mask: np.ndarray, pieces: int) -> list[tuple[int, int]]:
    """Column ranges cutting a glyph into `pieces` at projection minima near equal spacing."""
    proj = cv2.GaussianBlur(mask.sum(0).astype(np.float32).reshape(1, -1), (0, 0), 2).ravel()
    w = len(proj)
    cuts = [0]
    for i in range(1, pieces):
        centre, half = i * w / pieces, w / pieces / 3
        lo, hi = max(cuts[-1] + 2, int(centre - half)), min(w - 2, int(centre + half) + 1)
        cuts.append(int(lo + np.argmin(proj[lo:hi])) if hi > lo else int(centre))
    cuts.append(w)
    return list(zip(cuts[:-1], cuts[1:], strict=True))


# ----------------------------------------------------------------------------------------------------------
# Mark shapes


def _blob_mask(labels: np.ndarray, blob: Blob) -> np.ndarray:
    crop = labels[blob.y0 : blob.y1, blob.x0 : blob.x1]
    if len(blob.labels) == 1:  # most blobs: one comparison, not isin's sort
        return (crop == blob.labels[0]).astype(np.uint8)
    return np.isin(crop, blob.labels).astype(np.uint8)


def accent_of(labels: np.ndarray, above: list[Blob], base_h: int) -> str | None:
    """'acute', 'grave', 'circumflex', 'diaeresis', 'dot' or None, from the marks above a letter."""
    if not above:
        return None
    if len(above) >= 2:
        return "diaeresis"
    m = above[0]
    if max(m.w, m.h) < 0.12 * base_h or (m.w < 1.6 * m.h and m.h < 1.6 * m.w and m.area > 0.5 * m.w * m.h):
        return "dot"
    ys, xs = np.nonzero(_blob_mask(labels, m))
    if len(xs) < 3 or xs.max() == xs.min():
        return "acute"
    thirds = np.digitize(xs, [xs.min() + m.w / 3, xs.min() + 2 * m.w / 3])
    ends = [ys[thirds == t].mean() for t in (0, 2) if (thirds == t).any()]
    if len(ends) == 2 and (thirds == 1).any() and min(ends) - ys[thirds == 1].mean() > 0.2 * m.h:
        return "circumflex"
    slope = np.polyfit(xs.astype(np.float64), ys.astype(np.float64), 1)[0]
    if m.w >= 2 * m.h and abs(slope) < FLAT_MARK_SLOPE:
        return None  # a long stroke lying flat is no French accent: a detached piece of the letter (an E's bar)
    return "acute" if slope < 0 else "grave"


# ----------------------------------------------------------------------------------------------------------
# Decoding helpers


def _fold_matrix(classes: Sequence[str], alphabet: str, fold: dict[str, tuple[str, float]],
                 transform: dict[str, str] | None = None) -> np.ndarray:  # fmt: skip
    """(n_classes, len(alphabet)) weights: how much each class's probability counts for each output char."""
    m = np.zeros((len(classes), len(alphabet)), np.float32)
    for i, c in enumerate(classes):
        target = (transform or {}).get(c, c)
        if target in alphabet:
            m[i, alphabet.index(target)] = 1.0
        elif c in fold and fold[c][0] in alphabet:
            m[i, alphabet.index(fold[c][0])] = fold[c][1]
    return m


Folded = dict[str, np.ndarray]  # alphabet -> (n_glyphs, len(alphabet)) class probabilities folded onto it


@dataclass(frozen=True)
class Choice:
    """A character chosen for a position, with its probability among the allowed ones."""

    char: str
    prob: float
    glyph: int  # index in the glyph batch


@lru_cache(maxsize=64)
def _indices(alphabet: str, allowed: str) -> list[int]:
    return [alphabet.index(c) for c in allowed]


def _pick(q: np.ndarray, alphabet: str, allowed: str, glyph: int) -> Choice:
    """The likeliest allowed char; its probability is relative to the whole alphabet, so a glyph that looks
    like a char the position forbids (an O where a postal code wants a letter but never O) stays unsure."""
    sub = q[_indices(alphabet, allowed)]
    total = float(q.sum())
    if total <= 0:
        return Choice(allowed[0], 0.0, glyph)
    best = int(np.argmax(sub))
    return Choice(allowed[best], float(sub[best]) / total, glyph)


# ----------------------------------------------------------------------------------------------------------
# The engine


@dataclass
class _Cell:
    kind: FieldKind
    seg: Segmented | None
    crops: dict[int, np.ndarray] = field(default_factory=dict)  # glyph index -> binary crop


class HandprintEngine:
    """Engine reading hand-printed cells with the EMNIST-trained CNN; see the module docstring."""

    def __init__(self, model_path: Path = MODEL_PATH) -> None:
        self.model_path = model_path
        meta = json.loads(model_path.with_suffix(".json").read_text())
        self.classes: tuple[str, ...] = tuple(meta["classes"])
        digest = hashlib.sha256(model_path.read_bytes()).hexdigest()[:8]
        self.name = f"handprint-cnn/{digest}/decoder-{DECODER_VERSION}"
        self._digits = _fold_matrix(self.classes, DIGITS, _AS_DIGIT)
        upper = {c: c.upper() for c in self.classes if c.isalpha()}
        upper["l"] = "I"
        self._capitals = _fold_matrix(self.classes, CAPITALS, _AS_CAPITAL, upper)

    @cached_property
    def _net(self) -> InferenceSession:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])

    def classify(self, glyphs: np.ndarray) -> np.ndarray:
        """(N, 28, 28) normalised glyphs -> (N, n_classes) probabilities, in one forward pass."""
        if len(glyphs) == 0:
            return np.zeros((0, len(self.classes)), np.float32)
        batch = glyphs.reshape(-1, 1, GLYPH_SIZE, GLYPH_SIZE).astype(np.float32)
        [probs] = self._net.run(None, {self._net.get_inputs()[0].name: batch})
        return np.asarray(probs, np.float32).reshape(len(glyphs), len(self.classes))

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        prepared: list[_Cell | None] = []
        glyphs: list[np.ndarray] = []
        for cell in cells:
            try:
                prepared.append(self._prepare(cell, glyphs))
            except Exception:  # the Protocol: an odd cell gets confidence 0, never an exception
                log.exception("hand-print segmentation failed on a %s cell", cell.kind)
                prepared.append(None)
        try:
            probs = self.classify(np.stack(glyphs)) if glyphs else np.zeros((0, len(self.classes)), np.float32)
            # einsum, not @: numpy's BLAS would wake its thread pool for these small products, and its threads'
            # spinning cost 0.1 s of CPU per full sheet (measured)
            folded = {chars: np.einsum("nc,ck->nk", probs, matrix) for chars, matrix in
                      ((DIGITS, self._digits), (CAPITALS, self._capitals))}
        except Exception:
            log.exception("hand-print classification failed")
            return [Reading("", 0.0, self.name) for _ in cells]
        readings = []
        for item in prepared:
            try:
                text, conf = self._decode(item, folded) if item is not None and item.seg else ("", 0.0)
            except Exception:
                log.exception("hand-print decoding failed on a %s cell", item.kind if item else "?")
                text, conf = "", 0.0
            readings.append(Reading(text, round(float(conf), 4) if text else 0.0, self.name))
        return readings

    # -- segmentation into the glyph batch

    def _prepare(self, cell: CellImage, glyphs: list[np.ndarray]) -> _Cell:
        if cell.kind not in READS:
            return _Cell(cell.kind, None)
        image = np.asarray(cell.image)
        mask = binarise(image) if image.ndim in (2, 3) else None
        seg = segment(mask) if mask is not None else None
        out = _Cell(cell.kind, seg)
        if seg is None:
            return out
        missing = FIXED_LENGTH.get(cell.kind, 0) - sum(1 for t in seg.tokens if t.kind == "char")
        for token in seg.tokens:
            if token.kind != "char":
                continue
            crop = _blob_mask(seg.labels, token.blob)  # capitals: accents are read from their geometry
            token.glyphs.append([len(glyphs)])
            out.crops[len(glyphs)] = crop
            glyphs.append(normalise_glyph(crop))
            pieces_max = max(2, min(int(token.blob.w / (0.6 * seg.line_h)), 4))
            wide = token.blob.w > SPLIT_WIDTH * seg.line_h
            if missing > 0 and token.blob.w > SHORT_SPLIT_WIDTH * seg.line_h:
                wide, pieces_max = True, max(pieces_max, min(missing + 1, int(token.blob.w / (0.3 * seg.line_h))))
            if wide:
                for pieces in range(2, pieces_max + 1):
                    option = []
                    for a, b in _split_columns(crop, pieces):
                        option.append(len(glyphs))
                        glyphs.append(normalise_glyph(crop[:, a:b]))
                    token.glyphs.append(option)
        return out

    # -- decoding

    def _decode(self, cell: _Cell, probs: Folded) -> tuple[str, float]:
        match cell.kind:
            case FieldKind.POSTAL_CODE:
                pattern = [POSTAL_FIRST, DIGITS, POSTAL_OTHER, DIGITS, POSTAL_OTHER, DIGITS]
                chosen, plaus = self._fixed(cell, probs, [pattern])
                if not chosen:
                    return "", 0.0
                text = "".join(c.char for c in chosen)
                return f"{text[:3]} {text[3:]}", plaus * math.prod(c.prob for c in chosen)
            case FieldKind.BIRTH_YEAR:
                return self._year(cell, probs)
            case FieldKind.PHONE:
                return self._phone(cell, probs)
            case FieldKind.NAME:
                text, confidence = self._name(cell, probs)
                return lexicon().fix(text), confidence
            case _:
                return "", 0.0

    @staticmethod
    def _q(probs: Folded, index: int, alphabet: str) -> np.ndarray:
        return probs[alphabet][index]

    def _fixed(self, cell: _Cell, probs: Folded, patterns: list[list[str]]) -> tuple[list[Choice], float]:
        """Best reading of the characters as one of the fixed-length patterns (allowed chars per position).

        Dynamic programme over (token, position): each character token is read whole, read as several
        touching characters (when it was wide), or dropped (stray mark, parenthesis); geometric marks
        (hyphens, dots) are separators and ignored. Returns the chosen characters and a plausibility factor.
        """
        assert cell.seg is not None
        tokens = [t for t in cell.seg.tokens if t.kind == "char"]
        best: tuple[float, list[Choice], float] | None = None
        for pattern in patterns:
            n, length = len(tokens), len(pattern)
            # score[i][j]: best log-score reading tokens[:i] as pattern[:j]; back-pointers in `back`.
            score = np.full((n + 1, length + 1), -np.inf)
            score[0, 0] = 0.0
            back: dict[tuple[int, int], tuple[int, int, list[Choice], float]] = {}
            for i, token in enumerate(tokens):
                for j in range(length + 1):
                    if score[i, j] == -np.inf:
                        continue
                    drop = score[i, j] + math.log(P_DROP)
                    if drop > score[i + 1, j]:
                        score[i + 1, j] = drop
                        back[(i + 1, j)] = (i, j, [], P_DROP)
                    for k, option in enumerate(token.glyphs):
                        if j + len(option) > length:
                            continue
                        choices = [self._choose(probs, g, pattern[j + p]) for p, g in enumerate(option)]
                        prior = P_SPLIT ** (len(option) - 1) if k else 1.0
                        s = score[i, j] + math.log(prior) + sum(math.log(max(c.prob, 1e-9)) for c in choices)
                        if s > score[i + 1, j + len(option)]:
                            score[i + 1, j + len(option)] = s
                            back[(i + 1, j + len(option))] = (i, j, choices, prior)
            if score[n, length] == -np.inf:
                continue
            chosen: list[Choice] = []
            plaus = 1.0
            i, j = n, length
            while (i, j) != (0, 0):
                i, j, choices, prior = back[(i, j)]
                chosen[:0] = choices
                plaus *= prior
            total = score[n, length]
            if best is None or total > best[0]:
                best = (total, chosen, plaus)
        if best is None:
            return [], 0.0
        return best[1], best[2]

    def _choose(self, probs: Folded, glyph: int, allowed: str) -> Choice:
        if all(c in DIGITS for c in allowed):
            return _pick(self._q(probs, glyph, DIGITS), DIGITS, allowed, glyph)
        return _pick(self._q(probs, glyph, CAPITALS), CAPITALS, allowed, glyph)

    def _phone(self, cell: _Cell, probs: Folded) -> tuple[str, float]:
        """Ten digits (or 1 and ten); an area code outside Quebec is weighed against the Quebec codes one digit
        away from it, paying OTHER_AREA_CODE_NATS in that choice (not in the confidence of a clear reading)."""

        def read(patterns: list[list[str]]) -> tuple[str, float]:
            chosen, plaus = self._fixed(cell, probs, patterns)
            return "".join(c.char for c in chosen), plaus * math.prod(c.prob for c in chosen) if chosen else 0.0

        text, score = read([[DIGITS] * 10, ["1"] + [DIGITS] * 10])
        best, best_score = (text, score), score * math.exp(-OTHER_AREA_CODE_NATS)
        for code in quebec_codes_near(text) if text else []:
            other = read([[*text[:-10], *code] + [DIGITS] * 7])
            if other[0] and other[1] > best_score:
                best, best_score = other, other[1]
        return best

    def _year(self, cell: _Cell, probs: Folded) -> tuple[str, float]:
        chosen, plaus = self._fixed(cell, probs, [[DIGITS] * 4])
        if not chosen:
            return "", 0.0
        # Re-decode the four glyphs jointly with a prior: years in range are 1000x likelier than others.
        q = np.stack([self._q(probs, c.glyph, DIGITS) for c in chosen])
        q = q / np.maximum(q.sum(1, keepdims=True), 1e-9)
        logq = np.log(np.maximum(q, 1e-9))
        years = np.arange(10000)
        d = np.stack([years // 1000, years // 100 % 10, years // 10 % 10, years % 10])
        scores = logq[np.arange(4)[:, None], d].sum(0)
        scores = scores + np.where((years >= MIN_BIRTH_YEAR) & (years <= MAX_BIRTH_YEAR), 0.0, math.log(1e-3))
        year = int(np.argmax(scores))
        conf = float(np.prod(q[np.arange(4), d[:, year]]))
        return f"{year:04d}", plaus * conf

    # -- free-length kinds

    def _free_tokens(self, cell: _Cell, probs: Folded, alphabet: str) -> list[tuple[Token, list[int], float]]:
        """Each char token with the glyph option it is read as (whole or split) and that option's prior."""
        assert cell.seg is not None
        out: list[tuple[Token, list[int], float]] = []
        for token in cell.seg.tokens:
            if token.kind != "char":
                out.append((token, [], 1.0))
                continue
            best_score, best_option, best_prior = -np.inf, token.glyphs[0], 1.0
            for k, option in enumerate(token.glyphs):
                prior = P_SPLIT ** (len(option) - 1) if k else 1.0
                q = [self._q(probs, g, alphabet) for g in option]
                s = math.log(prior) + sum(math.log(max(float(v.max()) / max(float(v.sum()), 1e-9), 1e-9)) for v in q)
                if s > best_score:
                    best_score, best_option, best_prior = s, option, prior
            out.append((token, best_option, best_prior))
        return out

    def _name(self, cell: _Cell, probs: Folded) -> tuple[str, float]:
        assert cell.seg is not None
        parts: list[str] = []
        conf = 1.0
        last_x1: int | None = None
        for token, option, prior in self._free_tokens(cell, probs, CAPITALS):
            if last_x1 is not None and token.blob.x0 - last_x1 > SPACE_GAP * cell.seg.line_h:
                parts.append(" ")
            last_x1 = max(last_x1 or 0, token.blob.x1)
            if token.kind == "'" and len("".join(parts).replace("-", " ").split(" ")[-1]) != 1:
                conf *= 0.9  # apostrophes follow a one-letter word (D'ARC, L'HEUREUX, O'NEIL): a stray piece
                continue
            if token.kind in ("-", "'"):
                parts.append(token.kind)
                conf *= 0.95
                continue
            if token.kind != "char":
                conf *= 0.8  # a dot or underscore has no place in a name: left out
                continue
            conf *= prior
            for g in option:
                c = _pick(self._q(probs, g, CAPITALS), CAPITALS, CAPITALS, g)
                parts.append(c.char)
                conf *= c.prob
            if len(option) == 1:
                letter, factor = self._accented(cell, token, parts[-1])
                parts[-1] = letter
                conf *= factor
        text = "".join(parts).strip(" -'")
        text = " ".join(text.split())
        return text, conf

    def _accented(self, cell: _Cell, token: Token, letter: str) -> tuple[str, float]:
        assert cell.seg is not None
        if token.below and letter == "C":
            return "Ç", 0.9
        accent = accent_of(cell.seg.labels, token.above, token.blob.h)
        if accent is None or (accent == "dot" and letter in "IJ"):
            return letter, 1.0
        if letter not in _ACCENTED:
            return letter, 0.7  # a mark over a letter that takes no accent: kept plain, less sure
        if accent in _ACCENTED[letter]:
            result = _ACCENTED[letter][accent]
            return (result, 0.9) if result in NAME_LETTERS else (letter, 0.7)
        return _DEFAULT_ACCENT[letter], 0.6
