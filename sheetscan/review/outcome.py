"""What a reviewer's input means for a cell: the text shown in the box, and the state and value it saves.

The same rules as ingestion: a typed value goes through `fields.validate`. An empty box means "blank",
a lone `?` means "illegible". Signatures are shown and typed as « oui » / « non ».
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetscan.fields import FieldInvalid, FieldKind, validate
from sheetscan.store.review import Change, ReviewCell

ILLEGIBLE_MARK = "?"
SIGNATURE_SHOWN = {"signed": "oui", "unsigned": "non"}
SIGNATURE_TYPED = {
    "oui": "signed", "o": "signed", "signée": "signed", "signee": "signed", "signé": "signed", "signed": "signed",
    "non": "unsigned", "n": "unsigned", "unsigned": "unsigned",
}


@dataclass(frozen=True)
class Outcome:
    state: str  # confirmed, corrected, blank, illegible
    value: str | None
    override_reason: str | None = None

    def change(self, cell: ReviewCell, version: int) -> Change:
        return Change(cell.id, version, self.state, self.value, self.override_reason)


BLANK = Outcome("blank", None)
ILLEGIBLE = Outcome("illegible", None)


def shown(cell: ReviewCell) -> str:
    """The text a reviewer sees in the box for this cell."""
    if cell.review_state == "blank":
        return ""
    if cell.review_state == "illegible":
        return ILLEGIBLE_MARK
    text = cell.value if cell.value is not None else cell.raw
    if cell.kind == FieldKind.SIGNATURE:
        return SIGNATURE_SHOWN.get(text, text)
    return text


def decide(cell: ReviewCell, typed: str, override: bool = False) -> Outcome:
    """The outcome of `typed` for `cell`; raise FieldInvalid (French reason) unless `override` keeps it."""
    text = typed.strip()
    if not text:
        return BLANK
    if text == ILLEGIBLE_MARK:
        return ILLEGIBLE
    kind = FieldKind(cell.kind)
    candidate = text
    try:
        if kind == FieldKind.SIGNATURE:
            candidate = SIGNATURE_TYPED.get(text.lower(), text)
            if candidate not in SIGNATURE_SHOWN:
                raise FieldInvalid("signature : « oui » ou « non » attendu")
        value = validate(kind, candidate)
        reason = None
    except FieldInvalid as exc:
        if not override:
            raise
        value, reason = candidate, exc.reason
    unchanged = text == shown(cell).strip() or value == cell.value
    return Outcome("confirmed" if unchanged else "corrected", value, reason)
