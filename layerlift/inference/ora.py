"""Reading OpenRaster (.ora) files, from anyone, within limits fixed before anything is read.

An ORA is a zip: stack.xml lists the layers (the first is the top), data/*.png hold their
pixels, and a Layerlift project adds its own files under layerlift/. A small file can claim to
be huge: a 600-byte file whose 8 layers all point at one 15000x15000 one-bit PNG, 60 layers on
a 250 MP canvas, a 2 GB stack.xml, 50,000 nested stacks. So, before decoding anything:

- the zip's directory (number of entries, its size) is read from its end record, before
  zipfile parses it; each member read must be stored or compressed by a method Python reads,
  size limit (zipfile stops at the declared size and checks the CRC, so a lie is caught);
- stack.xml is parsed as a stream with limits on its size, nesting and number of layers;
  offsets and opacities must be finite numbers;
- the memory the pixels will take (each layer's canvas, the decode of the largest picture,
  the member bytes) is estimated from the PNG headers (`Budget`). Up to `Limits.memory` is
  allowed for any file; more only in proportion to the compressed bytes the file really holds
  for those pictures (`Limits.ratio` times), as zip-bomb guards do, so a large real project
  opens and a small file that claims gigabytes is refused.

Only members that are used are read: mergedimage.png, thumbnails and files nobody asks for
never are. Every failure is an InputError naming the file.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from layerlift.inference.errors import InputError
from layerlift.inference.export import EXTRA_FOLDER, ExportLayer
from layerlift.inference.imageio import MAX_PIXELS, PathLike, load_rgba

GIB = 1 << 30
MIB = 1 << 20
# Bytes per pixel the image loader needs at its peak while decoding a picture into RGBA
# (Pillow's image, the RGB/alpha split, the numpy copies, the result): measured 12-16.
DECODE_BYTES_PER_PIXEL = 16
HEAD_BYTES = 64 * 1024  # enough of a picture to read its size from its header
MEMORY_ENV = "LAYERLIFT_OPEN_MEMORY_GB"
# The zip compression methods Python reads (ORA writers use the first two).
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)

# What a damaged zip, XML or picture raises inside zipfile, ElementTree, zlib and Pillow.
_DAMAGE = (zipfile.BadZipFile, zipfile.LargeZipFile, ET.ParseError, zlib.error, EOFError,
           struct.error, ValueError, TypeError, KeyError, IndexError, OverflowError,
           NotImplementedError, RuntimeError, RecursionError, UnicodeError, LookupError,
           OSError)


@dataclass(frozen=True)
class Limits:
    entries: int = 10_000           # members in the zip
    directory_bytes: int = 8 * MIB  # the zip's central directory
    stack_bytes: int = 4 * MIB      # stack.xml
    depth: int = 64                 # nested <stack>s
    layers: int = 1000              # <layer>s
    extra_bytes: int = 256 * MIB    # one of our own files under layerlift/
    layer_bytes: int = 2 * GIB      # one layer's picture as stored
    memory: int = GIB               # what any file may make us allocate...
    ratio: int = 64                 # ...plus this many times the compressed bytes of pictures


def default_limits() -> Limits:
    """The limits, with `memory` raised by LAYERLIFT_OPEN_MEMORY_GB where that is set."""
    text = os.environ.get(MEMORY_ENV, "").strip()
    if not text:
        return Limits()
    try:
        gb = float(text)
    except ValueError:
        raise InputError(f"{MEMORY_ENV} must be a number of GB, got {text!r}") from None
    if not math.isfinite(gb) or gb <= 0:
        raise InputError(f"{MEMORY_ENV} must be a positive number of GB, got {text!r}")
    return Limits(memory=int(gb * GIB))


@dataclass
class LayerEntry:
    """A <layer> of stack.xml: where its picture is and how it is shown (stacks applied)."""

    name: str
    member: str       # the zip member holding its picture
    x: int
    y: int
    visible: bool
    opacity: float


@dataclass
class Budget:
    """The memory reading a set of pictures will take, checked before any is decoded."""

    label: str
    limits: Limits
    need: int = 0                       # bytes
    transient: int = 0                  # the largest single decode
    compressed: int = 0                 # bytes the file holds for what is read
    counted: set[str] = field(default_factory=set)

    def member(self, info: zipfile.ZipInfo) -> None:
        """A member read whole: its bytes are held while decoded; counted once."""
        if info.filename in self.counted:
            return
        self.counted.add(info.filename)
        self.need += info.file_size
        self.compressed += info.compress_size

    def picture(self, width: int, height: int, kept: int) -> None:
        """A picture decoded (its peak) whose result holds `kept` bytes."""
        self.transient = max(self.transient, width * height * DECODE_BYTES_PER_PIXEL)
        self.need += kept

    def add(self, nbytes: int) -> None:
        self.need += nbytes

    def allowed(self) -> int:
        return self.limits.memory + self.limits.ratio * self.compressed

    def check(self, what: str) -> None:
        """InputError unless the estimate fits; `what` says what is being read."""
        total = self.need + self.transient
        if total > self.allowed():
            raise InputError(
                f"{self.label}: opening it would take about {_gb(total)} of memory for "
                f"{what}, far more than the {_size(self.compressed)} of pictures it holds "
                f"(a decompression bomb?); refused (set {MEMORY_ENV} to allow more)")


def layers_text(n: int, w: int, h: int) -> str:
    return f"{n} layer{'' if n == 1 else 's'} on a {w}x{h} canvas"


def _gb(n: int) -> str:
    return f"{n / GIB:.1f} GB"


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MB" if n >= MIB else f"{n} bytes"


def _shown(text: str) -> str:
    """Text from the file as a message shows it: as it is when printable, else quoted with
    its escapes (a newline in a name must not break the one-line message)."""
    return text if text.isprintable() else repr(text)


@contextlib.contextmanager
def damage_as_input_error(label: str, what: str = "is not a readable OpenRaster file"
                          ) -> Iterator[None]:
    """Whatever a damaged file makes the libraries raise becomes one InputError line."""
    try:
        yield
    except InputError:
        raise
    except MemoryError:
        raise InputError(f"{label}: not enough memory to open it") from None
    except _DAMAGE as e:
        text = " ".join(str(e).split()) or type(e).__name__
        text = text if len(text) <= 120 else text[:117] + "..."
        raise InputError(f"{label} {what} ({type(e).__name__}: {text})") from None


# ---------------------------------------------------------------- the zip


def _check_directory(f, label: str, limits: Limits) -> None:
    """Entries and size of the zip's central directory from its end record (zipfile would
    otherwise build an object per entry before we could count them)."""
    f.seek(0, os.SEEK_END)
    size = f.tell()
    tail_len = min(size, 22 + 65535)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise InputError(f"{label} is not an OpenRaster file (not a zip)")
    _sig, _disk, _cd_disk, _n_here, entries, cd_size, _cd_offset, _comment = \
        struct.unpack("<4s4H2LH", tail[at:at + 22])
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        # Zip64: the real counts are in the zip64 end record the locator before this points to.
        loc = tail[at - 20:at] if at >= 20 else b""
        if len(loc) != 20 or loc[:4] != b"PK\x06\x07":
            raise InputError(f"{label} is not a readable OpenRaster file (bad zip64 record)")
        _sig, _disk, offset, _disks = struct.unpack("<4sLQL", loc)
        f.seek(offset)
        rec = f.read(56)
        if len(rec) != 56 or rec[:4] != b"PK\x06\x06":
            raise InputError(f"{label} is not a readable OpenRaster file (bad zip64 record)")
        entries, cd_size = struct.unpack("<QQ", rec[32:48])
    if entries > limits.entries or cd_size > limits.directory_bytes:
        raise InputError(f"{label}: its zip lists {entries} files in {_size(cd_size)}, more "
                         f"than an OpenRaster file needs ({limits.entries} at most)")


class OraFile:
    """An open ORA: its canvas size and layers from stack.xml; members read on request."""

    def __init__(self, path: PathLike, limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.label = str(path)
        self.limits = limits or default_limits()
        if not self.path.is_file():
            raise InputError(f"OpenRaster file not found: {self.label}")
        self._file = None
        self.zip: zipfile.ZipFile | None = None
        try:
            with damage_as_input_error(self.label):
                self._file = open(self.path, "rb")
                _check_directory(self._file, self.label, self.limits)
                self._file.seek(0)
                self.zip = zipfile.ZipFile(self._file)
                self.members = {info.filename: info for info in self.zip.infolist()}
                if "stack.xml" not in self.members:
                    raise InputError(f"{self.label} is not an OpenRaster file (no stack.xml)")
                stack = self.read("stack.xml", self.limits.stack_bytes)
                self.width, self.height, self.layers = self._parse_stack(stack)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()
        if self._file is not None:
            self._file.close()

    def __enter__(self) -> OraFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ members

    def info(self, name: str) -> zipfile.ZipInfo:
        info = self.members.get(name)
        if info is None:
            raise InputError(f"{self.label}: {_shown(name)} is missing from the file")
        if info.flag_bits & 0x1:
            raise InputError(f"{self.label}: {_shown(name)} is encrypted")
        if info.compress_type not in ZIP_METHODS:
            raise InputError(f"{self.label}: {_shown(name)} is compressed with a method Layerlift "
                             f"cannot read (zip method {info.compress_type})")
        return info

    def read(self, name: str, max_bytes: int) -> bytes:
        """A member's bytes; refused when it is (or turns out) larger than `max_bytes`."""
        info = self.info(name)
        if info.file_size > max_bytes:
            raise InputError(f"{self.label}: {_shown(name)} is {_size(info.file_size)}, more than "
                             f"the {_size(max_bytes)} such a file may take")
        with damage_as_input_error(self.label, f"has a damaged {_shown(name)}"):
            with self.zip.open(info) as f:
                data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise InputError(f"{self.label}: {_shown(name)} is larger than its zip entry says")
        return data

    def extra_names(self) -> set[str]:
        """Our own files under layerlift/ (names without the folder)."""
        return {n[len(EXTRA_FOLDER):] for n in self.members
                if n.startswith(EXTRA_FOLDER) and not n.endswith("/")}

    def read_extra(self, name: str) -> bytes:
        return self.read(EXTRA_FOLDER + name, self.limits.extra_bytes)

    def picture_size(self, name: str) -> tuple[int, int]:
        """A picture member's width and height from its header (nothing decoded)."""
        info = self.info(name)
        with damage_as_input_error(self.label, f"has a damaged picture {_shown(name)}"):
            with self.zip.open(info) as f:
                head = f.read(HEAD_BYTES)
            try:
                with Image.open(io.BytesIO(head)) as im:
                    w, h = im.size
            except UnidentifiedImageError:
                raise InputError(f"{self.label}: {_shown(name)} is not a picture Layerlift can "
                                 "read") from None
        if w < 1 or h < 1 or w * h > MAX_PIXELS:
            raise InputError(f"{self.label}: {_shown(name)} is {w}x{h}, not a usable picture size")
        return w, h

    # ------------------------------------------------------------ stack.xml

    def _parse_stack(self, data: bytes) -> tuple[int, int, list[LayerEntry]]:
        """Canvas size and layers, top first; a stack's visibility and opacity carry over to
        its layers (the groups are flattened away). Streamed, so nesting and the number of
        layers are counted as they come."""
        limits, label = self.limits, self.label
        parser = ET.XMLPullParser(("start", "end"))
        open_elements: list[ET.Element] = []
        groups: list[tuple[bool, float]] = []   # (visible, opacity) of the open stacks
        layers: list[LayerEntry] = []
        size: tuple[int, int] | None = None
        for at in range(0, max(len(data), 1), 4096):
            parser.feed(data[at:at + 4096])
            for event, el in parser.read_events():
                if event == "end":
                    open_elements.pop()
                    if el.tag == "stack":
                        groups.pop()
                    # Keep no tree, only what is collected here: memory follows the depth.
                    el.clear()
                    if open_elements:
                        open_elements[-1].remove(el)
                    continue
                open_elements.append(el)
                if len(open_elements) > limits.depth:
                    raise InputError(f"{label}: stack.xml nests more than {limits.depth} "
                                     "deep")
                visible, opacity = groups[-1] if groups else (True, 1.0)
                if el.tag == "image" and size is None:
                    size = self._canvas(el)
                elif el.tag == "stack":
                    groups.append((visible and _visible(el), opacity * self._opacity(el)))
                elif el.tag == "layer":
                    if len(layers) >= limits.layers:
                        raise InputError(f"{label}: more than {limits.layers} layers")
                    layers.append(self._layer(el, visible, opacity))
        parser.close()
        if size is None:
            raise InputError(f"{label}: stack.xml has no <image>")
        return size[0], size[1], layers

    def _canvas(self, el: ET.Element) -> tuple[int, int]:
        try:
            w, h = int(el.get("w", "0")), int(el.get("h", "0"))
        except ValueError:
            w = h = 0
        if w < 1 or h < 1 or w * h > MAX_PIXELS:
            raise InputError(f"{self.label}: stack.xml gives no usable image size "
                             f"({_shown(el.get('w', '')[:20])}x{_shown(el.get('h', '')[:20])};"
                             f" at most {MAX_PIXELS // 1_000_000} megapixels)")
        return w, h

    def _number(self, el: ET.Element, key: str, default: str) -> float:
        text = el.get(key, default)
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"{self.label}: stack.xml has {key}={text[:20]!r}, not a number")
        return value

    def _opacity(self, el: ET.Element) -> float:
        return min(1.0, max(0.0, self._number(el, "opacity", "1")))

    def _layer(self, el: ET.Element, visible: bool, opacity: float) -> LayerEntry:
        src = el.get("src", "")
        # Writers differ on a leading "/" in src and in the zip's entry names.
        member = next((n for n in (src, src.lstrip("/"), "/" + src.lstrip("/"))
                       if n in self.members), None)
        if member is None:
            raise InputError(f"{self.label}: layer picture {src!r} is missing from the file")
        x, y = self._number(el, "x", "0"), self._number(el, "y", "0")
        if abs(x) > 1e9 or abs(y) > 1e9:
            raise InputError(f"{self.label}: layer {src!r} lies far outside the canvas")
        name = el.get("name") or os.path.splitext(os.path.basename(src))[0]
        return LayerEntry(name=name, member=member, x=int(x), y=int(y),
                          visible=visible and _visible(el),
                          opacity=opacity * self._opacity(el))

    # ------------------------------------------------------------ pixels

    def budget(self) -> Budget:
        return Budget(self.label, self.limits)

    def _on_canvas(self, entry: LayerEntry, w: int, h: int) -> bool:
        return entry.x < self.width and entry.y < self.height and entry.x + w > 0 \
            and entry.y + h > 0

    def plan_layer(self, budget: Budget, entry: LayerEntry) -> None:
        """Count what decoding `entry` into a canvas-sized layer will take."""
        w, h = self.picture_size(entry.member)
        budget.add(self.width * self.height * 4)        # the canvas it becomes
        if self._on_canvas(entry, w, h):                # off the canvas: nothing to decode
            budget.member(self.members[entry.member])
            budget.picture(w, h, 0)

    def plan_picture(self, budget: Budget, name: str) -> tuple[int, int]:
        """Count what decoding one of our own pictures (under layerlift/) will take."""
        w, h = self.picture_size(EXTRA_FOLDER + name)
        budget.member(self.members[EXTRA_FOLDER + name])
        budget.picture(w, h, w * h * 4)
        return w, h

    def decode_layer(self, entry: LayerEntry) -> ExportLayer:
        """The layer as a canvas-sized RGBA ExportLayer, its picture placed at its offset."""
        w, h = self.picture_size(entry.member)
        canvas = None
        if self._on_canvas(entry, w, h):
            data = self.read(entry.member, self.limits.layer_bytes)
            rgba = load_rgba(data, what=f"{self.label}: layer {entry.member}")
            del data
            lh, lw = rgba.shape[:2]
            if (entry.x, entry.y, lw, lh) == (0, 0, self.width, self.height):
                canvas = rgba                           # the usual case: no second copy
            else:
                canvas = np.zeros((self.height, self.width, 4), np.uint8)
                x, y = entry.x, entry.y
                cx0, cy0 = max(0, x), max(0, y)
                cx1, cy1 = min(self.width, x + lw), min(self.height, y + lh)
                if cx1 > cx0 and cy1 > cy0:
                    canvas[cy0:cy1, cx0:cx1] = rgba[cy0 - y:cy1 - y, cx0 - x:cx1 - x]
        if canvas is None:
            canvas = np.zeros((self.height, self.width, 4), np.uint8)
        return ExportLayer(name=entry.name, rgba=canvas, visible=entry.visible,
                           opacity=entry.opacity)

    def decode_picture(self, name: str, what: str) -> np.ndarray:
        """One of our own pictures under layerlift/ as RGBA."""
        return load_rgba(self.read_extra(name), what=f"{self.label}: {what}")


def _visible(el: ET.Element) -> bool:
    return el.get("visibility", "visible") != "hidden"


def read_ora(path: PathLike, limits: Limits | None = None
             ) -> tuple[list[ExportLayer], dict[str, bytes]]:
    """Every layer (top first, canvas-sized) and our extra files (names without
    "layerlift/"), within `limits`. Raises InputError for anything that is not a readable
    OpenRaster file, or one that would take more memory than it can justify."""
    with OraFile(path, limits) as ora:
        budget = ora.budget()
        for entry in ora.layers:
            ora.plan_layer(budget, entry)
        extra_names = sorted(ora.extra_names())
        for name in extra_names:
            budget.member(ora.info(EXTRA_FOLDER + name))
        budget.check(layers_text(len(ora.layers), ora.width, ora.height))
        layers = [ora.decode_layer(entry) for entry in ora.layers]
        extra = {name: ora.read_extra(name) for name in extra_names}
    return layers, extra
