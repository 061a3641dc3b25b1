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
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import BinaryIO

import numpy as np

from layerlift.inference.errors import InputError

BAND_BYTES = 8 << 20         # raw bytes RLE-encoded at a time (a band of rows)
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

    `layers`: ExportLayers, top first; `bounds`: each layer's (x0, y0, x1, y1) box of
    visible pixels, or None for an empty layer; `merged`: the flattened HxWx3 image."""
    h, w = merged.shape[:2]
    if w > MAX_SIDE or h > MAX_SIDE:
        raise InputError(f"a PSD can be at most {MAX_SIDE} pixels wide and high; this one "
                         f"is {w}x{h} (export OpenRaster instead)")
    patches = _Patches(f)
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
        _layer_channels(f, patches, layers[i].rgba, bounds[i], lengths)
    if (f.tell() - info_start) % 2:
        f.write(b"\0")
    info(f.tell() - info_start)
    f.write(struct.pack(">I", 0))         # global layer mask info: none
    section(f.tell() - start)

    f.write(struct.pack(">H", RLE))       # the merged image: all row counts, then the data
    counts_at = f.tell()
    f.write(b"\0" * (3 * h * 2))
    counts = [_rle_channel(f, merged[..., c]) for c in range(3)]
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


def _layer_channels(f: BinaryIO, patches: _Patches, rgba: np.ndarray, box,
                    lengths: Sequence[Callable[[int], None]]) -> None:
    if box is None:
        for length in lengths:
            f.write(struct.pack(">H", 0))   # raw, no rows
            length(2)
        return
    x0, y0, x1, y1 = box
    crop = rgba[y0:y1, x0:x1]
    for index, length in zip((3, 0, 1, 2), lengths, strict=True):
        start = f.tell()
        f.write(struct.pack(">H", RLE))
        counts_at = f.tell()
        f.write(b"\0" * (crop.shape[0] * 2))
        counts = _rle_channel(f, crop[..., index])
        end = f.tell()
        f.seek(counts_at)
        f.write(counts)
        f.seek(end)
        length(end - start)


def _rle_channel(f: BinaryIO, plane: np.ndarray) -> bytes:
    """Write one channel's PackBits rows into `f`; returns their big-endian u16 counts."""
    from psd_tools.compression import encode_rle  # psd-tools' C PackBits codec

    h, w = plane.shape
    band = max(1, BAND_BYTES // max(w, 1))
    counts = []
    for top in range(0, h, band):
        rows = np.ascontiguousarray(plane[top:top + band])
        encoded = encode_rle(rows.tobytes(), w, rows.shape[0], 8, 1)
        split = rows.shape[0] * 2
        counts.append(encoded[:split])
        f.write(encoded[split:])
    return b"".join(counts)
