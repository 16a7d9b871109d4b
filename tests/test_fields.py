import pytest

from sheetscan.fields import FieldInvalid, FieldKind, is_valid, validate


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("h2x1y4", "H2X 1Y4"), ("H2X 1Y4", "H2X 1Y4"), ("j4k-2b7", "J4K 2B7"), (" g1r 5m1 ", "G1R 5M1")],
)
def test_postal_code_is_normalised(raw: str, expected: str) -> None:
    assert validate(FieldKind.POSTAL_CODE, raw) == expected


@pytest.mark.parametrize("raw", ["D2X 1Y4", "W1A 1A1", "H2X 1O4", "H2X1Y", "12345", "H2X 1Y44"])
def test_postal_code_rules(raw: str) -> None:
    with pytest.raises(FieldInvalid, match="code postal"):
        validate(FieldKind.POSTAL_CODE, raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("(514) 555-1234", "514-555-1234"), ("514.555.1234", "514-555-1234"), ("1 438 555 1234", "438-555-1234"),
     ("4505551234", "450-555-1234")],
)
def test_phone_is_normalised(raw: str, expected: str) -> None:
    assert validate(FieldKind.PHONE, raw) == expected


@pytest.mark.parametrize("raw", ["555-1234", "014-555-1234", "514-055-1234", "514-555-12345"])
def test_phone_rules(raw: str) -> None:
    with pytest.raises(FieldInvalid):
        validate(FieldKind.PHONE, raw)


def test_birth_year_range() -> None:
    assert validate(FieldKind.BIRTH_YEAR, "1987") == "1987"
    for bad in ("1899", "2024", "87", "19a7"):
        assert not is_valid(FieldKind.BIRTH_YEAR, bad)


def test_email() -> None:
    assert validate(FieldKind.EMAIL, "Marie.Cote@Gmail.com ") == "marie.cote@gmail.com"
    for bad in ("marie.cote", "marie@@gmail.com", "marie@gmail", "@gmail.com"):
        assert not is_valid(FieldKind.EMAIL, bad)


def test_names_keep_accents_hyphens_apostrophes() -> None:
    assert validate(FieldKind.NAME, "marie - ève d’amours") == "MARIE-ÈVE D'AMOURS"
    assert validate(FieldKind.NAME, "JEAN  O'NEIL") == "JEAN O'NEIL"
    assert validate(FieldKind.NAME, "MÉLANIE L' HEUREUX") == "MÉLANIE L'HEUREUX"  # no space beside an elision
    with pytest.raises(FieldInvalid, match="caractères"):
        validate(FieldKind.NAME, "JEAN 3")
    with pytest.raises(FieldInvalid):
        validate(FieldKind.NAME, "-")
