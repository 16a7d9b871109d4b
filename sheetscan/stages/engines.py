"""Which engine reads the cells: one factory, named in the settings (`engine = "..."`)."""

from __future__ import annotations

from sheetscan.errors import ConfigError
from sheetscan.stages.recognize import Engine

ENGINES = ("tesseract",)


def make_engine(name: str) -> Engine:
    if name == "tesseract":
        from sheetscan.stages.tesseract import TesseractEngine

        return TesseractEngine()
    raise ConfigError(f"moteur de lecture inconnu : « {name} » (connus : {', '.join(ENGINES)})")
