"""The Exact mask toggle, the confidence in the Layers panel and the outline of a doubtful fill."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, QRectF

from layerlift.inference import engines
from layerlift.inference.confidence import CLEAN, GUESS, NOTHING_FOUND, confidence_words
from tests.desktop.slow_engine import DoubtfulFillEngine
from tests.desktop.test_jobs import mark_logo, run

# A small mark far from the photo's corner: the app hands the engine a window that starts at
# (104, 54), so a box the engine reports must be moved back into photo pixels.
MARK = (200, 150, 230, 170)
FILLED = QRectF(205, 156, 20, 10)   # MARK's corner + DoubtfulFillEngine.filled


@pytest.fixture
def test_engines(monkeypatch):
    monkeypatch.setitem(engines.ENGINES, "doubtful-test",
                        "tests.desktop.slow_engine:DoubtfulFillEngine")
    monkeypatch.setitem(engines.ENGINES, "slow-test", "tests.desktop.slow_engine:SlowEngine")


@pytest.fixture
def doubtful(window, qtbot, test_engines):
    window.doc.fill_rect(MARK)
    window.settings.engine = "doubtful-test"
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    return window


def test_exact_mask_toggle_changes_the_request_and_is_kept(window, qtbot, monkeypatch):
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import load_settings

    sent = []
    monkeypatch.setattr(window.worker, "submit",
                        lambda kind, request, finish=None: sent.append(request) or 1)
    mark_logo(window)
    assert not window.engine_panel.exact_mask_check.isChecked()
    assert window.decompose() and sent[-1].exact_mask is False
    window.engine_panel.exact_mask_check.setChecked(True)
    assert window.decompose() and sent[-1].exact_mask is True
    assert window.settings.exact_mask is True
    window.engine_panel.seed_spin.setValue(5)
    window.close()
    stored = load_settings()
    assert stored.exact_mask is True and stored.seed == 5
    # Showing one engine setting must not write the others, not yet shown, back.
    again = MainWindow(stored, autosave_seconds=3600)
    qtbot.addWidget(again)
    assert again.engine_panel.exact_mask_check.isChecked() and again.settings.exact_mask is True
    assert again.engine_panel.seed_spin.value() == 5 and again.settings.seed == 5
    again.close()


def test_a_classical_run_shows_its_confidence_in_words(window, qtbot):
    mark_logo(window)
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    confidence = window.doc.meta["confidence"]
    text = window.layers_panel.cycle_label.text()
    assert f"Confidence {confidence * 100:.0f} %" in text
    assert confidence_words(confidence) in text and "Cycle error" not in text
    window.undo.undo()
    assert window.layers_panel.cycle_label.text() == ""


def test_a_mask_with_no_mark_in_it_says_so_not_a_confidence_of_0(window, qtbot):
    window.doc.fill_rect((10, 10, 50, 40))        # plain surface, away from the mug's mark
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    assert window.doc.meta["mark_fraction"] == 0
    text = window.layers_panel.cycle_label.text()
    assert NOTHING_FOUND[1:] in text and "Exact mask" in text
    assert "Confidence" not in text and not window.canvas.fill_check.isVisible()


def test_an_engine_without_a_confidence_keeps_the_cycle_error(window, qtbot, test_engines):
    mark_logo(window)
    window.settings.engine, window.settings.steps = "slow-test", 1
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    assert "Cycle error" in window.layers_panel.cycle_label.text()
    assert not window.canvas.fill_check.isVisible()


def test_a_doubtful_fill_is_outlined_while_the_document_is_as_it_left_it(doubtful):
    w, outline = doubtful, doubtful.canvas.fill_check
    label = w.layers_panel.cycle_label
    assert "Confidence 20 %" in label.text() and GUESS in label.text()
    assert "dashed box" in label.text()
    assert outline.isVisible() and outline.rect() == FILLED
    w.undo.undo()                                   # the decomposition undone
    assert not outline.isVisible() and w.layers_panel.cycle_label.text() == ""
    w.undo.redo()
    assert outline.isVisible()
    assert w.canvas.add_box(QPointF(10, 10), QPointF(30, 30))      # an edit
    assert not outline.isVisible() and GUESS in w.layers_panel.cycle_label.text()
    w.undo.undo()                                   # back to the decomposition's result
    assert outline.isVisible() and outline.rect() == FILLED


def test_a_likely_clean_fill_is_not_outlined(window, qtbot, test_engines, monkeypatch):
    monkeypatch.setattr(DoubtfulFillEngine, "confidence", 0.9)
    window.doc.fill_rect(MARK)
    window.settings.engine = "doubtful-test"
    assert run(window, qtbot, window.decompose, "decompose") == "ok", window.last_error
    label = window.layers_panel.cycle_label
    assert "Confidence 90 %" in label.text()
    assert CLEAN in label.text() and "dashed" not in label.text()
    assert not window.canvas.fill_check.isVisible()


def test_the_confidence_and_exact_mask_travel_with_the_project(doubtful, qtbot, tmp_path):
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import Settings

    doubtful.engine_panel.exact_mask_check.setChecked(True)
    path = tmp_path / "doubtful.ora"
    assert doubtful.save_project(str(path)) and doubtful.finish_file_writes()
    other = MainWindow(Settings(), autosave_seconds=3600)
    qtbot.addWidget(other)
    assert other.open_path(str(path)), other.last_error
    assert other.doc.meta["confidence"] == 0.2
    assert other.doc.meta["filled_box"] == [205, 156, 225, 166]
    assert "Confidence 20 %" in other.layers_panel.cycle_label.text()
    assert other.engine_panel.exact_mask_check.isChecked() and other.settings.exact_mask is True
    other.close()
