"""Where a batch finds each photo's mark: a mask beside it, a folder of masks, one mask or box
for every photo, a table of boxes, or a table of points.

Each source answers `for_photo(photo) -> Prompt` in the driver, before any work starts; the
Prompt is small and goes to whichever worker decomposes the photo.

Tables are CSV files, a header row optional, one row per box or point:
    boxes.csv    file,x0,y0,x1,y1    (pixels, x1 and y1 exclusive; several rows: their union)
    points.csv   file,x,y            (pixels; several rows: several clicks on one mark)
`file` is a photo's file name (`shot.jpg`: every photo of that name), or a path with a folder
in it, taken from the table's own folder (`a/shot.jpg`: that photo only, before a bare name).
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from layerlift.inference.batch.inputs import IMAGE_SUFFIXES, MASK_SUFFIX
from layerlift.inference.errors import InputError

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Prompt:
    """One photo's mark: a mask file or boxes; `missing` says why there is neither."""

    mask: str | None = None
    boxes: tuple[Box, ...] = ()
    missing: str | None = None


class PromptSource(Protocol):
    def for_photo(self, photo: Path) -> Prompt: ...


class MasksBeside:
    """STEM.mask.png beside each photo (the default)."""

    def for_photo(self, photo: Path) -> Prompt:
        mask = photo.with_name(photo.stem + MASK_SUFFIX)
        if not mask.is_file():
            return Prompt(missing=f"no mask for {photo.name}: expected {mask.name} beside it "
                          "(or give --masks DIR, --boxes CSV or --box)")
        return Prompt(mask=str(mask))


class MaskFolder:
    """Masks in one folder, matched by the photo's stem: STEM.mask.png, else STEM.<image>."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(os.path.abspath(folder))
        if not self.folder.is_dir():
            raise InputError(f"--masks {self.folder} is not a folder")
        self.by_stem: dict[str, list[Path]] = defaultdict(list)
        for f in sorted(self.folder.iterdir()):
            name = f.name
            if name.startswith(".") or f.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            stem = name[:-len(MASK_SUFFIX)] if name.lower().endswith(MASK_SUFFIX) else f.stem
            self.by_stem[stem].append(f)
        if not self.by_stem:
            raise InputError(f"--masks {self.folder} holds no mask images")

    def for_photo(self, photo: Path) -> Prompt:
        found = self.by_stem.get(photo.stem, [])
        named = [f for f in found if f.name.lower().endswith(MASK_SUFFIX)]
        found = named or found
        if not found:
            return Prompt(missing=f"no mask for {photo.name} in {self.folder} "
                          f"(expected {photo.stem}{MASK_SUFFIX} or {photo.stem}.png)")
        if len(found) > 1:
            return Prompt(missing=f"{len(found)} masks for {photo.name} in {self.folder}: "
                          f"{', '.join(f.name for f in found)}; keep one")
        return Prompt(mask=str(found[0]))


class OneMask:
    """The same mask file for every photo (photos shot on one rig)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(os.path.abspath(path))
        if not self.path.is_file():
            raise InputError(f"mask {self.path} not found")

    def for_photo(self, photo: Path) -> Prompt:
        return Prompt(mask=str(self.path))


class OneBox:
    """The same box for every photo."""

    def __init__(self, box: Box) -> None:
        self.box = tuple(int(v) for v in box)

    def for_photo(self, photo: Path) -> Prompt:
        return Prompt(boxes=(self.box,))


def _read_rows(path: Path, columns: tuple[str, ...]) -> list[tuple[int, list[str]]]:
    """(line number, fields) of a CSV table, its optional header row left out."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [(n, [c.strip() for c in row]) for n, row in enumerate(csv.reader(f), 1)
                    if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"cannot read the table {path}: {e}") from None
    if rows and len(rows[0][1]) > 1 and not _is_number(rows[0][1][1]):
        rows = rows[1:]  # a header
    for n, fields in rows:
        if len(fields) != len(columns) or not fields[0]:
            raise InputError(f"{path} line {n}: expected {','.join(columns)}, "
                             f"got {','.join(fields)!r}")
    if not rows:
        raise InputError(f"{path} has no rows ({','.join(columns)})")
    return rows


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _Table:
    """Rows keyed by photo: a bare file name, or a path taken from the table's folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.by_name: dict[str, list] = defaultdict(list)
        self.by_path: dict[str, list] = defaultdict(list)

    def add(self, file: str, value) -> None:
        if "/" in file or os.sep in file:
            p = Path(file)
            full = p if p.is_absolute() else self.path.parent / p
            self.by_path[os.path.realpath(full)].append(value)
        else:
            self.by_name[file].append(value)

    def rows_for(self, photo: Path) -> list:
        return self.by_path.get(os.path.realpath(photo)) or self.by_name.get(photo.name, [])


class BoxTable(_Table):
    """boxes.csv: file,x0,y0,x1,y1; a photo with several rows gets their union."""

    COLUMNS = ("file", "x0", "y0", "x1", "y1")

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(Path(path))
        for n, fields in _read_rows(self.path, self.COLUMNS):
            try:
                x0, y0, x1, y1 = (int(v) for v in fields[1:])
            except ValueError:
                raise InputError(f"{self.path} line {n}: x0,y0,x1,y1 must be whole numbers, "
                                 f"got {','.join(fields[1:])!r}") from None
            if x1 <= x0 or y1 <= y0:
                raise InputError(f"{self.path} line {n}: box {x0},{y0},{x1},{y1} has no area "
                                 "(need x1 > x0 and y1 > y0)")
            self.add(fields[0], (x0, y0, x1, y1))

    def for_photo(self, photo: Path) -> Prompt:
        boxes = self.rows_for(photo)
        if not boxes:
            return Prompt(missing=f"no box for {photo.name} in {self.path}")
        return Prompt(boxes=tuple(boxes))


class PointTable(_Table):
    """points.csv: file,x,y; a photo with several rows gets several clicks."""

    COLUMNS = ("file", "x", "y")

    def __init__(self, path: str | os.PathLike) -> None:
        super().__init__(Path(path))
        for n, fields in _read_rows(self.path, self.COLUMNS):
            try:
                x, y = (float(v) for v in fields[1:])
            except ValueError:
                raise InputError(f"{self.path} line {n}: x,y must be numbers, "
                                 f"got {','.join(fields[1:])!r}") from None
            if not (x >= 0 and y >= 0):  # also refuses nan
                raise InputError(f"{self.path} line {n}: point {x:g},{y:g} is outside "
                                 "the photo")
            self.add(fields[0], (x, y))

    def points_for(self, photo: Path) -> list[tuple[float, float]]:
        return self.rows_for(photo)

    def for_photo(self, photo: Path) -> Prompt:
        # Clicks are not a mask: run_batch wraps a points table in
        # selected_masks.SelectedMasks, which selects each photo's mark from them.
        raise InputError(POINTS_NEED_SELECTION)


POINTS_NEED_SELECTION = ("a points table gives clicks, not masks: run it through run_batch, "
                         "which selects each photo's mark from its clicks")
