"""Memory each further decomposition keeps in the undo history (issue 11: <= 15 MB at 24 MP
with a ~300 px mark), measured in the real window (offscreen), results shown on the canvas.

The photo is desktop_common's 6000x4000 one with its ~340x160 mark brushed as a box; it is
decomposed N times in a row (each run one undo step, all kept). After each run the heap is
collected and glibc's free memory handed back (malloc_trim), then the resident set read:
what stays is what the document, the history and the display hold.

Run: .venv/bin/python -m tests.benchmarks.history_memory [runs]   (default 8)
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys
import time

from tests.benchmarks.desktop_common import (
    big_photo,
    logo_box,
    machine_load,
    open_window,
    setup_qt,
)


def rss_mb() -> float:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def main(argv: list[str]) -> None:
    runs = int(argv[0]) if argv else 8
    setup_qt()
    app, window = open_window(big_photo())
    window.doc.fill_rect(logo_box())
    done: list[str] = []
    window.job_done.connect(lambda _kind, status: done.append(status))
    sizes = [rss_mb()]
    print(f"before any decomposition: {sizes[0]:.0f} MB resident")
    for run in range(1, runs + 1):
        count = len(done)
        assert window.decompose()
        while len(done) == count:
            app.processEvents()
            time.sleep(0.002)
        assert done[-1] == "ok", done[-1]
        for _ in range(20):                         # let the canvas and panel repaint
            app.processEvents()
        sizes.append(rss_mb())
        print(f"after decomposition {run}: {sizes[-1]:.0f} MB resident "
              f"({sizes[-1] - sizes[-2]:+.1f} MB); undo steps {window.undo.count()}")
    if runs >= 3:
        per_run = (sizes[-1] - sizes[2]) / (runs - 2)
        print(f"per further decomposition kept in the history (runs 3..{runs}): "
              f"{per_run:.1f} MB (target <= 15 MB)")
    print(machine_load())
    window.close()


if __name__ == "__main__":
    main(sys.argv[1:])
