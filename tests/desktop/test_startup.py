"""The app starts without torch, its warm-up imports what writing files needs, and
`layerlift-gui` / `layerlift gui` reach desktop.app.main."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import sys
import time
from layerlift.desktop.app import application
from layerlift.desktop.main_window import MainWindow
app = application()
# Huge pages off in the app (see desktop.app.no_transparent_huge_pages).
import numpy
print("HUGE-PAGES" if numpy._core.multiarray._get_madvise_hugepage() else "SMALL-PAGES")
window = MainWindow()
window.show()
app.processEvents()
print("TORCH" if "torch" in sys.modules else "NO-TORCH")
# The worker loads the classical engine in the background a second after the window shows.
# A loaded 2-core CI can take far longer than that: poll for up to 30 s.
end = time.time() + 30
while time.time() < end and "layerlift.inference.engines.classical.decompose" not in sys.modules:
    app.processEvents()
    time.sleep(0.01)
print("WARM" if "layerlift.inference.engines.classical.decompose" in sys.modules else "COLD")
window.close()
window.worker.shutdown(wait_ms=None)    # the warm-up has finished: it imported what it needs
print("TORCH" if "torch" in sys.modules else "NO-TORCH")
# ... and what the writer thread of a save or an export imports (held the GIL: a stall).
from layerlift.desktop import project
from layerlift.desktop.document import Document
doc = Document(numpy.full((40, 50, 3), 90, numpy.uint8))
doc.fill_rect((5, 5, 20, 20))
before = set(sys.modules)
out = sys.argv[1]
project.save_project(project.snapshot(doc), out + "/p.ora")
for name, kind in (("x.psd", "psd"), ("x.ora", "ora"), ("x.png", "flat")):
    project.export(project.snapshot(doc), out + "/" + name, kind)
print("WRITES-IMPORTED:" + ",".join(sorted(set(sys.modules) - before)))
"""


def test_main_window_does_not_import_torch_and_uses_small_pages(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path),
               XDG_DATA_HOME=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["SMALL-PAGES", "NO-TORCH", "WARM", "NO-TORCH",
                                  "WRITES-IMPORTED:"], out.stdout


def test_main_has_the_cli_signature():
    import inspect

    from layerlift.desktop.app import main, parse_args
    assert list(inspect.signature(main).parameters) == ["argv"]
    args = parse_args(["photo.jpg", "--no-restore"])
    assert args.image == "photo.jpg" and args.no_restore
