"""The hostile corpus (tests/hostile/ora/) through `layerlift export`: every damaged or
crafted file exits 2 with one line naming it and writes nothing; the `opens-*` files export.
One subprocess opens them all and must stay within bounded memory and time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from layerlift import cli
from tests.hostile.make_ora import CASES, corpus

ROOT = Path(__file__).parents[2]
REFUSED = [p for p in corpus() if not p.name.startswith("opens-")]
OPENS = [p for p in corpus() if p.name.startswith("opens-")]


def test_the_corpus_is_what_the_generator_makes():
    assert sorted(p.stem for p in corpus()) == sorted(CASES)
    assert len(REFUSED) >= 40 and OPENS


@pytest.mark.parametrize("path", REFUSED, ids=lambda p: p.stem)
def test_a_hostile_file_is_refused_with_one_line(path, tmp_path, capsys):
    out = tmp_path / "out.psd"
    code = cli.main(["export", str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("layerlift: error: "), err
    assert path.name in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("path", OPENS, ids=lambda p: p.stem)
@pytest.mark.parametrize("suffix", [".psd", ".ora", ".png", ".jpg"])
def test_files_that_only_look_hostile_export(path, suffix, tmp_path, capsys):
    out = tmp_path / f"out{suffix}"
    assert cli.main(["export", str(path), "--out", str(out)]) == 0, capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == [out.name] and out.stat().st_size > 0


OPEN_ALL = """
import json, resource, sys, time
from layerlift.desktop.project import open_project
from layerlift.inference.errors import InputError
slowest = 0.0
for path in sys.argv[1:]:
    t = time.perf_counter()
    try:
        open_project(path)
    except InputError:
        pass
    slowest = max(slowest, time.perf_counter() - t)
# The peak of this process's own memory: VmHWM starts afresh at exec, while ru_maxrss can
# carry over the (large) test process this one was started from.
try:
    status = open("/proc/self/status").read()
    rss = int(status.split("VmHWM:")[1].split()[0]) * 1024
except (OSError, IndexError):
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"peak_rss": rss, "slowest_s": slowest}))
"""


def test_the_whole_corpus_opens_or_fails_within_bounded_memory_and_time():
    run = subprocess.run([sys.executable, "-c", OPEN_ALL, *map(str, corpus())], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout.splitlines()[-1])
    # Opened as they claim, the bombs would take gigabytes (tests/hostile/make_ora.py).
    assert figures["peak_rss"] < 400 * 2**20, figures
    assert figures["slowest_s"] < 20, figures
