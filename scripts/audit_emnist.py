"""Blind audit of held-out EMNIST tiles: which of them would a careful person not read as labelled?

Some EMNIST tiles are mislabelled or illegible: an S labelled J, a c labelled T, a blot labelled B. The
calibration (`measure_handprint.py`) draws each tile into many cells, so a few such tiles make "errors" that
every reader and any person would make alike, and that no threshold can separate from right readings. This
audit finds them; `measure_handprint.py` sets aside the tiles it lists (`unreadable`).

    .venv/bin/python scripts/audit_emnist.py pages /tmp/audit1 --pass 1
    #   look at /tmp/audit1/page-*.png, write /tmp/audit1/reads.txt: "number reading" per tile, where reading
    #   is the character seen, '|' for a plain stroke (I or 1) or '?' for cannot tell; no label is shown
    .venv/bin/python scripts/audit_emnist.py record /tmp/audit1 --pass 1   # appends the pass to AUDIT
    .venv/bin/python scripts/audit_emnist.py pages /tmp/audit2 --pass 2    # then reads.txt, record, as above

Pass 1 shows the candidates, held-out capitals and digits whose label the character CNN ranks below another
character of the same alphabet, mixed with a fifth as many controls the CNN reads as labelled. Pass 2 shows
again, reshuffled, the tiles pass 1 did not read as labelled, with half as many candidates it did read as
labelled and half as many new controls. A tile is set aside if neither pass read it as labelled. The controls
measure the auditor: `record` prints how often they were read as labelled.
The candidates come from the shipped CNN: a retrained one shows other pages, but the readings recorded name
their tiles by EMNIST index, so the list stands.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import _emnist
import cv2
import numpy as np

from sheetscan.stages.handprint import HandprintEngine

AUDIT = Path(__file__).resolve().parent / "emnist_audit.tsv"  # pass, index, label, role, reading; in the order shown
DIGITS, CAPITALS = "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOOK_ALIKE = dict(zip("0O1I5S2Z8B6G", "O0I1S5Z2B8G6", strict=True))  # a letter in a digit's place reads as it
SEEDS = {1: 7, 2: 11}
PIXELS = {1: (96, 8), 2: (80, 10)}  # a tile's size and gap on the page: others in pass 2, nothing remembered by place
PER_PAGE, COLUMNS = 48, 8
Tile = tuple[int, str]  # index in the EMNIST test split, label


def read_as_labelled(reading: str, label: str) -> bool:
    if reading == "|":
        return label in "I1"
    return reading in (label, LOOK_ALIKE.get(label))


def unreadable(audit: Path = AUDIT) -> set[int]:
    """Candidates that no pass read as labelled (see the module docstring)."""
    seen: dict[int, list[bool]] = {}
    for row in _rows(audit):
        if row["role"] == "candidate":
            seen.setdefault(int(row["index"]), []).append(read_as_labelled(row["reading"], row["label"]))
    return {index for index, reads in seen.items() if len(reads) >= 2 and not any(reads)}


def _rows(audit: Path) -> list[dict[str, str]]:
    if not audit.exists():
        return []
    with audit.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def capitals_and_digits(data: _emnist.Emnist) -> tuple[list[Tile], list[Tile]]:
    """Held-out capitals and digits: (candidates, the others), each in the split's order."""
    held = np.flatnonzero(_emnist.heldout_mask(len(data.chars)))
    engine = HandprintEngine()
    classes = list(engine.classes)
    probs = np.concatenate([engine.classify(data.tiles[held[i:i + 4096]].astype(np.float32) / 255)
                            for i in range(0, len(held), 4096)])
    columns = {alphabet: [classes.index(c) for c in alphabet] for alphabet in (DIGITS, CAPITALS)}
    lowercase = [(CAPITALS.index(c.upper()), classes.index(c)) for c in classes if c.islower()]
    candidates: list[Tile] = []
    others: list[Tile] = []
    for index, p in zip(held, probs, strict=True):
        label = str(data.chars[index])
        alphabet = DIGITS if label.isdigit() else CAPITALS if label.isupper() else None
        if alphabet is None:
            continue
        q = p[columns[alphabet]]
        if alphabet is CAPITALS:  # a lowercase class counts for its capital, as in a name
            for capital, column in lowercase:
                q[capital] += p[column]
        tile = (int(index), label)
        (candidates if q.max() > q[alphabet.index(label)] else others).append(tile)
    return candidates, others


def shown(pass_no: int, data: _emnist.Emnist) -> list[tuple[Tile, str]]:
    """The tiles of a pass with their role, in the order shown."""
    rng = np.random.default_rng(SEEDS[pass_no])
    candidates, others = capitals_and_digits(data)
    if pass_no == 1:
        picked = rng.choice(len(others), size=len(candidates) // 5, replace=False)
        items = [(t, "candidate") for t in candidates] + [(others[i], "control") for i in picked]
    else:
        first = [r for r in _rows(AUDIT) if r["pass"] == "1"]
        done = {int(r["index"]) for r in first}
        flagged = [(int(r["index"]), r["label"]) for r in first
                   if r["role"] == "candidate" and not read_as_labelled(r["reading"], r["label"])]
        read = [(int(r["index"]), r["label"]) for r in first
                if r["role"] == "candidate" and read_as_labelled(r["reading"], r["label"])]
        half = len(flagged) // 2
        again = [read[i] for i in rng.choice(len(read), size=half, replace=False)]
        fresh = [t for t in others if t[0] not in done]
        controls = [fresh[i] for i in rng.choice(len(fresh), size=half, replace=False)]
        items = [(t, "candidate") for t in flagged + again] + [(t, "control") for t in controls]
    return [items[i] for i in rng.permutation(len(items))]


def pages(out: Path, pass_no: int, data: _emnist.Emnist) -> int:
    out.mkdir(parents=True, exist_ok=True)
    items = shown(pass_no, data)
    size, gap = PIXELS[pass_no]
    for start in range(0, len(items), PER_PAGE):
        chunk = items[start:start + PER_PAGE]
        rows = -(-len(chunk) // COLUMNS)
        page = np.full((rows * (size + 22), COLUMNS * (size + gap)), 255, np.uint8)
        for n, ((index, _), _) in enumerate(chunk):
            r, c = divmod(n, COLUMNS)
            y, x = r * (size + 22), c * (size + gap)
            page[y + 20:y + 20 + size, x:x + size] = 255 - cv2.resize(data.tiles[index], (size, size),
                                                                      interpolation=cv2.INTER_CUBIC)
            cv2.putText(page, str(start + n), (x + 2, y + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.5, 0, 1)
        cv2.imwrite(str(out / f"page-{start // PER_PAGE:02d}.png"), page)
    print(f"{len(items)} tiles on {-(-len(items) // PER_PAGE)} pages in {out}; write {out / 'reads.txt'}")
    return 0


def record(out: Path, pass_no: int, data: _emnist.Emnist) -> int:
    items = shown(pass_no, data)
    reads = dict(line.split() for line in (out / "reads.txt").read_text().splitlines() if line.strip())
    if sorted(map(int, reads)) != list(range(len(items))):
        raise SystemExit(f"{out / 'reads.txt'}: expected one reading for each of the {len(items)} tiles")
    rows = [{"pass": str(pass_no), "index": str(index), "label": label, "role": role, "reading": reads[str(n)]}
            for n, ((index, label), role) in enumerate(items)]
    controls = [read_as_labelled(r["reading"], r["label"]) for r in rows if r["role"] == "control"]
    candidates = [read_as_labelled(r["reading"], r["label"]) for r in rows if r["role"] == "candidate"]
    print(f"pass {pass_no}: controls read as labelled {sum(controls)}/{len(controls)}, "
          f"candidates {sum(candidates)}/{len(candidates)}")
    kept = [r for r in _rows(AUDIT) if r["pass"] != str(pass_no)]
    with AUDIT.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["pass", "index", "label", "role", "reading"], delimiter="\t",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(sorted(kept + rows, key=lambda r: r["pass"]))  # each pass in the order shown
    print(f"{AUDIT.name}: {len(unreadable())} tiles set aside so far")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=["pages", "record"])
    parser.add_argument("out", type=Path, help="folder of the pass's pages and reads.txt")
    parser.add_argument("--pass", dest="pass_no", type=int, choices=sorted(SEEDS), required=True)
    parser.add_argument("--data", type=Path, default=_emnist.DEFAULT_DATA_DIR)
    args = parser.parse_args(argv)
    data = _emnist.load(args.data)
    return (pages if args.step == "pages" else record)(args.out, args.pass_no, data)


if __name__ == "__main__":
    sys.exit(main())
