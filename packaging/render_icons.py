"""Render the app icon's PNG sizes from its SVG (QtSvg, offscreen; no display needed).

    .venv/bin/python packaging/render_icons.py

Writes layerlift/resources/icons/layerlift-<N>.png for each size in SIZES; the PNGs are
committed, so a build never needs this. Re-run it after editing layerlift.svg.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "layerlift" / "resources" / "icons"
SVG = ICONS / "layerlift.svg"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def png_path(size: int) -> Path:
    return ICONS / f"layerlift-{size}.png"


def render(renderer, size: int) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(png_path(size)), "PNG"):
        raise OSError(f"could not write {png_path(size)}")


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SVG}")
    for size in SIZES:
        render(renderer, size)
        print(png_path(size).relative_to(ICONS.parents[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
