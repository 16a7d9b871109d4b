import cv2
import numpy as np

from sheetscan.stages.ink import is_signed, measure
from sheetscan.stages.recognize import CELL_PX_PER_MM

PX = CELL_PX_PER_MM


def _cell(width_mm: float = 40, height_mm: float = 11) -> np.ndarray:
    return np.full((int(height_mm * PX), int(width_mm * PX)), 245, np.uint8)


def test_blank_and_noisy_cells_are_not_written() -> None:
    assert not measure(_cell(), 245).written
    noisy = _cell()
    rng = np.random.default_rng(3)
    ys, xs = rng.integers(0, noisy.shape[0], 40), rng.integers(0, noisy.shape[1], 40)
    noisy[ys, xs] = 0  # isolated scanner specks
    ink = measure(noisy, 245)
    assert not ink.written
    assert (ink.cleaned[ys, xs] == 255).all()


def test_faint_thin_strokes_reach_the_reader() -> None:
    cell = _cell()
    cv2.putText(cell, "AN", (20, 100), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 40, 6)
    cv2.line(cell, (200, 70), (240, 70), 195, 2)  # a hyphen in a thin pen, lighter than INK_LEVEL once scanned
    ink = measure(cell, 245)
    assert ink.written
    assert (ink.cleaned[69:72, 200:241] == 195).all()


def test_a_written_digit_is_written() -> None:
    cell = _cell()
    cv2.putText(cell, "7", (40, 110), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 30, 6)
    ink = measure(cell, 245)
    assert ink.written and ink.share > 0.003


def test_scribble_is_a_signature_but_dot_and_flat_line_are_not() -> None:
    scribble = _cell()
    pts = np.array([[30, 100], [80, 30], [140, 110], [200, 40], [260, 100], [330, 50]], np.int32)
    cv2.polylines(scribble, [pts], False, 20, 5)
    assert is_signed(measure(scribble, 245))

    dot = _cell()
    cv2.circle(dot, (200, 60), 8, 20, -1)
    assert not is_signed(measure(dot, 245))

    line = _cell()
    cv2.line(line, (10, 60), (460, 64), 20, 4)
    assert not is_signed(measure(line, 245))


def test_thin_broken_writing_is_written() -> None:
    cell = _cell()
    for i in range(8):  # eight short thin strokes, none large alone: a fine pen's small letters
        x = 30 + 50 * i
        cv2.line(cell, (x, 50), (x + 10, 85), 40, 2)
    ink = measure(cell, 245)
    assert ink.written


def test_light_pen_and_dotted_black_and_white_strokes_are_written() -> None:
    light = _cell()
    cv2.putText(light, "abc@def.com", (20, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 165, 2)  # light grey ink
    assert measure(light, 245).written
    dotted = _cell()
    cv2.putText(dotted, "abc@def.com", (20, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 0, 2)
    dotted[:, ::3] = 245  # a thin stroke thresholded by a scanner: broken every few pixels
    dotted[::3, :] = 245
    ink = measure(dotted, 245)
    assert ink.written
    assert (ink.cleaned < 128).sum() > 0.5 * (dotted < 128).sum()  # the dots are kept for the reader


def test_faint_writing_dithered_into_separate_dots_is_written() -> None:
    cell = _cell()
    for i in range(30):  # dots 1.5 mm apart along a line: too far apart to bridge, too small to be strokes
        x, y = int(2.5 * PX) + int(i * 1.5 * PX), int(5 * PX) + (i % 3) * 6
        cell[y : y + 5, x : x + 5] = 40
    assert measure(cell, 245).written
