"""The main window on a real X server: Xvfb, started here on a free display, runs
real_window_steps.py (select by click, Shift / Alt+click, the hint brushes, the Bend slider,
the bend handle on the canvas, undo and redo of each, all checked by the window's pixels as
the X server has them).

On Linux a missing Xvfb fails the test (`make install` installs it, CI has it); on macOS and
Windows, which have no Xvfb, it skips.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STEPS = Path(__file__).with_name("real_window_steps.py")
SCREEN = "1280x1024x24"
CHECKS = 4                       # the test functions in real_window_steps.py
TIMEOUT_S = 300                  # ~20 s alone on 2 cores
XVFB_START_S = 30


def start_xvfb(log: Path) -> tuple[subprocess.Popen, str]:
    """Xvfb on a display it picks itself (-displayfd: no race for a free number); its output
    goes to `log` (a pipe nobody reads could fill and block it)."""
    read, write = os.pipe()
    with open(log, "wb") as err:
        try:
            server = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write), "-screen", "0", SCREEN, "-nolisten", "tcp"],
                pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=err)
        finally:
            os.close(write)
    with os.fdopen(read, "rb") as pipe:
        # written once the server accepts clients; a server that hangs must not hang CI
        ready, _, _ = select.select([pipe], [], [], XVFB_START_S)
        number = pipe.readline().strip() if ready else b""
    if not number.isdigit():
        stop(server)
        raise AssertionError(f"Xvfb did not start within {XVFB_START_S} s: "
                             f"{log.read_text(errors='replace')[-2000:]}")
    return server, f":{number.decode()}"


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(10)


@pytest.mark.skipif(sys.platform != "linux", reason="Xvfb is an X server for Linux")
def test_the_real_window_under_xvfb(tmp_path):
    assert shutil.which("Xvfb"), ("Xvfb is missing: the real-window tests need it "
                                  "(`make install` installs the xvfb package)")
    server, display = start_xvfb(tmp_path / "xvfb.log")
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pytest", str(STEPS), "-q", "-p", "no:cacheprovider",
             "-o", "addopts=", "--tb=short", "--basetemp", str(tmp_path / "steps")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        told = exc.stdout or b""         # (bytes here, whatever text= said)
        told = told.decode(errors="replace") if isinstance(told, bytes) else told
        raise AssertionError(f"the real-window checks ran over {TIMEOUT_S} s:\n"
                             f"{told[-4000:]}") from None
    finally:
        stop(server)
    report = (out.stdout + out.stderr)[-6000:]
    assert out.returncode == 0, f"under Xvfb ({display}):\n{report}"
    assert re.search(rf"\b{CHECKS} passed\b", out.stdout), f"not all checks ran:\n{report}"
