"""Stage 1: read scanner output (PDF, multi-page TIFF, PNG, JPEG) into greyscale pages.

The file's type is taken from its first bytes, not its name. Every page carries a content hash
(file bytes + page number) so that ingesting the same file twice stores nothing twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from pdf2image import convert_from_path, pdfinfo_from_path
from pdf2image.exceptions import PDFInfoNotInstalledError, PDFPageCountError, PDFSyntaxError
from PIL import Image, ImageSequence, UnidentifiedImageError

from sheetscan.errors import InputError, PageError, PageTooLarge

MAX_PIXELS = 150_000_000  # ~ a 17 in page at 1200 dpi; larger is refused, never decoded
PDF_DPI = 300
MAX_PDF_PAGE_IN = 40.0  # a PDF page larger than this (inches) is not a scan of our sheet
MAX_FILE_BYTES = 2_000_000_000

Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True)
class LoadedPage:
    source: str  # file name, no directory (directories may hold personal names)
    page: int  # 1-based
    image: np.ndarray  # uint8 grey
    dpi: float | None  # as declared by the file, when it says
    content_hash: str


@dataclass(frozen=True)
class PageFailure:
    """A page of a readable file that could not be decoded; the file's other pages go on."""

    source: str
    page: int
    error: PageError


def sniff(head: bytes) -> str:
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return "unknown"


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_pages(path: Path) -> Iterator[LoadedPage | PageFailure]:
    """Yield each page of `path`. Raise InputError when the file as a whole cannot be read."""
    name = path.name
    try:
        size = path.stat().st_size
    except OSError:
        raise InputError(f"{name} : fichier introuvable ou illisible") from None
    if size == 0:
        raise InputError(f"{name} : fichier vide (0 octet)")
    if size > MAX_FILE_BYTES:
        raise InputError(f"{name} : fichier trop volumineux ({size // 1_000_000} Mo)")
    with path.open("rb") as fh:
        kind = sniff(fh.read(8))
    if kind == "unknown":
        raise InputError(f"{name} : ni une image (PNG, JPEG, TIFF) ni un PDF")
    digest = file_hash(path)
    if kind == "pdf":
        yield from _pdf_pages(path, digest)
    else:
        yield from _image_pages(path, digest)


def _page_hash(digest: str, page: int) -> str:
    return f"{digest}:{page}"


def _pdf_pages(path: Path, digest: str) -> Iterator[LoadedPage | PageFailure]:
    name = path.name
    try:
        info = pdfinfo_from_path(str(path))
    except PDFInfoNotInstalledError:
        raise InputError("poppler-utils n'est pas installé : lancez « make setup »") from None
    except (PDFPageCountError, PDFSyntaxError) as exc:
        if "password" in str(exc).lower() or "encrypt" in str(exc).lower():
            raise InputError(f"{name} : PDF protégé par un mot de passe ; enregistrez-le sans protection") from None
        raise InputError(f"{name} : PDF endommagé ou illisible") from None
    pages = int(info.get("Pages", 0))
    if pages == 0:
        raise InputError(f"{name} : PDF sans page")
    width_pt, height_pt = _pdf_page_size(str(info.get("Page size", "")))
    for number in range(1, pages + 1):
        if max(width_pt, height_pt) / 72 > MAX_PDF_PAGE_IN:
            yield PageFailure(name, number, PageTooLarge(f"{name}, page {number} : page PDF démesurée"))
            continue
        try:
            images = convert_from_path(
                str(path), dpi=PDF_DPI, first_page=number, last_page=number, grayscale=True
            )
        except Exception:  # noqa: BLE001 - poppler's failures come in many shapes
            yield PageFailure(name, number, PageError(f"{name}, page {number} : page PDF illisible"))
            continue
        if not images:
            yield PageFailure(name, number, PageError(f"{name}, page {number} : page PDF vide"))
            continue
        yield LoadedPage(name, number, _to_grey(images[0]), float(PDF_DPI), _page_hash(digest, number))


def _pdf_page_size(text: str) -> tuple[float, float]:
    try:
        w, _, h, *_ = text.split()
        return float(w), float(h)
    except ValueError:
        return 0.0, 0.0


def _image_pages(path: Path, digest: str) -> Iterator[LoadedPage | PageFailure]:
    name = path.name
    try:
        image = Image.open(path)
    except Image.DecompressionBombError:
        raise InputError(f"{name} : image démesurée (plus de {MAX_PIXELS // 1_000_000} Mpx)") from None
    except (UnidentifiedImageError, OSError):
        raise InputError(f"{name} : image endommagée ou illisible") from None
    with image:
        for index, frame in enumerate(ImageSequence.Iterator(image), start=1):
            if frame.width * frame.height > MAX_PIXELS:
                yield PageFailure(name, index, PageTooLarge(f"{name}, page {index} : image démesurée"))
                continue
            try:
                grey = _to_grey(frame)
            except (OSError, ValueError, SyntaxError):
                yield PageFailure(name, index, PageError(f"{name}, page {index} : image tronquée ou endommagée"))
                continue
            dpi = frame.info.get("dpi")
            declared = float(dpi[0]) if isinstance(dpi, tuple) and dpi and float(dpi[0]) > 30 else None
            yield LoadedPage(name, index, grey, declared, _page_hash(digest, index))


def _to_grey(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        wide = np.asarray(image, dtype=np.float32)
        peak = float(wide.max()) or 1.0
        return np.clip(wide * (255.0 / peak), 0, 255).astype(np.uint8)
    if image.mode not in ("L", "RGB"):
        image = image.convert("L")
    arr = np.asarray(image)
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(arr, dtype=np.uint8)
