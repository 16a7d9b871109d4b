"""One row, one person: a signer's e-mail address usually spells their name (« marie.tremblay76@... »), and a
careful volunteer reads the address knowing the name written beside it. So does this stage.

From the row's name (as read, and each unknown word's known neighbours) and birth year it lists the addresses
people make of them: given name, surname or initial, in either order, joined by nothing, a dot, an underscore
or a hyphen, with the digits read at the end, or the birth year's. Those close to the address read are
re-scored by the readers' networks (`Reading.spelling_scores`), and the likeliest replaces the reading when the
networks find it at most NAME_EMAIL_NATS less likely than what they read; each separator adds SEPARATOR_NATS,
since readers often miss a small dot (so « karinemercier » may become « karine.mercier », not the reverse),
and an address without the digits read at the end (or with digits where none were read) pays DIGITS_NATS.
An address that spells no one's name finds no candidate close enough and stays as read. The priors were
chosen on sheets in the training fonts and on 800 e-mail rows of EMNIST hand print (`measure_handprint.py`'s
`email_row`, seeds 100 and 500), not on the held-out bench: from 12 to 20 nats, each of the two gained three
addresses (on EMNIST, five misreadings fixed for two right readings lost to a misread name). On 3,200 rows of
other seeds it changed nothing (93.5 % read right either way).

A replaced address is a guess from the row, not a reading: it is marked down below every review threshold, so
a reviewer confirms it (prefilled, usually right). An address read as it is that spells the row's name exactly
(`spells_name`) by two readers alike is the opposite case: two cells written apart, read apart, tell the same
story, and the row counts as one more voice (ROW_VOICE). One reader alone gets no such voice: its decoder may
have bent a doubtful reading towards a known name or domain. Nor does a name the lexicon changed: the same
snap may sit in both cells.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from sheetscan.fields import FieldKind, edit_distance, valid_value
from sheetscan.stages.combined import DECIMALS, noisy_or
from sheetscan.stages.names import lexicon, strip_accents
from sheetscan.stages.ppocr import KNOWN_DOMAINS
from sheetscan.stages.recognize import Reading

CROSSCHECK_VERSION = 2  # in the engine's name of an address the row changed or vouched for (provenance); 2: the
# row's voice
# Addresses two readers read alike that spell the row's name as read (`spells_name`) were wrong 2 times of 658
# (0.3 %) in real EMNIST handwriting (`measure_handprint.py`'s email_row cells, seeds 100-4000, pens 0 and +3),
# against 5-7 % for the other addresses the two agreed on. Both errors were O'NEIL, read O'NELL in the name by
# the lexicon and in the address alike: with names the lexicon changed left out, 514 were vouched for, none
# wrong. Without the readers' agreement, such addresses were as often right on EMNIST, but 3 of 84 accepted
# were wrong on the held-out fonts: trailing digits dropped (« maude.berube97 » read « maude.berube », at
# confidence 0, by one reader).
ROW_VOICE = 0.999
NAME_EMAIL_NATS = 20.0  # how much less likely than the reading an address spelling the row's name may be
SEPARATOR_NATS = 10.0  # what each separator of a name's address is worth: readers miss a small dot
DIGITS_NATS = 4.0  # what an address pays for dropping the digits read at its end, or adding some
MARK_DOWN = 0.3  # a replaced address's confidence factor: below every review threshold
SEPARATORS = (".", "_", "-", "")  # the most usual first
MOST_WORDS, MOST_OPTIONS = 4, 4  # bounds the candidates (and the time) for a long or badly read name
DIGIT_LIKE = {"l": "1", "i": "1", "o": "0", "s": "5", "z": "2", "b": "6", "g": "9", "q": "9", "t": "7"}


def _words(name: str) -> list[list[str]]:
    """The name's words in address form (lower case, no accents or apostrophes), each with its known
    neighbours when the lexicon does not know it (a misread name still suggests the right address)."""
    names = lexicon()
    out = []
    for word in name.split():
        plain = re.sub(r"[^A-Z\-]", "", strip_accents(word).upper())
        if not plain:
            continue
        options = [plain] if names.knows(plain) or "-" in plain else [plain, *names.near(plain)[:MOST_OPTIONS]]
        out.append([o.lower() for o in options])
    return out[:MOST_WORDS]


def _digits(local: str, year: str | None) -> list[str]:
    """Digits that may end the address: none, those read (letters that look like digits counted as digits),
    the birth year or its last two digits."""
    out = [""]
    tail = re.search(f"[0-9{''.join(DIGIT_LIKE)}]{{1,4}}$", local)
    if tail and any(c.isdigit() for c in tail.group()):
        out.append("".join(DIGIT_LIKE.get(c, c) for c in tail.group()))
    if year:
        out += [year, year[2:]]
    return out


def _parts(words: list[list[str]]) -> tuple[list[str], list[str]]:
    """Given names (with and without their hyphen) and surnames (each word, and all of them joined) of a name's
    words in address form."""
    firsts = list(dict.fromkeys(f for option in words[0] for f in (option, option.replace("-", ""))))
    rest = words[1:]
    lasts = [w for options in rest for w in options]
    lasts += [sep.join(options[0] for options in rest) for sep in SEPARATORS if len(rest) > 1]
    return firsts, lasts


def _joined(firsts: list[str], lasts: list[str]) -> list[str]:
    """Given name (or its initial) and surname in either order, joined by each usual separator, the more usual
    first."""
    return [x for sep in SEPARATORS for last in lasts for f in firsts
            for x in (f + sep + last, last + sep + f, f[0] + sep + last)]


def addresses(name: str, year: str | None, local: str) -> list[str]:
    """Local parts people make of a name and birth year, within a few letters of the one read; of two that
    differ only by their separator, the more usual first (SEPARATORS' order)."""
    words = _words(name)
    if len(words) < 2:
        return []
    firsts, lasts = _parts(words)
    stems = [*firsts, *lasts, *_joined(firsts, lasts)]
    budget = max(2, len(local) // 2)
    made = (s + d for s in stems for d in _digits(local, year))
    return list(dict.fromkeys(a for a in made if edit_distance(a, local) <= budget))


def spells_name(address: str, name: str, year: str | None) -> bool:
    """The address is the name's given name (or its initial) and surname, in either order, joined by one usual
    separator or none, then no digits or the birth year's (four or two), at a provider Quebecers use."""
    local, domain = address.rsplit("@", 1)
    words = [options[:1] for options in _words(name)]  # as read, without the lexicon's neighbours
    if len(words) < 2 or domain not in KNOWN_DOMAINS:
        return False
    digits = ["", *([year, year[2:]] if year else [])]
    return any(local == stem + d for stem in _joined(*_parts(words)) for d in digits)


def email_from_name(email: Reading, name: str | None, year: str | None, name_aided: bool = False) -> Reading:
    """The address as the row's name suggests it, when the networks find that nearly as likely as the reading;
    else the reading, with the row's voice if it spells the name and the lexicon changed no letter of the name
    (`name_aided`: both cells may then carry the same snap, O'NEIL read O'NELL)."""
    if name is None or email.spelling_scores is None:
        return email
    value = valid_value(FieldKind.EMAIL, email.text)
    if value is None:
        return email
    suggested = _suggested(email.spelling_scores, value, name, year)
    if suggested is None:
        return _vouched(email, value, name, year, name_aided)
    return Reading(suggested, round(email.confidence * MARK_DOWN, 6), f"{email.engine}+row-{CROSSCHECK_VERSION}",
                   email.spelling_scores)


def _suggested(scores: Callable[[Sequence[str]], list[float]], value: str, name: str, year: str | None) -> str | None:
    """The address made of the row's name and year that the networks (`scores`) find nearly as likely as the
    one read, weighed as `email_from_name` says; None if none is, or the reading already is it."""
    local, domain = value.rsplit("@", 1)
    candidates = addresses(name, year, local)
    if not candidates:
        return None
    read, *weighed = scores([value, *(f"{c}@{domain}" for c in candidates)])
    read_digits = any(ch.isdigit() for ch in local)
    weights = [s + NAME_EMAIL_NATS + SEPARATOR_NATS * sum(map(c.count, ".-_"))  # separators: likely missed
               - DIGITS_NATS * (any(ch.isdigit() for ch in c) != read_digits)  # digits read are digits written
               for c, s in zip(candidates, weighed, strict=True)]
    best = candidates[weights.index(max(weights))]
    return None if best == local or max(weights) < read else f"{best}@{domain}"


def _vouched(email: Reading, value: str, name: str, year: str | None, name_aided: bool) -> Reading:
    if name_aided or email.voices < 2 or not spells_name(value, name, year):
        return email
    confidence = round(noisy_or(email.confidence, ROW_VOICE), DECIMALS)
    return Reading(email.text, confidence, f"{email.engine}+row-{CROSSCHECK_VERSION}", email.spelling_scores,
                   email.voices)


def check_row(readings: dict[FieldKind, Reading]) -> dict[FieldKind, Reading]:
    """A row's readings by field kind, the e-mail weighed against the name and year beside it."""
    email = readings.get(FieldKind.EMAIL)
    if email is None:
        return readings
    name_reading, year_reading = readings.get(FieldKind.NAME), readings.get(FieldKind.BIRTH_YEAR)
    name = valid_value(FieldKind.NAME, name_reading.text) if name_reading else None
    year = valid_value(FieldKind.BIRTH_YEAR, year_reading.text) if year_reading else None
    aided = name_reading is not None and name_reading.aided
    return {**readings, FieldKind.EMAIL: email_from_name(email, name, year, aided)}
