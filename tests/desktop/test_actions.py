"""The actions table: every action's keys are in the F1 list and on its QAction, every handler
exists, and each action is enabled exactly when its rule says."""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QKeySequence

from layerlift.desktop.actions import ACTIONS, State, handler
from layerlift.desktop.shortcuts import SHORTCUTS, shortcuts_html


def test_every_action_with_keys_is_listed_in_f1_under_one_of_its_keys():
    listed = dict(SHORTCUTS)
    with_keys = [spec for spec in ACTIONS if spec.keys]
    assert len(with_keys) >= 30
    for spec in with_keys:
        assert spec.f1_key() in spec.keys, spec.name
        assert spec.f1_key() in listed, f"{spec.name}: {spec.f1_key()} not in the F1 list"
        for other in spec.keys:                     # the other keys are named in its line
            assert other == spec.f1_key() or other in listed[spec.f1_key()], spec.name
    assert len({spec.f1_key() for spec in with_keys}) == len(with_keys)    # no key twice
    assert all(f"<b>{key}</b>" in shortcuts_html() for key in listed)


def test_the_window_has_each_action_with_the_tables_keys_and_a_real_handler(window):
    assert set(window.act) == {spec.name for spec in ACTIONS}
    for spec in ACTIONS:
        action = window.act[spec.name]
        assert [s.toString() for s in action.shortcuts()] == \
            [QKeySequence(k).toString() for k in spec.keys], spec.name
        assert callable(handler(window, spec)), spec.name
        assert action in window.actions()            # its keys work wherever the focus is


def _check_rules(window) -> State:
    state = window.state()
    for spec in ACTIONS:
        assert window.act[spec.name].isEnabled() == spec.enabled(state), (spec.name, state)
    return state


def test_each_action_is_enabled_when_its_rule_says(window, qtbot, monkeypatch):
    act = window.act
    state = _check_rules(window)                   # a photo open, no logo, nothing to undo
    assert state.has_doc and not state.has_logo and not state.can_undo
    assert act["decompose"].isEnabled() and act["save"].isEnabled()
    assert not act["recompose"].isEnabled() and not act["replace_logo"].isEnabled()
    assert not act["cancel"].isEnabled() and not act["undo"].isEnabled()

    window.doc.fill_rect((85, 65, 165, 115))
    with qtbot.waitSignal(window.job_done, timeout=30000):
        assert window.decompose()
        state = _check_rules(window)                # running: no second run, Esc cancels
        assert state.busy and act["cancel"].isEnabled() and not act["decompose"].isEnabled()
    state = _check_rules(window)                    # done: a logo, selected, undoable
    assert state.has_logo and not state.busy and state.row == 0 and state.can_undo
    assert act["recompose"].isEnabled() and act["tint"].isEnabled()
    assert not act["raise"].isEnabled() and act["lower"].isEnabled()     # the top row

    window.layers_panel.view.setCurrentIndex(window.layers_panel.model.index(state.rows - 1))
    state = _check_rules(window)                    # the bottom row
    assert act["raise"].isEnabled() and not act["lower"].isEnabled()
    window.undo.undo()
    assert _check_rules(window).can_redo and act["redo"].isEnabled()
    assert act["undo"].text() == "&Undo" and act["redo"].text() == "&Redo Decompose"


def test_nothing_that_needs_a_photo_is_enabled_before_one_is_open(qtbot):
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import Settings
    window = MainWindow(Settings(), autosave_seconds=3600)
    qtbot.addWidget(window)
    state = _check_rules(window)
    assert not state.has_doc
    needs_photo = [spec.name for spec in ACTIONS if not spec.enabled(State(has_doc=False))]
    assert {"save", "save_as", "export_psd", "decompose", "clear_mask"} <= set(needs_photo)
    window.canvas.add_box(QPointF(5, 5), QPointF(30, 30))   # the blank canvas: no document
    assert window.doc is None and not window.act["decompose"].isEnabled()
    window.close()


def test_the_readme_lists_the_same_shortcuts():
    from pathlib import Path

    from layerlift.desktop.shortcuts import shortcuts_markdown
    readme = Path(__file__).resolve().parents[2] / "README.md"
    assert shortcuts_markdown() in readme.read_text(encoding="utf-8")
