"""Hard stops during a write (issue 12, point 4): SIGTERM unwinds like Ctrl+C, what a killed
run left is removed by the next run (and a replaced output put back), and a symlinked --out
is written through. Each kill happens in a child process at a chosen moment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerlift.inference import cli, imageio

ROOT = Path(__file__).parents[2]
pytestmark = pytest.mark.skipif(imageio.fcntl is None, reason="locks need fcntl (POSIX)")


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(90, 160, (60, 80, 3), dtype=np.uint8)
    image[20:40, 20:60] = (200, 30, 30)
    Image.fromarray(image).save(tmp_path / "photo.png")
    mask = np.zeros((60, 80), np.uint8)
    mask[18:42, 18:62] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return tmp_path


def _decompose_argv(d: Path, out: Path) -> list[str]:
    return ["decompose", str(d / "photo.png"), "--mask", str(d / "mask.png"), "--out", str(out)]


def _child(code: str, *args: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter (argv[1:] = args) from the checkout."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# In the child: the decompose's export stops at its first file with `signal` sent to itself.
KILL_DURING_EXPORT = """
    import os, signal, sys
    from layerlift.inference import cli, export
    real = export.export_layers
    def stopped(folder, *args):
        (folder / "object.png").write_bytes(b"half")
        os.kill(os.getpid(), getattr(signal, sys.argv[1]))
        return real(folder, *args)
    export.export_layers = stopped
    sys.exit(cli.main(sys.argv[2:]))
"""


def test_sigterm_during_the_write_unwinds_like_ctrl_c(photo):
    out = photo / "out"
    assert cli.main(_decompose_argv(photo, out)) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    run = _child(KILL_DURING_EXPORT, "SIGTERM", *_decompose_argv(photo, out))
    assert run.returncode == cli.EXIT_TERMINATED, run.stderr
    assert run.stderr == "layerlift: error: terminated; nothing was written\n"
    assert _hidden(photo) == []                                 # no temp folder left
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before   # previous intact


def test_what_a_killed_run_left_is_removed_by_the_next_run(photo):
    out = photo / "out"
    run = _child(KILL_DURING_EXPORT, "SIGKILL", *_decompose_argv(photo, out))
    assert run.returncode == -signal.SIGKILL
    left = _hidden(photo)
    assert len(left) == 1 and left[0].startswith(".out.tmp-")
    assert (photo / left[0] / imageio.OWNER).exists()
    assert cli.main(_decompose_argv(photo, out)) == 0
    assert _hidden(photo) == [] and (out / "report.json").exists()


def test_a_run_killed_between_its_renames_gets_the_previous_output_back(photo):
    out = photo / "out"
    assert cli.main(_decompose_argv(photo, out)) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # Killed after the previous output was moved aside, before the new one took its place.
    run = _child("""
        import os, signal, sys
        from layerlift.inference import cli, imageio
        real = os.rename
        def rename(src, dst):
            real(src, dst)
            if os.path.basename(dst) == imageio.PREVIOUS:
                os.kill(os.getpid(), signal.SIGKILL)
        imageio.os.rename = rename
        sys.exit(cli.main(sys.argv[1:]))
    """, *_decompose_argv(photo, out))
    assert run.returncode == -signal.SIGKILL
    assert not out.exists() and len(_hidden(photo)) == 2       # .out.tmp-*, .out.old-*
    assert imageio.sweep_stale(photo)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _hidden(photo) == []


def test_a_folder_still_being_written_is_not_swept(tmp_path):
    target = tmp_path / "out"
    with imageio.atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("in progress")
        assert imageio.sweep_stale(tmp_path) == []
        assert (tmp / "a.txt").exists()
    assert (target / "a.txt").exists() and _hidden(tmp_path) == []


def test_only_our_own_leftovers_are_swept(tmp_path):
    foreign = tmp_path / ".notes.tmp-abcdefgh"          # our name pattern, not our marker
    foreign.mkdir()
    (tmp_path / ".x.png.abcdefgh.tmp").write_text("someone else's temp file")
    ours = tmp_path / ".x.png.layerlift-abcdefgh.tmp"   # a temp file nobody holds
    ours.write_text("left by a killed save")
    assert imageio.sweep_stale(tmp_path) == [ours.name]
    assert foreign.exists() and (tmp_path / ".x.png.abcdefgh.tmp").exists()


def test_a_killed_file_write_is_swept_by_the_next_write(tmp_path):
    target = tmp_path / "project.ora"
    run = _child("""
        import os, signal, sys
        from layerlift.inference import imageio
        with imageio.atomic_file(sys.argv[1]) as f:
            f.write(b"half a project")
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    """, str(target))
    assert run.returncode == -signal.SIGKILL
    assert len(_hidden(tmp_path)) == 1
    imageio.atomic_write_bytes(target, b"whole")
    assert _hidden(tmp_path) == [] and target.read_bytes() == b"whole"


def test_a_symlinked_out_is_written_through(photo):
    real = photo / "real-results"
    real.mkdir()
    link = photo / "results"
    link.symlink_to(real, target_is_directory=True)
    for _ in range(2):                                  # a first write, then a replacement
        assert cli.main(_decompose_argv(photo, link)) == 0
        assert link.is_symlink() and os.readlink(link) == str(real)
        assert (real / "report.json").exists()
        assert _hidden(photo) == []


def test_a_symlinked_file_is_written_through(tmp_path):
    real = tmp_path / "real.png"
    real.write_bytes(b"old")
    link = tmp_path / "link.png"
    link.symlink_to(real)
    imageio.atomic_write_bytes(link, b"new")
    assert link.is_symlink() and real.read_bytes() == b"new" and _hidden(tmp_path) == []
