"""A flux run that cannot load its model says so in one line on stderr, and exits 2; a run
that works prints no progress bars or library chatter (issue 12, point 5).

All the cases run in one child process (torch is imported once), each with stderr (fd 2)
sent to its own file, so what the libraries print through their own handlers is seen.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).parents[3]

RUN_CASES = r"""
import json, os, sys
from layerlift.inference import cli
cases = json.loads(sys.argv[1])
codes = {}
for name, argv in cases.items():
    sys.stderr.flush()
    saved = os.dup(2)
    with open(argv.pop(), "w") as err:
        os.dup2(err.fileno(), 2)
        try:
            codes[name] = cli.main(argv)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
print(json.dumps(codes))
"""


def _broken_copies(tiny_folder: Path, root: Path) -> dict[str, Path]:
    def copy(name: str) -> Path:
        folder = root / name
        shutil.copytree(tiny_folder, folder)
        return folder

    # A config asking for more blocks than the checkpoint holds: diffusers warns with every
    # missing weight's name and leaves them on the meta device; the run then failed deep in
    # torch with an internal error.
    config = copy("config-not-matching") / "transformer" / "config.json"
    settings = json.loads(config.read_text())
    settings["num_layers"] += 1
    config.write_text(json.dumps(settings))
    vae = next((copy("truncated-vae") / "vae").glob("*.safetensors"))
    vae.write_bytes(vae.read_bytes()[:500])
    (copy("broken-scheduler") / "scheduler" / "scheduler_config.json").write_text("garbage")
    return {"works": tiny_folder, **{p.name: p for p in root.iterdir()}}


def test_flux_load_failures_are_one_line_and_a_good_run_prints_no_bars(tiny_folder, tmp_path,
                                                                        photo):
    image, mask = photo
    Image.fromarray(image).save(tmp_path / "shot.png")
    Image.fromarray(mask.astype(np.uint8) * 255).save(tmp_path / "shot.mask.png")
    models = _broken_copies(tiny_folder, tmp_path / "models")
    models["not-downloaded"] = Path("layerlift-tests/not-in-the-cache")
    cases = {}
    for name, model in models.items():
        cases[name] = ["decompose", str(tmp_path / "shot.png"), "--mask",
                       str(tmp_path / "shot.mask.png"), "--engine", "flux", "--model",
                       str(model), "--steps", "1", "--size", "64",
                       "--out", str(tmp_path / f"out-{name}"), str(tmp_path / f"{name}.err")]
    # A cold prompt-embedding cache: the text encoders load too (their bars, tokenizer notes).
    env = {**_env(), "LAYERLIFT_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", RUN_CASES, json.dumps(cases)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    codes = json.loads(proc.stdout.splitlines()[-1])
    stderr = {name: (tmp_path / f"{name}.err").read_text() for name in cases}

    assert codes["works"] == 0, stderr["works"]
    assert (tmp_path / "out-works" / "object.png").is_file()
    # Only our own one-line warnings (the CPU one); no bars, no library lines.
    assert all(line.startswith("layerlift: warning: ")
               for line in stderr["works"].splitlines()), stderr["works"]
    for name in cases.keys() - {"works"}:
        assert codes[name] == 2, (name, stderr[name])
        (line,) = stderr[name].splitlines() or [""]
        assert line.startswith("layerlift: error: "), (name, stderr[name])
        assert not (tmp_path / f"out-{name}").exists()
    assert "does not match its config" in stderr["config-not-matching"]
    assert "not in the Hugging Face cache" in stderr["not-downloaded"]


def _env() -> dict[str, str]:
    """This environment less any model choice; offline, as every test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYERLIFT_FLUX")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return env
