"""What comes out of the pipeline: typed, with provenance on every value."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from sheetscan.fields import FieldKind


class ReviewReason(StrEnum):
    LOW_CONFIDENCE = "low_confidence"
    INVALID = "invalid"
    MISSING_REQUIRED = "missing_required"
    REGISTRATION_DOUBTFUL = "registration_doubtful"
    SPOT_CHECK = "spot_check"  # accepted by the machine, drawn at random for a person to check (Settings.spot_check)
    SHARED_INK = "shared_ink"  # writing of another cell reaches into it (ink.Ink.shared): whose is it?
    CUT_OFF = "cut_off"  # the writing runs to the cell's right-hand line (ink.Ink.cut_off): does it go on?


REASON_FR: dict[ReviewReason, str] = {
    ReviewReason.LOW_CONFIDENCE: "lecture incertaine",
    ReviewReason.INVALID: "valeur invalide",
    ReviewReason.MISSING_REQUIRED: "champ obligatoire vide",
    ReviewReason.REGISTRATION_DOUBTFUL: "repérage de la grille douteux",
    ReviewReason.SPOT_CHECK: "contrôle au hasard",
    ReviewReason.SHARED_INK: "écriture à cheval sur une ligne",
    ReviewReason.CUT_OFF: "écriture qui dépasse la case",
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Geometry(_Model):
    """How the page was put on the template: the fit and its own error."""

    orientation_deg: int  # rotation applied to the scan to make it upright (0, 90, 180, 270)
    skew_deg: float
    homography: list[list[float]]  # template mm -> upright page pixels
    residual_mm: float  # RMS distance between detected and fitted grid-line intersections
    matched_points: int
    dpi: float
    # Quality of the fit (absent on pages stored before they were measured):
    max_error_mm: float | None = None  # worst matched intersection's distance from the fit
    grid_points: int | None = None  # intersections the template has (matched_points is out of these)
    line_support: float | None = None  # share of the template's rule length found on the page (0-1)
    text_match: float | None = None  # printed text above the grid vs the template's (-1..1); None: not checked


class CellReading(_Model):
    """One cell: its ink, what an engine read, the validated value, and where it came from."""

    field: str  # column or box key from the template
    kind: FieldKind
    row: int | None  # 1-based grid row; None for the sender block
    required: bool
    ink: float = Field(ge=0, le=1)  # share of the cell's interior covered by ink
    written: bool
    raw: str = ""  # engine output, before normalising
    value: str | None = None  # normalised value when valid
    confidence: float = Field(ge=0, le=1)
    engine: str
    template: str
    error: str | None = None  # French reason when the value breaks its kind's rules
    review_reason: ReviewReason | None = None
    # Where the cell falls in the spot-check draw (0..1, from the page's content and the cell's place, so the
    # same page always draws the same cells): a written cell under Settings.spot_check is reviewed, whatever
    # its confidence. None for cells that are never drawn (blank cells, signatures).
    spot: float | None = Field(default=None, ge=0, lt=1)
    crop_png: bytes = Field(repr=False)


class RowResult(_Model):
    number: int
    empty: bool
    cells: list[CellReading]


class PageResult(_Model):
    source: str  # file name as given (no directory)
    page: int  # 1-based page within the file
    content_hash: str
    template: str
    geometry: Geometry
    rows: list[RowResult]
    sender: list[CellReading]
    page_jpeg: bytes = Field(repr=False)  # the registered page, small, for review by sheet
