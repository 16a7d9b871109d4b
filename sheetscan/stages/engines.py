"""Which engine reads the cells: one factory, named in the settings (`engine = "..."`)."""

from __future__ import annotations

from typing import Literal, get_args

from sheetscan.errors import ConfigError
from sheetscan.stages.recognize import Engine

EngineName = Literal["combined", "ppocr", "linereader", "handprint", "tesseract"]
ENGINES: tuple[str, ...] = get_args(EngineName)


def make_engine(name: str) -> Engine:
    if name == "tesseract":
        from sheetscan.stages.tesseract import TesseractEngine

        return TesseractEngine()
    if name == "handprint":
        from sheetscan.stages.handprint import HandprintEngine

        return HandprintEngine()
    if name == "combined":
        from sheetscan.fields import FieldKind
        from sheetscan.stages.combined import CombinedEngine, KindsOnly
        from sheetscan.stages.handprint import HandprintEngine
        from sheetscan.stages.linereader import LineReaderEngine
        from sheetscan.stages.ppocr import PpocrEngine

        # The character CNN votes on codes, years and phones only: on names and e-mails it seldom agrees with
        # the others (measured) and costs a quarter of a second per full sheet.
        digits = frozenset({FieldKind.POSTAL_CODE, FieldKind.BIRTH_YEAR, FieldKind.PHONE})
        return CombinedEngine(PpocrEngine(), LineReaderEngine(), KindsOnly(HandprintEngine(), digits))
    if name == "linereader":
        from sheetscan.stages.linereader import LineReaderEngine

        return LineReaderEngine()
    if name == "ppocr":
        from sheetscan.stages.ppocr import PpocrEngine

        return PpocrEngine()
    raise ConfigError(f"moteur de lecture inconnu : « {name} » (connus : {', '.join(ENGINES)})")
