"""Projects, exports and autosave files. Qt-free: plain files in, Document out.

A project is an OpenRaster file: the layers as other apps see them, plus a hidden layer named
"Layerlift mask" (the brushed mask) and, under the ORA's "layerlift/" folder, project.json
(layer kinds, the logo's quad and tint, the last decomposition's meta, the engine settings)
and the logo's own pixels (asset-N.png as printed, ink-N.png with the surface's shading
divided out, see desktop/document.py), so the logo stays editable after reopening. Projects
saved before the ink existed open with no ink (the asset then stands for it).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from layerlift.desktop.document import ORIGINAL, Document, Layer
from layerlift.inference.errors import InputError

MASK_LAYER = "Layerlift mask"
PROJECT_JSON = "project.json"
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


def project_files(doc: Document, settings: dict | None = None) -> tuple[list, dict[str, bytes]]:
    """The ORA layers and extra files that make up a project."""
    from layerlift.inference.export import ExportLayer
    from layerlift.inference.imageio import encode_png

    layers = export_layers(doc)
    mask_rgba = np.zeros(doc.shape + (4,), np.uint8)
    mask_rgba[..., :3] = 255
    mask_rgba[..., 3] = doc.mask
    layers.append(ExportLayer(MASK_LAYER, mask_rgba, visible=False))
    extra: dict[str, bytes] = {}
    entries = []
    for i, layer in enumerate(doc.layers):
        entry: dict[str, Any] = {"name": layer.name, "kind": layer.kind}
        if layer.asset is not None:
            name = f"asset-{i}.png"
            extra[name] = encode_png(layer.asset)
            entry.update(asset=name, quad=np.asarray(layer.quad).tolist())
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
    extra[PROJECT_JSON] = json.dumps(project, indent=2, default=_json_default).encode()
    return layers, extra


def save_project(doc: Document, path: str | Path, settings: dict | None = None) -> None:
    """Write the project atomically; never over the input photo."""
    from layerlift.inference.export import write_ora

    check_target(doc, path)
    layers, extra = project_files(doc, settings)
    write_ora(path, layers, extra)


def open_project(path: str | Path) -> tuple[Document, dict]:
    """A project written by save_project, or any other ORA (flattened into a photo).

    Returns the document and the settings stored in it ({} for a foreign ORA).
    """
    from layerlift.inference.export import flatten, read_ora
    from layerlift.inference.imageio import load_rgba

    layers, extra = read_ora(path)
    if PROJECT_JSON not in extra:
        # Someone else's layered file: open it as a photo, and protect it like one.
        rgb = flatten(layers)
        return Document(rgb, path=str(Path(path).resolve())), {}
    try:
        project = json.loads(extra[PROJECT_JSON])
        entries = project["layers"]
    except (ValueError, KeyError, TypeError):
        raise InputError(f"{Path(path).name}: the Layerlift project data is damaged") from None
    by_name = {layer.name: layer for layer in layers}
    mask_layer = by_name.get(project.get("mask_layer", MASK_LAYER))
    ora_layers = [layer for layer in layers if layer.name != MASK_LAYER]
    if len(ora_layers) != len(entries):
        raise InputError(f"{Path(path).name}: layers do not match the project data")
    doc_layers = []
    for entry, ora in zip(entries, ora_layers, strict=True):
        layer = Layer(str(entry.get("name", ora.name)), str(entry.get("kind", "layer")),
                      visible=ora.visible, opacity=ora.opacity)
        if "asset" in entry and entry["asset"] in extra:
            layer.asset = load_rgba(extra[entry["asset"]], what="logo asset")
            layer.quad = np.asarray(entry["quad"], np.float64).reshape(4, 2)
            if "ink" in entry and entry["ink"] in extra:
                layer.ink = load_rgba(extra[entry["ink"]], what="logo ink")
                if layer.ink.shape != layer.asset.shape:
                    raise InputError(f"{Path(path).name}: the logo's ink does not match its "
                                     "asset")
        else:
            layer.rgba = ora.rgba
        if entry.get("tint") is not None:
            layer.tint = tuple(int(c) for c in entry["tint"][:3])
            layer.tint_strength = float(entry.get("tint_strength", 1.0))
        doc_layers.append(layer)
    original = next((layer for layer in doc_layers if layer.kind == ORIGINAL), None)
    if original is None or original.rgba is None:
        raise InputError(f"{Path(path).name}: the project has no Original layer")
    image = np.ascontiguousarray(original.rgba[..., :3])
    mask = mask_layer.rgba[..., 3].copy() if mask_layer is not None else None
    meta = project.get("meta") if isinstance(project.get("meta"), dict) else {}
    photo = project.get("photo")
    doc = Document(image, path=photo if isinstance(photo, str) else None, mask=mask,
                   layers=doc_layers, meta=meta)
    settings = project.get("settings") if isinstance(project.get("settings"), dict) else {}
    return doc, settings


def snapshot(doc: Document) -> Document:
    """A copy safe to save from another thread while the user keeps editing.

    The layers' pixel arrays are never modified in place (edits replace them), so sharing
    them is safe; the mask is painted in place, so it is copied.
    """
    return Document(doc.image, path=doc.path, mask=doc.mask.copy(),
                    layers=[Layer(**vars(layer)) for layer in doc.layers], meta=dict(doc.meta))
