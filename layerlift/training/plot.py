"""The loss plot (PNG), drawn with Pillow so training needs no plotting library.

Top panel: training loss (raw and smoothed) and the fixed-set loss (on training samples);
bottom panel: the cycle term
on its own scale (it is much smaller than the flow loss).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 800, 450
LEFT, RIGHT = 70, 20
COLOURS = {"loss": (170, 185, 225), "loss (smoothed)": (30, 70, 190),
           "fixed_set_loss": (210, 60, 40), "cycle": (40, 150, 80)}


def _series(rows: list[dict[str, Any]], key: str) -> list[tuple[float, float]]:
    return [(float(r["step"]), float(r[key])) for r in rows
            if r.get(key) not in ("", None) and math.isfinite(float(r[key]))]


def _smooth(points: list[tuple[float, float]], beta: float = 0.9) -> list[tuple[float, float]]:
    out, avg = [], None
    for x, y in points:
        avg = y if avg is None else beta * avg + (1 - beta) * y
        out.append((x, avg))
    return out


def _panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int],
           series: dict[str, list[tuple[float, float]]], steps: tuple[float, float],
           font) -> None:
    """Line plot of `series` in `box` (x0, y0, x1, y1); log y when values span > 20x."""
    x0, y0, x1, y1 = box
    draw.rectangle(box, outline=(90, 90, 90))
    for n, name in enumerate(series):
        draw.text((x0 + 10 + 150 * n, y0 - 14), name, fill=COLOURS[name], font=font)
    values = [y for pts in series.values() for _, y in pts]
    if not values:
        draw.text((x0 + 10, y0 + 10), "nothing logged yet", fill="black", font=font)
        return
    log_y = all(v > 0 for v in values) and max(values) / min(values) > 20
    f = math.log10 if log_y else (lambda v: v)
    lo, hi = f(min(values)), f(max(values))
    pad = (hi - lo) * 0.05 or 1.0
    lo, hi = lo - pad, hi + pad
    s_lo, s_hi = steps

    def to_px(x: float, y: float) -> tuple[float, float]:
        return (x0 + (x - s_lo) / (s_hi - s_lo) * (x1 - x0),
                y1 - (f(y) - lo) / (hi - lo) * (y1 - y0))

    for i in range(4):
        frac = i / 3
        py = y1 - frac * (y1 - y0)
        draw.line([x0, py, x1, py], fill=(232, 232, 232))
        value = lo + frac * (hi - lo)
        draw.text((5, py - 6), f"{10 ** value:.3g}" if log_y else f"{value:.3g}",
                  fill="black", font=font)
    for name, pts in series.items():
        if len(pts) > 1:
            draw.line([to_px(x, y) for x, y in pts], fill=COLOURS[name], width=2)
        elif pts:
            px, py = to_px(*pts[0])
            draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=COLOURS[name])


def plot_losses(rows: list[dict[str, Any]], path: str | Path | BinaryIO) -> None:
    """Write the two-panel loss plot of the log rows to `path` (a file name or a binary
    file object), as PNG."""
    loss = _series(rows, "loss")
    top = {"loss": loss, "loss (smoothed)": _smooth(loss),
           "fixed_set_loss": _series(rows, "fixed_set_loss")}
    bottom = {"cycle": [p for p in _series(rows, "cycle") if p[1] > 0]}
    steps = [x for pts in (*top.values(), *bottom.values()) for x, _ in pts] or [0.0]
    span = (min(steps), max(max(steps), min(steps) + 1))
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    _panel(draw, (LEFT, 25, WIDTH - RIGHT, 270), top, span, font)
    _panel(draw, (LEFT, 310, WIDTH - RIGHT, 405), bottom, span, font)
    for i in range(5):
        frac = i / 4
        px = LEFT + frac * (WIDTH - RIGHT - LEFT)
        draw.text((px - 10, 412), f"{span[0] + frac * (span[1] - span[0]):.0f}", fill="black",
                  font=font)
    draw.text((WIDTH // 2 - 10, 430), "step", fill="black", font=font)
    image.save(path, format="PNG")
