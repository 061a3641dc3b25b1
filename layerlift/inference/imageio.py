"""Reading photos, masks and logos; writing files and folders without leaving half-written ones.

Everything a user hands us goes through here, so every failure is an InputError with a
one-line message (the CLI prints it and exits 2).

How pixels are normalised (load_image):
- EXIF orientation is applied (PIL.ImageOps.exif_transpose), so arrays are upright as viewers
  show them.
- 16-bit and 32-bit images become 8-bit (I;16 / I: value / 257; F: [0, 1] -> [0, 255] when
  the image's values lie in [0, 1], else clipped to [0, 255]). 1-bit, palette, grayscale,
  CMYK and YCbCr become RGB.
- An embedded ICC profile is converted to sRGB with LittleCMS (PIL.ImageCms); an sRGB profile
  is taken as it is, and a profile LittleCMS cannot use (corrupt, or for another colour model)
  is ignored with a warning and the pixels are read as sRGB, as most viewers do.
- Transparency (RGBA, LA, palette or colour-key transparency) is composited over white by
  load_image (a photo has no transparency to keep); load_rgba keeps it; load_mask reads it
  as the mask when it is not all opaque.
- Pillow's decompression-bomb guard is set to MAX_PIXELS (250 megapixels, process-wide); a
  larger image is refused with an InputError before its pixels are decoded.
- Accepted formats: JPEG (and MPO), PNG, WebP, TIFF, BMP, GIF (first frame of multi-frame
  files). Anything else Pillow can open is refused with the format's name.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import shutil
import stat
import struct
import tempfile
import warnings
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from layerlift.inference.errors import InputError

log = logging.getLogger(__name__)

# Largest image we decode: 250 MP (a 20000 x 12500 scan). Pillow warns above MAX_IMAGE_PIXELS and
# raises above twice that; we refuse both (see _open). This sets Pillow's process-wide limit.
MAX_PIXELS = 250_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Formats we accept for photos, masks and logos. MPO is what many phone cameras write as .jpg.
FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "TIFF", "BMP", "GIF"}

PathLike = str | os.PathLike

# Errors Pillow's decoders raise on a damaged file.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
                  IndexError, TypeError, MemoryError)


# ---------------------------------------------------------------- opening


def _check_file(path: PathLike, what: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} not found: {p}")
    if p.is_dir():
        raise InputError(f"{what} is a folder, not an image file: {p}")
    if not p.is_file():
        raise InputError(f"{what} is not a regular file: {p}")
    try:
        size = p.stat().st_size
    except OSError as e:
        raise InputError(f"cannot read {what} {p}: {e.strerror or e}") from None
    if size == 0:
        raise InputError(f"{what} is an empty file: {p}")
    return p


def _open(source: PathLike | bytes, what: str) -> Image.Image:
    """Open, check and fully decode an image; EXIF orientation applied. Raises InputError."""
    with warnings.catch_warnings():
        # Pillow warns (DecompressionBombWarning) between MAX_PIXELS and twice that and raises
        # DecompressionBombError above; both mean "refuse". catch_warnings is not
        # thread-safe, so the size is also checked explicitly in _open_checked.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        # Pillow also warns about damaged metadata it skips; the pixels are what count here.
        warnings.simplefilter("ignore", UserWarning)
        return _open_checked(source, what)


def _open_checked(source: PathLike | bytes, what: str) -> Image.Image:
    if isinstance(source, bytes):
        label = what
        fp: io.BytesIO | Path = io.BytesIO(source)
        if not source:
            raise InputError(f"{what} is empty")
    else:
        fp = _check_file(source, what)
        label = f"{what} {fp}"
    try:
        im = Image.open(fp)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"{label} is too large to open safely (over {MAX_PIXELS // 1_000_000} "
                         "megapixels; a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise InputError(f"{label} is not an image Layerlift can read") from None
    except PermissionError as e:
        raise InputError(f"cannot read {label}: {e.strerror}") from None
    except _DECODE_ERRORS as e:
        raise InputError(f"{label} is truncated or corrupt ({_short(e)})") from None
    try:
        if im.format not in FORMATS:
            raise InputError(f"{label} is a {im.format} file; use JPEG, PNG, WebP, TIFF or BMP")
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise InputError(f"{label} is too large to open safely ({w}x{h}, over "
                             f"{MAX_PIXELS // 1_000_000} megapixels)")
        if w < 1 or h < 1:
            raise InputError(f"{label} has no pixels")
        # Decoding happens here: a cut-off file fails now, not later in the engine.
        im.load()  # the first frame of a multi-frame file
    except InputError:
        im.close()
        raise
    except _DECODE_ERRORS as e:
        im.close()
        raise InputError(f"{label} is truncated or corrupt ({_short(e)})") from None
    try:
        # In place: with no orientation to apply (most photos) Pillow would otherwise return a
        # copy of the whole picture (~45 ms for 12 MP, on every open).
        ImageOps.exif_transpose(im, in_place=True)
    except _DECODE_ERRORS as e:
        # Damaged EXIF data should not cost the user the picture: keep it as stored.
        log.warning("ignoring unreadable EXIF data in %s: %s", label, _short(e))
    return im


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 120 else text[:117] + "..."


# ---------------------------------------------------------------- pixel normalisation


def _to_8bit(im: Image.Image) -> Image.Image:
    """16/32-bit grayscale to L (see the module doc for the scaling)."""
    if im.mode.startswith("I;16"):
        a = np.asarray(im).astype(np.float32) / 257.0
    elif im.mode == "I":
        a = np.asarray(im).astype(np.float64)
        # 16-bit PNG/TIFF greys often arrive as "I" holding 0..65535.
        a = a / 257.0 if a.max(initial=0) > 255 else a
    elif im.mode == "F":
        a = np.nan_to_num(np.asarray(im).astype(np.float64))
        a = a * 255.0 if a.min(initial=0) >= 0 and a.max(initial=0) <= 1.0 else a
    else:
        return im
    return Image.fromarray(np.clip(np.rint(a), 0, 255).astype(np.uint8), "L")


def _split_alpha(im: Image.Image) -> tuple[Image.Image, np.ndarray | None]:
    """(colour image in L, RGB or CMYK, alpha as HxW uint8 or None)."""
    im = _to_8bit(im)
    if im.mode == "1":
        im = im.convert("L")
    if im.mode in ("P", "PA") or "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBa", "La"):
        im = im.convert(im.mode.upper()[:-1] + "A")
    if im.mode in ("RGBA", "LA"):
        alpha = np.asarray(im.getchannel("A"))
        return im.convert(im.mode[:-1]), alpha
    if im.mode in ("L", "RGB", "CMYK"):
        return im, None
    try:
        return im.convert("RGB"), None
    except ValueError:
        raise InputError(f"unsupported image mode {im.mode}") from None


def _srgb(base: Image.Image, icc: bytes | None) -> np.ndarray:
    """L / RGB / CMYK image to an HxWx3 uint8 sRGB array, through its ICC profile if any."""
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            desc = ImageCms.getProfileDescription(src) or ""
            if not (base.mode == "RGB" and "srgb" in desc.lower()):
                dst = ImageCms.createProfile("sRGB")
                base = ImageCms.profileToProfile(base, src, dst, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as e:
            log.warning("ignoring an embedded colour profile LittleCMS cannot use: %s", _short(e))
    if base.mode != "RGB":
        base = base.convert("RGB")
    return np.asarray(base, dtype=np.uint8).copy()


def _over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float32)[..., None] / 255.0
    out = rgb.astype(np.float32) * a + 255.0 * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _decode(source: PathLike | bytes, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(HxWx3 uint8 sRGB colour, HxW uint8 alpha or None)."""
    im = _open(source, what)
    try:
        icc = im.info.get("icc_profile")
        base, alpha = _split_alpha(im)
        return _srgb(base, icc), alpha
    except _DECODE_ERRORS as e:
        raise InputError(f"{what} could not be converted to sRGB ({_short(e)})") from None
    finally:
        im.close()


# ---------------------------------------------------------------- public loaders


def load_image(path: PathLike) -> np.ndarray:
    """A photo as HxWx3 uint8 sRGB, upright; transparency composited over white."""
    rgb, alpha = _decode(path, "image")
    return rgb if alpha is None else _over_white(rgb, alpha)


def load_rgba(path: PathLike | bytes, what: str = "logo") -> np.ndarray:
    """A logo (or any layer) as HxWx4 uint8 sRGB with straight alpha; opaque if it has none."""
    rgb, alpha = _decode(path, what)
    if alpha is None:
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
    return np.dstack([rgb, alpha])


def load_mask(path: PathLike, shape: tuple[int, ...]) -> np.ndarray:
    """The logo mask as HxW bool: white (>= 128) is logo.

    If the file has a non-trivial alpha channel (some pixel not fully opaque), the alpha is the
    mask (opaque = logo); otherwise its grey value is. It must be the photo's size (`shape`,
    HxW or HxWx3) and mark at least one pixel.
    """
    mask = _grey_mask(path)
    if mask is None:
        rgb, alpha = _decode(path, "mask")
        if alpha is not None and alpha.min() < 255:
            mask = alpha >= 128
        else:
            mask = _luma_at_least_128(rgb)
    h, w = shape[:2]
    if mask.shape != (h, w):
        raise InputError(f"mask is {mask.shape[1]}x{mask.shape[0]} but the photo is {w}x{h}")
    if not mask.any():
        raise InputError("mask is empty: paint the logo white (or opaque) on black")
    return mask


def _grey_mask(path: PathLike) -> np.ndarray | None:
    """A plain grey mask (mode 1 or L, no colour profile: what masks usually are) read as
    its grey values, without the RGB copy the general path makes; None for any other."""
    im = _open(path, "mask")
    try:
        if im.mode not in ("1", "L") or im.info.get("icc_profile") \
                or "transparency" in im.info:
            return None
        grey = im if im.mode == "L" else im.convert("L")
        return np.asarray(grey) >= 128
    except _DECODE_ERRORS as e:
        raise InputError(f"mask could not be read ({_short(e)})") from None
    finally:
        im.close()


def _luma_at_least_128(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma (as Pillow's convert("L")) >= 128, exactly, in integers; a band of rows
    at a time, so a 100 MP mask costs no float copy of itself."""
    h, w = rgb.shape[:2]
    out = np.empty((h, w), bool)
    weights = np.array([299, 587, 114], np.int32)
    band = max(1, (1 << 20) // max(w, 1))
    for top in range(0, h, band):
        out[top:top + band] = rgb[top:top + band].astype(np.int32) @ weights >= 128_000
    return out


# ---------------------------------------------------------------- boxes

_BOX_RE = re.compile(r"^\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*,\s*(-?\d+)\s*$")


def parse_box(text: str) -> tuple[int, int, int, int]:
    """'X0,Y0,X1,Y1' (whole pixels, X1/Y1 exclusive) -> a tuple. Raises InputError."""
    m = _BOX_RE.match(text or "")
    if not m:
        raise InputError(f"box must be X0,Y0,X1,Y1 (4 whole numbers), got {text!r}")
    x0, y0, x1, y1 = (int(v) for v in m.groups())
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"box {x0},{y0},{x1},{y1} has no area: need X1 > X0 and Y1 > Y0")
    return x0, y0, x1, y1


def box_to_mask(box: tuple[int, int, int, int], shape: tuple[int, ...],
                image: np.ndarray | None = None, refine: bool = False) -> np.ndarray:
    """A box (x0, y0, x1, y1; x1, y1 exclusive) as an HxW bool mask.

    Without `refine` the mask is the box itself: every pixel inside it is treated as logo
    (the engine then finds which of them the mark really covers).
    With `refine` and an image, GrabCut (OpenCV) is run on a window around the box,
    initialised from the box (outside = background, inside = probably logo); the mask is what
    it keeps as foreground inside the box, grown by 2 px to cover anti-aliased edges. When
    GrabCut keeps nothing, or the box leaves no background around it, the box itself is used.
    """
    h, w = shape[:2]
    x0, y0, x1, y1 = (int(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise InputError(f"box {x0},{y0},{x1},{y1} has no area: need X1 > X0 and Y1 > Y0")
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        raise InputError(f"box {x0},{y0},{x1},{y1} reaches outside the {w}x{h} photo")
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = True
    if refine and image is not None:
        refined = _grabcut(image, (x0, y0, x1, y1))
        if refined is not None:
            return refined
    return mask


def _grabcut(image: np.ndarray, box: tuple[int, int, int, int],
             iterations: int = 5) -> np.ndarray | None:
    import cv2  # OpenCV is only needed here; keep module import light

    h, w = image.shape[:2]
    x0, y0, x1, y1 = box
    margin = max(16, (max(x1 - x0, y1 - y0)) // 4)
    cx0, cy0 = max(0, x0 - margin), max(0, y0 - margin)
    cx1, cy1 = min(w, x1 + margin), min(h, y1 + margin)
    if (cx0, cy0, cx1, cy1) == (x0, y0, x1, y1):
        return None  # no background pixels to learn from
    crop = np.ascontiguousarray(image[cy0:cy1, cx0:cx1, ::-1])  # OpenCV wants BGR
    gc = np.zeros(crop.shape[:2], np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut's GMM initialisation draws from OpenCV's RNG
    rect = (x0 - cx0, y0 - cy0, x1 - x0, y1 - y0)
    try:
        cv2.grabCut(crop, gc, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    except cv2.error as e:
        log.warning("GrabCut failed, using the box itself: %s", _short(e))
        return None
    fg = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
    if not fg.any():
        return None
    fg = cv2.dilate(fg.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    mask = np.zeros((h, w), bool)
    mask[cy0:cy1, cx0:cx1] = fg
    inside = np.zeros((h, w), bool)
    inside[y0:y1, x0:x1] = True
    return mask & inside


# ---------------------------------------------------------------- atomic writes


def _read_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def _existing_mode(path: Path, default: int) -> int:
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return default


def _same_path(a: PathLike, b: PathLike) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.abspath(a) == os.path.abspath(b)


def check_not_protected(path: PathLike, protect: Iterable[PathLike] = ()) -> None:
    """Refuse to write `path` when it is one of the `protect`ed files (e.g. the input photo)."""
    for p in protect:
        if _same_path(path, p):
            raise InputError(f"refusing to overwrite the input file {p}")


@contextlib.contextmanager
def atomic_file(path: PathLike, protect: Iterable[PathLike] = ()) -> Iterator[BinaryIO]:
    """A binary file to write `path` through: a temp file in the same folder, fsynced and
    renamed over `path` when the block ends without an exception, deleted otherwise.

    Readers see the old file or the new one, never a partial one. Raises InputError when the
    folder is missing or not writable, or when `path` is one of the `protect`ed files.
    Writing straight to the file (rather than building bytes first) keeps large writes out of
    in-memory buffers, which hold the GIL while they grow.
    """
    path = Path(path)
    check_not_protected(path, protect)
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")
    path = _through_links(path)
    sweep_stale(path.parent)
    try:
        fd, tmp = _locked_temp_file(path)
    except OSError as e:
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
    # A second descriptor keeps the lock until the rename is done (flock locks belong to
    # the open file, which stays open while either descriptor does).
    lock = os.dup(fd) if fcntl is not None else None
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would.
        os.chmod(tmp, _existing_mode(path, 0o666 & ~_UMASK))
        with os.fdopen(fd, "w+b") as f:   # readable: the PSD writer copies from it
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise InputError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        if lock is not None:
            os.close(lock)


def atomic_write_bytes(path: PathLike, data: bytes, protect: Iterable[PathLike] = ()) -> None:
    """Write `data` to `path` all at once (see `atomic_file`)."""
    with atomic_file(path, protect) as f:
        f.write(data)


def write_png(stream: BinaryIO, array: np.ndarray, compress_level: int = 6) -> None:
    """Write an HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA) uint8 array to `stream` as PNG."""
    a = np.asarray(array)
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] in (3, 4))):
        raise ValueError(f"PNG needs an HxW, HxWx3 or HxWx4 uint8 array, got {a.dtype} {a.shape}")
    mode = {2: "L", 3: "RGB", 4: "RGBA"}[a.ndim if a.ndim == 2 else a.shape[2]]
    Image.fromarray(np.ascontiguousarray(a), mode).save(stream, "PNG",
                                                        compress_level=compress_level)


def encode_png(array: np.ndarray, compress_level: int = 6) -> bytes:
    """The array as PNG bytes (see `write_png`)."""
    buf = io.BytesIO()
    write_png(buf, array, compress_level)
    return buf.getvalue()


def save_png(path: PathLike, array: np.ndarray, protect: Iterable[PathLike] = (),
             compress_level: int = 6) -> None:
    """Write an HxW / HxWx3 / HxWx4 uint8 array (bool masks become 0/255) as PNG, atomically."""
    with atomic_file(path, protect) as f:      # encoded straight into the file
        write_png(f, array, compress_level)


def save_jpeg(path: PathLike, rgb: np.ndarray, quality: int = 95,
              protect: Iterable[PathLike] = ()) -> None:
    """Write an HxWx3 uint8 array as a JPEG (4:4:4 at quality >= 90), atomically."""
    a = np.asarray(rgb)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"JPEG needs an HxWx3 uint8 array, got {a.dtype} {a.shape}")
    with atomic_file(path, protect) as f:
        Image.fromarray(np.ascontiguousarray(a), "RGB").save(
            f, "JPEG", quality=int(quality), subsampling=0 if quality >= 90 else 2)


def save_image(path: PathLike, rgb: np.ndarray, protect: Iterable[PathLike] = ()) -> None:
    """An HxWx3 array as PNG or JPEG, chosen by the file's suffix. A PNG is a photo-sized
    picture here (a flattened export, a recomposed photo): it goes through the band encoder
    (inference/png.py: zlib level 1 on a thread per core, several times faster than Pillow)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        from layerlift.inference.png import write_png as write_band_png

        rgb = np.asarray(rgb)
        with atomic_file(path, protect) as f:
            write_band_png(f, rgb, 1, threads=os.cpu_count() or 1)
    elif suffix in (".jpg", ".jpeg"):
        save_jpeg(path, rgb, protect=protect)
    else:
        raise InputError(f"cannot write {Path(path).name}: use a .png or .jpg file name")


# ---------------------------------------------------------------- atomic folders


def check_writable_target(target: PathLike) -> None:
    """Raise InputError if `target` (file or folder to create) cannot be created where it is."""
    target = Path(os.path.abspath(target))
    parent = target.parent
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"cannot write {target}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {target}: {parent} is not writable")


def check_output_dir(target: PathLike, replace_ok: Iterable[str] | None = None) -> None:
    """Raise InputError unless atomic_dir(target, replace_ok) can create or replace `target`."""
    target = Path(os.path.abspath(target))
    # One stat and one listing, each allowed to find the folder gone: another run may be
    # swapping its output in between them (the swap itself then sorts out who wins).
    try:
        is_dir = stat.S_ISDIR(os.stat(target).st_mode)
    except (FileNotFoundError, NotADirectoryError):   # (a file above it: said below)
        is_dir = None
    except OSError as e:                                # a symlink loop, no permission
        raise InputError(f"cannot check output {target}: {e.strerror or e}") from None
    if is_dir is False:
        raise InputError(f"output {target} exists and is not a folder")
    if is_dir:
        try:
            entries = set(os.listdir(target))
        except FileNotFoundError:
            entries = set()
        except OSError as e:
            raise InputError(f"cannot read output folder {target}: {e.strerror or e}") from None
        foreign = entries - set(replace_ok or ())
        if foreign:
            raise InputError(f"output folder {target} holds files Layerlift did not write "
                             f"(e.g. {sorted(foreign)[0]}); choose another --out or empty it")
    if being_written(target):
        raise InputError(f"another Layerlift run is writing {target} now; wait for it to "
                         "finish, or give this run another --out")
    check_writable_target(target)


@contextlib.contextmanager
def atomic_dir(target: PathLike, replace_ok: Iterable[str] | None = None) -> Iterator[Path]:
    """Build a folder in a temp dir beside `target`; on success swap it in as `target`.

    If `target` exists it is moved aside, the new folder renamed in, then the old one deleted,
    so `target` is never half-written. An existing non-empty `target` is only replaced when
    every entry in it is named in `replace_ok` (files an earlier run wrote); otherwise
    InputError. On an exception the temp dir is removed and `target` is left as it was.
    """
    target = _through_links(Path(os.path.abspath(target)))
    check_output_dir(target, replace_ok)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale(target.parent)
        found = _identity(target)
        tmp = _owned_dir(target, "tmp")
        os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp's folder is private (0700)
    except OSError as e:
        raise InputError(f"cannot write {target}: {e.strerror or e}") from None
    try:
        yield tmp
        _swap_in(tmp, target, found)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _release(tmp)
        raise


def _swap_in(tmp: Path, target: Path, found: tuple[int, int] | None) -> None:
    """Rename `tmp` to `target`. An earlier `target` is first moved into a folder of our
    own (".NAME.old-XXXX/previous", locked like a temp folder) and deleted with it at the
    end; if the process dies between the two renames, the next run puts it back.

    Swaps into one folder happen one at a time (a lock on the folder, held for the renames
    only). `found` is what `target` was when this write began: if another run has swapped
    its own output in since, that output is kept and this one refused, in one line."""
    _fsync_dir(tmp)
    trash: Path | None = None
    try:
        with _swap_lock(target.parent):
            if _identity(target) != found:
                raise InputError(
                    f"another Layerlift run wrote {target} while this one was writing it; "
                    "its output is kept and this run wrote nothing (give each run its own "
                    "--out)")
            if target.exists():
                trash = _owned_dir(target, "old")
                os.rename(target, trash / PREVIOUS)
            # The marker must not end up in the output; its lock is held until the rename
            # is done (a sweep can no longer open it, nor lock it).
            with contextlib.suppress(OSError):
                os.unlink(tmp / OWNER)
            os.replace(tmp, target)
            _release(tmp)
    except OSError as e:
        _release(tmp)
        if trash is not None and not target.exists():
            with contextlib.suppress(OSError):
                os.replace(trash / PREVIOUS, target)
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
            _release(trash)
        raise InputError(f"cannot write {target}: {e.strerror or e}") from None
    _fsync_dir(target.parent)
    if trash is not None:
        # The old output first: killed while deleting it, the marker is still there.
        shutil.rmtree(trash / PREVIOUS, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)
        _release(trash)


def _identity(path: Path) -> tuple[int, int] | None:
    """Which folder (or file) is at `path` now: (device, inode), None when nothing is."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


@contextlib.contextmanager
def _swap_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder` itself (flock; none without fcntl), waited for."""
    fd = os.open(folder, os.O_RDONLY) if fcntl is not None else None
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)   # drops the lock


def being_written(target: Path) -> bool:
    """True while a live run is building `target` (its ".NAME.tmp-XXXX" folder beside it
    holds a marker its process keeps locked). Always False without fcntl."""
    if fcntl is None:
        return False
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return False
    for entry in entries:
        m = _STALE_DIR.match(entry.name)
        if m and m["kind"] == "tmp" and m["name"] == target.name:
            if _locked_by_another(Path(entry.path) / OWNER):
                return True
    return False


def _locked_by_another(marker: Path) -> bool:
    """True when a process holds the marker's lock; False when it is free or not there."""
    try:
        fd = os.open(marker, os.O_RDONLY)
    except OSError:
        return False
    try:
        return not _lock(fd)
    finally:
        os.close(fd)


def _through_links(path: Path) -> Path:
    """Where a symlinked output really is: outputs are written through a symlink (the link
    stays, its target is replaced), never replace the link itself."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


# ---------------------------------------------------------------- leftovers of killed runs
#
# A temp folder (".NAME.tmp-XXXX") or a folder holding a replaced output (".NAME.old-XXXX")
# carries a marker file its process keeps locked (flock) while it works; temp files
# (".NAME.layerlift-XXXX.tmp") are locked themselves. The lock dies with the process however
# it ends (kill -9 included), so the next write into that folder can tell what is stale and
# remove it, putting a replaced output back where the run died between its two renames.
# Without fcntl (Windows) nothing is locked and nothing is swept.

OWNER = ".layerlift-owner"
PREVIOUS = "previous"
TMP_FILE_TAG = "layerlift-"   # in temp files' names: ".NAME.layerlift-XXXXXXXX.tmp"
_STALE_DIR = re.compile(r"^\.(?P<name>.+)\.(?P<kind>tmp|old)-[A-Za-z0-9_]{8}$")
_STALE_FILE = re.compile(r"^\..+\.layerlift-[A-Za-z0-9_]{8}\.tmp$")
_held: dict[Path, int] = {}   # our own locked markers: folder -> open descriptor

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None


def _lock(fd: int) -> bool:
    if fcntl is None:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _locked_temp_file(path: Path) -> tuple[int, str]:
    """A new temp file beside `path`, locked before it takes the name a sweep looks for
    (so no sweep, in this process or another, ever finds it unlocked)."""
    fd, new = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".new", dir=path.parent)
    _lock(fd)
    tmp = os.path.join(path.parent, f".{path.name}.{TMP_FILE_TAG}{Path(new).name[-12:-4]}.tmp")
    try:
        os.rename(new, tmp)
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(new)
        raise
    return fd, tmp


def _owned_dir(target: Path, kind: str) -> Path:
    """A new ".NAME.kind-XXXX" folder beside `target` with our locked marker in it (locked
    before it takes its name, as in _locked_temp_file)."""
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.{kind}-", dir=target.parent))
    fd = os.open(folder / (OWNER + ".new"), os.O_CREAT | os.O_WRONLY, 0o600)
    os.write(fd, f"{os.getpid()}\n".encode())
    _lock(fd)
    os.rename(folder / (OWNER + ".new"), folder / OWNER)
    _held[folder] = fd
    return folder


def _release(folder: Path) -> None:
    """Drop our marker (if still there) and its lock."""
    fd = _held.pop(folder, None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.unlink(folder / OWNER)
        os.close(fd)


def _dead(marker: Path) -> bool:
    """True when no process holds the marker's lock (its owner is gone)."""
    try:
        fd = os.open(marker, os.O_RDWR)
    except OSError:
        return False
    try:
        return _lock(fd)
    finally:
        os.close(fd)   # closing drops the lock just taken


def sweep_stale(folder: Path) -> list[str]:
    """Remove what killed runs left in `folder`; returns the names removed. Never raises."""
    if fcntl is None:
        return []
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        with contextlib.suppress(OSError):
            m = _STALE_DIR.match(entry.name)
            if m and entry.is_dir(follow_symlinks=False):
                marker = Path(entry.path) / OWNER
                if not marker.exists() or not _dead(marker):
                    continue
                previous, target = Path(entry.path) / PREVIOUS, folder / m["name"]
                if m["kind"] == "old" and previous.exists() and not target.exists():
                    os.rename(previous, target)     # the run died between its renames
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.name)
            elif _STALE_FILE.match(entry.name) and entry.is_file(follow_symlinks=False):
                if _dead(Path(entry.path)):
                    os.unlink(entry.path)
                    removed.append(entry.name)
    if removed:
        log.info("removed what interrupted runs left in %s: %s", folder, ", ".join(removed))
    return removed


def _fsync_dir(folder: Path) -> None:
    # Makes the renames durable on POSIX; not possible (nor needed) on Windows.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
