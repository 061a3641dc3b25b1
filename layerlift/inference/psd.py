"""A streaming PSD writer: RGB document, one 8-bit RGBA pixel layer per export layer.

psd-tools builds a whole document in memory (about 32 bytes per layer pixel at its peak:
3 GB for one 100 MP layer), so large exports are written here instead, straight into the
(seekable) file: each channel is RLE-compressed a band of rows at a time with psd-tools'
PackBits codec, and the lengths PSD wants before the data are written as placeholders and
filled in afterwards. Memory stays at a band, whatever the document's size.

The file (Adobe's "Photoshop File Formats Specification", version 1 PSD):
header; no colour mode data; no image resources; layer records bottom first (bounds cropped
to the layer's visible pixels, channels -1 alpha, 0-2 RGB, normal blending, opacity,
visibility, a Pascal name and the Unicode name in a 'luni' block); the channels' RLE data;
the merged image (RGB, RLE). psd-tools, Photoshop, GIMP and Krita read it.

PackBits codes each row on its own, so a band of rows that an earlier channel held too (the
merged image is the Object layer outside the logo) is copied from that channel's code
instead of encoded again, and a band of one repeated row (a constant alpha) encodes that row
once (`_Rows`).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import BinaryIO

import numpy as np

from layerlift.inference.errors import InputError

BAND_BYTES = 1 << 20         # raw bytes RLE-encoded at a time (a band of rows)
MAX_SIDE = 30_000            # the largest width or height a (version 1) PSD may have
RLE = 1
NAME_MAX = 255


class _Patches:
    """Places in the file where a length goes once it is known."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f

    def placeholder(self, fmt: str) -> Callable[[int], None]:
        at = self.f.tell()
        self.f.write(struct.pack(fmt, 0))

        def fill(value: int) -> None:
            end = self.f.tell()
            self.f.seek(at)
            self.f.write(struct.pack(fmt, value))
            self.f.seek(end)
        return fill


def write_psd_stream(f: BinaryIO, layers: Sequence, bounds: Sequence, merged: np.ndarray
                     ) -> None:
    """Write the PSD into `f` (seekable, positioned at its start).

    `layers`: ExportLayers, top first (a window layer's pixels at its offset); `bounds`:
    each layer's (x0, y0, x1, y1) box of visible pixels on the canvas, or None for an empty
    layer; `merged`: the flattened HxWx3 image."""
    h, w = merged.shape[:2]
    if w > MAX_SIDE or h > MAX_SIDE:
        raise InputError(f"a PSD can be at most {MAX_SIDE} pixels wide and high; this one "
                         f"is {w}x{h} (export OpenRaster instead)")
    patches = _Patches(f)
    rows = _Rows()
    f.write(b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, h, w, 8, 3))
    f.write(struct.pack(">II", 0, 0))     # colour mode data, image resources: none

    section = patches.placeholder(">I")   # layer and mask information
    start = f.tell()
    info = patches.placeholder(">I")      # layer info
    info_start = f.tell()
    order = list(range(len(layers)))[::-1]            # PSD stores the bottom layer first
    f.write(struct.pack(">h", len(layers)))
    channel_lengths = [_record(f, patches, layers[i], bounds[i]) for i in order]
    for i, lengths in zip(order, channel_lengths, strict=True):
        _layer_channels(f, patches, layers[i], bounds[i], lengths, rows)
    if (f.tell() - info_start) % 2:
        f.write(b"\0")
    info(f.tell() - info_start)
    f.write(struct.pack(">I", 0))         # global layer mask info: none
    section(f.tell() - start)

    f.write(struct.pack(">H", RLE))       # the merged image: all row counts, then the data
    counts_at = f.tell()
    f.write(b"\0" * (3 * h * 2))
    counts = [rows.write(f, merged[..., c]) for c in range(3)]
    end = f.tell()
    f.seek(counts_at)
    for c in counts:
        f.write(c)
    f.seek(end)


def _record(f: BinaryIO, patches: _Patches, layer, box) -> list[Callable[[int], None]]:
    """One layer record; returns the placeholders of its four channels' data lengths."""
    x0, y0, x1, y1 = box if box is not None else (0, 0, 0, 0)
    f.write(struct.pack(">iiiiH", y0, x0, y1, x1, 4))
    lengths = []
    for channel in (-1, 0, 1, 2):
        f.write(struct.pack(">h", channel))
        lengths.append(patches.placeholder(">I"))
    hidden = 0x02 if not layer.visible else 0
    opacity = int(round(min(max(layer.opacity, 0.0), 1.0) * 255))
    f.write(b"8BIMnorm" + struct.pack(">BBBB", opacity, 0, 0x08 | hidden, 0))
    extra = patches.placeholder(">I")
    extra_start = f.tell()
    f.write(struct.pack(">II", 0, 0))     # no layer mask, no blending ranges
    name = layer.name[:NAME_MAX]
    legacy = name.encode("latin-1", "replace")[:NAME_MAX]
    pascal = bytes([len(legacy)]) + legacy
    f.write(pascal + b"\0" * (-len(pascal) % 4))
    units = name.encode("utf-16-be")
    luni = struct.pack(">I", len(units) // 2) + units
    luni += b"\0" * (-len(luni) % 4)
    f.write(b"8BIMluni" + struct.pack(">I", len(luni)) + luni)
    extra(f.tell() - extra_start)
    return lengths


def _layer_channels(f: BinaryIO, patches: _Patches, layer, box,
                    lengths: Sequence[Callable[[int], None]], rows: _Rows) -> None:
    if box is None:
        for length in lengths:
            f.write(struct.pack(">H", 0))   # raw, no rows
            length(2)
        return
    x0, y0, x1, y1 = box                       # on the canvas; the layer may be a window
    ox, oy = layer.offset or (0, 0)
    crop = layer.rgba[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
    for index, length in zip((3, 0, 1, 2), lengths, strict=True):
        start = f.tell()
        f.write(struct.pack(">H", RLE))
        counts_at = f.tell()
        f.write(b"\0" * (crop.shape[0] * 2))
        counts = rows.write(f, crop[..., index])
        end = f.tell()
        f.seek(counts_at)
        f.write(counts)
        f.seek(end)
        length(end - start)


class _Rows:
    """Where the PackBits code of each channel band written so far lies in the file, to
    copy it for an equal band later (the file is read back: no code is held in memory)."""

    def __init__(self) -> None:
        # (plane, rows per band, [(row counts, data offset, data length) per band])
        self.done: list[tuple[np.ndarray, int, list[tuple[bytes, int, int]]]] = []

    def write(self, f: BinaryIO, plane: np.ndarray) -> bytes:
        """Write one channel's PackBits rows into `f`; returns their big-endian u16 counts."""
        h, w = plane.shape
        band = max(1, BAND_BYTES // max(w, 1))
        like = [(other, code) for other, rows, code in self.done
                if other.shape == plane.shape and rows == band and f.readable()]
        counts, code = [], []
        for index, top in enumerate(range(0, h, band)):
            rows = plane[top:top + band]
            at = f.tell()
            same = next((c[index] for other, c in like
                         if np.array_equal(other[top:top + band], rows)), None)
            if same is not None:
                part, offset, length = same
                _copy(f, offset, length)
            else:
                part, data = _encode_band(rows)
                f.write(data)
                length = len(data)
            code.append((part, at, length))
            counts.append(part)
        self.done.append((plane, band, code))
        return b"".join(counts)


def _copy(f: BinaryIO, offset: int, length: int) -> None:
    """Append `length` bytes found at `offset` of `f` to its end."""
    end = f.tell()
    while length > 0:
        f.seek(offset)
        piece = f.read(min(length, BAND_BYTES))
        f.seek(end)
        f.write(piece)
        offset, end, length = offset + len(piece), end + len(piece), length - len(piece)


# A row where fewer than this share of bytes end a run of 3 or more is stored as PackBits
# literals (1/128 larger than the raw row; runs there would save less than this share:
# about 4 % on a noisy photo with 7 % such bytes); others go through psd-tools' codec.
RUN_SHARE = 0.1
LITERAL = 128       # the longest PackBits literal packet


def _encode_band(rows: np.ndarray) -> tuple[bytes, bytes]:
    """(row counts, data) of a band of rows. A band of one row repeated encodes that row
    once; rows with few runs (photo content) are cut into literal packets by numpy, which
    does not hold the GIL the way psd-tools' codec does (a Python loop over rows, a C call
    per row, both with the GIL: the window stalled while a PSD was written). The choice is
    made row by row, so the file does not depend on the band size."""
    from psd_tools.compression import encode_rle  # psd-tools' C PackBits codec

    n, w = rows.shape
    if n > 1 and (rows == rows[:1]).all():
        counts, data = _encode_band(rows[:1])
        return counts * n, data * n
    rows = np.ascontiguousarray(rows)
    same = rows[:, 1:] == rows[:, :-1]
    # Bytes equal to the two before them: only runs of 3 or more can make PackBits shorter.
    runs = np.count_nonzero(same[:, 1:] & same[:, :-1], axis=1)
    literal = runs < RUN_SHARE * w
    counts, data = [], []
    # Consecutive rows of one kind are encoded together.
    edges = [0, *(np.flatnonzero(literal[1:] != literal[:-1]) + 1).tolist(), n]
    for top, bottom in zip(edges[:-1], edges[1:], strict=False):
        part = rows[top:bottom]
        if literal[top]:
            c, d = _literal_band(part)
        else:
            encoded = encode_rle(part.tobytes(), w, bottom - top, 8, 1)
            c, d = encoded[:2 * (bottom - top)], encoded[2 * (bottom - top):]
        counts.append(c)
        data.append(d)
    return b"".join(counts), b"".join(data)


def _literal_band(rows: np.ndarray) -> tuple[bytes, bytes]:
    """Each row as PackBits literal packets: a header byte (length - 1), then the bytes."""
    n, w = rows.shape
    full, rest = divmod(w, LITERAL)
    row_bytes = w + full + (1 if rest else 0)
    out = np.empty((n, row_bytes), np.uint8)
    packets = out[:, :full * (LITERAL + 1)].reshape(n, full, LITERAL + 1)
    packets[:, :, 0] = LITERAL - 1
    packets[:, :, 1:] = rows[:, :full * LITERAL].reshape(n, full, LITERAL)
    if rest:
        out[:, full * (LITERAL + 1)] = rest - 1
        out[:, full * (LITERAL + 1) + 1:] = rows[:, full * LITERAL:]
    return np.full(n, row_bytes, ">u2").tobytes(), out.tobytes()
