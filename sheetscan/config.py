"""Run-time settings: which engine reads, and when a reading goes to review. Defaults live here;
`--config FILE.toml` overrides any of them (unknown keys are errors)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sheetscan.errors import ConfigError
from sheetscan.fields import FieldKind
from sheetscan.records import Geometry
from sheetscan.stages.engines import EngineName


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine: EngineName = "combined"
    # A written cell whose confidence is below its kind's threshold goes to review. With the combined engine a
    # value can pass only when PP-OCR and the line reader agree (anything else scores at most 0.3); these are the
    # lowest thresholds that kept the accepted values' error at or under 0.5 % on 800 cells per kind of real
    # EMNIST handwriting no model trained on (`scripts/measure_handprint.py --engine combined --n 200 --pens 0,3`
    # with --seed 100 and --seed 500, pooled; rounded up; names: signers' names and random letters alike).
    # `sheetscan eval --tradeoff` shows the trade-off on any labelled batch; a lower threshold accepts more and
    # lets more errors through.
    review_threshold: dict[FieldKind, float] = Field(
        default_factory=lambda: {
            FieldKind.NAME: 0.999995,
            FieldKind.POSTAL_CODE: 0.997,
            FieldKind.BIRTH_YEAR: 0.99998,
            FieldKind.EMAIL: 0.99,
            FieldKind.PHONE: 0.999999,
            FieldKind.TEXT: 0.95,
            FieldKind.SIGNATURE: 0.0,
        }
    )
    doubtful_residual_mm: float = Field(default=0.8, gt=0)
    # Printed text above the grid agreeing less than this with the template's (correlation, -1..1): the page
    # may be another petition on our grid, or our sheet printed differently; its cells go to review.
    doubtful_text_match: float = Field(default=0.25, ge=-1, le=1)

    def doubtful_fit(self, geometry: Geometry) -> bool:
        """The fit's residual is too large, or the printed text disagrees with the template's."""
        text = geometry.text_match
        too_far = geometry.residual_mm > self.doubtful_residual_mm
        return too_far or (text is not None and text < self.doubtful_text_match)

    def threshold(self, kind: FieldKind) -> float:
        return self.review_threshold.get(kind, 1.0)


def load_settings(path: Path | None) -> Settings:
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return Settings.model_validate(data)
    except FileNotFoundError:
        raise ConfigError(f"{path}: fichier de configuration introuvable") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML illisible ({exc})") from None
    except ValidationError as exc:
        lines = [f"{path}: configuration invalide"]
        lines += [f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None
