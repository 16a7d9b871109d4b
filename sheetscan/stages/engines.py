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
        from sheetscan.stages.combined import CombinedEngine
        from sheetscan.stages.handprint import HandprintEngine
        from sheetscan.stages.linereader import LineReaderEngine
        from sheetscan.stages.ppocr import PpocrEngine

        return CombinedEngine(PpocrEngine(), LineReaderEngine(), HandprintEngine())
    if name == "linereader":
        from sheetscan.stages.linereader import LineReaderEngine

        return LineReaderEngine()
    if name == "ppocr":
        from sheetscan.stages.ppocr import PpocrEngine

        return PpocrEngine()
    raise ConfigError(f"moteur de lecture inconnu : « {name} » (connus : {', '.join(ENGINES)})")
