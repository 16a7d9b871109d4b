"""The field kinds of a petition sheet: one place per kind for its charset, normaliser and validator.

Every kind has a pydantic-backed `validate(kind, raw)` that returns the normalised value or raises
`FieldInvalid` with a French reason. Ingestion and review use the same rules.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from pydantic import EmailStr, TypeAdapter, ValidationError
from rapidfuzz.distance import Levenshtein


class FieldKind(StrEnum):
    NAME = "name"
    POSTAL_CODE = "postal_code"
    SIGNATURE = "signature"
    BIRTH_YEAR = "birth_year"
    EMAIL = "email"
    PHONE = "phone"
    TEXT = "text"


class FieldInvalid(ValueError):
    """A value breaks its field kind's rules; `reason` is French, free of the value itself."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Letters a Canadian postal code can hold: D F I O Q U never appear; W and Z never lead.
POSTAL_FIRST = "ABCEGHJKLMNPRSTVXY"
POSTAL_OTHER = "ABCEGHJKLMNPRSTVWXYZ"
_POSTAL_RE = re.compile(rf"^[{POSTAL_FIRST}]\d[{POSTAL_OTHER}] ?\d[{POSTAL_OTHER}]\d$")

NAME_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸÆŒ"
NAME_CHARSET = NAME_LETTERS + " -'"
DIGITS = "0123456789"

# Quebec's area codes. Readers weigh a phone number's area code by them: a signer of a Montreal petition
# almost always has one, so a digit read as 9 in « 938 » is more likely the 4 of 438.
QUEBEC_AREA_CODES = ("514", "438", "263", "450", "579", "354", "418", "581", "367", "819", "873", "468")
OTHER_AREA_CODE_NATS = 4.0  # log-odds against an area code outside Quebec (a digit read 55x likelier stays)
# Likewise a Quebec postal code starts with G, H or J: a first letter read elsewhere is weighed against them.
QUEBEC_POSTAL_FIRST = "GHJ"
OTHER_PROVINCE_NATS = 4.0


def quebec_codes_near(phone: str) -> list[str]:
    """The Quebec area codes one digit away from a ten- or eleven-digit number's own, when its own is not one
    (the alternatives a reader weighs, at OTHER_AREA_CODE_NATS against the code it read)."""
    code = phone[len(phone) - 10:][:3]
    if code in QUEBEC_AREA_CODES:
        return []
    return [q for q in QUEBEC_AREA_CODES if sum(a != b for a, b in zip(q, code, strict=True)) == 1]


MIN_BIRTH_YEAR = 1900
MAX_BIRTH_YEAR = 2015  # signers are at least ~10 years old in 2025


@dataclass(frozen=True)
class KindInfo:
    label_fr: str
    charset: str  # characters a hand-print engine may emit for this kind ("" = unconstrained)


KINDS: dict[FieldKind, KindInfo] = {
    FieldKind.NAME: KindInfo("Prénom et nom", NAME_CHARSET),
    FieldKind.POSTAL_CODE: KindInfo("Code postal", POSTAL_OTHER + DIGITS + " "),
    FieldKind.SIGNATURE: KindInfo("Signature", ""),
    FieldKind.BIRTH_YEAR: KindInfo("Année de naissance", DIGITS),
    FieldKind.EMAIL: KindInfo(
        "Courriel", "abcdefghijklmnopqrstuvwxyz" + DIGITS + "@.-_+"
    ),
    FieldKind.PHONE: KindInfo("Cellulaire", DIGITS + " -.()"),
    FieldKind.TEXT: KindInfo("Texte", ""),
}


def _normalise_name(raw: str) -> str:
    text = unicodedata.normalize("NFC", raw).upper()
    text = text.replace("’", "'").replace("`", "'")
    text = re.sub(r"\s*([-'])\s*", r"\1", text)  # no space beside a hyphen or an elision's apostrophe
    text = re.sub(r"\s+", " ", text).strip(" -'")
    if not text:
        raise FieldInvalid("nom vide")
    bad = sorted({c for c in text if c not in NAME_CHARSET})
    if bad:
        raise FieldInvalid("caractères inattendus dans un nom")
    if not any(c in NAME_LETTERS for c in text) or len(text.replace(" ", "")) < 2:
        raise FieldInvalid("nom trop court")
    return text


def _normalise_postal(raw: str) -> str:
    text = re.sub(r"[\s\-_.]", "", raw.upper())
    if not _POSTAL_RE.match(text):
        raise FieldInvalid("code postal canadien attendu (A1A 1A1)")
    return f"{text[:3]} {text[3:]}"


def _normalise_year(raw: str) -> str:
    text = re.sub(r"\s", "", raw)
    if not re.fullmatch(r"\d{4}", text):
        raise FieldInvalid("année sur quatre chiffres attendue")
    year = int(text)
    if not MIN_BIRTH_YEAR <= year <= MAX_BIRTH_YEAR:
        raise FieldInvalid(f"année hors de {MIN_BIRTH_YEAR}-{MAX_BIRTH_YEAR}")
    return text


_EMAIL = TypeAdapter(EmailStr)


def _normalise_email(raw: str) -> str:
    text = re.sub(r"\s", "", raw).lower()
    try:
        return str(_EMAIL.validate_python(text))
    except ValidationError:
        raise FieldInvalid("adresse courriel invalide") from None


def _normalise_phone(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    if len(digits) != 10:
        raise FieldInvalid("numéro à dix chiffres attendu")
    if digits[0] in "01" or digits[3] in "01":
        raise FieldInvalid("indicatif ou central téléphonique impossible")
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def _normalise_text(raw: str) -> str:
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFC", raw)).strip()
    if not text:
        raise FieldInvalid("valeur vide")
    return text


def _normalise_signature(raw: str) -> str:
    if raw not in ("signed", "unsigned"):
        raise FieldInvalid("signature : 'signed' ou 'unsigned' attendu")
    return raw


_NORMALISERS = {
    FieldKind.NAME: _normalise_name,
    FieldKind.POSTAL_CODE: _normalise_postal,
    FieldKind.BIRTH_YEAR: _normalise_year,
    FieldKind.EMAIL: _normalise_email,
    FieldKind.PHONE: _normalise_phone,
    FieldKind.TEXT: _normalise_text,
    FieldKind.SIGNATURE: _normalise_signature,
}


def validate(kind: FieldKind, raw: str) -> str:
    """Return the normalised value of `raw` for `kind`, or raise FieldInvalid."""
    return _NORMALISERS[kind](raw)


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions each cost one."""
    return int(Levenshtein.distance(a, b))


def valid_value(kind: FieldKind, raw: str) -> str | None:
    """The normalised value of `raw` for `kind`, or None when it breaks the field's rules."""
    try:
        return validate(kind, raw)
    except FieldInvalid:
        return None


def is_valid(kind: FieldKind, raw: str) -> bool:
    return valid_value(kind, raw) is not None
