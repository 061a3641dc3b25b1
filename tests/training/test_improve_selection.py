"""The improve loop's selection at the filters' own thresholds: a candidate with the true
layers is kept, and each candidate with one kind of defect is rejected by the filter that
guards against that defect, and by that filter only.

The decomposer and composer are stand-ins (the loop's `decomposer=` argument): they hand the
loop known layers, so what is tested is the filters and the loop's use of them. The kept
sample then trains one step on the tiny random model, as in a real round."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from layerlift.inference.contract import Layers
from layerlift.inference.engines.flux.tiny import build_tiny_fill_pipeline
from layerlift.inference.layers import alpha_over
from layerlift.training.config import TrainConfig
from layerlift.training.improve import ImproveSettings, default_filters, improve

from .conftest import make_sample, write_sample

TINY = {"resolution": 64, "rank": 4, "batch": 1, "max_sequence_length": 64,
        "gradient_checkpointing": False, "fixed_set_samples": 1}

# Each unlabeled sample, and the one filter its layers must fail (None: kept).
DEFECTS = {
    "good": None,
    "nothing-found": "alpha_sanity",     # no logo; the mark stays in the object
    "residue": "logo_residue",           # a logo layer, but the object still shows the mark
    "outside": "outside_change",         # the object changed beyond the mask
    "seeds-disagree": "seed_agreement",  # another seed gives a very different object
    "no-cycle": "cycle_error",           # composed back, the layers miss the input
}


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LAYERLIFT_CACHE_DIR", str(tmp_path / "cache"))


def _stand_ins(samples: dict[str, dict]):
    by_image = {s["composite"].tobytes(): name for name, s in samples.items()}
    composed_from: dict[int, str] = {}

    def decompose(image, mask, seed, lora):
        name = by_image[image.tobytes()]
        s = samples[name]
        obj, logo = s["object"].copy(), s["logo"].copy()
        first = seed % 1000 == 0            # the first of the round's seeds
        if name == "nothing-found":
            obj, logo = s["composite"].copy(), np.zeros_like(logo)
        elif name == "residue":
            obj = s["composite"].copy()
        elif name == "outside":
            obj[:4, :4] = 255 - obj[:4, :4]
        elif name == "seeds-disagree" and not first:
            obj[mask] = 255 - obj[mask]
        layers = Layers(obj, logo, {"candidate_score": 0.0 if first else 1.0})
        composed_from[id(obj)] = name
        return layers

    def compose(obj, logo, seed, lora):
        name = composed_from[id(obj)]
        if name == "no-cycle":
            return samples[name]["object"].copy()          # the logo did not come back
        return samples[name]["composite"].copy()

    return decompose, compose


def test_each_filter_rejects_its_defect_at_its_own_threshold(tmp_path, data_dir):
    samples = {name: make_sample(40 + i) for i, name in enumerate(DEFECTS)}
    # The stand-in for "no-cycle" must really miss the input by more than the threshold.
    s = samples["no-cycle"]
    assert alpha_over(s["logo"], s["object"]).tobytes() == s["composite"].tobytes()
    unlabeled = tmp_path / "unlabeled"
    for name, sample in samples.items():
        write_sample(unlabeled / name, sample)
    out = tmp_path / "improved.safetensors"
    settings = ImproveSettings(unlabeled=[str(unlabeled)], rounds=1, steps_per_round=1,
                               seeds=2, sample_steps=1)
    config = TrainConfig(data=[], out=str(out), steps=1, **TINY)
    logs = improve(settings, config, pipe_factory=lambda: build_tiny_fill_pipeline(seed=0),
                   decomposer=_stand_ins(samples))

    work = tmp_path / "improved-improve"
    accepted = sorted(p.name.split("-", 1)[1] for p in (work / "accepted").iterdir())
    assert accepted == ["good"]
    thresholds = {f.name: f.threshold for f in default_filters()}
    with open(work / "round-01" / "scores.csv", newline="") as fh:
        rows = {row["name"]: row for row in csv.DictReader(fh)}
    assert set(rows) == set(DEFECTS)
    for name, defect in DEFECTS.items():
        failed = {f for f, limit in thresholds.items() if float(rows[name][f]) > limit}
        assert failed == ({defect} if defect else set()), (name, rows[name])
        assert rows[name]["kept"] == str(defect is None)
    assert logs[0].kept == 1 and logs[0].selection_rate == pytest.approx(1 / 6)
    assert logs[0].passed == {f: 5 for f in thresholds}
    assert out.is_file()                                # the kept sample was trained on
    log = json.loads((work / "improve_log.json").read_text())
    assert log[0]["kept"] == 1 and log[0]["candidates"] == 6


def test_logo_residue_sees_a_mark_as_light_as_its_surface():
    """A magenta mark on a green surface of the same lightness: its edges are in colour
    only. The true object is clean (low score); the mark left in the object is residue."""
    from layerlift.training.improve import Candidate, LogoResidue

    rng = np.random.default_rng(0)
    surface = np.clip(np.full((64, 64, 3), (90, 140, 90), float)
                      + rng.normal(0, 3, (64, 64, 3)), 0, 255).astype(np.uint8)
    logo = np.zeros((64, 64, 4), np.uint8)
    logo[20:44, 16:48] = (190, 92, 190, 255)      # luma ~ the surface's (~119)
    image = alpha_over(logo, surface)
    mask = np.zeros((64, 64), bool)
    mask[16:48, 12:52] = True
    clean = Candidate("x", image, mask, Layers(surface, logo, {}))
    left = Candidate("x", image, mask, Layers(image, logo, {}))
    assert LogoResidue().score(clean) < 0.1
    assert LogoResidue().score(left) > 0.9
