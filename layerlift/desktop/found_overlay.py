"""The found-mark overlay: after a decomposition, what the engine took for the mark and, apart,
where it filled in the surface, so a piece of logo left on the object can be seen and fixed
with the hint brushes.

- The found mark is the Logo layer's alpha where the logo now sits (magenta).
- The filled region is where the Object layer differs from the photo (cyan, striped).
- The confidence of the classical engine is said in words beside the fill ("likely clean",
  "check the fill here", ...); when it is not "likely clean", the filled region is outlined.

View > Show Found Mark toggles it; it turns on after each decomposition (canvas.py).
"""

from __future__ import annotations

import weakref

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from layerlift.desktop.document import LOGO, OBJECT, Document, Rect, placed_asset
from layerlift.desktop.qimage import rgba_to_pixmap
from layerlift.inference.confidence import CLEAN, confidence_text, confidence_words

MARK_RGB = (255, 0, 170)
FILL_RGB = (0, 200, 255)
DOUBT_COLOUR = QColor(255, 176, 0)       # as the canvas's dashed fill-check box
MARK_ALPHA = 0.65                        # the mark's tint at full logo alpha
FILL_ALPHA = (25, 150)                   # the fill's tint between and on its stripes
STRIPE = 6                               # stripe period, photo pixels
Z_FOUND = 999                            # under the mask overlay, over the layers


def found_mark(doc: Document) -> tuple[np.ndarray, Rect] | None:
    """The Logo layer's alpha (uint8) as placed on the photo, and its box; None without a
    logo or with one off the photo."""
    picture = _mark_of(doc)
    return None if picture is None else (picture[1], picture[2])


def filled_region(doc: Document) -> tuple[np.ndarray, Rect] | None:
    """Where the Object layer's pixels differ from the photo (HxW bool over its patch's box);
    None without an object window or where nothing was filled."""
    picture = _fill_of(doc)
    return None if picture is None else (picture[1], picture[2])


def fill_words(meta: dict) -> str | None:
    """The confidence in words, e.g. "Filled: confidence 72 %, likely clean"; None when the
    engine gives none (flux)."""
    confidence = meta.get("confidence")
    if not isinstance(confidence, int | float) or isinstance(confidence, bool):
        return None
    return f"Filled: {confidence_text(confidence)}"


def is_doubtful(meta: dict) -> bool:
    confidence = meta.get("confidence")
    return isinstance(confidence, int | float) and not isinstance(confidence, bool) \
        and confidence_words(confidence) != CLEAN


# The overlay's pictures, worked out once per logo and per object patch: the worker makes
# them for a new decomposition (`prepare`), so the GUI thread, which shows them as the result
# becomes layers, only looks them up (~8 ms less of the window's longest stall at 24 MP).
# One entry per picture, keyed by the very arrays it was made from (weakly: a photo closed
# is not kept for it) and its settings.
_made: dict[str, tuple[tuple, tuple, object]] = {}


def _once(name: str, arrays: tuple, values: tuple, make):
    made = _made.get(name)
    if made is not None and len(made[0]) == len(arrays) and made[1] == values and \
            all(ref() is a for ref, a in zip(made[0], arrays, strict=True)):
        return made[2]
    picture = make()
    # one assignment: safe across threads
    _made[name] = (tuple(weakref.ref(a) for a in arrays), values, picture)
    return picture


def mark_picture(asset: np.ndarray, quad: np.ndarray, shape: tuple[int, int],
                 bend: float) -> tuple[np.ndarray, np.ndarray, Rect] | None:
    """The found mark's tinted RGBA, the logo's alpha itself and its box (see found_mark)."""
    def make():
        placed = placed_asset(asset, quad, shape, bend)
        if placed is None:
            return None
        pixels, box = placed
        alpha = pixels[..., 3]
        return _tint(np.rint(alpha * MARK_ALPHA).astype(np.uint8), MARK_RGB), alpha, box
    return _once("mark", (asset,), (np.asarray(quad, np.float64).tobytes(), bend, shape), make)


def fill_picture(patch: np.ndarray, rect: Rect, image: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, Rect, tuple[int, int]] | None:
    """The filled region's striped RGBA, the region itself, its box (see filled_region) and
    where the words go (under the region's lowest row, at its leftmost column)."""
    def make():
        x0, y0, x1, y1 = rect
        region = np.any(patch[..., :3] != image[y0:y1, x0:x1], axis=2)
        if not region.any():
            return None
        yy, xx = np.ogrid[y0:y1, x0:x1]
        stripes = ((xx + yy) // (STRIPE // 2)) % 2 == 0
        alpha = np.where(region, np.where(stripes, FILL_ALPHA[1], FILL_ALPHA[0]), 0)
        words_at = (x0 + int(np.flatnonzero(region.any(axis=0))[0]),
                    y0 + int(np.flatnonzero(region.any(axis=1))[-1]) + 4)
        return _tint(alpha.astype(np.uint8), FILL_RGB), region, rect, words_at
    return _once("fill", (patch, image), (rect,), make)


def _mark_of(doc: Document) -> tuple[np.ndarray, np.ndarray, Rect] | None:
    """The document's Logo layer's mark_picture, None without a placed logo."""
    logo = doc.layer(LOGO)
    if logo is None or logo.asset is None or logo.quad is None:
        return None
    return mark_picture(logo.asset, logo.quad, doc.shape, logo.bend)


def _fill_of(doc: Document) -> tuple[np.ndarray, np.ndarray, Rect, tuple[int, int]] | None:
    """The document's Object window's fill_picture, None without an Object window."""
    obj = doc.layer(OBJECT)
    if obj is None or obj.patch is None:
        return None
    return fill_picture(obj.patch, obj.patch_rect, doc.image)


def prepare(image: np.ndarray, result) -> None:
    """Make the overlay's pictures for a decomposition's result (desktop.jobs.Decomposition)
    off the GUI thread, as the layers it becomes will ask for them."""
    mark_picture(result.asset, np.asarray(result.quad, np.float64), image.shape[:2], 0.0)
    x, y = result.object_offset
    h, w = result.object_patch.shape[:2]
    fill_picture(result.object_patch, (x, y, x + w, y + h), image)


def _tint(alpha: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    out = np.empty(alpha.shape + (4,), np.uint8)
    out[..., :3] = rgb
    out[..., 3] = alpha
    return out


def _outline(filled: np.ndarray, x0: int, y0: int) -> QPainterPath:
    contours, _ = cv2.findContours(filled.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    path = QPainterPath()
    for contour in contours:
        points = [QPointF(x0 + x + 0.5, y0 + y + 0.5) for x, y in contour[:, 0]]
        path.addPolygon(QPolygonF(points + points[:1]))
    return path


class Label(QGraphicsSimpleTextItem):
    """White words on a dark box, readable on any photo."""

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-4, -2, 4, 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.fillRect(self.boundingRect(), QColor(0, 0, 0, 190))
        super().paint(painter, option, widget)


class FoundOverlay:
    """The overlay's scene items: the mark, the fill, the doubtful outline and the words."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.mark = QGraphicsPixmapItem()
        self.fill = QGraphicsPixmapItem()
        self.outline = QGraphicsPathItem()
        pen = QPen(DOUBT_COLOUR, 2)
        pen.setCosmetic(True)
        self.outline.setPen(pen)
        self.words = Label()
        self.words.setBrush(QBrush(QColor(255, 255, 255)))
        self.words.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        # The fill's stripes over the mark: both show where they overlap.
        for z, item in enumerate((self.mark, self.fill, self.outline, self.words)):
            item.setZValue(Z_FOUND + z / 10)
            item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            scene.addItem(item)
        self.visible = False
        self.shown_words: str | None = None     # what the label says (None: no label)
        self.doubtful = False                   # the outline is drawn
        # The pictures the items hold now: shown again as they are when a refresh finds the
        # same ones (a recompose, an edit of another layer), not converted again.
        self._on_items: dict[str, object] = {}
        self._set_shown(False)

    def _items(self) -> tuple[QGraphicsItem, ...]:
        return self.fill, self.mark, self.outline, self.words

    def _set_shown(self, on: bool) -> None:
        for item in self._items():
            item.setVisible(on)

    def set_visible(self, on: bool, doc: Document) -> None:
        self.visible = on
        self.refresh(doc)

    def refresh(self, doc: Document) -> None:
        """Redraw from the document (nothing is computed while hidden)."""
        self._set_shown(False)
        self.shown_words, self.doubtful = None, False
        if not self.visible:
            self._on_items.clear()          # nothing kept alive for a hidden overlay
            return
        mark = _mark_of(doc)
        if mark is not None:
            if self._on_items.get("mark") is not mark:
                tinted, _alpha, (x0, y0, _x1, _y1) = mark
                self.mark.setPixmap(rgba_to_pixmap(tinted))
                self.mark.setOffset(x0, y0)
                self._on_items["mark"] = mark
            self.mark.setVisible(True)
        filled = _fill_of(doc)
        if filled is None:
            return
        tinted, region, (x0, y0, x1, y1), words_at = filled
        if self._on_items.get("fill") is not filled:
            self.fill.setPixmap(rgba_to_pixmap(tinted))
            self.fill.setOffset(x0, y0)
            self._on_items["fill"] = filled
        self.fill.setVisible(True)
        self.doubtful = is_doubtful(doc.meta)
        if self.doubtful:
            if self._on_items.get("outline") is not filled:
                self.outline.setPath(_outline(region, x0, y0))
                self._on_items["outline"] = filled
            self.outline.setVisible(True)
        self.shown_words = fill_words(doc.meta)
        if self.shown_words is not None:
            self.words.setText(self.shown_words)
            self.words.setPos(*words_at)
            self.words.setVisible(True)
