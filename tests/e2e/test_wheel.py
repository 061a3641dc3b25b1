"""The wheel installs one top-level package, `layerlift`, and nothing else."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_holds_only_the_layerlift_package(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = tmp_path.glob("layerlift-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"layerlift", next(t for t in top if t.endswith(".dist-info"))}
    # the bundled files and the trainer's example config travel inside the package
    assert "layerlift/resources/sample/photo.jpg" in names
    assert "layerlift/training/example_config.toml" in names
    assert "layerlift/cli.py" in names
