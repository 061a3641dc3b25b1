"""The keyboard shortcuts for the Help dialog (F1) and the README: every action's keys from
the actions table (desktop/actions.py), and the canvas's gestures, which are no actions."""

from __future__ import annotations

from layerlift.desktop.actions import shortcut_rows

GESTURES: list[tuple[str, str]] = [
    ("Arrows / Shift+Arrows", "With a logo tool: nudge the logo 1 / 10 px"),
    ("Drag the diamond", "Transform / Perspective: the handle on the logo's top edge bends it "
                         "round a cylinder (away from the logo arches, towards it sags); "
                         "double-click: flat"),
    ("Space (hold)", "Pan while held, with any tool"),
    ("Wheel / Ctrl+Wheel", "Zoom under the cursor"),
]

SHORTCUTS: list[tuple[str, str]] = shortcut_rows() + GESTURES


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
    return f"<table>{rows}</table>"


def shortcuts_markdown() -> str:
    lines = ["| Keys | Action |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in SHORTCUTS]
    return "\n".join(lines)
