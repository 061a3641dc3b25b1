"""A batch's clicks become masks: for each photo of a points table (file,x,y), the mark under
its clicks is selected (select.select_mark) and written as a mask file that the batch then
uses as any mask beside a photo.

The masks go to OUT/.selected-masks/, one per photo, named by the photo's stem and a digest
of its path. A rerun selects again and writes the same mask, so the batch's resume key (the
mask file's bytes among others) is unchanged and a finished photo is skipped.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from layerlift.inference.batch.prompts import PointTable, Prompt
from layerlift.inference.errors import InputError

FOLDER = ".selected-masks"


class SelectedMasks:
    """A batch prompt source: each photo's mask selected from its clicks in `table`."""

    def __init__(self, table: PointTable, out: str | os.PathLike,
                 tolerance: float = 0.5) -> None:
        self.table = table
        self.folder = Path(os.path.abspath(out)) / FOLDER
        self.tolerance = tolerance

    def for_photo(self, photo: Path) -> Prompt:
        from layerlift.inference import imageio
        from layerlift.inference.select import select_mark

        points = self.table.points_for(photo)
        if not points:
            return Prompt(missing=f"no point for {photo.name} in {self.table.path}")
        try:
            image = imageio.load_image(photo)
            mask = select_mark(image, points, tolerance=self.tolerance)
        except InputError as e:
            return Prompt(missing=str(e))
        digest = hashlib.sha256(os.path.realpath(photo).encode()).hexdigest()[:12]
        path = self.folder / f"{photo.stem}-{digest}.png"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise InputError(f"cannot make the folder {self.folder}: "
                             f"{e.strerror or e}") from None
        imageio.save_png(path, mask, protect=[photo])
        return Prompt(mask=str(path))
