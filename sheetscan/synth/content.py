"""What the signers write: seeded, realistic French-Canadian content with its ground truth.

Every field has a `written` form (what the person puts on paper) and a `value` form, which is
`fields.validate(kind, written)`: the truth a perfect reader would store.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field

from sheetscan.fields import POSTAL_OTHER, FieldKind, validate
from sheetscan.template import Template

FEMALE_FIRST = [
    "Marie",
    "Marie-Ève",
    "Marie-Claude",
    "Marie-Josée",
    "Anne-Marie",
    "Julie",
    "Isabelle",
    "Nathalie",
    "Geneviève",
    "Mélanie",
    "Chantal",
    "Josée",
    "Sylvie",
    "Diane",
    "Francine",
    "Lise",
    "Hélène",
    "Céline",
    "Ginette",
    "Louise",
    "Mireille",
    "Andrée",
    "Émilie",
    "Chloé",
    "Léa",
    "Zoé",
    "Camille",
    "Océane",
    "Noémie",
    "Rosalie",
    "Béatrice",
    "Éloïse",
    "Frédérique",
    "Stéphanie",
    "Valérie",
    "Annie",
    "Karine",
    "Sophie",
    "Maude",
    "Anaïs",
    "Gabrielle",
    "Joëlle",
    "Thérèse",
    "Jacinthe",
    "Solange",
    "Ève",
    "Amélie",
    "Aïcha",
    "Fatima",
    "Linh",
    "Mariana",
    "Nadia",
    "Roseline",
]
MALE_FIRST = [
    "Jean",
    "Jean-François",
    "Jean-Philippe",
    "Jean-Sébastien",
    "Pierre-Luc",
    "Marc-André",
    "François",
    "Stéphane",
    "Sébastien",
    "Frédéric",
    "Mathieu",
    "Éric",
    "Benoît",
    "Gaétan",
    "Réjean",
    "Normand",
    "Guy",
    "Michel",
    "André",
    "Luc",
    "Denis",
    "Yves",
    "Gilles",
    "Raymond",
    "Gérard",
    "Jérôme",
    "Félix",
    "Étienne",
    "Olivier",
    "Alexandre",
    "Samuel",
    "William",
    "Thomas",
    "Léo",
    "Noël",
    "Zacharie",
    "Loïc",
    "Maxime",
    "Simon",
    "Patrice",
    "Hugues",
    "Rémi",
    "Ghislain",
    "Jacques",
    "Émile",
    "Xavier",
    "Antoine",
    "Karim",
    "Mohamed",
    "Minh",
    "Wilson",
    "Jean-Baptiste",
]
SURNAMES = [
    "Tremblay",
    "Gagnon",
    "Roy",
    "Côté",
    "Bouchard",
    "Gauthier",
    "Morin",
    "Lavoie",
    "Fortin",
    "Gagné",
    "Ouellet",
    "Pelletier",
    "Bélanger",
    "Lévesque",
    "Bergeron",
    "Leblanc",
    "Paquette",
    "Girard",
    "Simard",
    "Boucher",
    "Caron",
    "Beaulieu",
    "Cloutier",
    "Dubé",
    "Poirier",
    "Fournier",
    "Lapointe",
    "Leclerc",
    "Lefebvre",
    "Poulin",
    "Thibault",
    "St-Pierre",
    "Nadeau",
    "Martin",
    "Landry",
    "Martel",
    "Bédard",
    "Grenier",
    "Lessard",
    "Bernier",
    "Richard",
    "Michaud",
    "Hébert",
    "Desjardins",
    "Couture",
    "Turcotte",
    "Lachance",
    "Parent",
    "Blais",
    "Gosselin",
    "Savard",
    "Proulx",
    "Beaudoin",
    "Demers",
    "Perreault",
    "Lemieux",
    "Cyr",
    "Dufour",
    "Mercier",
    "Bérubé",
    "Boisvert",
    "Langlois",
    "Ménard",
    "Giroux",
    "Charbonneau",
    "Vaillancourt",
    "Fréchette",
    "Thériault",
    "Émond",
    "Béliveau",
    "Gélinas",
    "Sévigny",
    "Létourneau",
    "Després",
    "Larivière",
    "Gingras",
    "Huot",
    "Lépine",
    "Racine",
    "Séguin",
    "D'Amours",
    "D'Anjou",
    "D'Aoust",
    "L'Heureux",
    "L'Écuyer",
    "O'Neil",
    "O'Brien",
    "Saint-Onge",
    "Saint-Laurent",
    "Pierre-Louis",
    "Jean-Baptiste",
    "Nguyen",
    "Tran",
    "Haddad",
    "Benali",
    "Khalil",
    "Joseph",
    "Fernandes",
    "Da Silva",
    "De Grandpré",
    "Van Houtte",
]
GROUP_PLACES = [
    "Montréal-Centre",
    "Plateau",
    "Rosemont",
    "Villeray",
    "Verdun",
    "Laval",
    "Longueuil",
    "Québec",
    "Sherbrooke",
    "Gatineau",
    "Trois-Rivières",
    "Saguenay",
    "Rimouski",
    "Outaouais",
    "Mauricie",
    "Université McGill",
    "UQAM",
    "Cégep du Vieux",
    "Saint-Hyacinthe",
]
EMAIL_DOMAINS = [
    ("gmail.com", 40),
    ("videotron.ca", 14),
    ("hotmail.com", 16),
    ("yahoo.ca", 8),
    ("outlook.com", 8),
    ("hotmail.ca", 5),
    ("icloud.com", 4),
    ("live.ca", 3),
    ("bell.net", 2),
]
AREA_CODES = [("514", 34), ("438", 18), ("450", 24), ("819", 9), ("418", 9), ("581", 6)]
POSTAL_FIRST_WEIGHTS = [("H", 50), ("J", 28), ("G", 14), ("K", 3), ("M", 2), ("E", 1), ("V", 1), ("T", 1)]
POSTAL_LETTERS = POSTAL_OTHER

FILLED_ROW_SHARE_LOW = 0.1  # share of sheets with 0-4 filled rows (the rest: 5 to all rows)
GAP_SHARE = 0.15  # share of sheets with one empty row between filled rows
MISSING_REQUIRED_SHARE = 0.05  # share of filled rows missing one required field
OPTIONAL_SHARE = 0.5  # chance that an optional field (email, phone) is written
SENDER_FIELD_SHARE = 0.9  # chance that each sender box is written


@dataclass(frozen=True)
class Entry:
    """One written field: what is on paper and what a perfect reader stores."""

    written: str
    value: str


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    birth_year: int


@dataclass
class SignerRow:
    row: int  # 1-based grid row
    signed: bool
    fields: dict[str, Entry] = field(default_factory=dict)  # column key -> entry; absent = empty

    @property
    def empty(self) -> bool:
        return not self.signed and not self.fields


@dataclass
class SheetContent:
    rows: list[SignerRow]  # every grid row, in order
    sender: dict[str, Entry]  # sender box key -> entry; absent = empty


def _weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    values = [c for c, _ in choices]
    weights = [w for _, w in choices]
    return rng.choices(values, weights=weights)[0]


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def make_person(rng: random.Random) -> Person:
    first = rng.choice(FEMALE_FIRST if rng.random() < 0.55 else MALE_FIRST)
    last = rng.choice(SURNAMES)
    if rng.random() < 0.08:  # compound surname
        other = rng.choice([s for s in SURNAMES if s != last])
        last = f"{last}-{other}" if rng.random() < 0.8 else f"{last} {other}"
    year = round(rng.triangular(1930, 2010, 1975))
    return Person(first=first, last=last, birth_year=year)


def _entry(kind: FieldKind, written: str) -> Entry:
    return Entry(written=written, value=validate(kind, written))


def name_entry(person: Person) -> Entry:
    """Block capitals, as the form asks."""
    return _entry(FieldKind.NAME, f"{person.first} {person.last}".upper())


def cased(name: str, rng: random.Random) -> str:
    """A name (« MARIE-ÈVE TREMBLAY ») as signers who ignore « lettres moulées » write it: « Marie-Ève Tremblay »,
    « Marie-Ève TREMBLAY » or « marie-ève tremblay »."""

    def title(text: str) -> str:
        return "".join(c.lower() if i and text[i - 1] not in " -'" else c for i, c in enumerate(text))

    given, _, surname = name.partition(" ")
    style = rng.choices(["title", "surname", "lower"], weights=[50, 35, 15])[0]
    if style == "title":
        return title(name)
    return f"{title(given)} {surname}" if style == "surname" else name.lower()


def postal_entry(rng: random.Random) -> Entry:
    first = _weighted(rng, POSTAL_FIRST_WEIGHTS)
    d = [str(rng.randint(1, 9)), str(rng.randint(0, 9)), str(rng.randint(0, 9))]
    l2, l3 = rng.choice(POSTAL_LETTERS), rng.choice(POSTAL_LETTERS)
    sep = "" if rng.random() < 0.25 else " "
    return _entry(FieldKind.POSTAL_CODE, f"{first}{d[0]}{l2}{sep}{d[1]}{l3}{d[2]}")


def year_entry(person: Person) -> Entry:
    return _entry(FieldKind.BIRTH_YEAR, str(person.birth_year))


def _email_part(text: str) -> str:
    plain = strip_accents(text).lower()
    return "".join(c for c in plain if c.isalnum() or c == "-").strip("-")


def email_entry(rng: random.Random, person: Person) -> Entry:
    first = _email_part(person.first)
    last = _email_part(person.last.split(" ")[0] if rng.random() < 0.5 else person.last.replace(" ", ""))
    yy = f"{person.birth_year % 100:02d}"
    patterns = [
        f"{first}.{last}",
        f"{first}{last}",
        f"{first[0]}{last}",
        f"{first}_{last}",
        f"{last}.{first}",
        f"{first}.{last}{yy}",
        f"{first}{yy}",
        f"{first[0]}.{last}",
        f"{first}.{last}{rng.randint(1, 99)}",
    ]
    local = rng.choice(patterns)
    return _entry(FieldKind.EMAIL, f"{local}@{_weighted(rng, EMAIL_DOMAINS)}")


def phone_entry(rng: random.Random) -> Entry:
    area = _weighted(rng, AREA_CODES)
    exchange = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    line = f"{rng.randint(0, 9999):04d}"
    style = rng.choices(range(5), weights=[40, 20, 20, 8, 12])[0]
    written = [
        f"{area}-{exchange}-{line}",
        f"({area}) {exchange}-{line}",
        f"{area} {exchange} {line}",
        f"{area}.{exchange}.{line}",
        f"{area}{exchange}{line}",
    ][style]
    return _entry(FieldKind.PHONE, written)


def group_entry(rng: random.Random) -> Entry:
    number = rng.randint(1, 120)
    written = f"Groupe {number} {rng.choice(GROUP_PLACES)}" if rng.random() < 0.6 else f"Groupe {number}"
    return _entry(FieldKind.TEXT, written)


def field_entry(rng: random.Random, kind: FieldKind, person: Person) -> Entry:
    """A signer's entry for one column kind (not the signature)."""
    if kind == FieldKind.NAME:
        return name_entry(person)
    if kind == FieldKind.POSTAL_CODE:
        return postal_entry(rng)
    if kind == FieldKind.BIRTH_YEAR:
        return year_entry(person)
    if kind == FieldKind.EMAIL:
        return email_entry(rng, person)
    if kind == FieldKind.PHONE:
        return phone_entry(rng)
    if kind == FieldKind.TEXT:
        return _entry(FieldKind.TEXT, person.last.upper())
    raise ValueError(f"no generator for kind {kind}")


def filled_row_numbers(rng: random.Random, rows: int) -> list[int]:
    """Which grid rows are written: a run from the top, biased to 5+ rows, sometimes with one gap."""
    low = min(4, rows)
    few = rng.random() < FILLED_ROW_SHARE_LOW
    count = rng.randint(0, low) if few else rng.randint(min(5, rows), rows)
    numbers = list(range(1, count + 1))
    if count >= 2 and count < rows and rng.random() < GAP_SHARE:
        gap = rng.randint(2, count)
        numbers = [n if n < gap else n + 1 for n in numbers]
    return numbers


def signer_row(rng: random.Random, template: Template, number: int) -> SignerRow:
    person = make_person(rng)
    row = SignerRow(row=number, signed=True)
    for col in template.read_columns:
        assert col.kind is not None
        if col.kind == FieldKind.SIGNATURE:
            continue
        if not col.required and rng.random() >= OPTIONAL_SHARE:
            continue
        row.fields[col.key] = field_entry(rng, col.kind, person)
    if rng.random() < MISSING_REQUIRED_SHARE:
        required = [c for c in template.read_columns if c.required]
        if required:
            dropped = rng.choice(required)
            if dropped.kind == FieldKind.SIGNATURE:
                row.signed = False
            else:
                row.fields.pop(dropped.key, None)
    return row


def sender_entries(rng: random.Random, template: Template) -> dict[str, Entry]:
    """The sender block: a capitalised name, an email, a group; each box sometimes left empty."""
    person = make_person(rng)
    sender: dict[str, Entry] = {}
    for box in template.sender:
        if rng.random() >= SENDER_FIELD_SHARE:
            continue
        if box.kind == FieldKind.EMAIL:
            sender[box.key] = email_entry(rng, person)
        elif box.kind == FieldKind.TEXT and "group" in box.key:
            sender[box.key] = group_entry(rng)
        elif box.kind == FieldKind.TEXT:
            sender[box.key] = _entry(FieldKind.TEXT, f"{person.first} {person.last}")
        else:
            sender[box.key] = field_entry(rng, box.kind, person)
    return sender


def make_sheet(rng: random.Random, template: Template) -> SheetContent:
    """All rows of one sheet (empty ones included) and its sender block."""
    filled = set(filled_row_numbers(rng, template.grid.rows))
    rows = [
        signer_row(rng, template, n) if n in filled else SignerRow(row=n, signed=False)
        for n in range(1, template.grid.rows + 1)
    ]
    return SheetContent(rows=rows, sender=sender_entries(rng, template))
