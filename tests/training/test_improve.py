"""The self-improving loop: its filters on known-good and known-bad layers, and two rounds
end to end through the flux engine on a tiny random model (CPU)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from layerlift.inference.contract import Layers
from layerlift.inference.engines.flux.lora import check_lora_file
from layerlift.inference.errors import InputError
from layerlift.training.cli import main
from layerlift.training.improve import (
    AlphaSanity,
    Candidate,
    CycleError,
    ImproveSettings,
    LogoResidue,
    OutsideChange,
    SeedAgreement,
    Unlabeled,
    default_filters,
    make_candidate,
    write_rows,
)

from .conftest import make_sample, write_sample


class KeepAll:
    """A user filter plugged in from the command line (accepts everything, scores 0)."""

    name = "keep_all"
    threshold = 0.0

    def score(self, candidate) -> float:
        return 0.0


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLIFT_CACHE_DIR", str(tmp_path / "cache"))


def candidate(sample, obj, logo, others=(), recomposed=None) -> Candidate:
    return Candidate("x", sample["composite"], sample["mask"], Layers(obj, logo, {}),
                     [Layers(o, logo, {}) for o in others], recomposed)


def test_filters_accept_true_layers_and_reject_bad_ones():
    s = make_sample(3)
    from layerlift.inference.layers import alpha_over

    truth = candidate(s, s["object"], s["logo"], others=[s["object"]],
                      recomposed=alpha_over(s["logo"], s["object"]))
    for f in default_filters():
        assert f.score(truth) <= f.threshold, (f.name, f.score(truth))
    # the logo left on the object, nothing found as logo
    empty = np.zeros_like(s["logo"])
    left = candidate(s, s["composite"], empty)
    assert AlphaSanity().score(left) == 1.0
    # the logo's outline still on the object
    residue = candidate(s, s["composite"], s["logo"])
    assert LogoResidue().score(residue) > 0.9
    # a recomposition that does not give the input back
    wrong = candidate(s, s["object"], s["logo"], recomposed=s["object"])
    assert CycleError().score(wrong) > CycleError().threshold
    # seeds that disagree
    noisy = np.clip(s["object"].astype(int) + 60, 0, 255).astype(np.uint8)
    assert SeedAgreement().score(candidate(s, s["object"], s["logo"], others=[noisy])) > 0.08
    # a change outside the mask
    moved = s["object"].copy()
    moved[~s["mask"]] = 0
    assert OutsideChange().score(candidate(s, moved, s["logo"])) > 0


def test_improve_runs_two_rounds_end_to_end(tmp_path, data_dir, tiny_model_dir, capsys):
    unlabeled = tmp_path / "unlabeled"
    for i in range(3):
        write_sample(unlabeled / f"u{i}", make_sample(100 + i))
    out = tmp_path / "improved.safetensors"
    argv = ["improve", "--model", str(tiny_model_dir), "--data", str(data_dir),
            "--unlabeled", str(unlabeled), "--out", str(out), "--rounds", "2",
            "--steps-per-round", "2", "--seeds", "2", "--sample-steps", "2",
            "--resolution", "64", "--rank", "4", "--lr", "1e-3", "--cycle-start", "1",
            "--no-gradient-checkpointing",
            "--filter", "tests.training.test_improve:KeepAll",
            # a random model's layers are noise: open the gates wide so samples get kept
            "--threshold", "cycle_error=1", "--threshold", "alpha_sanity=1",
            "--threshold", "logo_residue=1", "--threshold", "seed_agreement=1",
            "--threshold", "outside_change=0"]
    assert main(argv) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "round 1: kept 3/3 (100 %)" in printed and "round 2: kept" in printed
    work = tmp_path / "improved-improve"
    log = json.loads((work / "improve_log.json").read_text())
    assert [r["round"] for r in log] == [1, 2]
    assert log[0]["lora_used"] is None                  # round 1 is zero-shot
    assert log[1]["lora_used"] == log[0]["lora_out"]    # round 2 uses round 1's LoRA
    assert set(log[0]["passed"]) == {f.name for f in default_filters()} | {"keep_all"}
    accepted = sorted(p.name for p in (work / "accepted").iterdir())
    assert accepted == ["00000-u0", "00001-u1", "00002-u2"]
    assert sorted(p.name for p in (work / "accepted" / "00000-u0").iterdir()) == [
        "composite.png", "logo.png", "mask.png", "meta.json", "object.png"]
    assert check_lora_file(out)["r"] == 4
    assert (work / "round-02" / "scores.csv").read_text().count("\n") == 4


def test_improve_with_strict_filters_keeps_nothing(tmp_path, tiny_model_dir, capsys):
    unlabeled = tmp_path / "unlabeled"
    write_sample(unlabeled / "u0", make_sample(7))
    argv = ["improve", "--model", str(tiny_model_dir), "--unlabeled", str(unlabeled),
            "--out", str(tmp_path / "x.safetensors"), "--rounds", "1", "--seeds", "1",
            "--sample-steps", "1", "--resolution", "64", "--no-recompose",
            "--threshold", "alpha_sanity=-1"]
    # nothing kept and no --data: no LoRA can be trained; a one-line error, exit 2
    assert main(argv) == 2
    # (loading progress bars may precede it on stderr; the error is one line, the last)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("layerlift train: error: no round had training data")
    assert not (tmp_path / "x.safetensors").exists()


def test_alpha_sanity_rejects_speckle():
    s = make_sample(4)
    speckled = s["logo"].copy()
    rng = np.random.default_rng(0)
    speckled[..., 3] = np.where(s["mask"], rng.integers(0, 256, s["mask"].shape), 0)
    assert AlphaSanity().score(candidate(s, s["object"], speckled)) > AlphaSanity().threshold
    whole = s["logo"].copy()
    whole[..., 3] = np.where(s["mask"], 255, 0)
    assert AlphaSanity().score(candidate(s, s["object"], whole)) == 1.0


def test_seeds_are_ranked_by_candidate_score_and_the_cycle_is_the_recomposition():
    s = make_sample(5)
    from layerlift.inference.layers import alpha_over

    scores = {20: 0.5, 21: 0.1, 22: 0.3}      # the engine's ranking: seed 21 is best
    composed = []

    def run_decompose(image, mask, seed, lora):
        obj = s["object"] if seed == 21 else s["composite"]
        return Layers(obj, s["logo"], {"candidate_score": scores[seed], "seed": seed})

    def run_compose(obj, logo, seed, lora):
        composed.append(obj)
        return alpha_over(logo, obj)

    item = Unlabeled("u", s["composite"], s["mask"])
    c = make_candidate(item, run_decompose, run_compose, None, ImproveSettings(seeds=3), seed=20)
    assert c.layers.meta["seed"] == 21
    assert [o.meta["seed"] for o in c.others] == [22, 20]
    assert len(composed) == 1 and composed[0] is s["object"]
    # the true layers compose back to the input: the cycle error is ~0
    assert CycleError().score(c) < 0.01
    # it is measured on the recomposition, not taken from the engine's candidate score
    bad = Candidate("u", s["composite"], s["mask"], Layers(s["composite"], s["logo"],
                    {"candidate_score": 0.0}), [], recomposed=s["object"])
    expected = np.abs(s["object"].astype(float) - s["composite"]).mean(axis=2)[s["mask"]].mean()
    assert CycleError().score(bad) == pytest.approx(expected / 255.0, abs=1e-6)
    with pytest.raises(InputError, match="composed back"):
        CycleError().score(replace(bad, recomposed=None))
    assert "cycle_error" not in {f.name for f in default_filters(recompose=False)}


def test_write_rows_leaves_the_old_file_whole_when_writing_fails(tmp_path):
    path = tmp_path / "scores.csv"
    write_rows(path, [{"name": "a", "kept": True}])
    before = path.read_bytes()
    # a row with a field the header lacks: csv raises while writing
    with pytest.raises(ValueError):
        write_rows(path, [{"name": "b", "kept": False}, {"name": "c", "other": 1}])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]   # no temp file left
