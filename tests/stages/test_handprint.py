"""The hand-print engine on cells composed of held-out EMNIST characters (the committed fixture, no shared data)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from sheetscan.fields import POSTAL_FIRST, POSTAL_OTHER, FieldKind, validate
from sheetscan.stages.handprint import HandprintEngine, accent_of, binarise, normalise_glyph, segment
from sheetscan.stages.recognize import CELL_PX_PER_MM, CellImage, Engine
from sheetscan.synth.glyph_cells import Glyph, Item, compose_cell

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "emnist_heldout_sample"
Pool = dict[str, list[np.ndarray]]


@pytest.fixture(scope="module")
def engine() -> HandprintEngine:
    return HandprintEngine()


@pytest.fixture(scope="module")
def pool() -> Pool:
    grid = np.asarray(Image.open(FIXTURE.with_suffix(".png")).convert("L"))
    chars = json.loads(FIXTURE.with_suffix(".json").read_text())["chars"]
    tiles = grid.reshape(grid.shape[0] // 28, 28, -1, 28).swapaxes(1, 2).reshape(-1, 28, 28)
    out: Pool = {}
    for tile, c in zip(tiles, chars, strict=False):
        out.setdefault(c, []).append(tile)
    return out


def _glyphs(pool: Pool, text: str, rng: np.random.Generator) -> list[Item]:
    return [" " if c == " " else Glyph(pool[c][rng.integers(len(pool[c]))]) for c in text]


def _read(engine: HandprintEngine, kind: FieldKind, cells: list[np.ndarray]) -> list[str]:
    return [r.text for r in engine.read([CellImage(c, kind) for c in cells])]


def test_is_an_engine(engine: HandprintEngine) -> None:
    typed: Engine = engine  # checked by mypy against the Protocol
    assert typed.name.startswith("handprint-cnn/")


def test_reads_most_postal_codes(engine: HandprintEngine, pool: Pool) -> None:
    rng = np.random.default_rng(11)
    truths, cells = [], []
    for _ in range(10):
        text = "".join(str(rng.choice(list(s))) for s in (POSTAL_FIRST, "0123456789", POSTAL_OTHER)) + " "
        text += "".join(str(rng.choice(list(s))) for s in ("0123456789", POSTAL_OTHER, "0123456789"))
        truths.append(text)
        cells.append(compose_cell(_glyphs(pool, text, rng), rng, residue=True))
    texts = _read(engine, FieldKind.POSTAL_CODE, cells)
    assert all(t == "" or len(t) == 7 for t in texts)
    assert sum(t == truth for t, truth in zip(texts, truths, strict=True)) >= 8, (texts, truths)


def test_reads_most_birth_years(engine: HandprintEngine, pool: Pool) -> None:
    rng = np.random.default_rng(12)
    truths = [str(y) for y in rng.integers(1930, 2012, size=10)]
    cells = [compose_cell(_glyphs(pool, t, rng), rng) for t in truths]
    texts = _read(engine, FieldKind.BIRTH_YEAR, cells)
    assert sum(t == truth for t, truth in zip(texts, truths, strict=True)) >= 8, (texts, truths)


def test_reads_most_phone_numbers_whatever_the_separators(engine: HandprintEngine, pool: Pool) -> None:
    rng = np.random.default_rng(13)
    truths, cells = [], []
    for i in range(10):
        digits = f"{rng.integers(200, 999)}{rng.integers(200, 999)}{rng.integers(0, 9999):04d}"
        truths.append(validate(FieldKind.PHONE, digits))
        items: list[Item] = _glyphs(pool, digits, rng)
        if i % 2:
            items[6:6] = ["-"]
            items[3:3] = ["-"]
        cells.append(compose_cell(items, rng))
    texts = _read(engine, FieldKind.PHONE, cells)
    got = [validate(FieldKind.PHONE, t) if len(t) == 10 else t for t in texts]
    assert sum(g == truth for g, truth in zip(got, truths, strict=True)) >= 7, (got, truths)


def test_name_keeps_hyphen_space_and_accent(engine: HandprintEngine, pool: Pool) -> None:
    rng = np.random.default_rng(14)
    items: list[Item] = [*_glyphs(pool, "LAM", rng), "-", *_glyphs(pool, "ROY", rng), " "]
    items += [Glyph(pool["E"][0], "acute"), *_glyphs(pool, "VA", rng)]
    cell = compose_cell(items, rng)
    (reading,) = engine.read([CellImage(cell, FieldKind.NAME)])
    assert reading.text.count("-") == 1 and reading.text.index("-") == 3
    assert reading.text.count(" ") == 1 and reading.text.index(" ") == 7
    assert reading.text[8] == "É"


def test_blank_and_odd_cells_read_empty_with_zero_confidence(engine: HandprintEngine) -> None:
    h = round(13 * CELL_PX_PER_MM)
    rng = np.random.default_rng(0)
    blank = np.full((h, 400), 245, np.uint8)
    speckled = np.clip(blank + rng.normal(0, 4, blank.shape), 0, 255).astype(np.uint8)
    residue = blank.copy()
    residue[:2, :] = 150  # a grid-line leftover along the top edge
    noise = rng.integers(0, 256, (h, 400)).astype(np.uint8)  # a texture, not print
    odd: list[np.ndarray] = [
        blank,
        speckled,
        residue,
        noise,
        np.zeros((0, 0), np.uint8),
        np.full((3, 3), 0, np.uint8),
        np.zeros((h, 400)),
    ]
    cells = [CellImage(img, kind) for img in odd for kind in (FieldKind.NAME, FieldKind.BIRTH_YEAR)]
    readings = engine.read(cells)
    assert [(r.text, r.confidence) for r in readings] == [("", 0.0)] * len(cells)
    assert engine.read([]) == []


def test_normalised_glyph_follows_the_emnist_convention() -> None:
    mask = np.zeros((90, 40), np.uint8)
    cv2.line(mask, (20, 5), (20, 85), 1, 7)  # a tall "1"
    tile = normalise_glyph(mask)
    assert tile.shape == (28, 28) and tile.dtype == np.float32
    ys, xs = np.nonzero(tile > 0.5)
    assert 20 <= ys.max() - ys.min() + 1 <= 24  # the longer side fills the 22-pixel box
    assert abs((xs.min() + xs.max()) / 2 - 13.5) <= 1.5 and abs((ys.min() + ys.max()) / 2 - 13.5) <= 1.5
    assert normalise_glyph(np.zeros((5, 5), np.uint8)).max() == 0


@pytest.mark.parametrize(
    ("strokes", "expected"),
    [
        ([((0, 20), (20, 0))], "acute"),
        ([((0, 0), (20, 20))], "grave"),
        ([((0, 20), (12, 0)), ((12, 0), (24, 20))], "circumflex"),
        ([((0, 4), (30, 4))], None),  # a long flat stroke: a detached piece of the letter, no accent
    ],
)
def test_accent_shape(strokes: list[tuple[tuple[int, int], tuple[int, int]]], expected: str | None) -> None:
    canvas = np.zeros((120, 60), np.uint8)
    for a, b in strokes:
        cv2.line(canvas, (a[0] + 15, a[1] + 5), (b[0] + 15, b[1] + 5), 1, 4)
    canvas[40:110, 10:50] = 1  # the letter below
    seg = segment(canvas)
    assert seg is not None
    (token,) = seg.tokens
    assert accent_of(seg.labels, token.above, token.blob.h) == expected


def test_email_cells_are_left_to_the_line_networks(engine: HandprintEngine, pool: Pool) -> None:
    """Joined lowercase letters segment badly: the CNN gives no e-mail, so it casts no vote on one."""
    rng = np.random.default_rng(15)
    cell = compose_cell([c if c in "@." else Glyph(pool[c][rng.integers(3)]) for c in "ABC@DEF.CA"], rng)
    [reading] = engine.read([CellImage(cell, FieldKind.EMAIL)])
    assert (reading.text, reading.confidence) == ("", 0.0)
    [name] = engine.read([CellImage(compose_cell(_glyphs(pool, "ABC", rng), rng), FieldKind.NAME)])
    assert name.text  # the same ink as a name is read


def test_touching_digits_in_a_fixed_length_field_are_split(engine: HandprintEngine, pool: Pool) -> None:
    """Two ones joined by a stroke make one narrow blob; a year needs four glyphs, so it is offered split."""
    rng = np.random.default_rng(5)
    texts = []
    for _ in range(6):
        cell = compose_cell(_glyphs(pool, "1911", rng), rng)
        before = segment(binarise(cell))
        assert before is not None
        left, right = [t.blob for t in before.tokens if t.kind == "char"][2:4]
        y = (max(left.y0, right.y0) + min(left.y1, right.y1)) // 2
        cv2.line(cell, ((left.x0 + left.x1) // 2, y), ((right.x0 + right.x1) // 2, y), 0, 6)
        seg = segment(binarise(cell))
        assert seg is not None and sum(t.kind == "char" for t in seg.tokens) == 3
        texts += _read(engine, FieldKind.BIRTH_YEAR, [cell])
    assert all(len(t) == 4 for t in texts)
    assert sum(t.startswith("19") for t in texts) >= 5  # read as a year, not refused
