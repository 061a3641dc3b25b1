"""run_batch and `layerlift batch`: manifest, resume by content hash, prompts, workers, kills.

Ray runs are in test_batch_ray.py; here Ray is only imported to be hidden.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from layerlift.inference import batch, cli, engines
from layerlift.inference.batch import run_batch
from layerlift.inference.batch.inputs import folder_names
from layerlift.inference.batch.manifest import read_records
from layerlift.inference.batch.on_ray import RAY_MISSING, actor_plan
from layerlift.inference.batch.work import Job
from layerlift.inference.errors import InputError
from tests.inference.batch_engines import CRASH_MARK, LOG_ENV

ROOT = Path(__file__).parents[2]
H, W = 72, 96
BOX = (24, 20, 72, 48)
LAYER_FILES = ["layers.ora", "layers.psd", "logo.png", "logo_asset.png", "manifest.json",
               "object.png", "report.json"]


def photo_and_mask(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A shaded surface with a red bar on it, different for each seed."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W].astype(np.float32)
    base = 110 + 40 * (xx / W) + 15 * np.sin(yy / (5.0 + seed % 7))
    rgb = np.stack([base, base * 0.9 + 10, base * 0.7 + 30], -1) + rng.normal(0, 2, (H, W, 3))
    photo = np.clip(rgb, 0, 255).astype(np.uint8)
    photo[30:38, 30 + seed % 5:66] = (200, 20, 30)
    mask = np.zeros((H, W), bool)
    mask[BOX[1]:BOX[3], BOX[0]:BOX[2]] = True
    return photo, mask


def make_killer_photo(folder: Path) -> None:
    """killer.png (and its mask) in `folder`: the crashing test engine kills its worker on it."""
    photo, mask = photo_and_mask(9)
    photo[0, 0] = CRASH_MARK
    Image.fromarray(photo).save(folder / "killer.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(folder / "killer.mask.png")


def make_photos(folder: Path, n: int, *, masks_beside: bool = True, first: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(first, first + n):
        photo, mask = photo_and_mask(i)
        path = folder / f"p{i:02d}.png"
        Image.fromarray(photo).save(path)
        if masks_beside:
            Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f"p{i:02d}.mask.png")
        paths.append(path)
    return paths


def records(out: Path) -> list[dict]:
    """The manifest's whole lines (a line a kill cut short is not a record)."""
    return list(read_records(out / "manifest.jsonl"))


def by_run(out: Path) -> list[list[dict]]:
    runs: dict[str, list[dict]] = {}
    for r in records(out):
        runs.setdefault(r["run"], []).append(r)
    return list(runs.values())


def statuses(rs: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rs:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return counts


def visible(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if not n.startswith("."))


@pytest.fixture
def shots(tmp_path) -> Path:
    """10 photos with masks beside them, and one corrupt photo (with a mask)."""
    folder = tmp_path / "shots"
    make_photos(folder, 10)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    Image.fromarray(photo_and_mask(0)[1].astype(np.uint8) * 255).save(folder / "broken.mask.png")
    return folder


# ---------------------------------------------------------------- the acceptance run


def test_ten_photos_and_a_corrupt_one_then_a_rerun_skips_all_ten(shots, tmp_path, capsys):
    out = tmp_path / "out"
    rc = cli.main(["batch", str(shots), "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 2, captured  # some photos were bad input, none an internal error
    assert "10 done, 1 failed, 0 skipped (of 11)" in captured.out
    assert "FAILED" in captured.out and "broken.png" in captured.out
    assert visible(out) == sorted(["manifest.jsonl", *(f"p{i:02d}" for i in range(10))])
    for i in range(10):
        assert sorted(os.listdir(out / f"p{i:02d}")) == LAYER_FILES
    (first,) = by_run(out)
    assert statuses(first) == {"ok": 10, "failed": 1}
    (bad,) = [r for r in first if r["status"] == "failed"]
    assert bad["error_kind"] == "input" and "broken.png" in bad["error"]
    good = [r for r in first if r["status"] == "ok"]
    assert all(0 <= r["confidence"] <= 1 and r["cycle_error"] is not None for r in good)
    assert all(r["timings"]["decompose_s"] > 0 and r["timings"]["total_s"] > 0 for r in good)
    stamps = {p: (out / p / "object.png").stat().st_mtime_ns for p in visible(out)
              if p != "manifest.jsonl"}

    rc = cli.main(["batch", str(shots), "--out", str(out)])
    captured = capsys.readouterr()
    assert rc == 2
    assert "0 done, 1 failed, 10 skipped (of 11)" in captured.out
    assert statuses(by_run(out)[1]) == {"skipped": 10, "failed": 1}
    skipped = [r for r in by_run(out)[1] if r["status"] == "skipped"]
    assert [r["confidence"] for r in skipped] == [r["confidence"] for r in good]
    assert stamps == {p: (out / p / "object.png").stat().st_mtime_ns for p in stamps}


def test_all_ok_exits_0_and_an_internal_error_exits_1(tmp_path, capsys, monkeypatch):
    make_photos(tmp_path / "in", 2)
    out = tmp_path / "out"
    assert cli.main(["batch", str(tmp_path / "in"), "--out", str(out)]) == 0

    def broken(*args, **kwargs):
        raise RuntimeError("engine bug")

    monkeypatch.setattr("layerlift.inference.batch.work.decompose_file", broken)
    assert cli.main(["batch", str(tmp_path / "in"), "--out", str(out), "--seed", "3"]) == 1
    captured = capsys.readouterr().out
    assert "internal error: RuntimeError: engine bug (traceback in the manifest)" in captured
    last = by_run(out)[-1]
    assert all(r["error_kind"] == "internal" and "engine bug" in r["traceback"] for r in last)


# ---------------------------------------------------------------- what counts as done


def test_a_changed_photo_mask_or_setting_runs_again_and_nothing_else(tmp_path):
    paths = make_photos(tmp_path / "in", 3)
    out = tmp_path / "out"
    run_batch([tmp_path / "in"], out)
    # the second photo changes, the third one's mask changes
    Image.fromarray(photo_and_mask(7)[0]).save(paths[1])
    mask = photo_and_mask(0)[1].copy()
    mask[BOX[1]:BOX[1] + 4] = False
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "in" / "p02.mask.png")
    run_batch([tmp_path / "in"], out)
    assert [r["status"] for r in by_run(out)[1]] == ["skipped", "ok", "ok"]
    run_batch([tmp_path / "in"], out, settings={"seed": 1})
    assert statuses(by_run(out)[2]) == {"ok": 3}
    run_batch([tmp_path / "in"], out, settings={"seed": 1, "exact_mask": True})
    assert statuses(by_run(out)[3]) == {"ok": 3}
    run_batch([tmp_path / "in"], out, settings={"seed": 1, "exact_mask": True})
    assert statuses(by_run(out)[4]) == {"skipped": 3}
    # a layer file removed: that photo is not done any more
    (out / "p00" / "layers.psd").unlink()
    run_batch([tmp_path / "in"], out, settings={"seed": 1, "exact_mask": True})
    assert [r["status"] for r in by_run(out)[5]] == ["ok", "skipped", "skipped"]


def test_a_photo_finished_just_before_a_kill_is_not_done_again(tmp_path):
    """Its folder was renamed into place but its manifest line never written (or cut)."""
    make_photos(tmp_path / "in", 2)
    out = tmp_path / "out"
    run_batch([tmp_path / "in"], out)
    text = (out / "manifest.jsonl").read_text().splitlines()
    (out / "manifest.jsonl").write_text(text[0] + "\n" + text[1][:25])  # cut mid-line
    result = run_batch([tmp_path / "in"], out)
    assert (result.counts.skipped, result.counts.ok) == (2, 0)
    assert len(records(out)) == 3  # the cut line skipped, the new lines whole


def test_same_stems_never_collide_and_keep_their_folders_across_runs(tmp_path):
    for name in ("a", "b"):
        make_photos(tmp_path / name, 1)
    out = tmp_path / "out"
    run_batch([tmp_path / "a", tmp_path / "b"], out)
    assert visible(out) == ["manifest.jsonl", "p00", "p00-2"]
    # the other order, and a third photo of that stem: each keeps its folder
    make_photos(tmp_path / "c", 1)
    result = run_batch([tmp_path / "c", tmp_path / "b", tmp_path / "a"], out)
    assert (result.counts.ok, result.counts.skipped) == (1, 2)
    last = {Path(r["input"]).parent.name: r["out"] for r in by_run(out)[1]}
    assert last == {"a": "p00", "b": "p00-2", "c": "p00-3"}


def test_folder_names_are_case_folded_and_avoid_the_manifest():
    names = folder_names([Path("/x/Shot.png"), Path("/y/shot.png"), Path("/z/manifest.jsonl.png")],
                         {})
    assert names == ["Shot", "shot-2", "manifest.jsonl-2"]


# ---------------------------------------------------------------- inputs and prompts


def test_inputs_from_globs_and_lists_once_each_and_never_from_out(tmp_path):
    make_photos(tmp_path / "in" / "sub", 2)
    make_photos(tmp_path / "in", 1, first=5)
    (tmp_path / "list.txt").write_text("in/sub/p00.png\n# a comment\n\nin/p05.png\n")
    out = tmp_path / "in" / "out"  # OUT inside the folder the glob walks
    run_batch([str(tmp_path / "in" / "**" / "*.png"), tmp_path / "list.txt"], out)
    assert visible(out) == ["manifest.jsonl", "p00", "p01", "p05"]
    result = run_batch([str(tmp_path / "in" / "**" / "*.png")], out)
    assert (result.counts.total, result.counts.skipped) == (3, 3)  # not the layers in OUT


@pytest.mark.parametrize("arg, words", [
    ("nothing/*.jpg", "no photos found in the pattern"),
    ("empty", "no photos found in the folder"),
    ("missing.txt", "cannot read the list"),
])
def test_an_argument_naming_no_photo_is_refused(tmp_path, arg, words):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=words):
        run_batch([str(tmp_path / arg)], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_missing_photo_in_a_list_is_reported_as_missing(tmp_path):
    make_photos(tmp_path, 1)
    (tmp_path / "list.txt").write_text("p00.png\ngone.png\n")
    result = run_batch([tmp_path / "list.txt"], tmp_path / "out")
    (failure,) = result.failures
    assert failure["error"].startswith("photo not found:") and "gone.png" in failure["error"]


def test_masks_folder_by_stem(tmp_path):
    make_photos(tmp_path / "in", 3, masks_beside=False)
    masks = tmp_path / "masks"
    masks.mkdir()
    mask = Image.fromarray(photo_and_mask(0)[1].astype(np.uint8) * 255)
    mask.save(masks / "p00.mask.png")
    mask.save(masks / "p01.png")
    mask.save(masks / "p01.jpg")  # p01.png and p01.jpg: which one?
    result = run_batch([tmp_path / "in"], tmp_path / "out", prompts=batch.MaskFolder(masks))
    assert result.counts.ok == 1
    errors = sorted(r["error"] for r in result.failures)
    assert "2 masks for p01.png" in errors[0] and "no mask for p02.png" in errors[1]
    report = json.loads((tmp_path / "out" / "p00" / "report.json").read_text())
    assert report["input"]["mask"] == str(masks / "p00.mask.png")


def test_boxes_table_union_and_paths(tmp_path):
    make_photos(tmp_path / "a", 2, masks_beside=False)
    make_photos(tmp_path / "b", 1, masks_beside=False)
    (tmp_path / "boxes.csv").write_text(
        "file,x0,y0,x1,y1\n"
        "p00.png,24,20,48,48\n"
        "p00.png,48,20,72,48\n"        # two rows: their union
        "b/p00.png,24,20,72,48\n"      # a path: that photo only
        "p01.png,24,20,72,48\n")
    out = tmp_path / "out"
    result = run_batch([tmp_path / "a", tmp_path / "b"], out,
                       prompts=batch.BoxTable(tmp_path / "boxes.csv"))
    assert result.counts.ok == 3
    report = json.loads((out / "p00" / "report.json").read_text())
    assert report["input"]["boxes"] == [[24, 20, 48, 48], [48, 20, 72, 48]]
    assert report["input"]["mask_pixels"] == 48 * 28
    assert json.loads((out / "p00-2" / "report.json").read_text())["input"]["box"] == \
        [24, 20, 72, 48]


@pytest.mark.parametrize("text, words", [
    ("p00.png,1,2,3\n", "line 1: expected file,x0,y0,x1,y1"),
    ("file,x0,y0,x1,y1\np00.png,a,2,3,4\n", "line 2: x0,y0,x1,y1 must be whole numbers"),
    ("p00.png,5,5,5,9\n", "has no area"),
    ("file,x0,y0,x1,y1\n", "has no rows"),
])
def test_a_bad_boxes_table_is_one_line(tmp_path, text, words):
    (tmp_path / "boxes.csv").write_text(text)
    with pytest.raises(InputError, match=words):
        batch.BoxTable(tmp_path / "boxes.csv")


def test_points_select_each_photos_mask_and_a_rerun_skips(tmp_path, capsys):
    make_photos(tmp_path / "in", 2, masks_beside=False)
    # p00 gets two clicks on its red bar, p01 one.
    (tmp_path / "points.csv").write_text("file,x,y\np00.png,40,34\np00.png,50.5,34\n"
                                         "p01.png,45,33\n")
    table = batch.PointTable(tmp_path / "points.csv")
    assert table.points_for(tmp_path / "in" / "p00.png") == [(40.0, 34.0), (50.5, 34.0)]
    out = tmp_path / "out"
    args = ["batch", str(tmp_path / "in"), "--points", str(tmp_path / "points.csv"),
            "--out", str(out)]
    assert cli.main(args) == 0
    assert statuses(records(out)) == {"ok": 2}
    for name in ("p00", "p01"):
        report = json.loads((out / name / "report.json").read_text())
        mask = np.asarray(Image.open(report["input"]["mask"])) > 127
        assert mask[30:38, 34:66].all()          # the bar is selected ...
        assert mask.sum() < 4 * 8 * 36           # ... with a margin of a few px
    assert cli.main(args) == 0
    assert statuses(records(out)[-2:]) == {"skipped": 2}
    (tmp_path / "bad.csv").write_text("p00.png,40\n")
    assert cli.main(["batch", str(tmp_path / "in"), "--points", str(tmp_path / "bad.csv"),
                     "--out", str(out)]) == 2
    assert "expected file,x,y" in capsys.readouterr().err


def test_points_on_a_folder_another_batch_holds_write_no_mask(tmp_path, capsys):
    # The selected masks live in OUT: a second run must be refused before it writes them,
    # or the first run's workers would read the second run's clicks.
    from layerlift.inference.batch.inputs import LOCK
    from layerlift.inference.batch.manifest import exclusive

    make_photos(tmp_path / "in", 1, masks_beside=False)
    (tmp_path / "points.csv").write_text("p00.png,40,34\n")
    out = tmp_path / "out"
    out.mkdir()
    with exclusive(out / LOCK):
        assert cli.main(["batch", str(tmp_path / "in"), "--points", str(tmp_path / "points.csv"),
                         "--out", str(out)]) == 2
    assert "another batch is writing" in capsys.readouterr().err
    assert not (out / ".selected-masks").exists()


def test_one_mask_or_one_box_for_every_photo(tmp_path, capsys):
    make_photos(tmp_path / "in", 2, masks_beside=False)
    Image.fromarray(photo_and_mask(0)[1].astype(np.uint8) * 255).save(tmp_path / "rig.png")
    assert cli.main(["batch", str(tmp_path / "in"), "--mask", str(tmp_path / "rig.png"),
                     "--out", str(tmp_path / "o1")]) == 0
    assert cli.main(["batch", str(tmp_path / "in"), "--box", "24,20,72,48",
                     "--out", str(tmp_path / "o2")]) == 0
    for out in ("o1", "o2"):
        assert statuses(records(tmp_path / out)) == {"ok": 2}


def test_a_second_batch_on_the_same_out_is_refused(tmp_path):
    from layerlift.inference.batch.manifest import exclusive

    make_photos(tmp_path / "in", 1)
    (tmp_path / "out").mkdir()
    with exclusive(tmp_path / "out" / ".batch.lock"):
        with pytest.raises(InputError, match="another batch is writing"):
            run_batch([tmp_path / "in"], tmp_path / "out")
    assert run_batch([tmp_path / "in"], tmp_path / "out").counts.ok == 1


# ---------------------------------------------------------------- workers


@pytest.fixture
def engine_log(tmp_path, monkeypatch) -> Path:
    log = tmp_path / "engine.log"
    monkeypatch.setenv(LOG_ENV, str(log))
    monkeypatch.setitem(engines.ENGINES, "counted",
                        "tests.inference.batch_engines:CountedEngine")
    monkeypatch.setitem(engines.ENGINES, "crashing",
                        "tests.inference.batch_engines:CrashingEngine")
    return log


def log_lines(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()]


def test_two_workers_each_build_their_engine_once(tmp_path, engine_log):
    make_photos(tmp_path / "in", 6)
    result = run_batch([tmp_path / "in"], tmp_path / "out", settings={"engine": "counted"},
                       workers=2)
    assert result.counts.ok == 6
    lines = log_lines(engine_log)
    workers = {pid for what, pid in lines if what == "init"} - {str(os.getpid())}
    inits = [pid for what, pid in lines if what == "init" and pid in workers]
    done_by = [pid for what, pid in lines if what == "decompose"]
    assert len(inits) == len(workers) <= 2 and len(done_by) == 6
    assert set(done_by) <= workers  # the driver decomposed nothing itself
    assert {r["worker"].split(":")[1] for r in records(tmp_path / "out")} <= workers


def test_a_photo_that_kills_its_worker_fails_and_the_batch_goes_on(tmp_path, engine_log):
    make_photos(tmp_path / "in", 4)
    make_killer_photo(tmp_path / "in")
    result = run_batch([tmp_path / "in"], tmp_path / "out", settings={"engine": "crashing"},
                       workers=2)
    assert (result.counts.ok, result.counts.failed_internal) == (4, 1)
    (failure,) = result.failures
    assert failure["input"].endswith("killer.png") and "worker process died" in failure["error"]
    assert [w for w, _ in log_lines(engine_log)].count("crash") == 2  # tried twice, alone


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie no one has reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers die with the "
                    "driver through Linux's parent-death signal")
def test_killed_half_way_the_rerun_finishes_and_nothing_is_done_twice(tmp_path):
    make_photos(tmp_path / "in", 12)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "layerlift.cli", "batch", str(tmp_path / "in"),
            "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "manifest.jsonl").exists() and len(records(out)) >= 4:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # the driver only: its workers must die with it
    proc.wait()
    first = records(out)
    assert 4 <= len(first) < 12, "the kill should land half-way"
    finished = {d: (out / d / "report.json").read_bytes() for d in visible(out)
                if (out / d / "report.json").exists()}
    # Every recorded photo is there; at most one per worker more (done in the instant
    # before the kill, its line not yet written).
    assert {r["out"] for r in first} <= set(finished)
    assert len(finished) <= len(first) + 2
    workers = {int(r["worker"].split(":")[1]) for r in first}
    assert wait_until(lambda: not any(alive(pid) for pid in workers), 15)  # died with it

    rerun = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    second = by_run(out)[-1]
    assert statuses(second) == {"skipped": len(finished), "ok": 12 - len(finished)}
    done = [r["out"] for r in records(out) if r["status"] == "ok"]
    assert len(done) == len(set(done))  # no photo done twice
    for d, before in finished.items():  # what the killed run finished is untouched
        assert (out / d / "report.json").read_bytes() == before
    assert len(visible(out)) == 13
    assert not [n for n in os.listdir(out) if ".tmp-" in n or ".old-" in n]


def test_a_killed_batch_s_half_built_folders_are_removed_at_the_next_run(tmp_path):
    make_photos(tmp_path / "in", 1)
    out = tmp_path / "out"
    (out / ".p00.tmp-abc123").mkdir(parents=True)
    (out / ".p00.tmp-abc123" / "object.png").write_bytes(b"half")
    (out / ".notes").mkdir()  # not ours: kept
    run_batch([tmp_path / "in"], out)
    assert sorted(os.listdir(out)) == [".batch.lock", ".notes", "manifest.jsonl", "p00"]


# ---------------------------------------------------------------- Ray's absence, its plan


def test_ray_missing_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    make_photos(tmp_path / "in", 1)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails as if not installed
    rc = cli.main(["batch", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--ray"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err == [f"layerlift: error: {RAY_MISSING}"]
    assert "pip install 'layerlift[ray]'" in err[0]
    assert not (tmp_path / "out").exists()


def _job(**settings) -> Job:
    return Job(out="/o", settings={"engine": "classical", **settings}, candidates=1,
               grabcut=False, run="r", settings_key="k", engine_entry="m:f")


def test_actor_plan_one_gpu_per_flux_actor_one_cpu_per_classical_actor():
    assert actor_plan(_job(), {"CPU": 16.0, "GPU": 4.0}, None) == (16, {"num_cpus": 1})
    assert actor_plan(_job(), {"CPU": 16.0}, 3) == (3, {"num_cpus": 1})
    flux = _job(engine="flux")
    assert actor_plan(flux, {"CPU": 16.0, "GPU": 4.0}, None) == \
        (4, {"num_cpus": 1, "num_gpus": 1})
    assert actor_plan(flux, {"CPU": 16.0, "GPU": 4.0}, 9)[0] == 4
    with pytest.raises(InputError, match="no GPU for the flux engine"):
        actor_plan(flux, {"CPU": 16.0}, None)
    assert actor_plan(_job(engine="flux", device="cpu"), {"CPU": 8.0}, None) == \
        (1, {"num_cpus": 8})


# ---------------------------------------------------------------- the command's own parts


def test_the_resume_key_follows_the_lora_file_not_only_its_path(tmp_path):
    from layerlift.inference.batch.work import settings_digest

    lora = tmp_path / "mine.safetensors"
    lora.write_bytes(b"first")
    flux = {"engine": "flux", "seed": 0, "steps": 8, "size": 512, "model": None,
            "lora": str(lora), "lora_scale": 1.0, "memory": None, "device": None,
            "exact_mask": False}
    before = settings_digest(flux, 1, False)
    assert settings_digest(flux, 1, False) == before
    assert settings_digest(flux, 2, False) != before          # candidates
    assert settings_digest({**flux, "steps": 9}, 1, False) != before
    assert settings_digest(flux, 1, True) != before           # GrabCut
    lora.write_bytes(b"retrained")
    assert settings_digest(flux, 1, False) != before


def test_an_existing_path_after_ray_is_an_input_not_an_address(tmp_path, monkeypatch):
    seen = {}

    def fake_run_batch(inputs, out, **kwargs):
        seen.update(inputs=inputs, **kwargs)
        raise InputError("stop here")

    monkeypatch.setattr("layerlift.inference.batch.run_batch", fake_run_batch)
    (tmp_path / "shots").mkdir()
    cli.main(["batch", "--ray", str(tmp_path / "shots"), "--out", str(tmp_path / "o")])
    assert seen["inputs"] == [str(tmp_path / "shots")] and seen["ray"]
    assert seen["ray_address"] is None
    cli.main(["batch", str(tmp_path / "shots"), "--ray=auto", "--out", str(tmp_path / "o")])
    assert seen["ray_address"] == "auto"
    cli.main(["batch", str(tmp_path / "shots"), "--out", str(tmp_path / "o")])
    assert not seen["ray"]


def test_the_progress_line_on_a_terminal(monkeypatch, capsys):
    from layerlift.inference.batch import BatchCounts

    progress = cli.BatchProgress()
    progress.enabled = True  # as on a terminal
    counts = BatchCounts(total=10, ok=3, failed_input=1)
    counts.started -= 8.0    # 4 photos worked in 8 s
    progress({"status": "failed", "input": "/x/bad.png", "error": "not an image"}, counts)
    err = capsys.readouterr().err
    assert "FAILED /x/bad.png: not an image\n" in err
    line = err.rsplit("\r", 1)[-1]
    assert line.startswith("layerlift: batch 4/10 [#########......")
    assert "0.50 photos/s" in line and "0:12 left" in line and "1 failed" in line


def test_a_pool_broken_between_two_photos_puts_the_photo_back():
    # A worker can die after the last wait and before the next photo is handed out: the
    # pool then refuses the photo. It must go back to the queue, and the photo the dead
    # worker held be tried again alone, not the batch stop.
    from collections import deque
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from layerlift.inference.batch import local

    class BreaksAfterOne:
        def __init__(self) -> None:
            self.handed = 0

        def submit(self, fn, item, job):
            self.handed += 1
            if self.handed > 1:
                raise BrokenProcessPool("a child process terminated abruptly")
            future = Future()
            future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
            return future

    first, second, third = (types.SimpleNamespace(index=i) for i in range(3))
    pending = deque([first, second, third])
    suspects: set[int] = set()
    local._feed(BreaksAfterOne(), pending, suspects, job=None, workers=2,
                on_record=lambda record: None)
    assert list(pending) == [first, second, third]
    assert suspects == {0}


@pytest.mark.parametrize("broken_first", [True, False])
def test_a_photo_finished_in_the_same_wait_as_a_dead_worker_is_recorded_not_redone(
        monkeypatch, broken_first):
    # When one worker dies, the photo the other worker has just finished can come back in
    # the same wait as the broken one. It must be recorded once, now, and only the dead
    # worker's photo go back to be tried alone, whatever order the wait gives them in.
    from collections import deque
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from layerlift.inference.batch import local

    finished, killer = (types.SimpleNamespace(index=i) for i in range(2))
    futures: dict[int, Future] = {}

    class OneFinishesOneDies:
        def submit(self, fn, item, job):
            future = futures[item.index] = Future()
            if item is finished:
                future.set_result({"input": "finished", "status": "ok"})
            else:
                future.set_exception(BrokenProcessPool("a child process terminated abruptly"))
            return future

    def wait_both(running, return_when):
        both = [futures[killer.index], futures[finished.index]]
        return (both if broken_first else both[::-1]), set()

    monkeypatch.setattr(local, "wait", wait_both)
    pending, suspects, recorded = deque([finished, killer]), set(), []
    local._feed(OneFinishesOneDies(), pending, suspects, job=None, workers=2,
                on_record=recorded.append)
    assert recorded == [{"input": "finished", "status": "ok"}]
    assert list(pending) == [killer] and suspects == {1}


def test_a_photo_this_run_finished_before_its_worker_died_is_ok_not_skipped(
        tmp_path, engine_log):
    # A worker can die (or be ended as the pool breaks) after the photo's folder is in
    # place and before its record reaches the driver. Tried again in the same run, the
    # photo is this run's result ("ok"), not decomposed again; in a later run it is skipped.
    from layerlift.inference.batch.prompts import MasksBeside
    from layerlift.inference.batch.run import DEFAULT_SETTINGS
    from layerlift.inference.batch.work import Item, process, settings_digest

    (photo,) = make_photos(tmp_path / "in", 1)
    out = tmp_path / "out"
    first = run_batch([tmp_path / "in"], out, settings={"engine": "counted"})
    assert first.counts.ok == 1
    settings = {**DEFAULT_SETTINGS, "engine": "counted"}
    item = Item(index=0, photo=str(photo), name="p00", prompt=MasksBeside().for_photo(photo))
    job = Job(out=str(out), settings=settings, candidates=1, grabcut=False, run=first.run,
              settings_key=settings_digest(settings, 1, False),
              engine_entry=engines.ENGINES["counted"])
    again = process(item, job)
    assert again["status"] == "ok" and again["timings"]["decompose_s"] > 0
    assert again["cycle_error"] == records(out)[0]["cycle_error"]
    later = process(item, Job(**{**job.__dict__, "run": "a-later-run"}))
    assert later["status"] == "skipped"
    assert [w for w, _ in log_lines(engine_log)].count("decompose") == 1  # done once
