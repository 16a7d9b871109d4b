from __future__ import annotations

from pathlib import Path

from sheetscan.config import DEFAULT_REVIEW_THRESHOLDS, load_settings
from sheetscan.fields import FieldKind


def test_a_settings_file_overrides_only_the_thresholds_it_names(tmp_path: Path) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[review_threshold]\npostal_code = 0.5\n", encoding="utf-8")
    settings = load_settings(path)
    assert settings.threshold(FieldKind.POSTAL_CODE) == 0.5
    # the others keep their defaults: a partial file used to leave them at 1.0, sending most cells to review
    assert settings.threshold(FieldKind.NAME) == DEFAULT_REVIEW_THRESHOLDS[FieldKind.NAME]
    assert settings.threshold(FieldKind.PHONE) == DEFAULT_REVIEW_THRESHOLDS[FieldKind.PHONE]


def test_every_field_kind_has_a_default_threshold() -> None:
    assert set(DEFAULT_REVIEW_THRESHOLDS) == set(FieldKind)
