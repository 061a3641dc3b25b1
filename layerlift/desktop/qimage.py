"""numpy <-> QImage conversions (GUI thread only) and the logo-file loader (PNG/JPEG/SVG)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPixmap

from layerlift.inference.errors import InputError

SVG_RENDER_SIDE = 1024   # an SVG logo is rendered so its longer side has this many pixels


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A QImage that owns a copy of the pixels (safe after the array goes away)."""
    rgb = np.ascontiguousarray(rgb)
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """Straight-alpha RGBA array -> QImage (a copy)."""
    rgba = np.ascontiguousarray(rgba)
    h, w = rgba.shape[:2]
    return QImage(rgba.data, w, h, rgba.strides[0], QImage.Format.Format_RGBA8888).copy()


def rgba_to_pixmap(rgba: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(rgba_to_qimage(rgba))


def qimage_to_rgba(image: QImage) -> np.ndarray:
    """QImage -> HxWx4 uint8 straight-alpha RGBA (a copy)."""
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    w, h = image.width(), image.height()
    buf = np.frombuffer(image.constBits(), np.uint8, count=image.sizeInBytes())
    return buf.reshape(h, image.bytesPerLine())[:, : w * 4].reshape(h, w, 4).copy()


def load_logo_file(path: str) -> np.ndarray:
    """A replacement logo as an hxwx4 RGBA array: PNG/JPEG/WebP via the core's loader, SVG
    rendered with QtSvg on a transparent background."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no such file: {path}")
    if p.suffix.lower() in (".svg", ".svgz"):
        return render_svg(p)
    from layerlift.inference.imageio import load_rgba
    return load_rgba(str(p))


def render_svg(path: Path, side: int = SVG_RENDER_SIDE) -> np.ndarray:
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(path))
    if not renderer.isValid():
        raise InputError(f"not a readable SVG: {path.name}")
    size = renderer.defaultSize()
    if size.isEmpty():
        size = QSize(side, side)
    scale = side / max(size.width(), size.height())
    w, h = max(1, round(size.width() * scale)), max(1, round(size.height() * scale))
    image = QImage(w, h, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, w, h))
    painter.end()
    rgba = qimage_to_rgba(image)
    if not rgba[..., 3].any():
        raise InputError(f"the SVG draws nothing: {path.name}")
    return rgba
