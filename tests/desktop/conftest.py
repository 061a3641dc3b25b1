"""Fixtures for the desktop tests: headless Qt, private settings/data dirs, a small photo."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def private_dirs(tmp_path_factory, monkeypatch):
    """Tests never touch the user's real settings, autosaves or recent files."""
    home = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("LAYERLIFT_AUTOSAVE_SECONDS", raising=False)
    from layerlift.desktop.main_window import MainWindow
    monkeypatch.setattr(MainWindow, "ask_before_close", False)
    return home


def make_photo(h: int = 180, w: int = 240) -> np.ndarray:
    """A smooth product-like surface with a dark two-part mark in the middle."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([150 + 60 * xx / w, 120 + 50 * yy / h, 110 + 30 * (xx + yy) / (w + h)], -1)
    photo = base.astype(np.uint8)
    photo[80:100, 90:150] = (20, 30, 140)
    photo[70:110, 150:160] = (20, 30, 140)
    return photo


@pytest.fixture
def photo_path(tmp_path):
    from layerlift.inference.imageio import save_png
    path = tmp_path / "photo.png"
    save_png(path, make_photo())
    return path


@pytest.fixture
def window(qtbot, photo_path):
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import Settings

    win = MainWindow(Settings(), autosave_seconds=3600)
    qtbot.addWidget(win)
    win.resize(900, 700)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_path(str(photo_path)), win.last_error
    win.canvas.fit()
    yield win
    win.close()


@pytest.fixture
def decomposed(window, qtbot):
    """The window after a decomposition of a box over the sample's logo (test modules with
    their own way of marking the logo define their own)."""
    window.doc.fill_rect((85, 65, 165, 115))
    with qtbot.waitSignal(window.job_done, timeout=30000) as blocker:
        assert window.decompose()
    assert blocker.args == ["decompose", "ok"], window.last_error
    return window
