"""Loading scanner output: every format, and a clear refusal for every kind of bad file."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sheetscan.errors import InputError, PageTooLarge
from sheetscan.stages.load import LoadedPage, PageFailure, load_pages, sniff

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _pages(path: Path) -> list[LoadedPage | PageFailure]:
    return list(load_pages(path))


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header claims `width` x `height` (1-bit); its pixel data is never decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    path.write_bytes(data + struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND")))


def test_sniff_uses_content_not_name() -> None:
    assert sniff(b"%PDF-1.7") == "pdf"
    assert sniff(b"\x89PNG\r\n\x1a\n") == "png"
    assert sniff(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff(b"II*\x00") == "tiff"
    assert sniff(b"hello") == "unknown"


def test_colour_png_becomes_grey_with_dpi(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    Image.new("RGB", (300, 200), (200, 10, 10)).save(path, dpi=(250, 250))
    [page] = _pages(path)
    assert isinstance(page, LoadedPage)
    assert page.image.shape == (200, 300) and page.image.dtype == np.uint8
    assert page.dpi == pytest.approx(250, abs=1)
    assert page.source == "scan.png" and page.page == 1


def test_multipage_tiff_and_bilevel(tmp_path: Path) -> None:
    path = tmp_path / "batch.tif"
    frames = [Image.new("1", (100, 150), 1), Image.new("L", (100, 150), 128), Image.new("RGB", (100, 150))]
    frames[0].save(path, save_all=True, append_images=frames[1:], compression="tiff_deflate")
    pages = _pages(path)
    assert [p.page for p in pages] == [1, 2, 3]
    assert all(isinstance(p, LoadedPage) for p in pages)
    first = pages[0]
    assert isinstance(first, LoadedPage) and first.image.max() == 255
    assert len({p.content_hash for p in pages if isinstance(p, LoadedPage)}) == 3


def test_pdf_pages_are_rendered(tmp_path: Path) -> None:
    path = tmp_path / "two.pdf"
    a, b = Image.new("L", (200, 300), 255), Image.new("L", (200, 300), 0)
    a.save(path, "PDF", resolution=100.0, save_all=True, append_images=[b])
    pages = _pages(path)
    assert len(pages) == 2
    second = pages[1]
    assert isinstance(second, LoadedPage)
    assert second.image.shape == (900, 600)  # 2 x 3 in at 300 dpi
    assert second.image.mean() < 10


def test_same_bytes_same_hash_different_page_different_hash(tmp_path: Path) -> None:
    Image.new("L", (50, 50), 255).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_bytes((tmp_path / "a.png").read_bytes())
    [a], [b] = _pages(tmp_path / "a.png"), _pages(tmp_path / "b.png")
    assert isinstance(a, LoadedPage) and isinstance(b, LoadedPage)
    assert a.content_hash == b.content_hash


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "fichier vide"),
        (b"name,postal\nA,B\n", "ni une image"),
        (b"%PDF-1.4\n garbage that is not a pdf", "PDF endommagé"),
        (b"\x89PNG\r\n\x1a\n truncated", "image endommagée"),
    ],
)
def test_bad_files_are_refused_clearly(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        _pages(path)
    assert "bad.bin" in err.value.message


def test_encrypted_pdf(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="mot de passe"):
        _pages(FIXTURES / "encrypted.pdf")


def test_enormous_images_are_never_decoded(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    _png_header_only(huge, 60_000, 60_000)
    with pytest.raises(InputError, match="démesurée"):
        _pages(huge)
    large = tmp_path / "large.png"
    _png_header_only(large, 13_000, 13_000)
    with pytest.warns(Image.DecompressionBombWarning):
        [failure] = _pages(large)
    assert isinstance(failure, PageFailure) and isinstance(failure.error, PageTooLarge)
