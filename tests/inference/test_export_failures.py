"""Every layered writer is atomic: a write that fails half-way (the disk fills, the encoder
raises) leaves the earlier file whole, no temp file behind, and one clear InputError."""

from __future__ import annotations

import errno
import os
import stat

import numpy as np
import pytest

from layerlift.inference import export
from layerlift.inference.contract import Layers
from layerlift.inference.errors import InputError
from layerlift.inference.imageio import save_image


def _layers() -> list[export.ExportLayer]:
    rng = np.random.default_rng(3)
    obj = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    logo = np.zeros((40, 56, 4), np.uint8)
    logo[8:20, 10:30] = (200, 40, 20, 255)
    return export.layers_from(Layers(object=obj, logo=logo))


WRITERS = {
    "psd": ("out.psd", lambda p, layers: export.write_psd(p, layers)),
    "ora": ("out.ora", lambda p, layers: export.write_ora(p, layers)),
    "png": ("flat.png", lambda p, layers: save_image(p, export.flatten(layers))),
    "jpeg": ("flat.jpg", lambda p, layers: save_image(p, export.flatten(layers))),
    "png-folder": ("layers", lambda p, layers: export.write_png_folder(p, layers)),
}


def _snapshot(folder) -> dict[str, bytes | None]:
    out = {}
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), folder)] = None
        for f in files:
            path = os.path.join(root, f)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = fh.read()
    return out


@pytest.mark.parametrize("kind", list(WRITERS))
def test_a_full_disk_leaves_the_earlier_file_whole(kind, tmp_path, monkeypatch):
    name, write = WRITERS[kind]
    target = tmp_path / name
    write(target, _layers())                         # an earlier, good result
    before = _snapshot(tmp_path)
    real_fsync = os.fsync

    def disk_full(fd):
        if stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(InputError, match="No space left on device") as err:
        write(target, _layers()[:1])                 # a different file would have come
    assert "\n" not in str(err.value)
    monkeypatch.undo()
    assert _snapshot(tmp_path) == before              # same files, same bytes, no temp file


def test_a_psd_encoder_failing_mid_file_leaves_the_earlier_file(tmp_path, monkeypatch):
    from layerlift.inference import psd

    target = tmp_path / "out.psd"
    export.write_psd(target, _layers())
    before = target.read_bytes()

    def half_written(fp, *args, **kwargs):
        fp.write(b"8BPS" + b"\0" * 100)
        raise OSError(errno.EIO, "input/output error")

    monkeypatch.setattr(psd, "write_psd_stream", half_written)
    with pytest.raises(InputError, match="input/output error"):
        export.write_psd(target, _layers())
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["out.psd"]
