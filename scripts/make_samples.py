"""Rebuild samples/: a handful of test-bench sheets, stored the way an office scanner would (JPEG, a
black-and-white PNG, a two-page PDF, a two-page TIFF), each with its ground-truth JSON. Run: make samples."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from sheetscan.stages.load import PDF_DPI
from sheetscan.synth import generate
from sheetscan.template import TEMPLATES_DIR, load_template

ROOT = Path(__file__).resolve().parent.parent
SEED = 2025
SHEETS = 7


def _rescale(transform: list[list[float]], factor: float) -> list[list[float]]:
    """Template mm -> pixels of a re-rendered page `factor` times larger (pixel centres at integers)."""
    scale = np.array([[factor, 0, 0.5 * factor - 0.5], [0, factor, 0.5 * factor - 0.5], [0, 0, 1]])
    return (scale @ np.array(transform)).tolist()


def main(out: Path) -> None:
    template = load_template(TEMPLATES_DIR / "retour-hernandez-romero.json")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*"):
        if old.suffix in {".json", ".png", ".jpg", ".pdf", ".tif"}:
            old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        truths = [json.loads(p.read_text(encoding="utf-8")) for p in generate(Path(tmp), SHEETS, SEED, template)]
        images = {t["file"]: Image.open(Path(tmp) / t["file"]) for t in truths}

        def write(truth: dict, name: str, page: int = 1) -> None:
            truth = dict(truth, file=name, page=page)
            stem = Path(name).stem + (f"-p{page}" if page > 1 or name.endswith((".pdf", ".tif")) else "")
            (out / f"{stem}.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", "utf-8")

        def bilevel(image: Image.Image) -> Image.Image:
            return image if image.mode == "1" else image.convert("L").point(lambda v: 255 if v > 150 else 0, "1")

        for truth in truths[:2]:  # single JPEGs, as most scanners send them
            name = Path(truth["file"]).with_suffix(".jpg").name
            image = images[truth["file"]]
            image.convert("RGB" if image.mode == "RGB" else "L").save(out / name, quality=70, dpi=(truth["dpi"],) * 2)
            write(truth, name)
        truth = truths[2]  # a black-and-white PNG
        name = Path(truth["file"]).with_suffix(".png").name
        bilevel(images[truth["file"]]).save(out / name, optimize=True, dpi=(truth["dpi"],) * 2)
        write(truth, name)

        pdf_pages = truths[3:5]  # a two-page PDF
        first, *rest = [images[t["file"]].convert("L") for t in pdf_pages]
        first.save(
            out / "lot-courrier.pdf",
            "PDF",
            resolution=float(pdf_pages[0]["dpi"]),
            save_all=True,
            append_images=rest,
            quality=70,
        )
        for page, truth in enumerate(pdf_pages, 1):
            factor = PDF_DPI / truth["dpi"]
            write(dict(truth, dpi=PDF_DPI, transform=_rescale(truth["transform"], factor)), "lot-courrier.pdf", page)

        tiff_pages = truths[5:7]  # a two-page black-and-white TIFF (CCITT G4), as a sheet feeder sends them
        frames = [bilevel(images[t["file"]]) for t in tiff_pages]
        frames[0].save(
            out / "lot-scanner.tif",
            save_all=True,
            append_images=frames[1:],
            compression="group4",
            dpi=(tiff_pages[0]["dpi"],) * 2,
        )
        for page, truth in enumerate(tiff_pages, 1):
            write(dict(truth, mode="bw"), "lot-scanner.tif", page)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "samples")
