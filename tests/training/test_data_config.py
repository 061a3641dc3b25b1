"""Data loading, augmentation, the settings file and the CLI's input checks (no model)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from layerlift.inference.crop import extract, working_crop
from layerlift.inference.engines.flux import engine as flux_engine
from layerlift.inference.errors import InputError
from layerlift.training.cli import main
from layerlift.training.config import build_config, read_config_file
from layerlift.training.data import DataSource, find_sample_folders, make_example, read_sample

EXAMPLE = Path(__file__).resolve().parents[2] / "layerlift" / "training" / "example_config.toml"


def rebuilt_composite(p) -> np.ndarray:
    """logo over object from the panels: panel - 255(1-a) is a*L, so a*L + (1-a)*object."""
    a = p.alpha[..., None]
    return p.logo_panel.astype(np.float32) - 255 * (1 - a) + (1 - a) * p.object


def test_examples_keep_composite_equal_logo_over_object(data_dir):
    sample = read_sample(data_dir / "s00")
    plain = make_example(sample, 64)
    for p in (plain.decompose, plain.compose):
        assert p.composite.shape == p.object.shape == p.logo_panel.shape == (64, 64, 3)
    assert plain.mask.any() and plain.support.any()
    for seed in range(6):
        ex = make_example(sample, 64, np.random.default_rng(seed))
        for p in (ex.decompose, ex.compose):
            err = np.abs(rebuilt_composite(p) - p.composite)
            assert np.median(err) <= 1.0 and err.mean() < 2.5, (seed, err.mean())
    # and augmentation does change things
    augmented = [make_example(sample, 64, np.random.default_rng(s)).decompose.composite
                 for s in range(4)]
    assert any(np.abs(a.astype(int) - plain.decompose.composite).mean() > 3 for a in augmented)


def test_compose_examples_are_cut_like_the_engine_cuts_compose(data_dir):
    """Decompose panels around the user's mask, compose panels around the logo's support
    (alpha > 0), each with the flux engine's own crop."""
    sample = read_sample(data_dir / "s00")
    ex = make_example(sample, 64)
    assert ex.compose.box == flux_engine.compose_crop(sample.logo)
    assert ex.decompose.box == working_crop(sample.mask)
    assert ex.compose.box != ex.decompose.box     # the loose mask is larger than the logo
    support = sample.logo[..., 3] > 0
    assert np.array_equal(ex.support, extract(support, ex.compose.box, 64))
    assert np.array_equal(ex.compose.object, extract(sample.object, ex.compose.box, 64))


def test_data_order_is_a_function_of_seed_and_step(data_dir):
    folders = find_sample_folders([str(data_dir)])
    assert len(folders) == 4
    source = DataSource(folders, 64, seed=3)
    first = source.batch(5, 0, 2, 1)
    again = DataSource(folders, 64, seed=3).batch(5, 0, 2, 1)
    def same(x, y) -> bool:
        return np.array_equal(x.decompose.composite, y.decompose.composite)

    assert all(same(a, b) for a, b in zip(first, again, strict=True))
    other = source.batch(6, 0, 2, 1)
    assert not all(same(a, b) for a, b in zip(first, other, strict=True))
    # each epoch visits every sample once
    names = [source.folders[source.folder_index(p)] for p in range(4)]
    assert sorted(names) == folders


def test_missing_files_are_reported(tmp_path, data_dir):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "composite.png").write_bytes((data_dir / "s00" / "composite.png").read_bytes())
    with pytest.raises(InputError, match="lacks mask.png"):
        read_sample(bad)
    with pytest.raises(InputError, match="not found"):
        find_sample_folders([str(tmp_path / "nowhere")])


def test_example_config_parses_and_flags_override():
    settings = read_config_file(EXAMPLE)
    config = build_config(settings, {"steps": 7, "rank": None})
    assert config.steps == 7 and config.rank == 32 and config.lora_alpha == 32.0
    assert config.grad_accum == 4 and config.cycle_start == 1000 and config.data == ["data/train"]


def test_json_config_and_bad_settings(tmp_path):
    good = tmp_path / "c.json"
    good.write_text(json.dumps({"data": "d", "cycle-weight": 1, "resolution": 64}))
    config = build_config(read_config_file(good), {})
    assert config.cycle_weight == 1.0 and config.data == ["d"] and config.resolution == 64
    for text, message in [('{"rank": "big"}', "must be int"), ('{"colour": 1}', "unknown"),
                          ("{", "does not parse"), ('{"data": ["d"], "resolution": 50}',
                                                    "multiple of 16")]:
        path = tmp_path / "bad.json"
        path.write_text(text)
        with pytest.raises(InputError, match=message):
            build_config(read_config_file(path), {})


@pytest.mark.parametrize("argv", [
    ["--data", "/nonexistent/x", "--out", "{tmp}/l.safetensors", "--model", "{tmp}"],
    ["--data", "{data}", "--out", "{tmp}/l.safetensors", "--resolution", "50"],
    ["--data", "{data}", "--out", "{tmp}/l.bin"],
    ["--data", "{data}", "--out", "{tmp}/l.safetensors", "--steps", "0"],
    ["--data", "{data}", "--bogus"],
    ["--config", "{tmp}/missing.toml"],
    ["--out", "{tmp}/l.safetensors"],
    ["--data", "{data}", "--out", "{tmp}/l.safetensors", "--model", "{tmp}/no-such-model"],
    ["--resume", "{tmp}", "--out", "{tmp}/l.safetensors"],
    ["--data", "{data}", "--out", "{tmp}/l.safetensors", "--device", "toaster"],
])
def test_cli_bad_input_exits_2_with_one_line(argv, tmp_path, data_dir, capsys):
    argv = [a.format(tmp=tmp_path, data=data_dir) for a in argv]
    before = sorted(tmp_path.rglob("*"))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("layerlift train: error:") and "\n" not in err, err
    assert sorted(tmp_path.rglob("*")) == before


def test_cli_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "--cycle-weight" in capsys.readouterr().out


def test_streamed_samples_come_from_the_generator_deterministically(data_dir):
    source = DataSource([], 64, seed=1, stream=1.0)
    a = source.batch(2, 0, 2, 1)
    b = DataSource([], 64, seed=1, stream=1.0).batch(2, 0, 2, 1)
    assert all(np.array_equal(x.decompose.composite, y.decompose.composite)
               for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0].decompose.composite, a[1].decompose.composite)
    assert all(ex.mask.any() and ex.decompose.composite.shape == (64, 64, 3) for ex in a)
    # mixed: about half of the picks are generated
    mixed = DataSource(find_sample_folders([str(data_dir)]), 64, seed=1, stream=0.5)
    names = [ex.name for step in range(20) for ex in mixed.batch(step, 0, 1, 1)]
    generated = sum(n.startswith("generated:") for n in names)
    assert 4 <= generated <= 16


def test_example_config_asks_for_a_card_that_holds_the_model():
    """The smallest GPU the example config names must hold the bf16 transformer (22.2 GiB)
    with room to train; a 24 GB card cannot, as the README says."""
    import re

    from layerlift.inference.engines.flux.memory import TIER_NEEDS_GIB

    smallest = int(re.search(r"single (\d+)-\d+ GB GPU", EXAMPLE.read_text()).group(1))
    assert smallest * 1e9 / 2**30 > TIER_NEEDS_GIB["gpu"]
