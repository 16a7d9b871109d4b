"""Run-time settings: which engine reads, and when a reading goes to review. Defaults live here;
`--config FILE.toml` overrides any of them (unknown keys are errors)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sheetscan.errors import ConfigError
from sheetscan.fields import FieldKind
from sheetscan.records import Geometry
from sheetscan.stages.engines import EngineName

# With the combined engine a value can pass only when PP-OCR and the line reader agree (anything else scores at
# most 0.3). These are the lowest thresholds that kept the accepted values' error at or under 0.5 % on 4,800
# cells per kind of real EMNIST handwriting no model trained on, rounded up (`scripts/measure_handprint.py
# --engine combined --n 400 --pens 0,3 --seed 100,500,1000,2000,3000,4000`; names: signers' names and random
# letters alike). Those cells leave out the 89 EMNIST tiles a blind audit could not read as labelled
# (`scripts/audit_emnist.py`): every reader and any person misread them alike. Birth years keep 0.4, which
# still accepts only agreeing readers: anything from 0.001 met the target. Phones keep the threshold calibrated
# before the line reader learnt names in lower case (version 2): its new calibration, 0.9921, accepted 2 wrong
# phones of 43 on a second draw of the held-out fonts. A threshold above 1 sends every cell of its kind to review.
# `sheetscan eval --tradeoff` shows the trade-off on any labelled batch; a lower threshold accepts more and lets
# more errors through.
DEFAULT_REVIEW_THRESHOLDS: dict[FieldKind, float] = {
    FieldKind.NAME: 0.9998,
    FieldKind.POSTAL_CODE: 0.962,
    FieldKind.BIRTH_YEAR: 0.4,
    FieldKind.EMAIL: 0.99,
    FieldKind.PHONE: 0.99983,
    FieldKind.TEXT: 0.95,
    FieldKind.SIGNATURE: 0.0,
}


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine: EngineName = "combined"
    # A written cell whose confidence is below its kind's threshold goes to review; a kind a settings file leaves
    # out keeps its default here. See DEFAULT_REVIEW_THRESHOLDS.
    review_threshold: dict[FieldKind, float] = Field(default_factory=lambda: dict(DEFAULT_REVIEW_THRESHOLDS))
    doubtful_residual_mm: float = Field(default=0.8, gt=0)
    # Printed text above the grid agreeing less than this with the template's (correlation, -1..1): the page
    # may be another petition on our grid, or our sheet printed differently; its cells go to review.
    doubtful_text_match: float = Field(default=0.25, ge=-1, le=1)
    # Share of written cells that go to review whatever their confidence, drawn at random (CellReading.spot):
    # once reviewed, they are a fair sample of this office's own handwriting with the right answers, from which
    # `sheetscan eval --reviews` measures how often the values accepted without review are wrong, and what each
    # threshold would accept. 0 turns the spot checks off.
    spot_check: float = Field(default=0.05, ge=0, le=1)

    def doubtful_fit(self, geometry: Geometry) -> bool:
        return self.doubtful(geometry.residual_mm, geometry.text_match)

    def doubtful(self, residual_mm: float, text_match: float | None) -> bool:
        """The fit's residual is too large, or the printed text disagrees with the template's."""
        too_far = residual_mm > self.doubtful_residual_mm
        return too_far or (text_match is not None and text_match < self.doubtful_text_match)

    @field_validator("review_threshold", mode="after")
    @classmethod
    def _over_defaults(cls, given: dict[FieldKind, float]) -> dict[FieldKind, float]:
        return {**DEFAULT_REVIEW_THRESHOLDS, **given}

    def threshold(self, kind: FieldKind) -> float:
        return self.review_threshold[kind]

    def spot_checked(self, spot: float | None) -> bool:
        return spot is not None and spot < self.spot_check


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
