"""Shared fixtures: the installed template, blank renders, fake engines."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sheetscan.render import render_blank
from sheetscan.template import TEMPLATES_DIR, Template, load_template

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def template() -> Template:
    return load_template(TEMPLATES_DIR / "retour-hernandez-romero.json")


@pytest.fixture(scope="session")
def blank_200(template: Template) -> np.ndarray:
    """The blank sheet at 200 dpi (grey)."""
    return np.asarray(render_blank(template, 200))
