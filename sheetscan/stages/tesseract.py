"""The Tesseract engine: the one place that calls the tesseract binary.

Cells of one field kind are stacked into a single image and read in one call (Tesseract reloads its
model on every call, ~0.15 s), with a per-kind character whitelist. Words are mapped back to their cell
by their vertical position. Confidence is Tesseract's lowest word confidence, scaled to 0..1.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import cv2
import numpy as np
import pytesseract

from sheetscan.errors import ConfigError
from sheetscan.fields import KINDS, FieldKind
from sheetscan.stages.recognize import CellImage, Reading

SCALE = 0.5  # cells arrive at 12 px/mm; Tesseract prefers ~40 px capitals
GAP_PX = 40
PAD_PX = 12


def _whitelist(kind: FieldKind) -> str:
    # The space must stay in the list: without it Tesseract glues words and reports confidence 0.
    chars = KINDS[kind].charset or ""
    if kind is FieldKind.POSTAL_CODE:
        chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
    return chars


def _tight(image: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(image < 200)
    if len(xs) == 0:
        return image[:1, :1]
    return image[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


class TesseractEngine:
    def __init__(self, lang: str = "fra") -> None:
        try:
            version = pytesseract.get_tesseract_version()
            langs = pytesseract.get_languages()
        except (pytesseract.TesseractNotFoundError, OSError):
            raise ConfigError("Tesseract n'est pas installé : lancez « make setup »") from None
        if lang not in langs:
            raise ConfigError(f"modèle Tesseract « {lang} » absent (paquet tesseract-ocr-{lang})")
        self.lang = lang
        self.name = f"tesseract-{version}-{lang}"

    def read(self, cells: Sequence[CellImage]) -> list[Reading]:
        out: list[Reading] = [Reading("", 0.0, self.name)] * len(cells)
        by_kind: dict[FieldKind, list[int]] = {}
        for i, cell in enumerate(cells):
            by_kind.setdefault(cell.kind, []).append(i)
        for kind, indexes in by_kind.items():
            if kind in (FieldKind.SIGNATURE,):
                continue
            for i, reading in zip(indexes, self._read_kind(kind, [cells[i] for i in indexes]), strict=True):
                out[i] = reading
        return out

    def _read_kind(self, kind: FieldKind, cells: list[CellImage]) -> list[Reading]:
        parts = []
        for cell in cells:
            small = cv2.resize(cell.image, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_AREA)
            parts.append(_tight(small))
        width = max(p.shape[1] for p in parts) + 2 * PAD_PX
        bands: list[tuple[int, int]] = []
        rows = [np.full((GAP_PX, width), 255, np.uint8)]
        y = GAP_PX
        for p in parts:
            canvas = np.full((p.shape[0], width), 255, np.uint8)
            canvas[:, PAD_PX:PAD_PX + p.shape[1]] = p
            rows.append(canvas)
            bands.append((y - GAP_PX // 2, y + p.shape[0] + GAP_PX // 2))
            rows.append(np.full((GAP_PX, width), 255, np.uint8))
            y += p.shape[0] + GAP_PX
        sheet = np.vstack(rows)
        whitelist = _whitelist(kind)
        config = "--psm 6" + (f" -c {shlex.quote('tessedit_char_whitelist=' + whitelist)}" if whitelist else "")
        try:
            data = pytesseract.image_to_data(sheet, lang=self.lang, config=config, output_type=pytesseract.Output.DICT)
        except (pytesseract.TesseractError, OSError, RuntimeError):
            return [Reading("", 0.0, self.name) for _ in cells]
        words: list[list[tuple[int, str, float]]] = [[] for _ in cells]
        for text, conf, top, height, left in zip(
            data["text"], data["conf"], data["top"], data["height"], data["left"], strict=True
        ):
            if not str(text).strip() or float(conf) < 0:
                continue
            centre = top + height / 2
            for k, (y0, y1) in enumerate(bands):
                if y0 <= centre < y1:
                    words[k].append((left, str(text).strip(), float(conf) / 100.0))
                    break
        readings = []
        for found in words:
            found.sort()
            text = " ".join(w for _, w, _ in found)
            confidence = min((c for _, _, c in found), default=0.0)
            readings.append(Reading(text, max(0.0, min(1.0, confidence)), self.name))
        return readings
