"""Entry point: `layerlift-gui [IMAGE]` and `layerlift gui [IMAGE]`.

Startup imports Qt, numpy and the core's light modules only; torch and diffusers load when
the flux engine is first used (in the worker thread).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from layerlift.desktop import autosave
from layerlift.desktop.main_window import APP_NAME, VERSION, MainWindow, icon
from layerlift.desktop.settings import load_settings
from layerlift.desktop.theme import follow_system


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="layerlift-gui", description=f"{APP_NAME} desktop app")
    parser.add_argument("image", nargs="?", help="a photo or a Layerlift project (.ora)")
    parser.add_argument("--mask", metavar="MASK",
                        help="with a photo: load this mask with it (white = logo)")
    parser.add_argument("--no-restore", action="store_true",
                        help="do not offer to restore an autosave left by a crash")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {VERSION}")
    args = parser.parse_args(argv)
    if args.mask and not args.image:
        parser.error("--mask needs a photo to go with")
    return args


def leave_a_core_for_the_ui() -> None:
    """OpenCV's worker threads (used by the engines and by display copies) run at normal
    priority whoever starts them; with one core fewer than the machine has, the GUI thread
    always finds a free core while a decomposition runs."""
    import cv2
    cv2.setNumThreads(max(1, (os.cpu_count() or 2) - 1))


def no_transparent_huge_pages() -> None:
    """Stop numpy asking Linux for transparent huge pages on large arrays (its default).

    Where the kernel then compacts memory on the spot to find a huge page (the common
    `defrag=madvise` setting), touching a fresh 24 MP layer can take tens of ms, and the GUI
    thread stalled with the worker: 30-100 ms freezes in about 1 decomposition in 40 on the
    test machine, none in 200 with this off (tests/benchmarks/desktop_stall). Small pages
    cost the engine a little speed, never a freeze."""
    import numpy as np

    core = getattr(np, "_core", None) or np.core       # numpy 2 / numpy 1.26
    set_hugepage = getattr(core.multiarray, "_set_madvise_hugepage", None)
    if set_hugepage is not None:
        set_hugepage(False)


def application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        # The worker thread hands the GIL back to the GUI thread within 1 ms (default 5 ms)
        # when it runs Python code, so the canvas stays smooth during a run.
        sys.setswitchinterval(0.001)
        leave_a_core_for_the_ui()
        no_transparent_huge_pages()
        # Fractional scaling (125 %, 150 %) stays exact instead of being rounded.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication([sys.argv[0] if sys.argv else "layerlift-gui"])
        app.setApplicationName(APP_NAME)
        app.setApplicationVersion(VERSION)
        app.setOrganizationName(APP_NAME)
        app.setDesktopFileName("io.github.layerlift.Layerlift")   # packaging/*.desktop
        app.setWindowIcon(icon("layerlift"))
        follow_system(app)
    return app


def offer_restore(window: MainWindow) -> bool:
    """After a crash: offer the newest autosave. True if it was restored.

    The offered file is deleted only once restored or on an explicit Discard; "No" (or a
    failed restore) keeps it, and older autosaves stay for a later start either way.
    """
    left = autosave.orphans()
    if not left:
        return False
    newest = left[0]
    answer = QMessageBox.question(
        window, "Restore unsaved work?",
        f"{APP_NAME} did not close properly last time. Restore the autosaved work from "
        f"{newest.name}? (No keeps it for the next start; Discard deletes it.)",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        | QMessageBox.StandardButton.Discard,
        QMessageBox.StandardButton.Yes)
    if answer == QMessageBox.StandardButton.Discard:
        autosave.discard([newest])
        return False
    restored = answer == QMessageBox.StandardButton.Yes and window.restore_autosave(str(newest))
    if restored:
        autosave.discard([newest])
    return restored


def create_window(argv: list[str] | None = None) -> tuple[QApplication, MainWindow]:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    app = application()
    window = MainWindow(load_settings())
    window.show()
    restored = False if args.no_restore else offer_restore(window)
    # The hint goes in before anything opens: a widget added while a status message shows
    # stays hidden after the message goes.
    hint = first_run_hint(window) if window.settings.first_run_hint else None
    if args.image and not restored:
        if window.open_path(args.image) and args.mask:
            window.load_mask(args.mask)
    if hint is not None:
        dismiss_on_first_edit(window, hint)
    return app, window


FIRST_RUN_HINT = ("Brush over the logo (B), or click it with Select (W); "
                  "then Decompose \N{EM DASH} Ctrl+Enter")


def first_run_hint(window: MainWindow) -> QLabel:
    """What to do first, in the status bar (see `dismiss_on_first_edit`)."""
    hint = QLabel(FIRST_RUN_HINT)
    hint.setObjectName("first-run-hint")
    window.statusBar().addWidget(hint, 1)
    return hint


def dismiss_on_first_edit(window: MainWindow, hint: QLabel) -> None:
    """The hint goes at the first edit from now on (a stroke, a box, a run), for good: the
    setting is saved with the others."""
    def done() -> None:
        hint.hide()
        window.settings.first_run_hint = False
        window.undo.indexChanged.disconnect(done)

    window.undo.indexChanged.connect(done)


def close_on_signals(window: MainWindow) -> QTimer:
    """Ctrl+C in the terminal (or SIGTERM) closes the window the normal way. Python runs
    signal handlers only between bytecodes, so a timer wakes the interpreter now and then."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: window.close())
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return timer


def main(argv: list[str] | None = None) -> int:
    app, window = create_window(argv)
    close_on_signals(window)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
