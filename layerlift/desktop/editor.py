"""The Editor: the document being edited, and everything done to it, as methods. No widgets.

Every edit is one method and one undo step, and nothing else pushes one. Edits shown live
while a gesture goes on are previewed (a brush stroke paints the mask, a logo drag or a slider
calls `preview_layer`) and handed over once, when the gesture ends (`mask_edited`,
`layer_edited`): one undo step per gesture.

It also runs the long work: the engine jobs on the one worker thread (`decompose`,
`recompose`, `cancel`; a result changes the document only when it comes back, so a
cancelled or failed run leaves it as it was), the file writes on a background thread
(`save_project`, `export`) and the autosave. What happens is told by signals (state,
progress, job and write outcomes, errors, status messages), which the window shows.

A new kind of job is a method that calls `_start_job` and an entry in `_apply` (and the
worker's run for that kind); a new mask tool (a click selection, hint brushes) ends in
`mask_edited` or `replace_mask(mask, text)`, one undo step each.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QUndoStack

from layerlift.desktop.autosave import Autosaver
from layerlift.desktop.document import (
    LOGO,
    OBJECT,
    ORIGINAL,
    RECOMPOSED,
    Document,
    Layer,
    Rect,
    clip_rect,
    layers_from_decomposition,
    replacement_placement,
    rgb_to_rgba,
    union,
)
from layerlift.desktop.file_writes import FileWrite, FileWrites
from layerlift.desktop.history import HintEdit, LayerChange, MaskEdit, StackChange
from layerlift.desktop.settings import Settings
from layerlift.desktop.worker import Worker
from layerlift.inference.confidence import CLEAN, confidence_words
from layerlift.inference.errors import LayerliftError

DECOMPOSE = "Decompose"
UNDO_LIMIT = 500
SELECT_TEXTS = {"replace": "Select", "add": "Add to selection",
                "subtract": "Subtract from selection"}
LAYER_EDIT_NAMES = {"visible": "Visibility", "name": "Rename layer", "opacity": "Layer opacity"}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return a is b
    return a == b


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def engine_options(s: Settings) -> dict:
    """The request options for the chosen engine (the classical engine takes only a seed)."""
    if s.engine == "classical":
        return dict(engine=s.engine, seed=s.seed)
    return dict(engine=s.engine, seed=s.seed, steps=s.steps or None, lora_scale=s.lora_scale,
                model=s.model_path or None, lora=s.lora_path or None)


class Editor(QObject):
    """Owns the document, the undo stack, the worker, file writes and autosave.

    `doc` is the document edited. With `blank=True` it is only the empty canvas shown before
    anything is opened: `document` is None then, and jobs, saves and exports refuse."""

    opened = Signal()                     # a new document (after open_path / set_document)
    state_changed = Signal()              # a job or a write started or ended
    settings_changed = Signal()           # settings changed under the widgets (a project)
    recent_changed = Signal()             # settings.recent_files changed
    job_started = Signal(str)             # "Decomposing", "Recomposing"
    progress = Signal(int, int, float)    # step, total, seconds left (-1: unknown)
    job_ended = Signal()                  # any outcome, before the result is applied
    job_notes = Signal(list)              # a finished run's notes (warnings), maybe []
    job_done = Signal(str, str)           # kind, outcome: "ok" / "cancelled" / "failed"
    write_started = Signal(str, str)      # "Saving x.ora…", the full path
    file_written = Signal(str, str, str)  # "Save" / "Export", path, error ("" if written)
    error = Signal(str, str)              # title, one-line message
    message = Signal(str, int)            # status-bar text, milliseconds shown

    def __init__(self, doc: Document, settings: Settings | None = None,
                 parent: QObject | None = None, blank: bool = False) -> None:
        super().__init__(parent)
        self.undo = QUndoStack(self)
        self.undo.setUndoLimit(UNDO_LIMIT)
        self.settings = settings or Settings()
        self.doc = doc
        self.blank = blank
        self.project_path: str | None = None     # where save() writes
        self.last_error: str | None = None
        self.edits = 0                           # any change at all: the autosave compares it
        # True while a gesture's live change is applied: the document's listeners tell it
        # from a change made under the gesture (an undo, a job's result), which ends it.
        self.previewing = False
        self._worker: Worker | None = None
        self.files = FileWrites()
        self.files.ended.connect(self._write_ended)
        self.autosaver: Autosaver | None = None
        self._job_doc: Document | None = None    # the document a running job belongs to
        self._job_started = 0.0
        self._solo_saved: list[bool] | None = None
        self._apply: dict[str, Callable[[Any], None]] = {
            "decompose": self.apply_decomposition, "compose": self.apply_recomposition,
            "select": self.apply_selection}
        doc.listeners.append(self._on_doc)

    @property
    def document(self) -> Document | None:
        """The opened document; None on the blank canvas."""
        return None if self.blank else self.doc

    @property
    def worker(self) -> Worker:
        """The engine's thread, started when first needed."""
        if self._worker is None:
            self._worker = Worker()
            self._worker.progress.connect(self._on_progress)
            self._worker.finished.connect(self._on_job_finished)
            self._worker.failed.connect(self._on_job_failed)
            self._worker.cancelled.connect(self._on_job_cancelled)
        return self._worker

    def busy(self) -> bool:
        return self._worker is not None and self._worker.busy()

    def fail(self, title: str, message: str) -> None:
        self.last_error = message
        self.error.emit(title, message)

    def set_document(self, doc: Document) -> None:
        if self.busy():
            self.cancel()
        if self._on_doc in self.doc.listeners:
            self.doc.listeners.remove(self._on_doc)
        self.doc, self.blank = doc, False
        self.undo.clear()
        self._solo_saved = None
        doc.listeners.append(self._on_doc)
        self.opened.emit()
        self.state_changed.emit()

    def _on_doc(self, _event: str, _payload: object) -> None:
        self.edits += 1

    def edit_state(self) -> object:
        """Changes whenever the document changes (a different document, or any edit)."""
        return (id(self.document), self.edits)

    # ---------------------------------------------------------------- files in
    def open_path(self, path: str) -> bool:
        """Open a photo or a project (.ora); an error is reported. True on success."""
        is_project = Path(path).suffix.lower() == ".ora"
        try:
            if is_project:
                from layerlift.desktop.project import open_project
                doc, stored = open_project(path)
            else:
                from layerlift.inference.imageio import load_image
                doc, stored = Document(load_image(path), path=str(Path(path).resolve())), None
        except (LayerliftError, OSError, ValueError, MemoryError) as exc:
            self.fail("Cannot open file", str(exc))
            return False
        except Exception as exc:  # a bug in a reader must not take the open window down
            traceback.print_exc()
            self.fail("Cannot open file", f"{Path(path).name}: internal error while reading "
                      f"it ({type(exc).__name__}: {exc})")
            return False
        if stored is not None:
            self._apply_project_settings(stored)
        self.project_path = str(path) if is_project else None
        self.set_document(doc)
        self.settings.add_recent(path)
        self.settings.last_dir = str(Path(path).resolve().parent)
        self.recent_changed.emit()
        self.message.emit(f"Opened {Path(path).name}", 4000)
        return True

    def _apply_project_settings(self, stored: dict) -> None:
        for key in ("engine", "steps", "seed", "candidates", "lora_scale", "exact_mask"):
            if key in stored and type(stored[key]) is type(getattr(self.settings, key)):
                setattr(self.settings, key, stored[key])
        self.settings_changed.emit()

    def restore_autosave(self, path: str) -> bool:
        """Open an autosaved project; it stays unsaved (modified) until saved somewhere."""
        if not self.open_path(path):
            return False
        self.project_path = None
        resolved = str(Path(path).resolve())
        self.settings.recent_files = [p for p in self.settings.recent_files if p != resolved]
        self.recent_changed.emit()
        return True

    # ---------------------------------------------------------------- mask
    def mask_edited(self, text: str, rect: Rect, before: np.ndarray) -> bool:
        """A stroke already painted into `rect` (before: its pixels before); False when it
        changed nothing (no undo step)."""
        x0, y0, x1, y1 = rect
        if np.array_equal(before, self.doc.mask[y0:y1, x0:x1]):
            return False
        self.undo.push(MaskEdit(self.doc, text, rect, before))
        return True

    def add_box(self, rect: Rect) -> Rect | None:
        """Add a rectangle to the mask (clipped to the photo); None when it lies outside."""
        rect = clip_rect(rect, self.doc.shape)
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        before = self.doc.mask[y0:y1, x0:x1].copy()
        self.doc.fill_rect(rect)
        self.undo.push(MaskEdit(self.doc, "Box", rect, before))
        return rect

    def clear_mask(self) -> bool:
        rect = self.doc.mask_extent
        if rect is None:
            return False
        before = self.doc.mask[rect[1]:rect[3], rect[0]:rect[2]].copy()
        self.doc.fill_rect(rect, 0)
        self.undo.push(MaskEdit(self.doc, "Clear mask", rect, before))
        return True

    def replace_mask(self, mask: np.ndarray, text: str = "Load mask") -> None:
        """Replace the mask; the undo step keeps only the box where either mask has marks."""
        old = self.doc.mask_extent
        before = self.doc.mask
        self.doc.set_mask(mask)
        rect = union(old, self.doc.mask_extent) or (0, 0, 1, 1)
        x0, y0, x1, y1 = rect
        self.undo.push(MaskEdit(self.doc, text, rect, before[y0:y1, x0:x1].copy()))

    def hints_edited(self, text: str, rect: Rect, before: np.ndarray) -> bool:
        """A hint stroke already painted into `rect` (before: its pixels before); one undo
        step, none when it changed nothing."""
        x0, y0, x1, y1 = rect
        if np.array_equal(before, self.doc.hints[y0:y1, x0:x1]):
            return False
        self.undo.push(HintEdit(self.doc, text, rect, before))
        return True

    def clear_hints(self) -> bool:
        rect = self.doc.hints_extent
        if self.document is None or rect is None:
            return False
        x0, y0, x1, y1 = rect
        before = self.doc.hints[y0:y1, x0:x1].copy()
        self.doc.put_hints(rect, np.zeros_like(before))
        return self.hints_edited("Clear hints", rect, before)

    def select(self, x: float, y: float, mode: str = "replace") -> bool:
        """Select the mark round the click at photo pixel (x, y) (inference/select.py, at
        `settings.select_tolerance`), on the worker: a click can take longer than a frame on
        a big photo. Its mask replaces the mask, or is added to it / taken from it (mode
        "add" / "subtract"), when it comes back: one undo step. False if it cannot start."""
        doc = self.document
        if doc is None or self.busy() or mode not in SELECT_TEXTS:
            return False
        h, w = doc.shape
        if not (0 <= x < w and 0 <= y < h):
            return False
        from layerlift.desktop.jobs import select_job
        request, finish = select_job(doc.image, (float(x), float(y)),
                                     self.settings.select_tolerance, mode)
        self._start_job("select", request, finish, "Selecting")
        return True

    def apply_selection(self, selection: Any) -> None:
        """A Select click's result (desktop.jobs.Selection) combined with the mask as it is
        now (the user may have brushed while it ran), inside the selection's box (and, for a
        plain click, the old mask's), never over the whole photo; one undo step."""
        from layerlift.desktop.jobs import combined_mask
        replaces = selection.mode == "replace"
        rect = union(self.doc.mask_extent, selection.box) if replaces else selection.box
        if rect is None:
            return
        x0, y0, x1, y1 = rect
        before = self.doc.mask[y0:y1, x0:x1].copy()
        self.doc.put_mask(rect, combined_mask(before, rect, selection))
        self.mask_edited(SELECT_TEXTS[selection.mode], rect, before)

    def load_mask_file(self, path: str) -> bool:
        if self.document is None:
            return False
        try:
            from layerlift.inference.imageio import load_mask
            mask = load_mask(path, self.doc.shape)
        except (LayerliftError, OSError) as exc:
            self.fail("Cannot load mask", str(exc))
            return False
        self.replace_mask(mask)
        return True

    # ---------------------------------------------------------------- layers
    def edit_layer(self, row: int, text: str | None = None, **changes: Any) -> bool:
        """One undoable change of a layer's fields; False when nothing would change."""
        if not 0 <= row < len(self.doc.layers):
            return False
        before = self.doc.layers[row]
        if all(_same(getattr(before, k), v) for k, v in changes.items()):
            return False
        self.doc.update_layer(row, **changes)
        if text is None:
            text = LAYER_EDIT_NAMES.get(next(iter(changes)), "Edit layer")
        self.undo.push(LayerChange(self.doc, text, row, before))
        return True

    def preview_layer(self, row: int, **changes: Any) -> None:
        """A change shown live while a gesture goes on (a drag, a slider), no undo step yet:
        `layer_edited` hands it over when the gesture ends."""
        self.previewing = True
        try:
            self.doc.update_layer(row, **changes)
        finally:
            self.previewing = False

    def layer_edited(self, row: int, text: str, before: Layer) -> None:
        """A layer already changed live (a drag, a slider): its one undo step."""
        self.undo.push(LayerChange(self.doc, text, row, before))

    def move_layer(self, row: int, to: int) -> bool:
        """Move a layer to index `to` of the stack (0 is the top)."""
        count = len(self.doc.layers)
        if not (0 <= row < count and 0 <= to < count) or row == to:
            return False
        before = list(self.doc.layers)
        layers = list(before)
        layer = layers.pop(row)
        layers.insert(to, layer)
        self.doc.set_layers(layers)
        self.undo.push(StackChange(self.doc, f"Move layer {layer.name}", before, self.doc.meta))
        return True

    def show_layers(self, visible: list[bool], text: str) -> None:
        """Set every layer's visibility at once (solo), one undo step."""
        before = list(self.doc.layers)
        self.doc.set_layers([replace(layer, visible=v)
                             for layer, v in zip(before, visible, strict=True)])
        self.undo.push(StackChange(self.doc, text, before, self.doc.meta))

    def solo(self, row: int) -> None:
        """Show only layer `row`; again on a solo layer brings back what was shown."""
        if not 0 <= row < len(self.doc.layers):
            return
        shown = [layer.visible for layer in self.doc.layers]
        alone = [i == row for i in range(len(shown))]
        if shown == alone:
            saved = self._solo_saved
            visible = saved if saved and len(saved) == len(shown) else [True] * len(shown)
            self._solo_saved = None
        else:
            visible, self._solo_saved = alone, shown
        self.show_layers(visible, "Solo layer")

    # ---------------------------------------------------------------- the logo
    def logo_row(self) -> int | None:
        return self.doc.index_of(LOGO)

    def replace_logo(self, path: str) -> bool:
        """Load PNG/JPEG/SVG and fit it into the current logo's quad (one undo step)."""
        row = self.logo_row()
        if row is None:
            self.fail("No logo layer", "Decompose the photo first.")
            return False
        try:
            from layerlift.desktop.qimage import load_logo_file
            asset = load_logo_file(path)
        except (LayerliftError, OSError) as exc:
            self.fail("Cannot load logo", str(exc))
            return False
        layer = self.doc.layers[row]
        quad = layer.quad
        if layer.asset is None or not layer.asset[..., 3].any():
            quad = self._mask_quad()        # the engine found no mark: use the brushed area
        quad, bend = replacement_placement(asset, quad, layer)
        # A logo file is ink already (no light of this photo in it): no separate ink.
        self.edit_layer(row, "Replace logo", asset=asset, ink=None, quad=quad, bend=bend,
                        tint=None, tint_strength=0.0)
        return True

    def _mask_quad(self) -> np.ndarray:
        """The mask's bounding box as a quad, or the photo's middle half without a mask."""
        h, w = self.doc.shape
        x0, y0, x1, y1 = self.doc.mask_box() or (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
        return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)

    def tint_logo(self, colour: QColor, strength: float = 1.0) -> None:
        row = self.logo_row()
        if row is not None:
            self.edit_layer(row, "Tint logo", tint=(colour.red(), colour.green(), colour.blue()),
                            tint_strength=strength)

    def remove_tint(self) -> None:
        row = self.logo_row()
        if row is not None:
            self.edit_layer(row, "Remove tint", tint=None, tint_strength=0.0)

    # ---------------------------------------------------------------- jobs
    def decompose(self) -> bool:
        doc = self.document
        if doc is None or self.busy():
            return False
        box = doc.mask_box()
        if box is None:
            self.fail("Nothing to decompose",
                      "Paint over the logo first (B for the brush, M for a box).")
            return False
        from layerlift.desktop.jobs import decompose_job
        options = engine_options(self.settings) | {"exact_mask": self.settings.exact_mask}
        if options["engine"] != "classical":
            options["candidates"] = self.settings.candidates
        request, paste = decompose_job(doc.image, doc.mask, box, hints=doc.hints_in,
                                       **options)
        image = doc.image

        def finish(result: Any) -> Any:         # on the worker
            from layerlift.desktop.found_overlay import prepare
            done = paste(result)
            try:                                # the found-mark overlay's pictures: only
                prepare(image, done)            # time saved; the GUI makes them otherwise
            except Exception:
                traceback.print_exc()
            return done

        self._start_job("decompose", request, finish, "Decomposing")
        return True

    def recompose(self) -> bool:
        doc = self.document
        if doc is None or self.busy():
            return False
        logo, obj = doc.layer(LOGO), doc.layer(OBJECT)
        if logo is None or obj is None:
            self.fail("Nothing to recompose", "Decompose the photo first.")
            return False
        from layerlift.desktop.jobs import compose_job
        # The ink, not the printed asset: compose shades an asset in the light at its quad.
        request, finish = compose_job(obj, logo.shown_ink(), np.array(logo.quad), doc.shape,
                                      logo.bend, **engine_options(self.settings))
        self._start_job("compose", request, finish, "Recomposing")
        return True

    def cancel(self) -> None:
        if self.busy():
            self.worker.cancel()
            self.message.emit("Cancelling…", 0)

    def _start_job(self, kind: str, request: Any, finish: Callable[[Any], Any],
                   text: str) -> None:
        self._job_doc = self.doc
        self._job_started = time.perf_counter()
        self.worker.submit(kind, request, finish)
        self.job_started.emit(text)
        self.message.emit(text + "…", 0)
        self.state_changed.emit()

    def _on_progress(self, job: int, step: int, total: int, left: float) -> None:
        current = self.worker.current
        if total > 0 and current is not None and current.job_id == job:
            self.progress.emit(step, total, left)   # (not a late report of an ended job)

    def _ended(self) -> None:
        self.job_ended.emit()
        self.state_changed.emit()

    def _on_job_finished(self, _job: int, kind: str, result: object,
                         warnings: list[str]) -> None:
        self._ended()
        if self.document is None or self.doc is not self._job_doc:
            self.job_done.emit(kind, "cancelled")    # the document changed meanwhile
            return
        seconds = time.perf_counter() - self._job_started
        self._apply[kind](result)
        from layerlift.desktop.jobs import job_notes
        notes = job_notes(result, warnings)
        if kind != "select":           # (a click keeps the last run's notes in the panel)
            self.job_notes.emit(notes)
        text = f"{kind.capitalize()} done in {seconds:.1f} s"
        if notes:
            more = f" (+{len(notes) - 1} more in the Layers panel)" if len(notes) > 1 else ""
            text += f" — {notes[0]}{more}"
        self.message.emit(text, 15000 if notes else 6000)
        self.job_done.emit(kind, "ok")

    def _on_job_failed(self, _job: int, kind: str, message: str) -> None:
        self._ended()
        self.message.emit(f"{kind.capitalize()} failed", 6000)
        self.fail(f"{kind.capitalize()} failed", message)
        self.job_done.emit(kind, "failed")

    def _on_job_cancelled(self, _job: int, kind: str) -> None:
        self._ended()
        self.message.emit(f"{kind.capitalize()} cancelled", 4000)
        self.job_done.emit(kind, "cancelled")

    def apply_decomposition(self, result: Any) -> None:
        """A decomposition's result (desktop.jobs.Decomposition) as the layer stack."""
        before, meta_before = list(self.doc.layers), dict(self.doc.meta)
        original = self.doc.layer(ORIGINAL) or Layer("Original", ORIGINAL,
                                                     rgba=rgb_to_rgba(self.doc.image))
        self.doc.meta = dict(result.meta)
        self.doc.set_layers(layers_from_decomposition(
            original, result.object_patch, result.object_offset, result.asset, result.quad,
            result.ink))
        self.undo.push(StackChange(self.doc, DECOMPOSE, before, meta_before))

    def apply_recomposition(self, result: Any) -> None:
        """A recomposition (desktop.jobs.Recomposition) as the top layer, replacing the last."""
        before = list(self.doc.layers)
        layers = [layer for layer in before if layer.kind != RECOMPOSED]
        layers.insert(0, Layer("Recomposed", RECOMPOSED, base=result.base, patch=result.patch,
                               offset=result.offset))
        self.doc.set_layers(layers)
        self.undo.push(StackChange(self.doc, "Recompose", before, self.doc.meta))

    def fill_check_box(self) -> Rect | None:
        """Where to check the fill: a doubtful decomposition's filled box, while the document
        is as that decomposition left it (its step is the last one done: any edit, undo or
        new run takes the outline away; redo brings it back)."""
        index = self.undo.index()
        step = self.undo.command(index - 1) if index > 0 else None
        if not isinstance(step, StackChange) or step.text() != DECOMPOSE:
            return None
        confidence, box = step.meta_after.get("confidence"), step.meta_after.get("filled_box")
        if not is_number(confidence) or not box or confidence_words(confidence) == CLEAN:
            return None
        x0, y0, x1, y1 = (int(v) for v in box)
        return x0, y0, x1, y1

    # ---------------------------------------------------------------- files out
    def export(self, path: str, kind: str) -> bool:
        """Start writing an export in the background. False if it cannot start (no document,
        a write still running, the input photo as the target); how it ended comes as
        `file_written` (and a message or an error)."""
        from layerlift.desktop.project import export
        return self._start_write("Export", path, lambda doc: export(doc, path, kind))

    def save_project(self, path: str) -> bool:
        """Start writing the project in the background (see `export`). Once written, the
        document counts as saved unless it was edited meanwhile."""
        from layerlift.desktop.project import save_project
        settings = asdict(self.settings)
        return self._start_write("Save", path, lambda doc: save_project(doc, path, settings))

    def _start_write(self, what: str, path: str, write: Callable[[Document], None]) -> bool:
        if self.document is None:
            return False
        if self.files.busy():
            self.message.emit(f"Still writing {Path(self.files.current.path).name}: try again "
                              f"when it is done", 5000)
            return False
        from layerlift.desktop.project import check_target, snapshot
        doc = snapshot(self.doc)          # the user may keep editing while it is written
        try:
            check_target(doc, path)
        except (LayerliftError, OSError, ValueError) as exc:
            self.fail(f"{what} failed", str(exc))
            return False
        self.files.start(FileWrite(what, path, self.doc, self.edit_state()), lambda: write(doc))
        verb = "Saving" if what == "Save" else "Exporting"
        self.write_started.emit(f"{verb} {Path(path).name}…", f"{verb} {path}")
        self.state_changed.emit()
        return True

    def _write_ended(self, write: FileWrite) -> None:
        if write.reported:                # finish_file_writes got there first
            return
        write.reported = True
        self.state_changed.emit()
        if write.error:
            self.fail(f"{write.what} failed", write.error)
        elif write.what == "Save":
            if write.doc is self.doc:       # (not if another photo was opened meanwhile)
                self.project_path = write.path
                if self.edit_state() == write.state:    # no edit since the snapshot
                    self.undo.setClean()
            self.settings.add_recent(write.path)
            self.recent_changed.emit()
            self.message.emit(f"Saved {Path(write.path).name}", 4000)
        else:
            self.message.emit(f"Exported {Path(write.path).name}", 5000)
        self.file_written.emit(write.what, write.path, write.error or "")

    def finish_file_writes(self) -> bool:
        """Wait for the save or export being written, if any, and report how it ended.
        False if it failed (the error is reported); True otherwise, or if none was left."""
        write = self.files.current
        if write is None or write.reported:
            return True
        self.files.wait()
        self._write_ended(write)
        return not write.error

    def start_autosave(self, seconds: float | None = None) -> Autosaver:
        """Autosave the document every `seconds` (default: autosave.interval_seconds())."""
        self.autosaver = Autosaver(lambda: self.document, self.edit_state,
                                   lambda: asdict(self.settings), seconds)
        self.autosaver.failed.connect(lambda text: self.message.emit(text, 8000))
        return self.autosaver

    def shutdown(self) -> None:
        """A clean exit: stop the engine's thread and the autosave (its file goes)."""
        if self._worker is not None:
            self._worker.shutdown()
        if self.autosaver is not None:
            self.autosaver.remove_own()
