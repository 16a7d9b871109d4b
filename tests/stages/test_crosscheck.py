from sheetscan.fields import FieldKind, edit_distance
from sheetscan.stages.crosscheck import addresses, check_row, email_from_name
from sheetscan.stages.recognize import Reading


def _email(text: str, nats_per_edit: float, confidence: float = 0.6, voices: int = 1) -> Reading:
    """A reading whose network finds each letter away from what it read `nats_per_edit` less likely."""
    return Reading(text, confidence, "net-1", lambda values: [-nats_per_edit * edit_distance(v, text) for v in values],
                   voices)


def test_addresses_people_make_of_a_name_near_the_reading() -> None:
    made = addresses("KARINE MERCIER", "1994", "karine.mercverl8")
    assert "karine.mercier18" in made  # « l8 » read at the end: digits that look like letters count as digits
    assert {"karine.mercier", "karine.mercier94", "karine_mercier"} <= set(made)
    assert "mercier.karine" not in made  # too far from what was read
    assert addresses("KARINE MERCIER", "1994", "chatonbleu77") == []
    assert addresses("KARINE", "1994", "karine") == []  # one word: no given name and surname to combine


def test_addresses_from_a_misread_name_use_its_known_neighbours() -> None:
    assert "michel.fournier" in addresses("MICHEL FOURNIEB", None, "michel.foumier")


def test_an_address_near_the_name_replaces_the_reading_for_review() -> None:
    checked = email_from_name(_email("karine.mercverl8@gmail.com", 5.0), "KARINE MERCIER", "1994")
    assert checked.text == "karine.mercier18@gmail.com"
    assert checked.confidence < 0.6 * 0.5  # a guess from the row: a person confirms it
    assert checked.engine == "net-1+row-2"


def test_the_reading_stays_when_the_network_saw_otherwise() -> None:
    reading = _email("karine.mercverl8@gmail.com", 20.0)  # each edit costs more than the name is worth
    assert email_from_name(reading, "KARINE MERCIER", "1994") is reading


def test_an_address_that_already_spells_the_name_stays_unless_a_separator_was_likely_missed() -> None:
    clear = _email("kmercier@gmail.com", 15.0)  # the network is sure there is no dot
    assert email_from_name(clear, "KARINE MERCIER", "1994").text == "kmercier@gmail.com"
    faint = _email("karinemercier@gmail.com", 5.0)  # a dot is small: readers miss it
    assert email_from_name(faint, "KARINE MERCIER", "1994").text == "karine.mercier@gmail.com"


def test_an_address_two_readers_read_alike_that_spells_the_row_name_gains_the_rows_voice() -> None:
    spelled = email_from_name(_email("karine.mercier94@gmail.com", 15.0, 0.5, 2), "KARINE MERCIER", "1994")
    assert spelled.text == "karine.mercier94@gmail.com" and spelled.confidence > 0.999
    assert spelled.engine == "net-1+row-2" and spelled.voices == 2
    alone = _email("karine.mercier94@gmail.com", 15.0, 0.5)  # one reader's: its decoder may have bent it
    assert email_from_name(alone, "KARINE MERCIER", "1994") is alone
    for address in ["karine.mercier5@gmail.com", "kmercier@monfournisseur.org", "chatonbleu77@gmail.com"]:
        reading = _email(address, 15.0, 0.5, 2)  # other digits than the year's, an unknown provider, another name
        assert email_from_name(reading, "KARINE MERCIER", "1994") is reading
    unspelled = _email("kmercier@gmail.com", 15.0, 0.5, 2)
    assert email_from_name(unspelled, "KARINE", "1994") is unspelled  # no surname to spell
    snapped = _email("jean.onell@gmail.com", 15.0, 0.5, 2)  # the name's lexicon changed a letter: no voice
    assert email_from_name(snapped, "JEAN O'NELL", None, name_aided=True) is snapped


def test_nothing_to_weigh_with_leaves_the_reading() -> None:
    unscored = Reading("karine.mercverl8@gmail.com", 0.6, "net-1")
    assert email_from_name(unscored, "KARINE MERCIER", "1994") is unscored
    invalid = _email("karine.mercverl8", 1.0)
    assert email_from_name(invalid, "KARINE MERCIER", "1994") is invalid


def test_check_row_weighs_the_email_against_the_row_name_and_year() -> None:
    email = _email("karine.mercverl@gmail.com", 5.0)
    row = {FieldKind.NAME: Reading("KARINE MERCIER", 0.9, "x"), FieldKind.BIRTH_YEAR: Reading("1994", 0.9, "x"),
           FieldKind.EMAIL: email}
    checked = check_row(row)
    assert checked[FieldKind.EMAIL].text == "karine.mercier@gmail.com"
    assert checked[FieldKind.NAME] is row[FieldKind.NAME]
    spelled = _email("karine.mercier@gmail.com", 15.0, 0.5, 2)
    for aided, vouched in [(False, True), (True, False)]:
        name = Reading("KARINE MERCIER", 0.9, "x", aided=aided)
        checked = check_row({FieldKind.NAME: name, FieldKind.EMAIL: spelled})[FieldKind.EMAIL]
        assert (checked.confidence > 0.999) is vouched
    without_name = {FieldKind.EMAIL: email, FieldKind.NAME: Reading("K4R", 0.2, "x")}  # no valid name: unchanged
    assert check_row(without_name)[FieldKind.EMAIL] is email


def test_digits_read_at_the_end_are_kept_rather_than_dropped() -> None:
    scores = {"karine.mercler7@gmail.com": 0.0, "karine.mercier7@gmail.com": -5.0,
              "karine.mercier@gmail.com": -3.0}  # the network finds dropping the 7 cheaper than keeping it
    reading = Reading("karine.mercler7@gmail.com", 0.6, "net-1", lambda values: [scores.get(v, -50.0) for v in values])
    assert email_from_name(reading, "KARINE MERCIER", None).text == "karine.mercier7@gmail.com"
