"""Layered export: PSD, OpenRaster (.ora) and a PNG folder with a manifest.

Layers are given top first, as layer panels list them. Every file is written atomically
(temp file or temp folder beside the target, then a rename), so a crash never leaves a
half-written export.

OpenRaster files we write can carry extra files of our own (a project's state) under
"layerlift/" inside the zip; other programs ignore that folder and still open the layers.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from layerlift.inference import mapped
from layerlift.inference.contract import Layers
from layerlift.inference.imageio import (
    PathLike,
    atomic_dir,
    atomic_file,
    atomic_write_bytes,
    encode_png,
)
from layerlift.inference.layers import logo_asset, logo_bbox
from layerlift.inference.png import Encoder
from layerlift.inference.shading import CONTEXT_MARGIN, context_box, deshade_logo

ORA_MIMETYPE = b"image/openraster"
EXTRA_FOLDER = "layerlift/"
THUMBNAIL_MAX = 256
MANIFEST = "manifest.json"
PNG_LEVEL = 1  # zlib level for layer PNGs: see _write_layer_png
BLEND_BAND_PIXELS = 1 << 20  # pixels flatten blends at a time

# The files export_layers writes; an --out folder holding only these may be replaced.
EXPORT_FILES = ("object.png", "logo.png", "logo_asset.png", "layers.psd", "layers.ora",
                MANIFEST)


@dataclass
class ExportLayer:
    """One layer to export: HxWx4 uint8 straight-alpha RGBA covering the whole canvas, or,
    with an `offset` (x, y), a window of the canvas whose top-left corner sits there (ORA
    and PSD store such a layer as it is; a PNG folder gets it at canvas size)."""

    name: str
    rgba: np.ndarray
    visible: bool = True
    opacity: float = 1.0  # 0..1
    offset: tuple[int, int] | None = None


def _check_layers(layers: Sequence[ExportLayer]) -> tuple[int, int]:
    """The canvas (h, w): the size every layer without an offset shares (there must be one);
    ValueError when they disagree or a window does not fit on the canvas."""
    if not layers:
        raise ValueError("nothing to export: no layers")
    shape = None
    for layer in layers:
        a = layer.rgba
        if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 3 \
                or a.shape[2] != 4:
            raise ValueError(f"layer {layer.name!r} must be an HxWx4 uint8 array")
        if not 0.0 <= layer.opacity <= 1.0:
            raise ValueError(f"layer {layer.name!r} opacity must be in [0, 1]")
        if layer.offset is not None:
            continue
        if shape is not None and a.shape[:2] != shape:
            raise ValueError(f"layer {layer.name!r} is {a.shape[1]}x{a.shape[0]}, "
                             f"the others {shape[1]}x{shape[0]}")
        shape = a.shape[:2]
    if shape is None:
        raise ValueError("one layer must cover the whole canvas")
    for layer in layers:
        if layer.offset is not None:
            x, y = layer.offset
            lh, lw = layer.rgba.shape[:2]
            if x < 0 or y < 0 or x + lw > shape[1] or y + lh > shape[0]:
                raise ValueError(f"layer {layer.name!r} ({lw}x{lh} at {x},{y}) does not fit "
                                 f"on the {shape[1]}x{shape[0]} canvas")
    return shape


def canvas_bbox(layer: ExportLayer) -> tuple[int, int, int, int] | None:
    """The box of the layer's visible pixels on the canvas; None when it has none."""
    box = logo_bbox(layer.rgba)
    if box is None or layer.offset is None:
        return box
    x, y = layer.offset
    return box[0] + x, box[1] + y, box[2] + x, box[3] + y


def full_size(layer: ExportLayer, shape: tuple[int, int]) -> np.ndarray:
    """The layer's RGBA at canvas size (a window placed on transparency)."""
    if layer.offset is None:
        return layer.rgba
    out = mapped.empty(shape + (4,))                 # zero: transparent
    x, y = layer.offset
    lh, lw = layer.rgba.shape[:2]
    out[y:y + lh, x:x + lw] = layer.rgba
    return out


def layers_from(layers: Layers) -> list[ExportLayer]:
    """The engine's result as export layers: "Logo" on top of "Object"."""
    obj = cv2.cvtColor(np.ascontiguousarray(layers.object), cv2.COLOR_RGB2RGBA,  # no GIL
                       dst=mapped.empty(layers.object.shape[:2] + (4,)))
    return [ExportLayer("Logo", layers.logo), ExportLayer("Object", obj)]


def flatten(layers: Sequence[ExportLayer]) -> np.ndarray:
    """Composite the visible layers (top first) with "normal" blending over white; HxWx3.

    Starts from the topmost fully opaque layer (nothing below it shows) or from white, then
    blends each layer above it only where it has pixels, so a photo-sized object with a small
    logo costs little more than a copy. The blend runs in bands of rows, so its float
    temporaries stay small whatever the canvas.
    """
    h, w = _check_layers(layers)
    shown = [layer for layer in layers if layer.visible and layer.opacity > 0]
    out, above = None, shown
    for i, layer in enumerate(shown):
        if layer.offset is None and layer.opacity >= 1.0 and _opaque(layer.rgba):
            out, above = _rgb(layer.rgba), shown[:i]
            break
    if out is None:
        out = mapped.empty((h, w, 3))
        out[...] = 255
    for layer in reversed(above):
        box = canvas_bbox(layer)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        ox, oy = layer.offset or (0, 0)
        band = max(1, BLEND_BAND_PIXELS // (x1 - x0))
        for top in range(y0, y1, band):
            bottom = min(y1, top + band)
            crop = layer.rgba[top - oy:bottom - oy, x0 - ox:x1 - ox]
            a = crop[..., 3:4].astype(np.float32) * (layer.opacity / 255.0)
            below = out[top:bottom, x0:x1]
            blended = crop[..., :3].astype(np.float32) * a + below * (1.0 - a)
            below[...] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return out


def _opaque(rgba: np.ndarray) -> bool:
    """Every pixel fully opaque (a reduction: no full-size temporary)."""
    return int(rgba[..., 3].min()) == 255


# ---------------------------------------------------------------- PSD


def psd_bytes(layers: Sequence[ExportLayer], merged: np.ndarray | None = None) -> bytes:
    """A PSD (RGB, each layer RGBA with real transparency), merged image included.

    `merged` is flatten(layers) when the caller has it already."""
    buf = io.BytesIO()
    _write_psd(buf, layers, merged)
    return buf.getvalue()


def _write_psd(stream, layers: Sequence[ExportLayer], merged: np.ndarray | None = None) -> None:
    """Each layer stored cropped to its visible pixels at their offset, as Photoshop does;
    written as it is encoded (layerlift/inference/psd.py)."""
    from layerlift.inference.psd import write_psd_stream

    _check_layers(layers)
    merged = flatten(layers) if merged is None else merged
    write_psd_stream(stream, layers, [canvas_bbox(layer) for layer in layers], merged)


def write_psd(path: PathLike, layers: Sequence[ExportLayer]) -> None:
    """Photoshop file with one pixel layer per ExportLayer (top first), written atomically."""
    _check_layers(layers)
    with atomic_file(path) as f:
        _write_psd(f, layers)


# ---------------------------------------------------------------- OpenRaster


def _thumbnail(rgb: np.ndarray) -> np.ndarray:
    """At most THUMBNAIL_MAX on its long side (OpenCV's area average: no copy of the whole
    image first, and no GIL)."""
    h, w = rgb.shape[:2]
    scale = THUMBNAIL_MAX / max(h, w)
    if scale >= 1:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)


# Characters XML 1.0 cannot hold (most control characters, lone surrogates).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """`text` without the characters an XML file cannot hold (layer names go in stack.xml)."""
    return _NOT_XML.sub("", text)


def _check_extra_name(name: str) -> str:
    parts = name.replace("\\", "/").split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad name for an extra file in the ORA: {name!r}")
    return "/".join(parts)


def _layer_file_names(layers: Sequence[ExportLayer]) -> list[str]:
    """Readable, unique file names from layer names: 'Logo' -> 'logo.png'."""
    names: list[str] = []
    for i, layer in enumerate(layers):
        stem = re.sub(r"[^a-z0-9]+", "-", layer.name.lower()).strip("-") or f"layer{i}"
        name, n = f"{stem}.png", 2
        while name in names:
            name, n = f"{stem}-{n}.png", n + 1
        names.append(name)
    return names


def _write_layer_png(stream, layer: ExportLayer, encoder: Encoder | None = None) -> None:
    """A layer as PNG; a fully opaque layer as RGB (smaller, read as opaque by all).

    Compression level 1: photos get only 4-13 % smaller at levels 2-3, at 1.3-1.6x the time
    (the README's table). `encoder` shares bands with the pictures it encoded before."""
    pixels = _rgb(layer.rgba) if _opaque(layer.rgba) else layer.rgba
    if encoder is not None:
        encoder.write(stream, pixels)
    else:
        with _encoder() as own:
            own.write(stream, pixels)


def _rgb(rgba: np.ndarray) -> np.ndarray:
    """An opaque layer's RGB, contiguous (the encoder's filter and band comparisons run
    several times faster on it than on the RGBA's strided view); OpenCV, without the GIL.
    A memory map of its own (inference/mapped.py): it is let go of without the GIL too."""
    if rgba.flags.c_contiguous:
        return cv2.cvtColor(rgba, cv2.COLOR_RGBA2RGB, dst=mapped.empty(rgba.shape[:2] + (3,)))
    return mapped.copy(rgba[..., :3])


def _encoder() -> Encoder:
    """A PNG encoder compressing bands on a thread per core (zlib releases the GIL)."""
    return Encoder(PNG_LEVEL, threads=os.cpu_count() or 1)


def ora_bytes(layers: Sequence[ExportLayer], extra: dict[str, bytes] | None = None) -> bytes:
    """OpenRaster zip bytes (see `write_ora`)."""
    buf = io.BytesIO()
    _write_ora(buf, layers, extra)
    return buf.getvalue()


def write_ora(path: PathLike, layers: Sequence[ExportLayer],
              extra: dict[str, bytes] | None = None) -> None:
    """OpenRaster file (top layer first in stack.xml); `extra` files go under "layerlift/".
    Each PNG is encoded straight into the file, never held whole in memory."""
    _check_layers(layers)
    with atomic_file(path) as f:
        _write_ora(f, layers, extra)


def _write_ora(stream, layers: Sequence[ExportLayer], extra: dict[str, bytes] | None = None,
               png_files: Sequence[Path] | None = None,
               merged: np.ndarray | None = None, encoder: Encoder | None = None) -> None:
    """`png_files` (the layers already written as PNG files) and `merged` (flatten(layers))
    may be given when already made; files are copied into the zip a block at a time. The
    layers and the merged image go through one Encoder (`encoder`: the one that wrote
    `png_files`), so the bands they share are compressed once."""
    h, w = _check_layers(layers)
    merged = flatten(layers) if merged is None else merged
    with contextlib.ExitStack() as own:
        encoder = encoder or own.enter_context(_encoder())
        _write_ora_zip(stream, layers, extra, png_files, merged, encoder)


def _write_ora_zip(stream, layers: Sequence[ExportLayer], extra: dict[str, bytes] | None,
                   png_files: Sequence[Path] | None, merged: np.ndarray,
                   encoder: Encoder) -> None:
    h, w = merged.shape[:2]
    image = ET.Element("image", {"version": "0.0.3", "w": str(w), "h": str(h)})
    stack = ET.SubElement(image, "stack")
    files = _layer_file_names(layers)
    for layer, name in zip(layers, files, strict=True):  # first <layer> is the top one
        x, y = layer.offset or (0, 0)
        ET.SubElement(stack, "layer", {
            "name": xml_safe(layer.name), "src": f"data/{name}", "x": str(x), "y": str(y),
            "opacity": f"{layer.opacity:.4f}",
            "visibility": "visible" if layer.visible else "hidden",
            "composite-op": "svg:src-over",
        })
    stack_xml = ET.tostring(image, encoding="utf-8", xml_declaration=True)
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_DEFLATED) as z:
        # The spec: "mimetype" first, stored (not compressed), so tools can sniff the type.
        z.writestr(zipfile.ZipInfo("mimetype"), ORA_MIMETYPE, compress_type=zipfile.ZIP_STORED)
        z.writestr("stack.xml", stack_xml)
        # PNG is already compressed, so it is stored: deflating it again only costs time.
        for i, (layer, name) in enumerate(zip(layers, files, strict=True)):
            if png_files is not None:
                z.write(png_files[i], f"data/{name}", compress_type=zipfile.ZIP_STORED)
            else:
                with z.open(zipfile.ZipInfo(f"data/{name}"), "w") as entry:
                    _write_layer_png(entry, layer, encoder)
        with z.open(zipfile.ZipInfo("mergedimage.png"), "w") as entry:
            encoder.write(entry, merged)
        z.writestr("Thumbnails/thumbnail.png", encode_png(_thumbnail(merged)),
                   compress_type=zipfile.ZIP_STORED)
        for name, data in (extra or {}).items():
            z.writestr(EXTRA_FOLDER + _check_extra_name(name), data)


# ---------------------------------------------------------------- PNG folder


def _write_png_layers(folder: Path, layers: Sequence[ExportLayer],
                      encoder: Encoder | None = None) -> None:
    """One PNG per layer plus manifest.json, into an existing folder; each PNG encoded
    straight into its file, its bands compressed side by side (see png.Encoder)."""
    h, w = _check_layers(layers)
    files = _layer_file_names(layers)
    with contextlib.ExitStack() as own:
        encoder = encoder or own.enter_context(_encoder())
        for layer, name in zip(layers, files, strict=True):
            with atomic_file(folder / name) as f:
                whole = ExportLayer(layer.name, full_size(layer, (h, w)))
                _write_layer_png(f, whole, encoder)
    manifest = {
        "format": "layerlift-layers", "version": 1, "width": w, "height": h,
        "order": "top first",
        "layers": [{"name": layer.name, "file": name, "visible": bool(layer.visible),
                    "opacity": float(layer.opacity)}
                   for layer, name in zip(layers, files, strict=True)],
    }
    atomic_write_bytes(folder / MANIFEST, json.dumps(manifest, indent=2).encode() + b"\n")


def write_png_folder(folder: PathLike, layers: Sequence[ExportLayer]) -> None:
    """A folder of RGBA PNGs, one per layer, and manifest.json (names, order, visibility,
    opacity, files). The folder is built beside `folder` and renamed into place; an earlier
    export there is replaced, a folder holding other files is refused (InputError)."""
    _check_layers(layers)
    keep = set(_layer_file_names(layers)) | {MANIFEST}
    replace_ok = keep | _previous_manifest_files(Path(folder))
    with atomic_dir(folder, replace_ok=replace_ok) as tmp:
        _write_png_layers(tmp, layers)


def _previous_manifest_files(folder: Path) -> set[str]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        return {str(entry["file"]) for entry in manifest["layers"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()


# ---------------------------------------------------------------- everything, for the CLI


def export_layers(out_dir: PathLike, image: np.ndarray, layers_obj: Layers) -> list[str]:
    """Write a decomposition into an existing folder; returns the file names written.

    object.png (RGB), logo.png (RGBA, photo size, as printed), logo_asset.png (tight crop of the
    logo's ink: the surface's shading divided out, for reuse with compose --quad), layers.psd,
    layers.ora and manifest.json (so the folder is also a PNG-folder export). `image` is the
    input photo; the layers must match its size.
    """
    folder = Path(out_dir)
    if layers_obj.object.shape != image.shape or layers_obj.logo.shape != image.shape[:2] + (4,):
        raise ValueError("layers do not match the photo's size")
    layers = layers_from(layers_obj)
    merged = flatten(layers)
    asset = _logo_ink_asset(layers_obj)
    atomic_write_bytes(folder / "logo_asset.png", encode_png(asset))
    # Every file is encoded straight into itself (nothing whole in memory). The PSD is
    # written on a thread of its own while the PNGs' bands are compressed on the band pool
    # (zlib releases the GIL); object.png's bands serve the ORA's merged image where the
    # two are the same, and the ORA copies the layer PNGs from their files.
    with _encoder() as encoder, \
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="layerlift-psd") as psd_thread:
        psd_job = psd_thread.submit(_write_file, folder / "layers.psd",
                                    lambda f: _write_psd(f, layers, merged))
        _write_png_layers(folder, layers, encoder)        # logo.png, object.png, manifest
        png_files = [folder / name for name in _layer_file_names(layers)]
        _write_file(folder / "layers.ora",
                    lambda f: _write_ora(f, layers, png_files=png_files, merged=merged,
                                         encoder=encoder))
        psd_job.result()
    return list(EXPORT_FILES)


def _logo_ink_asset(layers: Layers) -> np.ndarray:
    """The tight crop of the logo's ink, de-shaded on the window the shading is measured
    over (the logo's box grown by CONTEXT_MARGIN), not on the whole photo: same pixels."""
    box = logo_bbox(layers.logo)
    if box is None:
        return logo_asset(layers.logo)[0]
    x0, y0, x1, y1 = context_box(box, layers.logo.shape[:2], CONTEXT_MARGIN)
    window = np.s_[y0:y1, x0:x1]
    return logo_asset(deshade_logo(layers.logo[window], layers.object[window]))[0]


def _write_file(path: Path, write) -> None:
    with atomic_file(path) as f:
        write(f)
