"""`layerlift --version`: the installed version, or the package's constant without metadata."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata

import layerlift
from layerlift import cli


def test_version_prints_the_installed_version(capsys):
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"layerlift {metadata.version('layerlift')}\n"


def test_the_constant_is_the_packaged_version():
    assert metadata.version("layerlift") == layerlift.__version__


def test_without_metadata_the_constant_is_printed(capsys, monkeypatch):
    def no_metadata(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", no_metadata)
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"layerlift {layerlift.__version__}\n"


def test_version_loads_neither_qt_nor_torch():
    code = ("import sys; from layerlift.cli import main; main(['--version']); "
            "print(sorted(m for m in ('torch', 'PySide6') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.splitlines()[-1] == "[]"
