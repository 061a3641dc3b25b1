"""Hostile and damaged OpenRaster files, made from scratch; the corpus in tests/hostile/ora/.

`python -m tests.hostile.make_ora` rewrites the corpus (tests/hostile/ora/*.ora, each a few
KB): every file there must be refused by the project reader with one InputError line, within
bounded memory and time, except those named `opens-*`, which must open (reading only what
they hold). `CASES` builds each file's bytes; tests also use the builders directly.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

CORPUS = Path(__file__).parent / "ora"
MIMETYPE = b"image/openraster"


def png(array: np.ndarray | None = None, mode: str | None = None,
        size: tuple[int, int] | None = None) -> bytes:
    """PNG bytes of an array, or of a blank image of `mode` and `size` (w, h)."""
    im = Image.fromarray(array) if array is not None else Image.new(mode, size, 0)
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def stack_xml(w: int | str, h: int | str, layers: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><image version="0.0.3" w="{w}" h="{h}">'
            f"<stack>{layers}</stack></image>").encode()


def layer(src: str, name: str = "l", **attrs: str) -> str:
    extra = "".join(f' {k}="{v}"' for k, v in attrs.items())
    return f'<layer name="{name}" src="{src}"{extra}/>'


def ora(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip with mimetype first (stored), then the members in order."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def small_ora(extra: dict[str, bytes] | None = None) -> bytes:
    """A good two-layer 32x24 ORA, as another program would write it."""
    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[...] = (200, 120, 40)
    dot = np.zeros((6, 6, 4), np.uint8)
    dot[...] = (0, 0, 255, 255)
    return ora({"stack.xml": stack_xml(32, 24, layer("data/dot.png", "dot", x="3", y="4")
                                       + layer("data/bg.png", "bg")),
                "data/dot.png": png(dot), "data/bg.png": png(rgb), **(extra or {})})


def project_ora(mutate: Callable[[dict], object] | None = None,
                extra: dict[str, bytes] | None = None) -> bytes:
    """A good Layerlift project (Original, Object, a quad Logo, the mask) as save_project
    writes it, with its project.json changed by `mutate` (which edits the dict in place)."""
    from layerlift.desktop.document import LOGO, OBJECT, Document, Layer
    from layerlift.desktop.project import PROJECT_JSON, project_files
    from layerlift.inference.export import _write_ora

    photo = np.zeros((24, 32, 3), np.uint8)
    photo[...] = (90, 140, 200)
    doc = Document(photo, path="photo.png")
    doc.mask[8:16, 8:20] = 255
    obj = doc.layers[0].rgba.copy()
    asset = np.zeros((8, 12, 4), np.uint8)
    asset[...] = (250, 250, 250, 255)
    quad = np.array([[8, 8], [20, 8], [20, 16], [8, 16]], np.float64)
    doc.layers = [Layer("Logo", LOGO, asset=asset, ink=asset.copy(), quad=quad),
                  Layer("Object", OBJECT, rgba=obj), doc.layers[0]]
    layers, files = project_files(doc, {"engine": "classical"})
    if mutate is not None:
        project = json.loads(files[PROJECT_JSON])
        mutate(project)
        files[PROJECT_JSON] = json.dumps(project).encode()
    buf = io.BytesIO()
    _write_ora(buf, layers, {**files, **(extra or {})})
    return buf.getvalue()


def _set(key: str, value) -> Callable[[dict], None]:
    return lambda p: p.__setitem__(key, value)


def _set_layer(key: str, value, index: int = 0) -> Callable[[dict], None]:
    return lambda p: p["layers"][index].__setitem__(key, value)


def _drop_layer_key(key: str, index: int = 0) -> Callable[[dict], None]:
    return lambda p: p["layers"][index].pop(key)


def _json_bytes(data: bytes) -> bytes:
    """A project whose project.json is exactly `data`."""
    good = project_ora()
    src = zipfile.ZipFile(io.BytesIO(good))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            body = data if info.filename == "layerlift/project.json" else src.read(info)
            z.writestr(info, body)
    return buf.getvalue()


# ---------------------------------------------------------------- patching zip headers


def _patch_member(data: bytes, name: str, patch: Callable[[bytearray, int, int], None]
                  ) -> bytes:
    """Apply `patch(buffer, local_header_offset, central_header_offset)` for member `name`."""
    out = bytearray(data)
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    central = out.find(b"PK\x01\x02")
    while central >= 0:
        n = struct.unpack_from("<H", out, central + 28)[0]
        if bytes(out[central + 46:central + 46 + n]).decode() == name:
            break
        central = out.find(b"PK\x01\x02", central + 1)
    assert central >= 0, name
    patch(out, info.header_offset, central)
    return bytes(out)


def with_method(data: bytes, name: str, method: int) -> bytes:
    def patch(out, local, central):
        struct.pack_into("<H", out, local + 8, method)
        struct.pack_into("<H", out, central + 10, method)
    return _patch_member(data, name, patch)


def encrypted(data: bytes, name: str) -> bytes:
    def patch(out, local, central):
        for at in (local + 6, central + 8):
            struct.pack_into("<H", out, at, struct.unpack_from("<H", out, at)[0] | 1)
    return _patch_member(data, name, patch)


def scrambled(data: bytes, name: str) -> bytes:
    """The member's compressed bytes replaced by noise (same length)."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    out = bytearray(data)
    n, m = struct.unpack_from("<HH", out, info.header_offset + 26)
    start = info.header_offset + 30 + n + m
    noise = np.random.default_rng(1).integers(0, 256, info.compress_size, np.uint8)
    out[start:start + info.compress_size] = noise.tobytes()
    return bytes(out)


def lying_size(data: bytes, name: str, size: int) -> bytes:
    """The member's declared uncompressed size set to `size` (its data unchanged)."""
    def patch(out, local, central):
        struct.pack_into("<L", out, local + 22, size)
        struct.pack_into("<L", out, central + 24, size)
    return _patch_member(data, name, patch)


# ---------------------------------------------------------------- the cases


def one_picture_many_layers() -> bytes:
    """8 layers that all point at one 15000x15000 one-bit PNG (the issue's 663-byte file)."""
    return ora({"stack.xml": stack_xml(15000, 15000,
                                       "".join(layer("data/a.png", f"l{i}") for i in range(8))),
                "data/a.png": png(mode="1", size=(15000, 15000))})


def tiny_layers_huge_canvas() -> bytes:
    """60 layers of a 1x1 PNG on a 15800x15800 canvas."""
    return ora({"stack.xml": stack_xml(15800, 15800,
                                       "".join(layer(f"data/{i}.png") for i in range(60))),
                **{f"data/{i}.png": png(mode="RGBA", size=(1, 1)) for i in range(60)}})


def one_bomb_layer() -> bytes:
    """One layer: a 15000x15000 one-bit PNG on a canvas of that size."""
    return ora({"stack.xml": stack_xml(15000, 15000, layer("data/a.png")),
                "data/a.png": png(mode="1", size=(15000, 15000))})


def layer_bigger_than_canvas() -> bytes:
    """A 15000x15000 PNG on a 10x10 canvas: decoding it would cost the whole picture."""
    return ora({"stack.xml": stack_xml(10, 10, layer("data/a.png")),
                "data/a.png": png(mode="1", size=(15000, 15000))})


def big_stack_xml() -> bytes:
    """A 6 MB stack.xml (compressed to a few KB)."""
    return ora({"stack.xml": stack_xml(10, 10, layer("data/a.png") + " " * (6 << 20)),
                "data/a.png": png(mode="RGBA", size=(10, 10))})


def stack_xml_lying_about_size() -> bytes:
    """stack.xml declares 200 bytes but holds 3 MB (the CRC and the length catch it)."""
    data = ora({"stack.xml": stack_xml(10, 10, layer("data/a.png") + " " * (3 << 20)),
                "data/a.png": png(mode="RGBA", size=(10, 10))})
    return lying_size(data, "stack.xml", 200)


def nested_stacks(depth: int = 50_000) -> bytes:
    return ora({"stack.xml": b'<image w="10" h="10">' + b"<stack>" * depth
                + layer("data/a.png").encode() + b"</stack>" * depth + b"</image>",
                "data/a.png": png(mode="RGBA", size=(10, 10))})


def offset(key: str, value: str) -> Callable[[], bytes]:
    def build() -> bytes:
        return ora({"stack.xml": stack_xml(10, 10, layer("data/a.png", **{key: value})),
                    "data/a.png": png(mode="RGBA", size=(4, 4))})
    build.__doc__ = f'a layer with {key}="{value}"'
    return build


def canvas(w: str, h: str) -> Callable[[], bytes]:
    def build() -> bytes:
        return ora({"stack.xml": stack_xml(w, h, layer("data/a.png")),
                    "data/a.png": png(mode="RGBA", size=(4, 4))})
    return build


def too_many_layers() -> bytes:
    return ora({"stack.xml": stack_xml(10, 10, layer("data/a.png") * 1200),
                "data/a.png": png(mode="RGBA", size=(4, 4))})


def no_stack_xml() -> bytes:
    return ora({"data/a.png": png(mode="RGBA", size=(4, 4))})


def missing_picture() -> bytes:
    return ora({"stack.xml": stack_xml(10, 10, layer("data/nothing.png"))})


def zip_slip_missing() -> bytes:
    """src climbs out of the zip; nothing by that name inside."""
    return ora({"stack.xml": stack_xml(10, 10, layer("../../../../etc/passwd"))})


def zip_slip_inside() -> bytes:
    """src climbs out of the zip, and the zip holds a member by that very name."""
    return ora({"stack.xml": stack_xml(10, 10, layer("../../evil.png")),
                "../../evil.png": png(mode="RGBA", size=(10, 10))})


def not_a_picture() -> bytes:
    return ora({"stack.xml": stack_xml(10, 10, layer("data/a.png")),
                "data/a.png": b"this is not a picture at all" * 10})


def truncated_picture() -> bytes:
    whole = png(np.random.default_rng(0).integers(0, 256, (64, 64, 4), np.uint8))
    return ora({"stack.xml": stack_xml(64, 64, layer("data/a.png")),
                "data/a.png": whole[:len(whole) // 2]})


def truncated_zip() -> bytes:
    whole = small_ora()
    return whole[:len(whole) // 2]


def not_a_zip() -> bytes:
    return b"PK\x03\x04 but nothing after" * 3


def scrambled_deflate() -> bytes:
    big = stack_xml(32, 24, layer("data/dot.png") + "<!-- " + "x" * 5000 + " -->")
    return scrambled(ora({"stack.xml": big,
                          "data/dot.png": png(mode="RGBA", size=(4, 4))}), "stack.xml")


def encrypted_member() -> bytes:
    return encrypted(small_ora(), "stack.xml")


def unknown_compression() -> bytes:
    return with_method(small_ora(), "stack.xml", 99)


def lzma_member() -> bytes:
    return ora({"stack.xml": stack_xml(10, 10, layer("data/a.png")),
                "data/a.png": png(mode="RGBA", size=(4, 4))}, method=zipfile.ZIP_LZMA)


def billion_laughs() -> bytes:
    ents = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    xml = f'<?xml version="1.0"?><!DOCTYPE image [{ents}]><image w="10" h="10">' \
          '<stack><layer name="&a9;" src="data/a.png"/></stack></image>'
    return ora({"stack.xml": xml.encode(), "data/a.png": png(mode="RGBA", size=(4, 4))})


def external_entity() -> bytes:
    xml = '<?xml version="1.0"?><!DOCTYPE image [<!ENTITY x SYSTEM "file:///etc/passwd">]>' \
          '<image w="10" h="10"><stack><layer name="&x;" src="data/a.png"/></stack></image>'
    return ora({"stack.xml": xml.encode(), "data/a.png": png(mode="RGBA", size=(4, 4))})


def asset_bomb() -> bytes:
    """A project whose logo asset is a 15000x15000 one-bit PNG."""
    return project_ora(extra={"asset-0.png": png(mode="1", size=(15000, 15000)),
                              "ink-0.png": png(mode="1", size=(15000, 15000))})


def ink_not_matching() -> bytes:
    return project_ora(extra={"ink-0.png": png(mode="RGBA", size=(3, 3))})


def deep_json() -> bytes:
    return _json_bytes(b"[" * 100_000 + b"]" * 100_000)


# name -> builder; "opens-" files must open, every other must be refused.
CASES: dict[str, Callable[[], bytes]] = {
    "one-picture-8-layers": one_picture_many_layers,
    "tiny-layers-huge-canvas": tiny_layers_huge_canvas,
    "one-bomb-layer": one_bomb_layer,
    "layer-bigger-than-canvas": layer_bigger_than_canvas,
    "big-stack-xml": big_stack_xml,
    "stack-xml-lying-about-size": stack_xml_lying_about_size,
    "nested-stacks": nested_stacks,
    "x-inf": offset("x", "inf"),
    "x-nan": offset("x", "nan"),
    "y-huge": offset("y", "1e400"),
    "y-far": offset("y", "-1e300"),
    "x-text": offset("x", "left"),
    "opacity-nan": offset("opacity", "nan"),
    "canvas-zero": canvas("0", "10"),
    "canvas-text": canvas("wide", "10"),
    "canvas-too-large": canvas("100000", "100000"),
    "canvas-long-number": canvas("9" * 5000, "10"),
    "too-many-layers": too_many_layers,
    "no-stack-xml": no_stack_xml,
    "missing-picture": missing_picture,
    "zip-slip-missing": zip_slip_missing,
    "not-a-picture": not_a_picture,
    "truncated-picture": truncated_picture,
    "truncated-zip": truncated_zip,
    "not-a-zip": not_a_zip,
    "scrambled-deflate": scrambled_deflate,
    "encrypted-member": encrypted_member,
    "unknown-compression": unknown_compression,
    "billion-laughs": billion_laughs,
    "external-entity": external_entity,
    "project-layers-5": lambda: project_ora(_set("layers", 5)),
    "project-layers-not-objects": lambda: project_ora(_set("layers", [1, 2, 3])),
    "project-mask-layer-list": lambda: project_ora(_set("mask_layer", [])),
    "project-asset-without-quad": lambda: project_ora(_drop_layer_key("quad")),
    "project-quad-nan": lambda: project_ora(_set_layer("quad", [[float("nan"), 0]] * 4)),
    "project-quad-short": lambda: project_ora(_set_layer("quad", [1, 2, 3])),
    "project-quad-huge": lambda: project_ora(_set_layer("quad", [[1e300, 0]] * 4)),
    "project-tint-5": lambda: project_ora(_set_layer("tint", 5)),
    "project-tint-strength-text": lambda: project_ora(
        lambda p: p["layers"][0].update(tint=[1, 2, 3], tint_strength="x")),
    "project-name-list": lambda: project_ora(_set_layer("name", ["a"])),
    "project-asset-number": lambda: project_ora(_set_layer("asset", 7)),
    "project-not-json": lambda: _json_bytes(b"{not json"),
    "project-not-utf8": lambda: _json_bytes(b"\xff\xfe\x00garbage"),
    "project-json-list": lambda: _json_bytes(b"[]"),
    "project-deep-json": deep_json,
    "project-fewer-layers": lambda: project_ora(lambda p: p["layers"].pop()),
    "project-no-original": lambda: project_ora(_set_layer("kind", "object", 2)),
    "project-asset-bomb": asset_bomb,
    "project-ink-not-matching": ink_not_matching,
    # These open: only what they hold is read (a zip-slip name is only a member's name).
    "opens-zip-slip-inside": zip_slip_inside,
    "opens-unused-merged-bomb": lambda: small_ora(
        {"mergedimage.png": png(mode="1", size=(15000, 15000))}),
    "opens-unused-extra": lambda: small_ora({"layerlift/junk.bin": b"\0" * (8 << 20)}),
    "opens-project": project_ora,
    "opens-lzma-member": lzma_member,
}


def write_corpus(folder: Path = CORPUS) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.ora"):
        old.unlink()
    paths = []
    for name, build in CASES.items():
        path = folder / f"{name}.ora"
        path.write_bytes(build())
        paths.append(path)
    return paths


def corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.ora"))


if __name__ == "__main__":
    written = write_corpus(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS)
    total = sum(p.stat().st_size for p in written)
    print(f"{len(written)} files, {total / 1024:.0f} KB, in {written[0].parent}")
