"""Open a page in headless Chromium (Debian's `chromium`), as a reader would: the DOM after it was
laid out, and a screenshot, decoded here (PNG, 8-bit RGB/RGBA, as Chromium writes it)."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",  # runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("needs chromium (Debian's `chromium`: scripts/install-system-deps.sh)")
    return exe


def _run(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="nsl-chromium-") as profile:
        return subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )


def dump_dom(page: Path) -> str:
    """The DOM as Chromium holds it once the page is loaded (and any script has run)."""
    r = _run(page, "--dump-dom")
    assert r.returncode == 0 and "<html" in r.stdout, f"chromium --dump-dom failed: {r.stderr[-800:]}"
    return r.stdout


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 2400) -> Path:
    r = _run(page, f"--screenshot={out}", f"--window-size={width},{height}", "--hide-scrollbars")
    assert out.exists() and out.stat().st_size > 0, f"chromium --screenshot failed: {r.stderr[-800:]}"
    return out


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of a non-interlaced 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = colour = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and interlace == 0, (depth, colour, interlace)
        elif kind == b"IDAT":
            idat += body
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        prev = line
        rows.append(bytes(line) if bpp == 3 else bytes(v for j, v in enumerate(line) if j % 4 != 3))
    return width, height, rows


def pixels_of(png: Path, colour: str, tolerance: int = 12) -> int:
    """How many pixels of the screenshot are (nearly) `colour` (#rrggbb)."""
    want = bytes.fromhex(colour.lstrip("#"))
    _w, _h, rows = png_pixels(png.read_bytes())
    n = 0
    for row in rows:
        for i in range(0, len(row), 3):
            if all(abs(row[i + k] - want[k]) <= tolerance for k in range(3)):
                n += 1
    return n


class Dom(HTMLParser):
    """The rendered page's elements: their tags, and the text inside <svg> and inside <main>."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.open: list[str] = []
        self.svg_text: list[str] = []
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.open.append(tag)
        self.ids |= {v for k, v in attrs if k == "id" and v}

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if "svg" in self.open:
            self.svg_text.append(data)

    def texts(self) -> Iterator[str]:
        yield from self.text
