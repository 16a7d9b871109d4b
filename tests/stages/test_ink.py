import cv2
import numpy as np
import pytest

from sheetscan.stages.cells import INSET_MM, REACH_MM
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


REACH = round(REACH_MM * PX)


def _window(width_mm: float = 40, offset_px: int = 0, thick_px: int = 5) -> tuple[np.ndarray, tuple[int, int]]:
    """A cell's window (`cells.Cut.window`): its ruled top and bottom lines (0.4 mm, as on our sheet, unless
    `thick_px`), `offset_px` off their places."""
    window = np.full((int((13 + 2 * REACH_MM) * PX), int(width_mm * PX)), 245, np.uint8)
    lines = (REACH, window.shape[0] - REACH)
    for y in lines:
        top = y - thick_px // 2 + offset_px
        window[top : top + thick_px] = 30
    return window, lines


def test_ruled_lines_alone_are_not_writing_even_off_their_places() -> None:
    for offset in (0, 8, -8):  # up to 0.7 mm off: registration, crumpled paper
        window, lines = _window(offset_px=offset)
        ink = measure(window, 245, lines)
        assert not ink.written and not ink.shared and ink.share == 0


@pytest.mark.parametrize("thick_px", [5, 12])  # our 0.4 mm lines; 1 mm lines, as another print might have
def test_writing_across_the_bottom_line_is_the_cells_and_the_readers_see_all_of_it(thick_px: int) -> None:
    window, lines = _window(thick_px=thick_px)
    letters = np.full_like(window, 245)
    baseline = lines[1] + int(1.5 * PX)  # written 1.5 mm below the line: the line runs through the letters
    cv2.putText(letters, "AB", (30, baseline), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 40, 6)
    ink = measure(np.minimum(window, letters), 245, lines)
    assert ink.written and ink.overflow
    assert ink.cleaned.shape[0] > lines[1] - lines[0] - 2 * round(INSET_MM * PX)  # past the interior's bottom
    dark = ink.cleaned < 128
    assert dark.mean(axis=1).max() < 0.5  # the ruled line is gone ...
    assert dark.any(axis=1).sum() >= (letters < 128).any(axis=1).sum()  # ... but the letters are whole across it


def test_another_cells_writing_is_not_this_cells() -> None:
    # The row above wrote with a long tail into this cell; the row below wrote mostly above its line.
    window, lines = _window()
    cv2.putText(window, "JQ", (30, lines[0] - 10), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 40, 6)  # above the top line
    cv2.line(window, (60, lines[0] - 20), (60, lines[0] + 30), 40, 6)  # its tail, 2.5 mm into this interior
    ink = measure(window, 245, lines)
    assert not ink.written and ink.share == 0
    assert (ink.cleaned < 128).sum() == 0  # the readers never see it

    below, lines = _window()
    cv2.putText(below, "ABC", (30, lines[1] + int(3.5 * PX)), cv2.FONT_HERSHEY_SIMPLEX, 3.5, 40, 8)
    ink = measure(below, 245, lines)
    assert not ink.written
    assert ink.shared and ink.overflow  # but its top reaches well into this interior: a person decides


def test_a_signature_crossing_into_the_next_row_is_not_the_next_rows() -> None:
    window, lines = _window()
    pts = np.array([[30, 60], [80, 10], [140, 70], [200, 20], [260, 60]], np.int32)  # above the top line
    cv2.polylines(window, [pts], False, 20, 5)
    cv2.line(window, (140, 70), (150, lines[0] + 20), 20, 5)  # one stroke 1.7 mm past the line
    assert not is_signed(measure(window, 245, lines))


def test_writing_running_into_the_right_hand_margin_may_be_cut_off() -> None:
    window, lines = _window(width_mm=30)
    cv2.putText(window, "H2X", (window.shape[1] - 120, lines[1] - 40), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 40, 6)
    assert measure(window, 245, lines).cut_off  # runs on to the window's edge, 1 mm from the line
    inside, lines = _window(width_mm=30)
    cv2.putText(inside, "H2X", (20, lines[1] - 40), cv2.FONT_HERSHEY_SIMPLEX, 2.5, 40, 6)
    ink = measure(inside, 245, lines)
    assert ink.written and not ink.cut_off
