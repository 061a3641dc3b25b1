"""Every menu action, declared once: its text, keys, handler and when it is enabled.

The table builds the QActions, the menus and toolbars (`MENUS`, `TOOLBARS`) and the F1 list
(desktop/shortcuts.py). A handler is a dotted path from the main window ("editor.decompose",
"canvas.fit") with fixed arguments, looked up when the action is triggered, so the table needs
no window to be read. `enabled` is a function of `State`; `update_enabled` applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar, QWidget

from layerlift.desktop import canvas as tools
from layerlift.desktop.resources import resource_path


@dataclass(frozen=True)
class State:
    """What the actions' enabled-when rules read."""
    has_doc: bool = False       # a photo or project is open
    busy: bool = False          # a decomposition or recompose is running
    has_logo: bool = False      # the document has a Logo layer
    row: int | None = None      # the layer selected in the Layers panel
    rows: int = 0               # how many layers
    can_undo: bool = False
    can_redo: bool = False


def always(_s: State) -> bool:
    return True


def has_doc(s: State) -> bool:
    return s.has_doc


def idle_with_doc(s: State) -> bool:
    return s.has_doc and not s.busy


def has_logo(s: State) -> bool:
    return s.has_logo


def idle_with_logo(s: State) -> bool:
    return s.has_logo and not s.busy


def busy(s: State) -> bool:
    return s.busy


def row_below_top(s: State) -> bool:
    return s.row is not None and s.row > 0


def row_above_bottom(s: State) -> bool:
    return s.row is not None and s.row < s.rows - 1


@dataclass(frozen=True)
class Spec:
    name: str
    text: str
    keys: tuple[str, ...]         # the first is the one tooltips and menus show
    handler: str                  # dotted path from the main window
    args: tuple = ()
    enabled: Callable[[State], bool] = always
    help: str = ""                # the F1 line; default: the tip or the text
    tip: str = ""
    icon: str = ""
    checkable: bool = False
    group: str = ""               # checkable actions of one group exclude each other
    shown: str = ""               # the key the F1 list names, if not the first

    def f1_key(self) -> str:
        return self.shown or self.keys[0]


def _tool(name: str, text: str, key: str, tip: str, help: str = "") -> Spec:
    return Spec(name, text, (key,), "set_tool", (name,), tip=tip, icon=name, checkable=True,
                group="tools", help=help)


ACTIONS: list[Spec] = [
    _tool(tools.BRUSH, "&Brush", "B", "Brush: paint the logo's mask"),
    _tool(tools.ERASER, "&Eraser", "E", "Eraser: remove from the mask", "Eraser"),
    _tool(tools.BOX, "Bo&x", "M", "Box: add a rectangle to the mask"),
    _tool(tools.SELECT, "&Select", "W", "Select: click the logo (Shift adds, Alt subtracts)",
          "Select: click the logo to mask it (Shift+click adds, Alt+click subtracts)"),
    _tool(tools.HINT_MARK, "Hint: &Mark", "K", "Hint brush: this is mark (Alt erases hints)",
          "Hint brush: this is mark, for the next Decompose (Alt erases hints)"),
    _tool(tools.HINT_NOT_MARK, "Hint: &Not Mark", "Shift+K",
          "Hint brush: this is not mark (Alt erases hints)",
          "Hint brush: this is not mark, for the next Decompose (Alt erases hints)"),
    Spec("smaller", "Smaller Brush", ("[",), "brush_bar.resize_brush", (0.8,),
         help="Brush smaller"),
    Spec("bigger", "Bigger Brush", ("]",), "brush_bar.resize_brush", (1.25,),
         help="Brush bigger"),
    Spec("softer", "Softer Brush", ("Shift+[",), "brush_bar.change_hardness", (-0.1,),
         help="Brush softer"),
    Spec("harder", "Harder Brush", ("Shift+]",), "brush_bar.change_hardness", (0.1,),
         help="Brush harder"),
    Spec("clear_mask", "&Clear Mask", ("Ctrl+D", "Ctrl+Shift+A"), "editor.clear_mask",
         enabled=has_doc, help="Clear the mask"),
    Spec("clear_hints", "Clear &Hints", (), "editor.clear_hints", enabled=has_doc),
    Spec("show_mask", "Show &Mask", ("Q",), "canvas.set_mask_visible", checkable=True,
         tip="Show the mask overlay", help="Show / hide the mask overlay"),
    Spec("show_found", "Show &Found Mark", ("Shift+Q",), "canvas.set_found_visible",
         checkable=True, tip="Show what the engine found: the mark, and the filled surface",
         help="Show / hide what the last decomposition found (the mark, the filled surface)"),
    Spec("overlay_colour", "Mask Overlay &Colour…", (), "brush_bar.choose_overlay_colour"),
    _tool(tools.MOVE, "&Move Logo", "V", "Move the logo"),
    _tool(tools.TRANSFORM, "&Transform Logo", "Ctrl+T",
          "Transform: corners scale, outside rotates",
          "Transform the logo: corners scale, drag outside rotates"),
    _tool(tools.PERSPECTIVE, "&Perspective", "Shift+P", "Perspective: drag each corner",
          "Perspective: drag each of the 4 corners"),
    _tool(tools.HAND, "&Hand", "H", "Hand: pan (or hold Space)",
          "Hand: pan (the middle button pans too)"),
    Spec("fit", "&Fit in Window", ("Ctrl+0",), "canvas.fit"),
    Spec("actual", "&100 %", ("Ctrl+1",), "canvas.actual_size", help="Zoom to 100 %"),
    Spec("zoom_in", "Zoom &In", ("Ctrl++", "Ctrl+="), "canvas.zoom_by", (1.25,)),
    Spec("zoom_out", "Zoom &Out", ("Ctrl+-",), "canvas.zoom_by", (0.8,)),
    Spec("decompose", "&Decompose", ("Ctrl+Return", "Ctrl+Enter"), "editor.decompose",
         enabled=idle_with_doc, tip="Split the photo into logo and clean object",
         help="Decompose into logo and object layers", shown="Ctrl+Enter"),
    Spec("cancel", "&Cancel", ("Esc",), "editor.cancel", enabled=busy,
         help="Cancel the running decomposition or recompose"),
    Spec("recompose", "&Recompose", ("Ctrl+R",), "editor.recompose", enabled=idle_with_logo,
         tip="Put the (edited) logo back onto the object",
         help="Recompose the (edited) logo onto the object"),
    Spec("replace_logo", "Replace &Logo…", ("Ctrl+Shift+L",), "dialogs.replace_logo",
         enabled=has_logo, help="Replace the logo (PNG, JPEG, SVG)"),
    Spec("tint", "&Tint Logo…", (), "dialogs.tint_logo", enabled=has_logo),
    Spec("untint", "Remove Tin&t", (), "editor.remove_tint", enabled=has_logo),
    Spec("solo", "&Solo Selected Layer", ("Alt+S",), "layers_panel.solo_selected",
         help="Solo the selected layer (again: back to what was shown)"),
    Spec("raise", "Bring Layer &Forward", ("Ctrl+]",), "layers_panel.move_selected", (-1,),
         enabled=row_below_top, icon="layer-up", tip="Move the selected layer up the stack",
         help="Bring the selected layer forward (or drag it)"),
    Spec("lower", "Send Layer &Backward", ("Ctrl+[",), "layers_panel.move_selected", (1,),
         enabled=row_above_bottom, icon="layer-down",
         tip="Move the selected layer down the stack",
         help="Send the selected layer backward (or drag it)"),
    Spec("undo", "&Undo", ("Ctrl+Z",), "editor.undo.undo", enabled=lambda s: s.can_undo),
    Spec("redo", "&Redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "editor.undo.redo",
         enabled=lambda s: s.can_redo),
    Spec("open", "&Open…", ("Ctrl+O",), "dialogs.open_photo", help="Open a photo"),
    Spec("open_project", "Open &Project…", ("Ctrl+Shift+O",), "dialogs.open_project",
         help="Open a project"),
    Spec("save", "&Save Project", ("Ctrl+S",), "dialogs.save", enabled=has_doc,
         help="Save the project (.ora)"),
    Spec("save_as", "Save Project &As…", ("Ctrl+Shift+S",), "dialogs.save_as",
         enabled=has_doc, help="Save the project as"),
    Spec("load_mask", "Load &Mask…", ("Ctrl+Shift+M",), "dialogs.load_mask", enabled=has_doc,
         help="Load a mask from a file"),
    Spec("export_psd", "Export Layers as &PSD…", ("Ctrl+E",), "dialogs.export", ("psd",),
         enabled=has_doc, help="Export layers as PSD"),
    Spec("export_ora", "Export Layers as &ORA…", (), "dialogs.export", ("ora",),
         enabled=has_doc),
    Spec("export_png", "Export Layers as PNG &Folder…", (), "dialogs.export", ("png-folder",),
         enabled=has_doc),
    Spec("export_flat", "Export &Flattened PNG/JPEG…", ("Ctrl+Shift+E",), "dialogs.export",
         ("flat",), enabled=has_doc, help="Export a flattened PNG/JPEG"),
    Spec("quit", "&Quit", ("Ctrl+Q",), "close", help="Quit"),
    Spec("shortcuts", "&Keyboard Shortcuts", ("F1",), "show_shortcuts", help="This list"),
    Spec("about", "&About Layerlift", (), "about"),
]

# Menus and toolbars by action name; "-" is a separator, "@recent" the Open Recent menu.
MENUS: dict[str, list[str]] = {
    "&File": ["open", "open_project", "@recent", "-", "save", "save_as", "-", "load_mask", "-",
              "export_psd", "export_ora", "export_png", "export_flat", "-", "quit"],
    "&Edit": ["undo", "redo", "-", "clear_mask", "clear_hints", "overlay_colour"],
    "&View": ["zoom_in", "zoom_out", "fit", "actual", "-", "show_mask", "show_found"],
    "&Tools": [tools.BRUSH, tools.ERASER, tools.BOX, tools.SELECT, tools.HINT_MARK,
               tools.HINT_NOT_MARK, tools.MOVE, tools.TRANSFORM,
               tools.PERSPECTIVE, tools.HAND, "-", "bigger", "smaller", "harder", "softer"],
    "&Layers": ["decompose", "cancel", "recompose", "-", "replace_logo", "tint", "untint",
                "solo", "-", "raise", "lower"],
    "&Help": ["shortcuts", "about"],
}
TOOLBARS: dict[str, list[str]] = {
    "tools": MENUS["&Tools"][:MENUS["&Tools"].index("-")],
    "run": ["decompose", "recompose", "replace_logo"],
}


def icon(name: str) -> QIcon:
    return QIcon(str(resource_path("icons", f"{name}.svg")))


def _keys_text(action: QAction) -> str:
    return action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)


def handler(window: QWidget, spec: Spec) -> Callable:
    return reduce(getattr, spec.handler.split("."), window)


def build_actions(window: QWidget, specs: list[Spec] = ACTIONS) -> dict[str, QAction]:
    """One QAction per spec, on `window` (so its keys work wherever the focus is)."""
    actions: dict[str, QAction] = {}
    groups: dict[str, QActionGroup] = {}
    for spec in specs:
        action = QAction(spec.text, window)
        if spec.icon:
            action.setIcon(icon(spec.icon))
        action.setShortcuts([QKeySequence(k) for k in spec.keys])
        action.setCheckable(spec.checkable)
        if spec.tip or spec.keys:
            keys = _keys_text(action)
            action.setToolTip((spec.tip or spec.text.replace("…", ""))
                              + (f"  ({keys})" if keys else ""))
        if spec.group:
            groups.setdefault(spec.group, QActionGroup(window)).addAction(action)
        if spec.checkable and not spec.group:      # (a switch: the handler gets its state)
            action.triggered.connect(lambda on, s=spec: handler(window, s)(*s.args, on))
        else:
            action.triggered.connect(lambda _on=False, s=spec: handler(window, s)(*s.args))
        window.addAction(action)
        actions[spec.name] = action
    return actions


def build_menus(bar: QMenuBar, actions: dict[str, QAction]) -> dict[str, QMenu]:
    menus: dict[str, QMenu] = {}
    for title, names in MENUS.items():
        menu = menus[title] = bar.addMenu(title)
        for name in names:
            if name == "-":
                menu.addSeparator()
            elif name == "@recent":
                menus["recent"] = menu.addMenu("Open &Recent")
            else:
                menu.addAction(actions[name])
    return menus


def update_enabled(actions: dict[str, QAction], state: State,
                   specs: list[Spec] = ACTIONS) -> None:
    for spec in specs:
        actions[spec.name].setEnabled(spec.enabled(state))


def shortcut_rows(specs: list[Spec] = ACTIONS) -> list[tuple[str, str]]:
    """(keys, what they do) for every action that has keys; other keys in the text."""
    rows = []
    for spec in specs:
        if spec.keys:
            text = spec.help or spec.tip or spec.text.replace("&", "").replace("…", "")
            also = ", ".join(k for k in spec.keys if k != spec.f1_key())
            rows.append((spec.f1_key(), text + (f" (also {also})" if also else "")))
    return rows
