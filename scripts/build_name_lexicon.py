"""Build `sheetscan/models/names.json`: the given names and surnames the name reader knows, as capitalised
words in the sources' order (Quebec's lists first: of two spellings differing only by accents, the reader
prefers the earlier).

    pip install 'faker==40.63.0' && .venv/bin/python scripts/build_name_lexicon.py

Source: the French-language person providers of Faker (MIT licence): fr_QC / fr_CA, then fr_FR, fr_BE,
fr_CH. Compound names are split into words (MARIE-ÈVE -> MARIE, ÈVE). The test bench
(`sheetscan/synth/content.py`) keeps its own, independent lists: never build this file from them, or the
bench would measure names the reader was handed.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

from sheetscan.fields import NAME_LETTERS

OUT = Path(__file__).resolve().parent.parent / "sheetscan" / "models" / "names.json"
LOCALES = ["fr_QC", "fr_CA", "fr_FR", "fr_BE", "fr_CH"]


def words(names: object) -> list[str]:
    out: list[str] = []
    for name in names:  # type: ignore[attr-defined]
        for word in re.split(r"[\s\-']+", str(name).upper()):
            if len(word) >= 2 and all(c in NAME_LETTERS for c in word) and word not in out:
                out.append(word)
    return out


def main() -> None:
    import faker

    first: list[str] = []
    last: list[str] = []
    for locale in LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        first += [w for w in words(provider.first_names) if w not in first]
        last += [w for w in words(provider.last_names) if w not in last]
    data = {"source": f"faker {faker.VERSION}: {', '.join(LOCALES)}", "first": first, "last": last}
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(first)} given-name words, {len(last)} surname words")


if __name__ == "__main__":
    main()
