"""Projects, exports and autosave files. Qt-free: plain files in, Document out.

A project is an OpenRaster file: the layers as other apps see them, plus a hidden layer named
"Layerlift mask" (the brushed mask) and, under the ORA's "layerlift/" folder, project.json
(layer kinds, the logo's quad, bend and tint, the last decomposition's meta, the engine settings)
and the logo's own pixels (asset-N.png as printed, ink-N.png with the surface's shading
divided out, see desktop/document.py), so the logo stays editable after reopening. Projects
saved before the ink existed open with no ink (the asset then stands for it).
"""

from __future__ import annotations

import copy as _copy
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from layerlift.desktop.document import (
    OBJECT,
    ORIGINAL,
    RECOMPOSED,
    Document,
    Layer,
    Rect,
    nonzero_box,
    placed_asset,
    window_over,
)
from layerlift.inference.contract import BEND_LIMIT
from layerlift.inference.errors import InputError

if TYPE_CHECKING:
    from layerlift.inference.ora import Limits, OraFile

MASK_LAYER = "Layerlift mask"
WINDOW_KINDS = (OBJECT, RECOMPOSED)     # layers that differ from the photo only in a window
PROJECT_JSON = "project.json"
HINTS_PICTURE = "hints.png"     # the hint brushes' pixels over their box, colour-coded
# A hint pixel's colour in HINTS_PICTURE (as `decompose --hints` reads them): mark green,
# not mark red, no hint transparent.
HINT_RGBA = {1: (0, 255, 0, 255), 2: (255, 0, 0, 255)}
FORMAT = "layerlift-project"
PROTECT_HELP = "choose another name: the input photo is never overwritten"


def export_layers(doc: Document) -> list:
    """The document's layers as the export module's ExportLayers (top first)."""
    from layerlift.inference.export import ExportLayer
    return [ExportLayer(layer.name, layer.render(doc.shape), layer.visible,
                        float(min(max(layer.opacity, 0.0), 1.0)))
            for layer in doc.layers]


def _protect(doc: Document) -> list[str]:
    return [doc.path] if doc.path else []


def check_target(doc: Document, path: str | Path) -> None:
    from layerlift.inference.imageio import check_not_protected
    check_not_protected(path, _protect(doc))


def export(doc: Document, path: str | Path, kind: str) -> None:
    """kind: "psd", "ora", "png-folder", or "flat" (PNG or JPEG by the file's suffix)."""
    from layerlift.inference import export as ex
    from layerlift.inference.imageio import save_image

    check_target(doc, path)
    layers = export_layers(doc)
    if kind == "psd":
        ex.write_psd(path, layers)
    elif kind == "ora":
        ex.write_ora(path, layers)
    elif kind == "png-folder":
        ex.write_png_folder(path, layers)
    elif kind == "flat":
        save_image(path, ex.flatten(layers), protect=_protect(doc))
    else:
        raise ValueError(f"unknown export kind {kind!r}")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _finite(meta: dict) -> dict:
    """JSON has no inf/nan: store them as strings."""
    out = {}
    for k, v in meta.items():
        if isinstance(v, float) and not math.isfinite(v):
            v = str(v)
        elif isinstance(v, dict):
            v = _finite(v)
        out[k] = v
    return out


def project_layers(doc: Document) -> list:
    """The document's layers for a project file: the logo and the mask as windows at their
    offsets (ORA stores layer offsets; other apps place them), the other layers complete."""
    from layerlift.inference.export import ExportLayer

    layers = []
    for layer in doc.layers:
        opacity = float(min(max(layer.opacity, 0.0), 1.0))
        if layer.asset is not None:
            pixels, offset = _logo_window(layer, doc.shape)
            layers.append(ExportLayer(layer.name, pixels, layer.visible, opacity, offset))
        else:
            layers.append(ExportLayer(layer.name, layer.render(doc.shape), layer.visible,
                                      opacity))
    x0, y0, x1, y1 = doc.mask_extent or (0, 0, 1, 1)
    mask_rgba = np.full((y1 - y0, x1 - x0, 4), 255, np.uint8)
    mask_rgba[..., 3] = doc.mask[y0:y1, x0:x1]
    layers.append(ExportLayer(MASK_LAYER, mask_rgba, visible=False, offset=(x0, y0)))
    return layers


def _logo_window(layer: Layer, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The logo warped onto its quad (bent), only over the box it covers (what render()
    gives there)."""
    placed = placed_asset(layer.shown_asset(), np.asarray(layer.quad), shape, layer.bend)
    if placed is None:                                # moved off the photo: nothing shows
        return np.zeros((1, 1, 4), np.uint8), (0, 0)
    pixels, (x0, y0, _, _) = placed
    return pixels, (x0, y0)


def project_files(doc: Document, settings: dict | None = None) -> tuple[list, dict[str, bytes]]:
    """The ORA layers and extra files that make up a project."""
    from layerlift.inference.imageio import encode_png

    layers = project_layers(doc)
    extra: dict[str, bytes] = {}
    entries = []
    for i, layer in enumerate(doc.layers):
        entry: dict[str, Any] = {"name": layer.name, "kind": layer.kind}
        if layer.asset is not None:
            name = f"asset-{i}.png"
            extra[name] = encode_png(layer.asset)
            entry.update(asset=name, quad=np.asarray(layer.quad).tolist(),
                         bend=float(layer.bend))
        if layer.ink is not None:
            name = f"ink-{i}.png"
            extra[name] = encode_png(layer.ink)
            entry.update(ink=name)
        if layer.tint is not None:
            entry.update(tint=list(layer.tint), tint_strength=layer.tint_strength)
        entries.append(entry)
    project = {"format": FORMAT, "version": 1, "photo": doc.path, "layers": entries,
               "mask_layer": MASK_LAYER, "meta": _finite(doc.meta),
               "settings": settings or {}}
    hints = _hints_window(doc)
    if hints is not None:
        pixels, offset = hints
        extra[HINTS_PICTURE] = encode_png(pixels)
        project["hints"] = {"picture": HINTS_PICTURE, "offset": list(offset)}
    extra[PROJECT_JSON] = json.dumps(project, indent=2, default=_json_default).encode()
    return layers, extra


def _hints_window(doc: Document) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The hints as RGBA (HINT_RGBA) over the box that holds them, and its offset."""
    if doc.hints_extent is None:
        return None
    x0, y0, x1, y1 = doc.hints_extent
    hints = doc.hints[y0:y1, x0:x1]
    if not hints.any():
        return None
    pixels = np.zeros(hints.shape + (4,), np.uint8)
    for value, rgba in HINT_RGBA.items():
        pixels[hints == value] = rgba
    return pixels, (x0, y0)


def _hints_from(pixels: np.ndarray, offset: tuple[int, int], shape: tuple[int, int],
                label: str) -> np.ndarray:
    """The document's hints from the project's picture of them."""
    x0, y0 = offset
    h, w = pixels.shape[:2]
    if x0 + w > shape[1] or y0 + h > shape[0]:
        raise InputError(f"{label}: the hints reach outside the photo")
    hints = np.zeros(shape, np.uint8)
    window = hints[y0:y0 + h, x0:x0 + w]
    for value, rgba in HINT_RGBA.items():
        window[np.all(pixels == rgba, axis=2)] = value
    return hints


def save_project(doc: Document, path: str | Path, settings: dict | None = None) -> None:
    """Write the project atomically; never over the input photo."""
    from layerlift.inference.export import write_ora

    check_target(doc, path)
    layers, extra = project_files(doc, settings)
    write_ora(path, layers, extra)


def open_project(path: str | Path, limits: Limits | None = None) -> tuple[Document, dict]:
    """A project written by save_project, or any other ORA (flattened into a photo).

    Returns the document and the settings stored in it ({} for a foreign ORA). Every failure
    is an InputError naming the file; the memory it will take is checked before any picture
    is decoded (layerlift.inference.ora), and only the pictures used are read.
    """
    from layerlift.inference.ora import OraFile, damage_as_input_error

    label = str(path)
    with OraFile(path, limits) as ora, damage_as_input_error(label, "cannot be opened"):
        if PROJECT_JSON not in ora.extra_names():
            return _open_foreign(ora, path), {}
        project = parse_project(ora.read_extra(PROJECT_JSON), label)
        return _open_layerlift(ora, project, label)


def _open_foreign(ora: OraFile, path: str | Path) -> Document:
    """Someone else's layered file: open it as a photo, and protect it like one."""
    from layerlift.inference.export import flatten
    from layerlift.inference.ora import layers_text

    budget = ora.budget()
    for entry in ora.layers:
        ora.plan_layer(budget, entry)
    budget.add(ora.width * ora.height * DOCUMENT_BYTES_PER_PIXEL)
    budget.check(layers_text(len(ora.layers), ora.width, ora.height))
    if not ora.layers:
        raise InputError(f"{ora.label}: the file has no layers")
    rgb = flatten([ora.decode_layer(entry) for entry in ora.layers])
    return Document(rgb, path=str(Path(path).resolve()))


# What building the Document takes beyond the layers read: the photo's RGB copy and the mask
# (and, for another program's file, the flattened photo and its Original layer).
DOCUMENT_BYTES_PER_PIXEL = 8


def _open_layerlift(ora: OraFile, project: dict, label: str) -> tuple[Document, dict]:
    from layerlift.inference.ora import layers_text

    entries = project["layers"]
    mask_name = project["mask_layer"]
    mask_entry = next((e for e in ora.layers if e.name == mask_name), None)
    ora_layers = [e for e in ora.layers if e.name != mask_name]
    if len(ora_layers) != len(entries):
        raise InputError(f"{label}: layers do not match the project data")
    # A logo file missing from the zip: the layer's own picture stands for it (as before).
    extra = ora.extra_names()
    for entry in entries:
        if entry["asset"] not in extra:
            entry["asset"] = entry["ink"] = None
        elif entry["ink"] not in extra:
            entry["ink"] = None
    # What will be decoded: each layer's picture, unless its logo asset stands for it.
    budget = ora.budget()
    for entry, ora_entry in zip(entries, ora_layers, strict=True):
        if entry["asset"] is None:
            ora.plan_layer(budget, ora_entry)
            continue
        sizes = [ora.plan_picture(budget, entry["asset"])]
        if entry["ink"] is not None:
            sizes.append(ora.plan_picture(budget, entry["ink"]))
        if len(set(sizes)) != 1:
            raise InputError(f"{label}: the logo's ink does not match its asset")
    if mask_entry is not None:
        ora.plan_layer(budget, mask_entry)
    hints_entry = project["hints"]
    if hints_entry is not None and hints_entry["picture"] not in extra:
        hints_entry = None
    if hints_entry is not None:
        ora.plan_picture(budget, hints_entry["picture"])
    budget.add(ora.width * ora.height * DOCUMENT_BYTES_PER_PIXEL)
    logos = " and its logo" if any(entry["asset"] for entry in entries) else ""
    budget.check(layers_text(len(ora.layers), ora.width, ora.height) + logos)

    doc_layers = []
    for entry, ora_entry in zip(entries, ora_layers, strict=True):
        layer = Layer(entry["name"] or ora_entry.name, entry["kind"],
                      visible=ora_entry.visible, opacity=ora_entry.opacity)
        if entry["asset"] is not None:
            layer.asset = ora.decode_picture(entry["asset"], "logo asset")
            layer.quad, layer.bend = entry["quad"], entry["bend"]
            if entry["ink"] is not None:
                layer.ink = ora.decode_picture(entry["ink"], "logo ink")
        else:
            layer.rgba = ora.decode_layer(ora_entry).rgba
        if entry["tint"] is not None:
            layer.tint, layer.tint_strength = entry["tint"], entry["tint_strength"]
        doc_layers.append(layer)
    original = next((layer for layer in doc_layers if layer.kind == ORIGINAL), None)
    if original is None or original.rgba is None:
        raise InputError(f"{label}: the project has no Original layer")
    for layer in doc_layers:                  # held as windows over the photo, as when made
        if layer.kind in WINDOW_KINDS and layer.rgba is not None \
                and layer.rgba.shape == original.rgba.shape:
            layer.patch, layer.offset = window_over(original.rgba, layer.rgba, (0, 0))
            layer.base, layer.rgba = original.rgba, None
    image = np.ascontiguousarray(original.rgba[..., :3])
    mask = ora.decode_layer(mask_entry).rgba[..., 3].copy() if mask_entry is not None else None
    hints = None
    if hints_entry is not None:
        hints = _hints_from(ora.decode_picture(hints_entry["picture"], "hints"),
                            hints_entry["offset"], image.shape[:2], label)
    doc = Document(image, path=project["photo"], mask=mask, layers=doc_layers,
                   meta=project["meta"], hints=hints)
    return doc, project["settings"]


# Coordinates a logo's corners may have: far beyond any photo, still exact as floats.
QUAD_LIMIT = 1e7


def parse_project(data: bytes, label: str) -> dict[str, Any]:
    """project.json checked field by field; InputError (one line) for anything off.

    Returns {"layers": [{"name", "kind", "asset", "ink", "quad", "bend", "tint",
    "tint_strength"}],
    "mask_layer", "photo", "meta", "settings", "hints" (None or {"picture", "offset"})}
    with the types the document expects."""
    def damaged(what: str) -> InputError:
        return InputError(f"{label}: the Layerlift project data is damaged ({what})")

    try:
        project = json.loads(data)
    except RecursionError:
        raise damaged("nested too deeply") from None
    except (ValueError, UnicodeError):
        raise damaged("not JSON") from None
    if not isinstance(project, dict) or not isinstance(project.get("layers"), list):
        raise damaged("no list of layers")
    mask_layer = project.get("mask_layer", MASK_LAYER)
    if not isinstance(mask_layer, str):
        raise damaged("mask_layer is not a name")
    photo = project.get("photo")
    meta, settings = project.get("meta"), project.get("settings")
    hints = project.get("hints")
    if hints is not None:
        offset = hints.get("offset") if isinstance(hints, dict) else None
        if not isinstance(hints, dict) or not isinstance(hints.get("picture"), str) \
                or not isinstance(offset, list) or len(offset) != 2 \
                or not all(type(v) is int and 0 <= v < 1 << 20 for v in offset):
            raise damaged("hints")
        hints = {"picture": hints["picture"], "offset": (offset[0], offset[1])}
    return {"layers": [_parse_entry(e, i, damaged) for i, e in enumerate(project["layers"])],
            "mask_layer": mask_layer,
            "photo": photo if isinstance(photo, str) else None,
            "meta": meta if isinstance(meta, dict) else {},
            "settings": settings if isinstance(settings, dict) else {},
            "hints": hints}


def _parse_entry(entry: Any, i: int, damaged) -> dict[str, Any]:
    if not isinstance(entry, dict):
        raise damaged(f"layer {i} is not an object")
    out: dict[str, Any] = {"name": entry.get("name"), "kind": entry.get("kind", "layer")}
    for key in ("name", "kind"):
        if out[key] is not None and not isinstance(out[key], str):
            raise damaged(f"layer {i}'s {key} is not text")
    out["name"] = out["name"] or ""
    out["asset"], out["ink"], out["quad"], out["bend"] = None, None, None, 0.0
    if entry.get("asset") is not None:
        for key in ("asset", "ink"):
            value = entry.get(key)
            if value is not None and not isinstance(value, str):
                raise damaged(f"layer {i}'s {key} is not a file name")
            out[key] = value
        out["quad"] = _parse_quad(entry.get("quad"), i, damaged)
        bend = entry.get("bend")          # projects saved before bends existed: flat
        bend = 0.0 if bend is None else bend
        if not _is_number(bend) or abs(bend) > BEND_LIMIT:
            raise damaged(f"layer {i}'s bend is not between -100 and 100")
        out["bend"] = float(bend)
    out["tint"], out["tint_strength"] = None, 0.0
    if entry.get("tint") is not None:
        tint = entry["tint"]
        if not isinstance(tint, list) or len(tint) < 3 or not all(
                _is_number(c) and 0 <= c <= 255 for c in tint[:3]):
            raise damaged(f"layer {i}'s tint is not a colour")
        strength = entry.get("tint_strength", 1.0)
        if not _is_number(strength) or not 0 <= strength <= 1:
            raise damaged(f"layer {i}'s tint_strength is not between 0 and 1")
        out["tint"] = tuple(int(c) for c in tint[:3])
        out["tint_strength"] = float(strength)
    return out


def _parse_quad(quad: Any, i: int, damaged) -> np.ndarray:
    """4 corners [[x, y], ...] (or 8 numbers), each finite and within QUAD_LIMIT."""
    flat = quad
    if isinstance(quad, list) and all(isinstance(p, list) and len(p) == 2 for p in quad):
        flat = [v for p in quad for v in p]
    if not isinstance(flat, list) or len(flat) != 8 or not all(
            _is_number(v) and abs(v) <= QUAD_LIMIT for v in flat):
        raise damaged(f"layer {i}'s quad is not 4 corners of finite numbers")
    return np.asarray(flat, np.float64).reshape(4, 2)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)


def snapshot(doc: Document) -> Document:
    """A copy safe to save from another thread while the user keeps editing.

    The layers' pixel arrays are never modified in place (edits replace them), so sharing
    them is safe; the mask and the hints are painted in place, so they are copied: only
    inside the rectangle that holds every marked pixel (`mask_extent`, `hints_extent`; zero
    elsewhere), so the GUI thread does not copy a whole 24 MP mask to start a save.
    """
    # A shallow copy, not Document(...): its __post_init__ would scan the new 24 MP mask and
    # hints for their extents, ~20 ms of page faults on the GUI thread; they are known here.
    copy = _copy.copy(doc)
    copy.listeners = []
    copy.mask, copy.mask_extent = _copy_inside(doc.mask, doc.mask_extent)
    copy.hints, copy.hints_extent = _copy_inside(doc.hints, doc.hints_extent)
    copy.layers = [replace(layer) for layer in doc.layers]
    copy.meta = dict(doc.meta)
    return copy


def _copy_inside(array: np.ndarray, extent: Rect | None) -> tuple[np.ndarray, Rect | None]:
    """A copy of `array` with its pixels inside `extent` and zeros elsewhere, and the tight
    box of its nonzero pixels (found inside `extent` only)."""
    out = np.zeros(array.shape, array.dtype)      # calloc: no pages touched yet
    if extent is None:
        return out, None
    x0, y0, x1, y1 = extent
    window = out[y0:y1, x0:x1]
    window[...] = array[y0:y1, x0:x1]
    box = nonzero_box(window)
    if box is None:
        return out, None
    bx0, by0, bx1, by1 = box
    return out, (x0 + bx0, y0 + by0, x0 + bx1, y0 + by1)
