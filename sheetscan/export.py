"""Accepted signer rows -> CSV for the campaign team (Excel-friendly) or JSON lines for integrations."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sheetscan.store.db import SignerRow, StoredCell

GRID_FIELDS = ["name", "postal_code", "signature", "birth_year", "email", "phone"]
SENDER_FIELDS = ["sender_name", "sender_email", "sender_group"]
REQUIRED = ["name", "postal_code", "signature", "birth_year"]
HEADERS = [
    "fichier", "page", "rangée", "prénom_nom", "code_postal", "signature", "année_naissance", "courriel",
    "cellulaire", "expéditeur_nom", "expéditeur_courriel", "expéditeur_groupe", "complet", "gabarit",
]


@dataclass(frozen=True)
class ExportStats:
    written: int
    held_back: int  # rows still waiting for review


def _safe(text: str) -> str:
    """Keep spreadsheet software from running a value as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _value(cell: StoredCell | None) -> str:
    return cell.value or "" if cell is not None else ""


def complete(row: SignerRow) -> bool:
    return all(_value(row.cells.get(k)) for k in REQUIRED)


def export_csv(
    rows: Iterable[SignerRow], out: TextIO, delimiter: str = ";", include_pending: bool = False
) -> ExportStats:
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADERS)
    written = held = 0
    for row in rows:
        if row.pending and not include_pending:
            held += 1
            continue
        values = [_value(row.cells.get(k)) for k in GRID_FIELDS] + [_value(row.sender.get(k)) for k in SENDER_FIELDS]
        values[2] = "oui" if values[2] == "signed" else "non"
        writer.writerow(
            [row.source, row.page, row.number, *[_safe(v) for v in values],
             "oui" if complete(row) else "non", row.template]
        )
        written += 1
    return ExportStats(written, held)


def _cell_json(cell: StoredCell) -> dict[str, object]:
    return {
        "value": cell.value, "raw": cell.raw, "confidence": cell.confidence, "engine": cell.engine,
        "review_state": cell.review_state, "review_reason": cell.review_reason, "error": cell.error,
    }


def export_jsonl(rows: Iterable[SignerRow], out: TextIO, include_pending: bool = False) -> ExportStats:
    written = held = 0
    for row in rows:
        if row.pending and not include_pending:
            held += 1
            continue
        record = {
            "source": row.source, "page": row.page, "row": row.number, "template": row.template,
            "complete": complete(row),
            "fields": {k: _cell_json(c) for k, c in sorted(row.cells.items())},
            "sender": {k: _cell_json(c) for k, c in sorted(row.sender.items())},
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        written += 1
    return ExportStats(written, held)


def export_file(rows: Iterable[SignerRow], path: Path, fmt: str, delimiter: str, include_pending: bool) -> ExportStats:
    """Write to a temporary file then rename, so a nightly job never ships half a file."""
    tmp = path.with_name(path.name + ".partial")
    # utf-8-sig: the BOM makes Excel read accents right
    with tmp.open("w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") as fh:
        if fmt == "csv":
            stats = export_csv(rows, fh, delimiter, include_pending)
        else:
            stats = export_jsonl(rows, fh, include_pending)
    tmp.replace(path)
    return stats
