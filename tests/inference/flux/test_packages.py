"""Without torch & co. (the lite bundle), choosing flux says how to enable it, in one line."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from layerlift.inference.engines.flux import models, packages
from layerlift.inference.engines.flux.engine import FluxEngine
from layerlift.inference.errors import EngineUnavailable

# Makes the flux engine's packages unimportable in a child process, as in the lite bundle.
BLOCK = "import sys\nfor n in {names!r}: sys.modules[n] = None\n"


@pytest.fixture
def no_torch(monkeypatch):
    real = packages.find_spec
    monkeypatch.setattr(packages, "find_spec",
                        lambda name: None if name in ("torch", "diffusers") else real(name))


def test_all_installed_here():
    assert packages.missing_packages() == []


def test_engine_refuses_with_the_fix(no_torch):
    with pytest.raises(EngineUnavailable) as info:
        FluxEngine()
    message = str(info.value)
    assert "needs torch, diffusers," in message
    assert "make bundle-full" in message and "pip install ." in message
    assert "\n" not in message


def test_models_lists_the_fix_instead_of_weights(no_torch, tmp_path, monkeypatch):
    monkeypatch.setattr(models, "app_settings_file", lambda: tmp_path / "no-settings.json")
    out = io.StringIO()
    assert models.list_models(out) == 0
    text = out.getvalue()
    assert "flux       FLUX.1-Fill-dev + LoRA (not installed here)" in text
    assert "make bundle-full" in text and "FLUX weights" not in text


def test_cli_exits_2_with_one_line_when_torch_is_missing(tmp_path):
    from PIL import Image

    Image.new("RGB", (32, 32), "white").save(tmp_path / "p.png")
    Image.new("L", (32, 32), 255).save(tmp_path / "m.png")
    code = BLOCK.format(names=list(packages.PACKAGES)) + (
        "from layerlift.cli import main\n"
        f"sys.exit(main(['decompose', {str(tmp_path / 'p.png')!r}, '--mask', "
        f"{str(tmp_path / 'm.png')!r}, '--engine', 'flux', '--out', "
        f"{str(tmp_path / 'out')!r}]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("layerlift: error: the flux engine needs torch,")
    assert "make bundle-full" in line
    assert not (tmp_path / "out").exists()
