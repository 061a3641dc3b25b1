"""Where the app's bundled files (icons, stylesheet, sample photo) are, from a checkout, an
installed wheel or a PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)   # set inside a PyInstaller bundle
    if bundle:
        return Path(bundle) / "resources"
    from layerlift import resources
    return Path(resources.__file__).resolve().parent


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
