"""PNG writing for photo-sized layers: bands deflated side by side, identical bands once.

Pillow encodes a PNG as one zlib stream on one thread, trying five row filters on every
row; at 24 MP that is seconds. Here the rows are filtered with PNG's "Up" filter (one numpy
subtraction; on photos it compresses as well as Pillow's adaptive choice, see the README)
and cut into bands of about a megabyte. Each band is deflated on its own (a fresh raw
deflate stream ended by a sync flush), so the bands can be compressed on several threads at
once (zlib releases the GIL), and one band's bytes are the same in every picture whose band
(and the row above it) holds the same pixels. An `Encoder` remembers the bands it made:
the Object layer, the merged image and the Original then share the bands outside the logo,
and a band that is one row repeated (a transparent area) is compressed once per size.

The result is one valid zlib stream split over IDAT chunks: header, the bands, an empty
final block and the Adler-32 of all filtered rows (combined from the bands' own checksums).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
COLOUR_TYPES = {1: 0, 3: 2, 4: 6}        # channels -> PNG colour type (grey, RGB, RGBA)
UP = 2                                   # PNG filter type "Up"
BAND_BYTES = 1 << 20                     # raw bytes per band
ZLIB_HEADER = b"\x78\x01"                # deflate, 32 KB window, no dictionary
FINAL_BLOCK = b"\x03\x00"                # an empty fixed-Huffman block with the final bit
ADLER_BASE = 65521


@dataclass
class Band:
    """One band of filtered rows, deflated."""

    data: bytes      # raw deflate, ends on a byte boundary (sync flush)
    adler: int       # Adler-32 of the filtered bytes
    length: int      # how many filtered bytes


@dataclass
class Encoded:
    """A picture's rows as bands, ready to be written as a PNG."""

    pixels: np.ndarray                    # (h, w, channels) uint8, possibly a strided view
    band_rows: int
    bands: list[Band] = field(default_factory=list)

    @property
    def channels(self) -> int:
        return self.pixels.shape[2]


def adler32_combine(first: int, second: int, second_length: int) -> int:
    """The Adler-32 of two byte strings joined, from theirs (zlib's adler32_combine)."""
    rem = second_length % ADLER_BASE
    sum1 = first & 0xFFFF
    sum2 = (rem * sum1) % ADLER_BASE
    sum1 = (sum1 + (second & 0xFFFF) + ADLER_BASE - 1) % ADLER_BASE
    sum2 = (sum2 + ((first >> 16) & 0xFFFF) + ((second >> 16) & 0xFFFF) + ADLER_BASE - rem) \
        % ADLER_BASE
    return sum1 | (sum2 << 16)


def _pixels(array: np.ndarray) -> np.ndarray:
    a = np.asarray(array)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(f"PNG needs an HxW, HxWx3 or HxWx4 uint8 array, got {a.dtype} {a.shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"PNG needs at least one pixel, got {a.shape[1]}x{a.shape[0]}")
    return a[..., None] if a.ndim == 2 else a


def _filtered(pixels: np.ndarray, top: int, bottom: int) -> np.ndarray:
    """Rows top..bottom with the Up filter (each byte minus the byte above, mod 256), each
    row led by its filter byte; works on strided views (an RGBA layer's RGB) without a copy."""
    h, w, c = pixels.shape
    out = np.empty((bottom - top, w * c + 1), np.uint8)
    out[:, 0] = UP
    body = out[:, 1:].reshape(bottom - top, w, c)
    if top == 0:
        body[0] = pixels[0]                               # the first row has no row above
        np.subtract(pixels[1:bottom], pixels[:bottom - 1], out=body[1:])
    else:
        np.subtract(pixels[top:bottom], pixels[top - 1:bottom - 1], out=body)
    return out


def _deflate(filtered: np.ndarray, level: int) -> Band:
    data = memoryview(filtered).cast("B")
    z = zlib.compressobj(level, zlib.DEFLATED, -15)
    return Band(z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH), zlib.adler32(data),
                filtered.size)


class Encoder:
    """Encodes pictures as PNG, sharing bands between the pictures it was given before.

    `threads` > 1 filters and compresses the bands on that many threads (a context manager
    then: they end with the `with` block); `level` is zlib's (1: fastest; photos get only a
    little smaller at 2-3, see the README)."""

    def __init__(self, level: int = 1, threads: int = 1, band_bytes: int = BAND_BYTES) -> None:
        self.level, self.band_bytes = level, band_bytes
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="layerlift-png") \
            if threads > 1 else None
        self.done: list[Encoded] = []
        self._flat: dict[tuple[int, int], Band] = {}   # (rows, row bytes) -> a band of zeros

    def __enter__(self) -> Encoder:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def encode(self, array: np.ndarray) -> Encoded:
        pixels = _pixels(array)
        h, w, c = pixels.shape
        band_rows = max(1, self.band_bytes // (w * c))
        encoded = Encoded(pixels, band_rows)
        like = [e for e in self.done
                if e.pixels.shape == pixels.shape and e.band_rows == band_rows]
        jobs = [self._band(pixels, top, min(h, top + band_rows), like, index)
                for index, top in enumerate(range(0, h, band_rows))]
        encoded.bands = [job() for job in jobs]
        self.done.append(encoded)
        return encoded

    def _band(self, pixels: np.ndarray, top: int, bottom: int, like: Sequence[Encoded],
              index: int) -> Callable[[], Band]:
        """A callable giving the band's bytes: an earlier picture's when its rows (and the
        row above) are the same, else compressed (on the pool, when there is one)."""
        above = max(0, top - 1)
        for other in like:
            if np.array_equal(other.pixels[above:bottom], pixels[above:bottom]):
                band = other.bands[index]
                return lambda: band
        if self.pool is None:
            band = self._compress(pixels, top, bottom)
            return lambda: band
        return self.pool.submit(self._compress, pixels, top, bottom).result

    def _compress(self, pixels: np.ndarray, top: int, bottom: int) -> Band:
        filtered = _filtered(pixels, top, bottom)
        if filtered[:, 1:].any():
            return _deflate(filtered, self.level)
        # One row repeated (a transparent area): all zeros once filtered, compressed once.
        # Two threads may both compress it the first time; either result is the same.
        key = filtered.shape
        if key not in self._flat:
            self._flat[key] = _deflate(filtered, self.level)
        return self._flat[key]

    def write(self, stream: BinaryIO, array: np.ndarray) -> None:
        """Encode `array` (HxW grey, HxWx3 RGB or HxWx4 RGBA uint8) into `stream` as PNG."""
        write_encoded(stream, self.encode(array))


def _chunk(stream: BinaryIO, kind: bytes, data: bytes) -> None:
    stream.write(struct.pack(">I", len(data)))
    stream.write(kind)
    stream.write(data)
    stream.write(struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def write_encoded(stream: BinaryIO, encoded: Encoded) -> None:
    """The PNG file: signature, IHDR, one IDAT per band, IEND."""
    stream.write(SIGNATURE)
    h, w, c = encoded.pixels.shape
    _chunk(stream, b"IHDR", struct.pack(">IIBBBBB", w, h, 8, COLOUR_TYPES[c], 0, 0, 0))
    _chunk(stream, b"IDAT", ZLIB_HEADER)
    adler = 1
    for band in encoded.bands:
        _chunk(stream, b"IDAT", band.data)
        adler = adler32_combine(adler, band.adler, band.length)
    _chunk(stream, b"IDAT", FINAL_BLOCK + struct.pack(">I", adler))
    _chunk(stream, b"IEND", b"")


def write_png(stream: BinaryIO, array: np.ndarray, level: int = 1, threads: int = 1) -> None:
    """One PNG on its own (see `Encoder` to share bands between pictures)."""
    with Encoder(level, threads) as encoder:
        encoder.write(stream, array)
