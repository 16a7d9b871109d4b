"""Names the reader knows: a lexicon of given-name and surname words (`sheetscan/models/names.json`, built
by `scripts/build_name_lexicon.py`) puts back what readers of hand print drop most: the space between a
given name and a surname written close together, and accents (missed, or of the wrong shape).

`Lexicon.fix` never changes a letter: a word is re-spelt only to a known word that differs from it by accents
alone, and spaces move only where the letters on both sides stay the same; unknown names pass through
untouched. `Lexicon.near` offers the known words a letter or two away from a word; only a reader that can
weigh them against what it saw (the PP-OCR engine re-scores its network output) may take one.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sheetscan.fields import edit_distance

LEXICON_PATH = Path(__file__).resolve().parent.parent / "models" / "names.json"
JOINERS = "-'"
TWO_EDITS_FROM = 5  # a shorter word two letters from a known one is as likely another name


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _mark(letter: str) -> str:
    """The kind of mark a letter carries: "" (none), "dots" (a diaeresis), "cedilla" or "stroke" (an acute,
    grave or circumflex accent, which hands and readers slant every way)."""
    marks = unicodedata.normalize("NFD", letter)[1:]
    return "" if not marks else "dots" if "\u0308" in marks else "cedilla" if "\u0327" in marks else "stroke"


def _keeps_mark(seen: str, known: str, spare_i: bool) -> bool:
    """A letter as read and as a known spelling has it: a mark the reader saw stays the same kind of mark (a
    stroke may change its slant, but GAÉTAN is not GAËTAN). Over an I, whose own dot is easily taken for
    either, any mark will do, and with `spare_i` none."""
    if not _mark(seen):
        return True
    if strip_accents(known) == "I":
        return spare_i or bool(_mark(known))
    return _mark(seen) == _mark(known)


@lru_cache(maxsize=4096)
def _words(token: str) -> tuple[str, ...]:
    """The words of a token longer than one letter, accents stripped (elisions such as D' aside); cached:
    readers ask about the same few tokens many times a cell."""
    return tuple(p for p in _parts(strip_accents(token)) if len(p) > 1)


def _parts(token: str) -> list[str]:
    """The words of a compound (MARC-ANDRÉ, D'ARC), without their joiners."""
    parts, word = [], ""
    for ch in token:
        if ch in JOINERS:
            parts.append(word)
            word = ""
        else:
            word += ch
    return [*parts, word]


def _deletions(word: str, most: int) -> set[str]:
    """The word with up to `most` letters deleted (itself included)."""
    out = {word}
    for _ in range(most):
        out |= {w[:i] + w[i + 1:] for w in out for i in range(len(w))}
    return out


@dataclass(frozen=True)
class Lexicon:
    first: frozenset[str]  # given-name words, accents stripped
    last: frozenset[str]  # surname words, accents stripped
    spellings: dict[str, list[str]]  # accents stripped -> the known spellings, preferred first
    deletions: dict[str, frozenset[str]]  # a known word (accents stripped) less up to two letters -> words

    @classmethod
    def from_lists(cls, first: list[str], last: list[str]) -> Lexicon:
        spellings: dict[str, list[str]] = {}
        for word in [*first, *last]:
            known = spellings.setdefault(strip_accents(word), [])
            if word not in known:
                known.append(word)
        index: dict[str, set[str]] = {}
        for key in spellings:
            for variant in _deletions(key, 2):
                index.setdefault(variant, set()).add(key)
        deletions = {k: frozenset(v) for k, v in index.items()}
        return cls(frozenset(map(strip_accents, first)), frozenset(map(strip_accents, last)), spellings, deletions)

    def near(self, word: str) -> list[str]:
        """Known words (accents stripped) one letter away from the word (a letter changed, added or missing),
        then, for a word of TWO_EDITS_FROM letters or more, those two letters away."""
        key = strip_accents(word)
        most = 2 if len(key) >= TWO_EDITS_FROM else 1
        found = {w for variant in _deletions(key, most) for w in self.deletions.get(variant, ())}
        distance = {w: edit_distance(key, w) for w in found if w != key}
        return sorted((w for w, d in distance.items() if d <= most), key=lambda w: (distance[w], w))

    def knows(self, token: str, words: frozenset[str] | None = None) -> bool:
        """Every word of the token (one-letter elisions such as D' aside) is known."""
        parts = _words(token)
        if words is None:
            return bool(parts) and all(p in self.first or p in self.last for p in parts)
        return bool(parts) and all(p in words for p in parts)

    def spells(self, name: str) -> bool:
        """Every word of the name (one-letter elisions such as D' aside) is one of the known spellings, accents
        included: NOËL, not NOÊL or NOEL unless those are known too."""
        parts = [p for word in name.split() for p in _parts(word) if len(p) > 1]
        return bool(parts) and all(p in self.spellings.get(strip_accents(p), ()) for p in parts)

    def respell_word(self, word: str) -> str:
        """The word's first known spelling that keeps every accent the reader saw (`_keeps_mark`), adding
        those it missed. Unknown words, and words whose seen accents no known spelling has, stay as read."""
        known = [k for k in self.spellings.get(strip_accents(word), []) if len(k) == len(word) > 1]

        def keeps(k: str, spare_i: bool) -> bool:
            return all(_keeps_mark(a, b, spare_i) for a, b in zip(word, k, strict=True))

        return next((k for spare_i in (False, True) for k in known if keeps(k, spare_i)), word)

    def respell(self, token: str) -> str:
        """Each word of the token given its known accents; unknown words as they are."""
        out, word = "", ""
        for ch in [*token, None]:
            if ch is None or ch in JOINERS:
                out += self.respell_word(word) + (ch or "")
                word = ""
            else:
                word += ch
        return out

    def _split_score(self, left: str, right: str) -> float:
        """Known words on both sides, a given name then a surname; among equals, the longer known left part."""
        known_left, known_right = self.knows(left), self.knows(right)
        if known_left != known_right and len(left if known_left else right) < 3:
            return 0.0  # a lone two-letter word (DE, LE, ST) turns up in any run of letters
        return (2.0 * known_left + 2.0 * known_right + 0.5 * self.knows(left, self.first)
                + 0.5 * self.knows(right, self.last) + 0.01 * len(left) * known_left)

    def _split(self, token: str, needed: float) -> list[str]:
        """The token cut in two where the cut scores best, if that reaches `needed`; else the token."""
        cuts = [i for i in range(2, len(token) - 1) if token[i - 1] not in JOINERS and token[i] not in JOINERS
                and token[i - 2] not in JOINERS and token[i + 1] != "-"]  # no one-letter word part (D' aside)
        if self.knows(token) or not cuts:
            return [token]
        best = max(cuts, key=lambda i: self._split_score(token[:i], token[i:]))
        return [token[:best], token[best:]] if self._split_score(token[:best], token[best:]) >= needed else [token]

    def fix(self, name: str) -> str:
        """A read name with its spaces and accents made consistent with the known words."""
        tokens = name.split()
        # A known word read in two or three pieces (« PA TRICE », « TU RC OTTE ») is one word.
        merged: list[str] = []
        while tokens:
            run = next((n for n in (3, 2) if len(tokens) >= n and self.knows("".join(tokens[:n]))
                        and not all(self.knows(t) for t in tokens[:n])), 1)
            merged.append("".join(tokens[:run]))
            tokens = tokens[run:]
        # A space in the wrong place (« CHANT ALBEAUDOIN ») moves to where both sides are known words.
        for i in range(len(merged) - 1):
            left, right = merged[i], merged[i + 1]
            if not (self.knows(left) and self.knows(right)):
                parts = self._split(left + right, 4.0)
                if len(parts) == 2:
                    merged[i], merged[i + 1] = parts
        # The form asks for a given name and a surname: a single run of letters hides a space (one known side
        # is enough to place it); an unknown token made of two known words hides one too.
        if len(merged) == 1:
            merged = self._split(merged[0], 2.0)
        else:
            merged = [part for token in merged for part in self._split(token, 4.0)]
        return " ".join(self.respell(t) for t in merged)


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    data = json.loads(LEXICON_PATH.read_text(encoding="utf-8"))
    return Lexicon.from_lists(data["first"], data["last"])
