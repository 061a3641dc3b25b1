"""`layerlift models`: listing what is found and missing; download refuses cleanly offline."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest

from layerlift.inference.engines.flux import models

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))


@pytest.fixture(autouse=True)
def no_app_settings(tmp_path, monkeypatch):
    """Never read the real desktop settings of whoever runs the tests."""
    monkeypatch.setattr(models, "app_settings_file", lambda: tmp_path / "no-settings.json")


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_listing_says_what_is_missing_and_how_to_get_it(empty_hub):
    out = io.StringIO()
    assert models.list_models(out) == 0
    text = out.getvalue()
    assert "classical" in text and "flux" in text
    assert str(empty_hub) in text
    assert "Missing:" in text and "layerlift models download" in text
    assert "Device: cpu" in text


def test_listing_with_a_local_folder(tiny_folder, empty_hub, monkeypatch):
    monkeypatch.setenv("LAYERLIFT_FLUX_MODEL", str(tiny_folder))
    out = io.StringIO()
    models.list_models(out)
    text = out.getvalue()
    assert f"found: {tiny_folder}" in text
    for part in ("transformer", "vae", "text_encoder_2", "tokenizer"):
        assert f"{part}" in text
    assert "Missing:" not in text and "Nothing missing" in text


def test_listing_names_a_missing_component(tiny_folder, tmp_path, empty_hub, monkeypatch):
    import shutil

    partial = tmp_path / "partial"
    shutil.copytree(tiny_folder, partial, ignore=shutil.ignore_patterns("vae"))
    monkeypatch.setenv("LAYERLIFT_FLUX_MODEL", str(partial))
    out = io.StringIO()
    models.list_models(out)
    assert "Missing: vae in" in out.getvalue()


def test_download_refuses_offline(capsys):
    assert models.main(["download"]) == 2          # HF_HUB_OFFLINE=1 in these tests
    err = capsys.readouterr().err
    assert "HF_HUB_OFFLINE" in err and "\n" == err[-1] and err.count("\n") == 1


def test_download_refuses_a_bad_id(capsys):
    assert models.main(["download", "not a repo"]) == 2


def test_download_without_network_fails_cleanly(tmp_path):
    """The hub endpoint points at a closed local port: no traceback, exit 2, one line."""
    env = dict(os.environ, HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(tmp_path),
               HF_HUB_OFFLINE="0", HF_HUB_ETAG_TIMEOUT="2", HF_HUB_DOWNLOAD_TIMEOUT="2")
    proc = subprocess.run(
        [sys.executable, "-m", "layerlift.inference.engines.flux.models", "download",
         "someone/model"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "cannot reach" in proc.stderr


def test_importing_the_package_does_not_import_torch():
    code = ("import sys, layerlift.inference.engines.flux, "
            "layerlift.inference.engines.flux.models, "
            "layerlift.inference.engines.flux.loading; print('torch' in sys.modules, "
            "'diffusers' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.stdout.split() == ["False", "False"], proc.stderr


def test_listing_reports_the_desktop_apps_model_setting(tiny_folder, tmp_path, empty_hub,
                                                        monkeypatch):
    import json

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"model_path": str(tiny_folder), "engine": "flux"}))
    monkeypatch.setattr(models, "app_settings_file", lambda: settings)
    out = io.StringIO()
    models.list_models(out)
    text = out.getvalue()
    assert "Desktop app setting model_path" in text and f"found: {tiny_folder}" in text
