"""The test bench: filled, scanned-looking petition sheets with their ground truth.

`generate` writes, for sheet i (1-based), `sheet-{i:04d}.png|.jpg` and `sheet-{i:04d}.json`. Everything is
deterministic from the seed; each sheet draws content, handwriting and scan from separate streams, so
holding fonts out changes the handwriting only, never who signed or how the page was scanned.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from sheetscan.render import render_blank
from sheetscan.synth.content import Entry, SheetContent, make_sheet
from sheetscan.synth.fill import FONTS, RENDER_DPI, SLIGHT_CROSSING, Crossing, FilledSheet, fill_sheet
from sheetscan.synth.scan import Scan, random_params, scan_page
from sheetscan.template import Template

__all__ = ["FONTS", "RENDER_DPI", "SLIGHT_CROSSING", "Crossing", "generate", "make_sheet_truth", "synth_sheet"]


def _rng(seed: int, index: int, stream: str) -> random.Random:
    return random.Random(f"{seed}:{index}:{stream}")


def _entries(entries: dict[str, Entry]) -> dict[str, dict[str, str]]:
    return {key: {"written": e.written, "value": e.value} for key, e in entries.items()}


def make_sheet_truth(
    file_name: str, template: Template, content: SheetContent, filled: FilledSheet, scan: Scan
) -> dict[str, Any]:
    """The truth record of one sheet (format: see `generate`)."""
    p = scan.params
    rows: list[dict[str, Any]] = []
    for row in content.rows:
        record: dict[str, Any] = {"row": row.row, "signed": row.signed, "fields": _entries(row.fields)}
        if row.row in filled.row_fonts:
            record["font"] = filled.row_fonts[row.row]
        rows.append(record)
    return {
        "file": file_name,
        "page": 1,
        "template": template.ref,
        "dpi": p.dpi,
        "orientation_deg": scan.orientation_deg,
        "mode": p.mode,
        "font": filled.sender_font,
        "fonts": sorted(set(filled.row_fonts.values()) | ({filled.sender_font} if filled.sender_font else set())),
        "transform": [[float(v) for v in line] for line in scan.transform],
        "scan": {
            "skew_deg": round(p.skew_deg, 4),
            "shift_mm": [round(v, 4) for v in p.shift_mm],
            "scale": round(p.scale, 5),
            "perspective": any(c != (0.0, 0.0) for c in p.corner_mm),
            "blur_sigma": round(p.blur_sigma, 3),
            "noise_sigma": round(p.noise_sigma, 3),
            "jpeg_quality": p.jpeg_quality,
        },
        "rows": rows,
        "sender": _entries(content.sender),
    }


def synth_sheet(
    index: int, seed: int, template: Template, blank: Image.Image, fonts: Sequence[str] | None = None,
    crossing: Crossing = SLIGHT_CROSSING,
) -> tuple[SheetContent, FilledSheet, Scan]:
    """Content, clean filled page and scan of sheet `index` for `seed`; `blank` = render_blank(template, RENDER_DPI)."""
    content = make_sheet(_rng(seed, index, "content"), template)
    filled = fill_sheet(blank, template, content, _rng(seed, index, "fill"), fonts=fonts, dpi=RENDER_DPI,
                        crossing=crossing)
    scan_rng = _rng(seed, index, "scan")
    params = random_params(scan_rng)
    page_mm = (template.page.width_mm, template.page.height_mm)
    scan = scan_page(filled.image, filled.dpi, page_mm, params, seed=scan_rng.getrandbits(63))
    return content, filled, scan


def generate(
    out_dir: Path, sheets: int, seed: int, template: Template, fonts: Sequence[str] | None = None,
    crossing: Crossing = SLIGHT_CROSSING,
) -> list[Path]:
    """Write `sheets` scanned-looking sheets and their truth JSON to `out_dir`; return the truth paths.

    Truth (one JSON per sheet, UTF-8, indent 1):
      file, page (always 1), template ("id@version"), dpi, orientation_deg (0 or 180: the rotation that
      makes the scan upright), mode ("grey" | "colour" | "bw"), font (the sender block's writer; null if
      the block is empty), fonts (every font on the sheet), transform (3x3, template mm -> image pixels of
      the file as saved, pixel centres at integers), scan (the degradation parameters),
      rows (every grid row: row, signed, fields {key: {written, value}} with empty fields absent, font of
      the row's writer when written), sender ({key: {written, value}}).
    `fonts` restricts the handwriting to these keys of FONTS (e.g. to hold some out); `crossing`, how the writing
    crosses the grid lines.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    blank = render_blank(template, RENDER_DPI)
    paths: list[Path] = []
    for index in range(1, sheets + 1):
        content, filled, scan = synth_sheet(index, seed, template, blank, fonts, crossing)
        stem = f"sheet-{index:04d}"
        image_path = out_dir / f"{stem}{scan.extension}"
        scan.save(image_path)
        truth = make_sheet_truth(image_path.name, template, content, filled, scan)
        truth_path = out_dir / f"{stem}.json"
        truth_path.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        paths.append(truth_path)
    return paths
