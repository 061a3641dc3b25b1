"""The status bar's permanent widgets: a running job's progress and its Cancel button, a file
being written, the photo pixel under the cursor and the zoom. They follow the Editor's and
the canvas's signals; the Editor's messages show on the left."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

from layerlift.desktop.canvas import Canvas
from layerlift.desktop.editor import Editor


class StatusWidgets:
    def __init__(self, bar: QStatusBar, editor: Editor, canvas: Canvas) -> None:
        self.pos_label, self.zoom_label = QLabel(""), QLabel("")
        self.progress = QProgressBar()
        self.progress.setFixedWidth(260)
        self.file_progress = QProgressBar()       # a save or export being written
        self.file_progress.setFixedWidth(200)
        self.file_progress.setRange(0, 0)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(editor.cancel)
        for widget in (self.file_progress, self.progress, self.cancel_button, self.pos_label,
                       self.zoom_label):
            bar.addPermanentWidget(widget)
        for widget in (self.progress, self.file_progress, self.cancel_button):
            widget.hide()
        editor.message.connect(bar.showMessage)
        editor.job_started.connect(self._job_started)
        editor.progress.connect(self._progress)
        editor.job_ended.connect(self.progress.hide)
        editor.job_ended.connect(self.cancel_button.hide)
        editor.write_started.connect(self._write_started)
        editor.file_written.connect(lambda *_: self.file_progress.hide())
        canvas.cursor_moved.connect(
            lambda x, y: self.pos_label.setText("" if x < 0 else f"{x}, {y}"))
        canvas.zoom_changed.connect(lambda zoom: self.zoom_label.setText(f"{zoom * 100:.0f} %"))

    def _job_started(self, text: str) -> None:
        self.progress.setRange(0, 0)        # busy until the first progress report
        self.progress.setFormat(text + "…")
        self.progress.show()
        self.cancel_button.show()

    def _progress(self, step: int, total: int, left: float) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(step)
        eta = f" · {left:.0f} s left" if left >= 0 else ""
        self.progress.setFormat(f"{step}/{total}{eta}")

    def _write_started(self, text: str, tip: str) -> None:
        self.file_progress.setFormat(text)
        self.file_progress.setToolTip(tip)
        self.file_progress.show()
