"""The canvas: a QGraphicsView over the document's layers, the mask overlay and logo handles.

Brush strokes write into the document's numpy mask and recolour only their dirty rectangle
of a numpy-backed ARGB32 overlay image (STACK-NOTES: recolouring the whole overlay per stamp
costs ~100 ms at 4096²; the dirty rect keeps a move well under a millisecond).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QPolygonF,
    QRegion,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsView,
    QStyleOptionGraphicsItem,
    QWidget,
)

from layerlift.desktop import bend_handle
from layerlift.desktop.bend_control import UNDO_TEXT as BEND_UNDO_TEXT
from layerlift.desktop.display import display_for, prepare
from layerlift.desktop.document import (
    LOGO,
    Document,
    Layer,
    Rect,
    StrokeBackup,
    asset_corners,
    moved_quad,
    placed_asset,
    quad_centre,
    rotated_quad,
    scaled_quad,
    union,
)
from layerlift.desktop.editor import Editor
from layerlift.desktop.found_overlay import FoundOverlay
from layerlift.desktop.qimage import rgba_to_pixmap

BRUSH, ERASER, BOX, SELECT, MOVE, TRANSFORM, PERSPECTIVE, HAND = (
    "brush", "eraser", "box", "select", "move", "transform", "perspective", "hand")
HINT_MARK, HINT_NOT_MARK = "hint-mark", "hint-not-mark"
HINT_TOOLS = {HINT_MARK: 1, HINT_NOT_MARK: 2}     # the hint value each paints (hints.py)
PAINT_TOOLS = (BRUSH, ERASER, HINT_MARK, HINT_NOT_MARK)
MASK_TOOLS = (BRUSH, ERASER, BOX, SELECT, HINT_MARK, HINT_NOT_MARK)
LOGO_TOOLS = (MOVE, TRANSFORM, PERSPECTIVE)
BEND_TOOLS = (TRANSFORM, PERSPECTIVE)      # the tools with the bend handle (and the slider)
HANDLE_PX = 9          # corner handle size on screen
BEND_HANDLE_SCALE = 1.4  # the bend diamond's half diagonal over a corner handle's half side
FRAME_COLOUR = QColor(0, 160, 255)
ZOOM_MIN, ZOOM_MAX = 0.01, 64.0
Z_OVERLAY, Z_HINTS, Z_FRAME, Z_CURSOR = 1000, 1000.5, 1001, 1002
# Hint overlay colours (premultiplied ARGB): "mark" green, "not mark" red, as on disk. No
# colour channel may exceed alpha: a red of 0xC0 over alpha 0xB0 overflowed on light ground
# (white + red wrapped round to a dark teal).
HINT_COLOURS = {1: 0xB000B000, 2: 0xB0B00000}
FILL_CHECK_COLOUR = QColor(255, 176, 0)   # the outline of a fill to check
NUDGE = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1),
         Qt.Key.Key_Down: (0, 1)}


def overlay_lut(colour: QColor) -> np.ndarray:
    """uint32 premultiplied ARGB for every mask coverage 0..255 in the given colour."""
    cov = np.arange(256, dtype=np.float64) / 255.0
    a = np.rint(cov * 255).astype(np.uint32)
    r = np.rint(cov * colour.red()).astype(np.uint32)
    g = np.rint(cov * colour.green()).astype(np.uint32)
    b = np.rint(cov * colour.blue()).astype(np.uint32)
    return (a << 24) | (r << 16) | (g << 8) | b


class MaskOverlay(QGraphicsItem):
    """The mask drawn in a colour; a QImage that shares memory with a numpy uint32 array."""

    def __init__(self, mask: np.ndarray, colour: QColor) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self.setZValue(Z_OVERLAY)
        h, w = mask.shape
        self._pixels = np.zeros((h, w), np.uint32)
        self._image = QImage(self._pixels.data, w, h, w * 4,
                             QImage.Format.Format_ARGB32_Premultiplied)
        self._lut = overlay_lut(colour)
        self._mask = mask
        # Outside this box the overlay is fully transparent, so painting skips it: drawing the
        # whole 24 MP overlay scaled costs ~2.5 ms on every repaint, for a mask of a few
        # hundred pixels. It only grows (an erased area stays inside), so it is never too small.
        self.drawn: QRect = QRect()
        if mask.any():
            self.refresh((0, 0, w, h))

    def set_mask(self, mask: np.ndarray) -> None:
        self._mask = mask
        self.drawn = QRect()
        self.refresh((0, 0, mask.shape[1], mask.shape[0]))

    def set_colour(self, colour: QColor) -> None:
        self._lut = overlay_lut(colour)
        self.refresh((0, 0, self._mask.shape[1], self._mask.shape[0]))

    def refresh(self, rect: tuple[int, int, int, int]) -> None:
        """Recolour one rectangle from the mask and schedule its repaint."""
        x0, y0, x1, y1 = rect
        region = self._mask[y0:y1, x0:x1]
        if region.size > 1 << 16:
            # Large areas: OpenCV's table lookup is ~10x np.take and runs without the GIL.
            self._pixels[y0:y1, x0:x1] = cv2.LUT(region, self._lut_i32).view(np.uint32)
        else:
            np.take(self._lut, region, out=self._pixels[y0:y1, x0:x1])
        bx, by, bw, bh = cv2.boundingRect(region.view(np.uint8))   # its non-zero pixels
        if bw and bh:
            self.drawn = self.drawn.united(QRect(x0 + bx, y0 + by, bw, bh))
        self.update(QRectF(x0, y0, x1 - x0, y1 - y0))

    @property
    def _lut_i32(self) -> np.ndarray:
        return self._lut.view(np.int32)

    def pixels(self) -> np.ndarray:
        return self._pixels

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._image.width(), self._image.height())

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        exposed = option.exposedRect.toAlignedRect().intersected(self.drawn)
        if not exposed.isEmpty():      # (the whole image, clipped: see PhotoLayerItem.paint)
            painter.save()
            painter.setClipRect(exposed, Qt.ClipOperation.IntersectClip)
            painter.drawImage(self.boundingRect(), self._image)
            painter.restore()


def hint_lut() -> np.ndarray:
    lut = np.zeros(256, np.uint32)
    for value, argb in HINT_COLOURS.items():
        lut[value] = argb
    return lut


class HintOverlay(MaskOverlay):
    """The hints drawn over the mask: green "this is mark", red "this is not mark"."""

    def __init__(self, hints: np.ndarray) -> None:
        super().__init__(np.zeros((1, 1), np.uint8), QColor(0, 0, 0))
        self.setZValue(Z_HINTS)
        self._lut = hint_lut()
        self._pixels = np.zeros(hints.shape, np.uint32)
        h, w = hints.shape
        self._image = QImage(self._pixels.data, w, h, w * 4,
                             QImage.Format.Format_ARGB32_Premultiplied)
        self._mask = hints
        # Shown with the mask, but out of the scene's painting while there is no hint to
        # draw (most photos): every repaint, each brush move's too, skips the item.
        self.shown = True
        self.setVisible(False)
        if hints.any():
            self.refresh((0, 0, w, h))

    def set_colour(self, colour: QColor) -> None:   # (the hint colours are fixed)
        pass

    def show_with_mask(self, shown: bool) -> None:
        self.shown = shown
        self.setVisible(shown and not self.drawn.isEmpty())

    def refresh(self, rect: tuple[int, int, int, int]) -> None:
        super().refresh(rect)
        self.setVisible(self.shown and not self.drawn.isEmpty())


class PhotoLayerItem(QGraphicsItem):
    """A full-size layer, drawn from numpy memory (desktop/display.py) without a QPixmap.

    Zoomed out, it draws from a halved copy close to the screen's resolution, smoothly
    scaled: a 24 MP layer at "fit" costs about as much to paint as a screen-sized one and
    looks like a downscaled photo, not an aliased one.
    """

    def __init__(self, rgba: np.ndarray) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)
        self._display = display_for(rgba)
        self._format = QImage.Format.Format_RGB32 if self._display.opaque \
            else QImage.Format.Format_ARGB32_Premultiplied
        self._images: dict[int, QImage] = {}

    def _image(self, factor: int) -> QImage:
        if factor not in self._images:
            pixels = self._display.level(factor)      # kept alive by the display's levels
            h, w = pixels.shape[:2]
            self._images[factor] = QImage(pixels.data, w, h, pixels.strides[0], self._format)
        return self._images[factor]

    def boundingRect(self) -> QRectF:
        return QRectF(0, 0, self._display.width, self._display.height)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        exposed = option.exposedRect.intersected(self.boundingRect())
        if exposed.isEmpty():
            return
        scale = painter.worldTransform().m11()
        factor = 1
        while scale * factor * 2 <= 1.0 and factor < 64:
            factor *= 2
        # Smooth when shrinking (no aliasing); crisp pixels when zoomed in, as editors do.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1.0)
        # The whole image onto the whole layer, clipped to the exposed part. Drawn alone,
        # the exposed part was sampled from its own edges: at a fractional zoom a screen
        # pixel across an edge took the part's first photo pixel, not the one under its
        # centre, and seams of neighbouring pixels stayed on screen after a stroke or an
        # undo. Qt draws only the clipped pixels either way (no slower, measured).
        painter.save()
        painter.setClipRect(exposed, Qt.ClipOperation.IntersectClip)
        painter.drawImage(self.boundingRect(), self._image(factor))
        painter.restore()


class WindowLayerItem(PhotoLayerItem):
    """A window layer (desktop/document.py): its base drawn from the base's own display copy
    (the Original's: shared, not made again) everywhere but the window, and the window's
    pixels there, so an Object layer costs the display no more than its patch."""

    def __init__(self, base: np.ndarray, patch: np.ndarray, offset: tuple[int, int]) -> None:
        super().__init__(base)
        self._patch = prepare(patch)           # small: made here, kept out of the cache
        fmt = QImage.Format.Format_RGB32 if self._patch.opaque \
            else QImage.Format.Format_ARGB32_Premultiplied
        pixels = self._patch.levels[1]
        h, w = pixels.shape[:2]
        self._patch_image = QImage(pixels.data, w, h, pixels.strides[0], fmt)
        self._patch_rect = QRectF(offset[0], offset[1], w, h)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        painter.save()
        outside = QRegion(self.boundingRect().toAlignedRect()).subtracted(
            QRegion(self._patch_rect.toAlignedRect()))
        painter.setClipRegion(outside, Qt.ClipOperation.IntersectClip)
        super().paint(painter, option, widget)
        painter.restore()
        if self._patch_rect.intersects(option.exposedRect):
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                                  painter.worldTransform().m11() < 1.0)
            painter.drawImage(self._patch_rect, self._patch_image)


class BrushCursor(QGraphicsItem):
    """A two-tone circle showing the brush size, readable on light and dark photos."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(Z_CURSOR)
        self.radius = 10.0
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_radius(self, radius: float) -> None:
        self.prepareGeometryChange()
        self.radius = radius

    def boundingRect(self) -> QRectF:
        r = self.radius + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        r = self.radius
        for colour, dashes in ((QColor(255, 255, 255), None), (QColor(0, 0, 0), [3, 3])):
            pen = QPen(colour, 1)
            pen.setCosmetic(True)
            if dashes:
                pen.setDashPattern(dashes)
            painter.setPen(pen)
            painter.drawEllipse(QRectF(-r, -r, 2 * r, 2 * r))


class LogoFrame(QGraphicsItem):
    """The logo's quad outline with 4 corner handles (drawn at a fixed screen size) and, with
    the transform tools, the bend handle (bend_handle.py) and the bent outline, dashed."""

    def __init__(self) -> None:
        super().__init__()
        self.setZValue(Z_FRAME)
        self.quad = np.zeros((4, 2))
        self.handle = 5.0            # half side of a handle in scene units
        self.bend_at: np.ndarray | None = None     # the bend handle's centre; None: hidden
        self.bent: QPolygonF | None = None         # the bent outline; None: flat
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def set_quad(self, quad: np.ndarray, handle: float, bend_at: np.ndarray | None = None,
                 bent: QPolygonF | None = None) -> None:
        self.prepareGeometryChange()
        self.quad = np.array(quad, np.float64)
        self.handle = handle
        self.bend_at, self.bent = bend_at, bent

    def boundingRect(self) -> QRectF:
        m = self.handle * BEND_HANDLE_SCALE + 2
        points = [self.quad] + ([] if self.bend_at is None else [self.bend_at[None, :]])
        if self.bent is not None:
            rect = self.bent.boundingRect()
            points.append(np.array([[rect.left(), rect.top()], [rect.right(), rect.bottom()]]))
        every = np.concatenate(points)
        x0, y0 = every.min(axis=0) - m
        x1, y1 = every.max(axis=0) + m
        return QRectF(x0, y0, x1 - x0, y1 - y0)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem,
              widget: QWidget | None = None) -> None:
        pen = QPen(FRAME_COLOUR, 1.5)
        pen.setCosmetic(True)
        painter.setPen(pen)
        painter.drawPolygon(QPolygonF([QPointF(x, y) for x, y in self.quad]))
        if self.bent is not None:
            dashed = QPen(FRAME_COLOUR, 1, Qt.PenStyle.DashLine)
            dashed.setCosmetic(True)
            painter.setPen(dashed)
            painter.drawPolygon(self.bent)
            painter.setPen(pen)
        painter.setBrush(QBrush(QColor(255, 255, 255)))
        h = self.handle
        for x, y in self.quad:
            painter.drawRect(QRectF(x - h, y - h, 2 * h, 2 * h))
        if self.bend_at is not None:      # blue in white: unlike the white corner squares
            outline = QPen(QColor(255, 255, 255), 1.5)
            outline.setCosmetic(True)
            painter.setPen(outline)
            painter.setBrush(QBrush(FRAME_COLOUR))
            painter.drawPolygon(bend_handle.diamond(*self.bend_at, h * BEND_HANDLE_SCALE))


def fill_check_item() -> QGraphicsRectItem:
    """A dashed rectangle, the same width at any zoom, hidden until a fill is to be checked."""
    item = QGraphicsRectItem()
    pen = QPen(FILL_CHECK_COLOUR, 2, Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    item.setPen(pen)
    item.setZValue(Z_FRAME)
    item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
    item.hide()
    return item


def quad_transform(asset: np.ndarray, quad: np.ndarray) -> QTransform:
    src = QPolygonF([QPointF(x, y) for x, y in asset_corners(asset)])
    dst = QPolygonF([QPointF(x, y) for x, y in quad])
    t = QTransform()
    if not QTransform.quadToQuad(src, dst, t):
        return QTransform()
    return t


def bent_logo_item(layer: Layer, shape: tuple[int, int]) -> QGraphicsPixmapItem:
    """A bent logo as the core places it (no QTransform can bend): its pixels over its box."""
    item = QGraphicsPixmapItem()
    placed = placed_asset(layer.shown_asset(), layer.quad, shape, layer.bend)
    if placed is not None:
        pixels, (x0, y0, _x1, _y1) = placed
        item.setPixmap(rgba_to_pixmap(pixels))
        item.setOffset(x0, y0)
    return item


def is_convex(quad: np.ndarray) -> bool:
    cross = []
    for i in range(4):
        a, b, c = quad[i], quad[(i + 1) % 4], quad[(i + 2) % 4]
        cross.append((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))
    return all(c > 1e-6 for c in cross) or all(c < -1e-6 for c in cross)


def point_in_quad(quad: np.ndarray, x: float, y: float) -> bool:
    return QPolygonF([QPointF(a, b) for a, b in quad]).containsPoint(
        QPointF(x, y), Qt.FillRule.OddEvenFill)


class Canvas(QGraphicsView):
    cursor_moved = Signal(int, int)      # photo pixel under the cursor (-1, -1 outside)
    zoom_changed = Signal(float)
    tool_changed = Signal(str)
    mask_visibility_changed = Signal(bool)
    found_visibility_changed = Signal(bool)

    def __init__(self, doc: Document, editor: Editor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor            # gestures end in its methods: the undo steps
        self.setScene(QGraphicsScene(self))
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setBackgroundBrush(QBrush(QColor(128, 128, 128)))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setMouseTracking(True)
        self.setAcceptDrops(False)       # the main window takes dropped files

        self.tool = BRUSH
        self.brush_size = 40.0           # diameter, photo pixels
        self.hardness = 0.8
        self.overlay_colour = QColor(47, 123, 255)
        self.mask_visible = True
        self.overlay_opacity = 0.5

        self._items: list[QGraphicsItem] = []
        self._item_layers: list[Layer] = []
        self.overlay: MaskOverlay | None = None
        self.hint_overlay: HintOverlay | None = None
        self.cursor_item = BrushCursor()
        self.frame = LogoFrame()
        self.scene().addItem(self.cursor_item)
        self.scene().addItem(self.frame)
        self._box_item = QGraphicsRectItem()
        pen = QPen(QColor(255, 255, 255), 1, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self._box_item.setPen(pen)
        self._box_item.setZValue(Z_CURSOR)
        self._box_item.hide()
        self.scene().addItem(self._box_item)
        self.fill_check = fill_check_item()
        self.scene().addItem(self.fill_check)
        self.found = FoundOverlay(self.scene())
        editor.job_done.connect(self._job_done)

        self._space = False
        self._pan_from: QPointF | None = None
        self._drag: dict | None = None     # the gesture in progress
        self._on_bend_handle = False       # the mouse is over the bend handle
        self.doc: Document | None = None
        self.set_document(doc)

    # ---- document binding ----
    def set_document(self, doc: Document) -> None:
        if self.doc is not None and self._on_doc in self.doc.listeners:
            self.doc.listeners.remove(self._on_doc)
        self.doc = doc
        doc.listeners.append(self._on_doc)
        h, w = doc.shape
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        if self.overlay is not None:
            self.scene().removeItem(self.overlay)
        self.overlay = MaskOverlay(doc.mask, self.overlay_colour)
        self.overlay.setOpacity(self.overlay_opacity)
        self.overlay.setVisible(self.mask_visible)
        self.scene().addItem(self.overlay)
        if self.hint_overlay is not None:
            self.scene().removeItem(self.hint_overlay)
        self.hint_overlay = HintOverlay(doc.hints)
        self.hint_overlay.show_with_mask(self.mask_visible)
        self.scene().addItem(self.hint_overlay)
        self._rebuild_layers()
        self.show_fill_check(None)
        self.found.refresh(doc)
        self.fit()

    def show_fill_check(self, box: Rect | None) -> None:
        """Outline `box` (x0, y0, x1, y1 photo pixels, exclusive ends): where a doubtful fill
        invented the surface. None hides the outline."""
        if box is not None:
            x0, y0, x1, y1 = box
            self.fill_check.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.fill_check.setVisible(box is not None)

    def _on_doc(self, event: str, payload: object) -> None:
        if event == "mask":
            if self.overlay is not None:
                if self.overlay._mask is not self.doc.mask:
                    self.overlay.set_mask(self.doc.mask)
                else:
                    self.overlay.refresh(payload)
        elif event == "hints":
            if self.hint_overlay is not None:
                self.hint_overlay.refresh(payload)
        elif event == "layers":
            self._drop_logo_drag()
            self._rebuild_layers()
            self.found.refresh(self.doc)
        elif event == "layer":
            if not self.editor.previewing:
                self._drop_logo_drag()
            self._update_layer(int(payload))
            self.found.refresh(self.doc)

    def _drop_logo_drag(self) -> None:
        """A logo drag's layer changed under it (undo or redo, a job's result): the drag ends
        with no undo step of its own. Its `before` is no longer what the layer was, and
        pushing it would bring an undone change back."""
        if self._drag is not None and self._drag["kind"] == "logo":
            self._drag = None
            self._update_cursor_shape()

    def _job_done(self, kind: str, outcome: str) -> None:
        # What was found, at once (when it was already on, the new layers redrew it).
        if kind == "decompose" and outcome == "ok" and not self.found.visible:
            self.set_found_visible(True)

    def set_found_visible(self, visible: bool) -> None:
        """Show the found-mark overlay (found_overlay.py) or hide it."""
        self.found.set_visible(visible, self.doc)
        self.found_visibility_changed.emit(visible)

    def _rebuild_layers(self) -> None:
        for item in self._items:
            self.scene().removeItem(item)
        self._items, self._item_layers = [], []
        for i, layer in enumerate(self.doc.layers):
            item = self._make_item(layer)
            item.setZValue(len(self.doc.layers) - i)
            self.scene().addItem(item)
            self._items.append(item)
            self._item_layers.append(layer)
        self._sync_frame()

    def _make_item(self, layer: Layer) -> QGraphicsItem:
        if layer.rgba is not None:
            item = PhotoLayerItem(layer.rgba)
        elif layer.patch is not None:
            item = WindowLayerItem(layer.base, layer.patch, layer.offset)
        elif layer.bend:
            item = bent_logo_item(layer, self.doc.shape)
        else:
            item = QGraphicsPixmapItem(rgba_to_pixmap(layer.shown_asset()))
            item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
            item.setTransform(quad_transform(layer.asset, layer.quad))
        item.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        item.setVisible(layer.visible)
        item.setOpacity(layer.opacity)
        return item

    def _update_layer(self, index: int) -> None:
        if index >= len(self._items):
            self._rebuild_layers()
            return
        old, new = self._item_layers[index], self.doc.layers[index]
        item = self._items[index]
        same_pixels = (old.rgba is new.rgba and old.asset is new.asset and old.tint == new.tint
                       and old.tint_strength == new.tint_strength and old.patch is new.patch
                       and old.offset == new.offset
                       and old.bend == new.bend == 0)  # a bent logo is re-placed on each edit
        if not same_pixels:
            self.scene().removeItem(item)
            item = self._make_item(new)
            item.setZValue(len(self.doc.layers) - index)
            self.scene().addItem(item)
            self._items[index] = item
        else:
            item.setVisible(new.visible)
            item.setOpacity(new.opacity)
            if new.asset is not None:
                item.setTransform(quad_transform(new.asset, new.quad))
        self._item_layers[index] = new
        self._sync_frame()

    def _sync_frame(self) -> None:
        logo = self.doc.layer(LOGO) if self.doc else None
        show = (logo is not None and logo.quad is not None and logo.visible
                and self.tool in LOGO_TOOLS)
        if show:
            bends = self.tool in BEND_TOOLS
            self.frame.set_quad(
                logo.quad, HANDLE_PX / 2 / max(self.zoom(), 1e-6),
                bend_handle.handle_point(logo.quad, logo.bend) if bends else None,
                bend_handle.bent_edge(logo.quad, logo.bend) if bends else None)
        self.frame.setVisible(show)
        if self._on_bend_handle and self._drag is None:   # the handle may have moved away
            self._on_bend_handle = False
            self.viewport().setToolTip("")
            self._update_cursor_shape()

    # ---- view state ----
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = min(max(factor, ZOOM_MIN), ZOOM_MAX)
        current = self.zoom()
        if current > 0:
            self.scale(factor / current, factor / current)
        self._zoomed()

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.zoom() * step)

    def fit(self) -> None:
        self.resetTransform()
        self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._zoomed()

    def actual_size(self) -> None:
        self.resetTransform()
        self._zoomed()

    def _zoomed(self) -> None:
        self._sync_frame()
        self.zoom_changed.emit(self.zoom())

    def set_tool(self, tool: str) -> None:
        if self._drag is not None and self._drag["kind"] == "logo":
            drag, self._drag = self._drag, None       # (a shortcut pressed mid-drag)
            self._finish_logo_drag(drag)
        self.tool = tool
        self.cursor_item.setVisible(tool in PAINT_TOOLS)
        # The mask matters while masking; over the logo tools it would tint the result.
        if tool in MASK_TOOLS:
            self.set_mask_visible(True)
        elif tool in LOGO_TOOLS:
            self.set_mask_visible(False)
            if self.found.visible:
                self.set_found_visible(False)
        self._sync_frame()                   # (also ends the bend handle's hover state)
        self._update_cursor_shape()
        self.tool_changed.emit(tool)

    def set_brush(self, size: float | None = None, hardness: float | None = None) -> None:
        if size is not None:
            self.brush_size = float(min(max(size, 1.0), 2000.0))
        if hardness is not None:
            self.hardness = float(min(max(hardness, 0.0), 1.0))
        self.cursor_item.set_radius(self.brush_size / 2)

    def set_mask_visible(self, visible: bool) -> None:
        self.mask_visible = visible
        if self.overlay is not None:
            self.overlay.setVisible(visible)
            self.hint_overlay.show_with_mask(visible)
        self.mask_visibility_changed.emit(visible)

    def set_overlay(self, colour: QColor | None = None, opacity: float | None = None) -> None:
        if colour is not None:
            self.overlay_colour = QColor(colour)
            self.overlay.set_colour(self.overlay_colour)
        if opacity is not None:
            self.overlay_opacity = float(min(max(opacity, 0.0), 1.0))
            self.overlay.setOpacity(self.overlay_opacity)

    def _update_cursor_shape(self) -> None:
        if self._space or self.tool == HAND or self._pan_from is not None:
            shape = Qt.CursorShape.ClosedHandCursor if self._pan_from is not None \
                else Qt.CursorShape.OpenHandCursor
        elif self.tool in PAINT_TOOLS:
            shape = Qt.CursorShape.CrossCursor
        elif self.tool in (BOX, SELECT):
            shape = Qt.CursorShape.CrossCursor
        elif self._on_bend_handle or (self._drag or {}).get("mode") == "bend":
            logo = self.doc.layer(LOGO) if self.doc else None
            shape = bend_handle.drag_cursor(logo.quad) if logo is not None and \
                logo.quad is not None else Qt.CursorShape.SizeVerCursor
        else:
            shape = Qt.CursorShape.SizeAllCursor
        self.viewport().setCursor(shape)

    def scene_pos(self, event: QMouseEvent) -> QPointF:
        """Sub-pixel scene position of a viewport mouse event."""
        inverse, _ = self.viewportTransform().inverted()
        return inverse.map(event.position())

    # ---- events ----
    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y()
        if delta == 0:
            return
        self.zoom_by(1.0015 ** delta)     # one notch (120) = ~20 %
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self._update_cursor_shape()
            return
        if self.tool in LOGO_TOOLS and event.key() in NUDGE and self._drag is None:
            step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
            if self.nudge_logo(*(step * d for d in NUDGE[event.key()])):
                return
        super().keyPressEvent(event)

    def nudge_logo(self, dx: float, dy: float) -> bool:
        """Arrow keys with a logo tool: move the logo by whole pixels (one undo step)."""
        index = self._logo_index()
        if index is None:
            return False
        quad = moved_quad(self.doc.layers[index].quad, dx, dy)
        self.editor.edit_layer(index, "Nudge logo", quad=quad)
        return True

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_cursor_shape()
            return
        super().keyReleaseEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
                button == Qt.MouseButton.LeftButton and (self._space or self.tool == HAND)):
            self._pan_from = event.position()
            self._update_cursor_shape()
            return
        if button != Qt.MouseButton.LeftButton or self._drag is not None:
            return
        p = self.scene_pos(event)
        if self.tool in HINT_TOOLS:
            erase = bool(event.modifiers() & Qt.KeyboardModifier.AltModifier)
            self._start_hint_stroke(p, 0 if erase else HINT_TOOLS[self.tool])
        elif self.tool in (BRUSH, ERASER):
            self._start_stroke(p)
        elif self.tool == SELECT:
            self.select_click(p, event.modifiers())
        elif self.tool == BOX:
            self._drag = {"kind": "box", "start": p}
            self._box_item.setRect(QRectF(p, p))
            self._box_item.show()
        elif self.tool in LOGO_TOOLS:
            self._start_logo_drag(p)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(
                self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            return
        p = self.scene_pos(event)
        if self.tool in PAINT_TOOLS:
            self.cursor_item.setPos(p)
        h, w = self.doc.shape
        x, y = math.floor(p.x()), math.floor(p.y())
        self.cursor_moved.emit(*((x, y) if 0 <= x < w and 0 <= y < h else (-1, -1)))
        drag = self._drag
        if drag is None:
            self._hover_bend_handle(p)
            return
        if drag["kind"] == "stroke":
            self._continue_stroke(p)
        elif drag["kind"] == "hint":
            self._continue_hint_stroke(p)
        elif drag["kind"] == "box":
            self._box_item.setRect(QRectF(drag["start"], p).normalized())
        else:
            self._continue_logo_drag(p)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (
                Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self._update_cursor_shape()
            return
        if event.button() != Qt.MouseButton.LeftButton or self._drag is None:
            return
        drag, self._drag = self._drag, None
        if drag["kind"] == "stroke":
            self._finish_stroke(drag)
        elif drag["kind"] == "hint":
            self._finish_hint_stroke(drag)
        elif drag["kind"] == "box":
            self._box_item.hide()
            self.add_box(drag["start"], self.scene_pos(event))
        else:
            self._finish_logo_drag(drag)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if (event.button() == Qt.MouseButton.LeftButton and self._drag is None
                and not self._space and self._pan_from is None
                and self._bend_handle_at(self.scene_pos(event)) is not None):
            self.flatten_logo()
            return
        super().mouseDoubleClickEvent(event)

    def leaveEvent(self, event) -> None:
        self.cursor_moved.emit(-1, -1)
        super().leaveEvent(event)

    # ---- mask gestures ----
    def _start_stroke(self, p: QPointF) -> None:
        # The mask before the stroke, tile by tile as it paints; only the stroke's bounding
        # box is kept for undo.
        self._drag = {"kind": "stroke", "before": StrokeBackup(self.doc.mask), "rect": None,
                      "last": p, "erase": self.tool == ERASER}
        self._continue_stroke(p)

    def _continue_stroke(self, p: QPointF) -> None:
        drag = self._drag
        last = drag["last"]
        rect = self.doc.paint(last.x(), last.y(), p.x(), p.y(), self.brush_size / 2,
                              self.hardness, erase=drag["erase"], backup=drag["before"])
        drag["rect"] = union(drag["rect"], rect)
        drag["last"] = p

    def _finish_stroke(self, drag: dict) -> None:
        rect = drag["rect"]
        if rect is None:
            return
        text = "Erase" if drag["erase"] else "Brush stroke"
        self.editor.mask_edited(text, rect, drag["before"].before(rect))

    # ---- hint strokes: "this is mark" / "this is not mark" (Alt erases hints) ----
    def _start_hint_stroke(self, p: QPointF, value: int) -> None:
        self._drag = {"kind": "hint", "before": StrokeBackup(self.doc.hints), "rect": None,
                      "last": p, "value": value}
        self._continue_hint_stroke(p)

    def _continue_hint_stroke(self, p: QPointF) -> None:
        drag = self._drag
        last = drag["last"]
        rect = self.doc.paint_hints(last.x(), last.y(), p.x(), p.y(), self.brush_size / 2,
                                    drag["value"], backup=drag["before"])
        drag["rect"] = union(drag["rect"], rect)
        drag["last"] = p

    def _finish_hint_stroke(self, drag: dict) -> None:
        rect = drag["rect"]
        if rect is not None:
            text = {0: "Erase hints", 1: "Hint: mark", 2: "Hint: not mark"}[drag["value"]]
            self.editor.hints_edited(text, rect, drag["before"].before(rect))

    def add_box(self, a: QPointF, b: QPointF) -> bool:
        """Add the rectangle between two scene points to the mask (one undo step)."""
        return self.editor.add_box((round(a.x()), round(a.y()), round(b.x()),
                                    round(b.y()))) is not None

    def select_click(self, p: QPointF, modifiers: Qt.KeyboardModifier) -> bool:
        """Select the mark under a click; Shift adds to the mask, Alt takes from it."""
        mode = "add" if modifiers & Qt.KeyboardModifier.ShiftModifier else \
            "subtract" if modifiers & Qt.KeyboardModifier.AltModifier else "replace"
        return self.editor.select(math.floor(p.x()), math.floor(p.y()), mode)

    # ---- logo gestures ----
    def _logo_index(self) -> int | None:
        i = self.doc.index_of(LOGO)
        if i is None or self.doc.layers[i].quad is None:
            return None
        return i

    def _start_logo_drag(self, p: QPointF) -> None:
        index = self._logo_index()
        if index is None:
            return
        layer = self.doc.layers[index]
        quad = layer.quad
        corner = self._corner_at(quad, p) if self.tool in (TRANSFORM, PERSPECTIVE) else None
        inside = point_in_quad(quad, p.x(), p.y())
        if corner is not None:
            mode = "corner" if self.tool == PERSPECTIVE else "scale"
        elif self._bend_handle_at(p) is not None:   # before the move inside, the rotate outside
            mode = "bend"
        elif inside or self.tool == MOVE:
            mode = "move"
        else:
            mode = "rotate"
        # (a bend: the handle's offset from the press, kept as it follows the mouse)
        grab = bend_handle.handle_point(quad, layer.bend) - [p.x(), p.y()] \
            if mode == "bend" else None
        self._drag = {"kind": "logo", "mode": mode, "corner": corner, "start": p,
                      "index": index, "before": layer, "quad": quad.copy(), "grab": grab}
        self._update_cursor_shape()

    def _continue_logo_drag(self, p: QPointF) -> None:
        d = self._drag
        q0, s = d["quad"], d["start"]
        if d["mode"] == "bend":
            bend = bend_handle.dragged_bend(q0, d["grab"], (p.x(), p.y()), d["before"].bend)
            if bend is not None and bend != self.doc.layers[d["index"]].bend:
                self.editor.preview_layer(d["index"], bend=bend)
            return
        if d["mode"] == "move":
            quad = moved_quad(q0, p.x() - s.x(), p.y() - s.y())
        elif d["mode"] == "corner":
            quad = q0.copy()
            quad[d["corner"]] += [p.x() - s.x(), p.y() - s.y()]
            if not is_convex(quad):
                return
        else:
            c = quad_centre(q0)
            v0 = np.array([s.x(), s.y()]) - c
            v1 = np.array([p.x(), p.y()]) - c
            if d["mode"] == "scale":
                factor = np.linalg.norm(v1) / max(np.linalg.norm(v0), 1e-6)
                quad = scaled_quad(q0, max(factor, 0.01))
            else:
                angle = math.degrees(math.atan2(v1[1], v1[0]) - math.atan2(v0[1], v0[0]))
                quad = rotated_quad(q0, angle)
        self.editor.preview_layer(d["index"], quad=quad)

    def _finish_logo_drag(self, drag: dict) -> None:
        index = drag["index"]
        self._update_cursor_shape()
        if drag["mode"] == "bend":
            if self.doc.layers[index].bend != drag["before"].bend:
                self.editor.layer_edited(index, BEND_UNDO_TEXT, drag["before"])
            return
        if np.allclose(self.doc.layers[index].quad, drag["quad"]):
            return
        names = {"move": "Move logo", "corner": "Perspective", "scale": "Scale logo",
                 "rotate": "Rotate logo"}
        self.editor.layer_edited(index, names[drag["mode"]], drag["before"])

    # ---- the bend handle (bend_handle.py) ----
    def _bend_handle_at(self, p: QPointF) -> int | None:
        """The logo's row when scene point `p` is on the bend handle and no corner handle
        (a corner wins where they overlap); None otherwise, and with tools without it."""
        index = self._logo_index() if self.tool in BEND_TOOLS else None
        if index is None or not self.doc.layers[index].visible:
            return None
        layer = self.doc.layers[index]
        if self._corner_at(layer.quad, p) is not None:
            return None
        return index if bend_handle.on_handle(layer.quad, layer.bend, p.x(), p.y(),
                                              self._handle_radius()) else None

    def _handle_radius(self) -> float:
        """How near a handle a press takes it, in scene units (a fixed size on screen)."""
        return HANDLE_PX / max(self.zoom(), 1e-6)

    def _corner_at(self, quad: np.ndarray, p: QPointF) -> int | None:
        """The quad's corner whose handle is under scene point `p`, if any."""
        d = np.hypot(quad[:, 0] - p.x(), quad[:, 1] - p.y())
        return int(d.argmin()) if d.min() <= self._handle_radius() else None

    def _hover_bend_handle(self, p: QPointF) -> None:
        """Over the bend handle: a resize cursor along the logo's up, the hint as tooltip and
        status."""
        on = self._bend_handle_at(p) is not None
        if on == self._on_bend_handle:
            return
        self._on_bend_handle = on
        self.viewport().setToolTip(bend_handle.HINT if on else "")
        if on:
            self.editor.message.emit(bend_handle.HINT, 4000)
        self._update_cursor_shape()

    def flatten_logo(self) -> bool:
        """Double-click on the bend handle: the logo flat again (one undo step)."""
        index = self._logo_index()
        return index is not None and self.editor.edit_layer(index, BEND_UNDO_TEXT, bend=0.0)
