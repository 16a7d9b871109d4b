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
