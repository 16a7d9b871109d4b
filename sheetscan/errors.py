"""One exception tree. Each error carries a French message a volunteer can act on, and an exit code.

Library code raises these; only `sheetscan.cli` turns them into printed lines and exit codes.
Messages never contain personal data (no cell values), only file names, page numbers and reasons.
"""

from __future__ import annotations


class SheetscanError(Exception):
    """Base of every error sheetscan reports to a person."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(SheetscanError):
    """A template or configuration file is missing or invalid."""

    exit_code = 2


class InputError(SheetscanError):
    """A whole input file cannot be read (not an image or PDF, corrupt, encrypted, empty, too large)."""

    exit_code = 3


class PageError(SheetscanError):
    """One page cannot be processed; the rest of the batch goes on."""

    exit_code = 4


class BlankPage(PageError):
    """The page holds (almost) no ink."""


class NotOurForm(PageError):
    """No petition grid could be found on the page."""


class PageTooLarge(PageError):
    """The page image is too large to process safely."""


class StoreError(SheetscanError):
    """The database cannot be opened or is of an unknown version."""

    exit_code = 5


class ReviewError(SheetscanError):
    """A review action was refused (stale save, unknown item, invalid value)."""

    exit_code = 6


class UnknownCell(ReviewError):
    """The cell id does not exist."""

    def __init__(self, cell_id: int) -> None:
        super().__init__(f"cellule n° {cell_id} introuvable")
        self.cell_ids = [cell_id]


class StaleSave(ReviewError):
    """Someone saved these cells after the reviewer loaded them; nothing was written."""

    def __init__(self, cell_ids: list[int]) -> None:
        super().__init__(
            "une autre personne a modifié cette saisie entre-temps : rien n'a été enregistré"
        )
        self.cell_ids = cell_ids


class HeldByOther(ReviewError):
    """Another reviewer holds a live lease on these cells; nothing was written."""

    def __init__(self, cell_ids: list[int]) -> None:
        super().__init__("cette cellule est en cours de révision par une autre personne : rien n'a été enregistré")
        self.cell_ids = cell_ids


class DuplicateReviewer(ReviewError):
    def __init__(self, username: str) -> None:
        super().__init__(f"le compte « {username} » existe déjà")
