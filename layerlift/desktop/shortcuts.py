"""The keyboard shortcuts, listed once for the Help dialog and the README."""

from __future__ import annotations

SHORTCUTS: list[tuple[str, str]] = [
    ("B", "Brush: paint the logo's mask"),
    ("E", "Eraser"),
    ("M", "Box: add a rectangle to the mask"),
    ("[ / ]", "Brush smaller / bigger"),
    ("Shift+[ / Shift+]", "Brush softer / harder"),
    ("Ctrl+D", "Clear the mask"),
    ("Q", "Show / hide the mask overlay"),
    ("V", "Move the logo"),
    ("Arrows / Shift+Arrows", "With a logo tool: nudge the logo 1 / 10 px"),
    ("Ctrl+T", "Transform the logo: corners scale, drag outside rotates"),
    ("Shift+P", "Perspective: drag each of the 4 corners"),
    ("H, or hold Space", "Pan (the middle button pans too)"),
    ("Wheel / Ctrl+Wheel", "Zoom under the cursor"),
    ("Ctrl+0 / Ctrl+1", "Fit in window / 100 %"),
    ("Ctrl++ / Ctrl+-", "Zoom in / out"),
    ("Ctrl+Enter", "Decompose into logo and object layers"),
    ("Esc", "Cancel the running decomposition or recompose"),
    ("Ctrl+R", "Recompose the (edited) logo onto the object"),
    ("Ctrl+Shift+L", "Replace the logo (PNG, JPEG, SVG)"),
    ("Alt+S", "Solo the selected layer (again: back to what was shown)"),
    ("Ctrl+] / Ctrl+[", "Bring the selected layer forward / send it backward (or drag it)"),
    ("Ctrl+Z / Ctrl+Shift+Z, Ctrl+Y", "Undo / redo"),
    ("Ctrl+O / Ctrl+Shift+O", "Open a photo / a project"),
    ("Ctrl+S / Ctrl+Shift+S", "Save the project (.ora) / save as"),
    ("Ctrl+Shift+M", "Load a mask from a file"),
    ("Ctrl+E", "Export layers as PSD"),
    ("Ctrl+Shift+E", "Export a flattened PNG/JPEG"),
    ("F1", "This list"),
]


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
    return f"<table>{rows}</table>"


def shortcuts_markdown() -> str:
    lines = ["| Keys | Action |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in SHORTCUTS]
    return "\n".join(lines)
