"""Screenshots of the real window for the README (make screenshots).

Drives the app the way a user would: clicks the logo of the bundled sample photo with the
Select tool, then brushes over it through real mouse events, decomposes (the found-mark
overlay shows what was found), swaps the logo for an SVG, nudges its perspective, bends it a
little (the Bend slider and the bend handle on the logo's top edge show with the
perspective tool) and recomposes. Writes
docs/screenshots/01-brushed-mask.png, 02-layers.png, 03-recomposed.png, 04-select-click.png,
05-found-mark.png.

Needs a display; without one it restarts itself under Xvfb (xvfb-run, or Xvfb directly).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
SAMPLE = ROOT / "layerlift" / "resources" / "sample"
DEMO_LOGO = Path(__file__).resolve().parent / "demo-logo.svg"
SIZE = (1440, 900)
SCREEN = "1600x1000x24"


def ensure_display() -> None:
    """Re-run this script under a virtual X server when there is no display."""
    if os.environ.get("DISPLAY") or os.environ.get("LAYERLIFT_SCREENSHOT_CHILD"):
        return
    env = dict(os.environ, LAYERLIFT_SCREENSHOT_CHILD="1")
    env.pop("QT_QPA_PLATFORM", None)            # a real window, not offscreen
    cmd = [sys.executable, str(Path(__file__).resolve()), *sys.argv[1:]]
    if shutil.which("xvfb-run"):
        sys.exit(subprocess.call(["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}", *cmd],
                                 env=env))
    if shutil.which("Xvfb"):
        display = ":97"
        server = subprocess.Popen(["Xvfb", display, "-screen", "0", SCREEN, "-nolisten", "tcp"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            sys.exit(subprocess.call(cmd, env=dict(env, DISPLAY=display)))
        finally:
            server.terminate()
            server.wait(10)
    sys.exit("no DISPLAY and no Xvfb: install xvfb (make install does) or run on a desktop")


def sample_inputs(tmp: Path):
    """The bundled sample photo + mask, or (before they exist) a generated stand-in."""
    import numpy as np

    from layerlift.inference.imageio import load_image, load_mask, save_png
    photo, mask = SAMPLE / "photo.jpg", SAMPLE / "mask.png"
    if photo.is_file() and mask.is_file():
        image = load_image(photo)
        return photo, load_mask(mask, image.shape)
    h, w = 800, 1200
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    shade = 0.55 + 0.45 * np.cos((xx - w / 2) / w * 2.6)
    img = np.stack([235 * shade, 228 * shade, 215 * shade], -1)
    img[(yy - 380) ** 2 / 330 ** 2 + (xx - 600) ** 2 / 260 ** 2 > 1] = (70, 80, 95)
    img = img.astype(np.uint8)
    img[330:420, 470:730] = (200, 30, 40)
    path = tmp / "stand-in.png"
    save_png(path, img)
    m = np.zeros((h, w), bool)
    m[330:420, 470:730] = True
    return path, m


def brush_over(window, mask, app) -> None:
    """Paint the mask with the brush through real mouse events: strokes along its rows."""
    import numpy as np
    from PySide6.QtCore import QEvent, QPointF, Qt

    from layerlift.desktop import canvas as tools
    from tests.desktop.events import scene_to_viewport, send_mouse

    window.set_tool(tools.BRUSH)
    ys, xs = np.nonzero(mask)
    size = max(8, int((ys.max() - ys.min()) / 5))
    window.brush_bar.size_spin.setValue(size)
    window.brush_bar.hardness_slider.setValue(85)
    vp = window.canvas.viewport()
    for y in range(int(ys.min()) + size // 3, int(ys.max()) + 1, max(1, size // 2)):
        cols = np.flatnonzero(mask[y])
        if cols.size == 0:
            continue
        pts = [scene_to_viewport(window.canvas, x, y)
               for x in np.linspace(cols[0] - size / 4, cols[-1] + size / 4, 40)]
        send_mouse(vp, QEvent.Type.MouseButtonPress, pts[0])
        for p in pts[1:]:
            send_mouse(vp, QEvent.Type.MouseMove, QPointF(p), Qt.MouseButton.NoButton,
                       Qt.MouseButton.LeftButton)
        send_mouse(vp, QEvent.Type.MouseButtonRelease, pts[-1])
        app.processEvents()
    # Whatever the strokes missed (thin parts of an irregular mark) the box tool would add;
    # here the loaded mask fills the gaps so the decomposition sees the whole mark.
    missing = mask & ~window.doc.mask_bool()
    if missing.any():
        window.doc.mask[missing] = 255
        window.doc.emit("mask", (0, 0, mask.shape[1], mask.shape[0]))


def wait_job(window, app, timeout: float = 300) -> str:
    result = {}

    def done(_kind: str, outcome: str) -> None:
        result.setdefault("outcome", outcome)

    window.job_done.connect(done)
    end = time.time() + timeout
    while "outcome" not in result and time.time() < end:
        app.processEvents()
        time.sleep(0.01)
    window.job_done.disconnect(done)        # (only ours: the window's own slots stay)
    return result.get("outcome", "timeout")


def select_click(window, app, x: float, y: float) -> None:
    """One real click with the Select tool (W) at photo pixel (x, y)."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from layerlift.desktop import canvas as tools
    from tests.desktop.events import scene_to_viewport

    window.set_tool(tools.SELECT)
    window.brush_bar.tolerance_slider.setValue(80)
    at = scene_to_viewport(window.canvas, x, y)
    QTest.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, QPoint(round(at.x()), round(at.y())))
    if (outcome := wait_job(window, app)) != "ok":
        sys.exit(f"select {outcome}: {window.last_error}")


def settle(app, seconds: float = 0.4) -> None:
    end = time.time() + seconds
    while time.time() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> None:
    ensure_display()
    sys.path.insert(0, str(ROOT))
    tmp = Path(tempfile.mkdtemp(prefix="layerlift-shots-"))
    # Never touch the user's settings or autosaves.
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    os.environ["XDG_DATA_HOME"] = str(tmp / "data")
    from layerlift.desktop.app import application
    from layerlift.desktop.main_window import MainWindow
    from layerlift.desktop.settings import Settings

    app = application()
    photo, mask = sample_inputs(tmp)
    window = MainWindow(Settings(), autosave_seconds=3600)
    window.ask_before_close = False         # scripted: no "save changes?" question
    window.resize(*SIZE)
    window.show()
    settle(app)
    if not window.open_path(str(photo)):
        sys.exit(f"cannot open {photo}: {window.last_error}")
    window.canvas.fit()
    OUT.mkdir(parents=True, exist_ok=True)
    shots = [OUT / "01-brushed-mask.png", OUT / "02-layers.png", OUT / "03-recomposed.png",
             OUT / "04-select-click.png", OUT / "05-found-mark.png"]

    from layerlift.resources.sample.make_sample import PATCH_CENTRE
    select_click(window, app, *PATCH_CENTRE)
    settle(app)
    window.grab().save(str(shots[3]))
    window.clear_mask()

    brush_over(window, mask, app)
    settle(app)
    window.grab().save(str(shots[0]))

    window.decompose()
    if (outcome := wait_job(window, app)) != "ok":
        sys.exit(f"decomposition {outcome}: {window.last_error}")
    window.canvas.set_mask_visible(False)
    settle(app)
    window.grab().save(str(shots[4]))                   # the found-mark overlay
    window.set_tool("move")
    logo_row = window.doc.index_of("logo")
    window.edit_layer(logo_row, visible=False)          # show the clean object
    window.layers_panel.view.setCurrentIndex(window.layers_panel.model.index(logo_row))
    settle(app)
    window.grab().save(str(shots[1]))

    window.edit_layer(logo_row, visible=True)
    if not window.replace_logo(str(DEMO_LOGO)):
        sys.exit(f"replace logo: {window.last_error}")
    quad = window.doc.layers[logo_row].quad.copy()
    width = quad[1, 0] - quad[0, 0]
    quad[1, 1] += 0.06 * width                          # a touch of perspective
    quad[2, 1] -= 0.02 * width
    window.edit_layer(logo_row, "Perspective", quad=quad)
    window.edit_layer(logo_row, "Bend logo", bend=-20.0)   # round the chest, as on a mug
    window.set_tool("perspective")
    window.recompose()
    if (outcome := wait_job(window, app)) != "ok":
        sys.exit(f"recompose {outcome}: {window.last_error}")
    settle(app)
    window.grab().save(str(shots[2]))
    window.close()
    for shot in shots:
        print(shot.relative_to(ROOT))


if __name__ == "__main__":
    main()
