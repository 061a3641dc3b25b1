"""`layerlift models`: what engines exist, which weights were found where, what is missing.

`layerlift models download [ID]` is the only command that uses the network;
`layerlift models plan` sizes and times the real model from its configuration (plan.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from layerlift.inference.engines.flux import loading, packages, plan
from layerlift.inference.errors import LayerliftError

GATED_HINT = ("FLUX.1-Fill-dev is gated: accept its licence on the model's page, then log in "
              "with `hf auth login` (or set HF_TOKEN)")
_TRUE = {"1", "true", "yes", "on"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="layerlift models",
        description="List engines and model weights, or download the FLUX weights.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("list", help="engines, weights found, memory tier (the default)")
    down = sub.add_parser("download", help="download FLUX weights into the Hugging Face cache")
    down.add_argument("repo", nargs="?", default=None,
                      help=f"Hugging Face repo id (default {loading.DEFAULT_REPO})")
    plan.add_arguments(sub.add_parser(
        "plan", help="parameters, bytes per memory tier, FLOPs and ideal time per step, "
                     "counted from the configuration (no weights)"))
    args = parser.parse_args(argv)
    if args.command in ("plan", "download"):
        packages.require_packages()
    if args.command == "plan":
        return plan.run(args)
    if args.command == "download":
        return download(args.repo or loading.default_model())
    return list_models()


# ---- listing -------------------------------------------------------------------------------

def list_models(out=sys.stdout) -> int:
    from layerlift.inference.engines import engine_names

    spec = loading.default_model()
    missing_packages = packages.missing_packages()
    flux_needs = "not installed here" if missing_packages else "needs the weights below"
    print("Engines:", file=out)
    for name in engine_names():
        about = {"classical": "CPU, no weights, always available",
                 "flux": f"FLUX.1-Fill-dev + LoRA ({flux_needs})"}.get(name, "")
        print(f"  {name:<10} {about}", file=out)
    print("", file=out)
    if missing_packages:    # the lite bundle: no torch, no hub client, nothing to look for
        print(f"Flux: {packages.missing_message(missing_packages)}", file=out)
        return 0
    print(f"FLUX weights (default model: {spec}; set ${loading.MODEL_ENV} or pass --model):",
          file=out)
    missing = _report_model(spec, out)
    app_model = app_model_setting()
    if app_model and app_model != spec:
        print(f"Desktop app setting model_path ({app_settings_file()}):", file=out)
        _report_model(app_model, out)
    base_spec = os.environ.get(loading.BASE_ENV)
    if base_spec:
        print(f"  ${loading.BASE_ENV} = {base_spec}", file=out)
    others = [r for r in _cached_flux_repos() if r != spec]
    if others:
        print(f"  also in the Hugging Face cache: {', '.join(others)}", file=out)
    print("", file=out)
    _report_device(out)
    print("", file=out)
    if missing:
        print(f"Missing: {missing}", file=out)
    else:
        print("Nothing missing: `layerlift decompose IMAGE --mask MASK --engine flux` is ready.",
              file=out)
    return 0


def app_settings_file() -> Path:
    """The desktop app's settings.json (read as data: inference/ never imports desktop/)."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("layerlift")) / "settings.json"


def app_model_setting() -> str | None:
    try:
        data = json.loads(app_settings_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("model_path") if isinstance(data, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _report_model(spec: str, out) -> str | None:
    """Print where `spec` was looked for; returns what is missing (None when complete)."""
    from layerlift.inference.engines.flux import embeddings

    if loading._is_repo_id(spec):
        print(f"  searched the Hugging Face cache: {loading.hf_cache_dir()}", file=out)
    try:
        source = loading.resolve_model(spec)
    except LayerliftError as exc:
        print(f"  not found: {exc}", file=out)
        return (f"the FLUX weights ({spec}); get them with `layerlift models download` "
                f"({GATED_HINT})")
    print(f"  found: {source.base}", file=out)
    if source.transformer_file is not None:
        print(f"  transformer file: {source.transformer_file}", file=out)
    run_missing = loading.missing_components(source, loading.RUN_COMPONENTS)
    text_missing = loading.missing_components(source, loading.TEXT_COMPONENTS)
    warm = _embeddings_warm(source)
    for name in loading.RUN_COMPONENTS + loading.TEXT_COMPONENTS:
        state = "missing" if name in run_missing + text_missing else "ok"
        print(f"    {name:<15} {state}", file=out)
    print(f"  prompt-embedding cache ({embeddings.cache_root()}): "
          f"{'warm: CLIP and T5 will not be loaded' if warm else 'cold: filled on first run'}",
          file=out)
    needed = run_missing + ([] if warm else text_missing)
    if needed:
        return (f"{', '.join(needed)} in {source.base}; run `layerlift models download "
                f"{spec if loading._is_repo_id(spec) else loading.DEFAULT_REPO}`")
    return None


def _embeddings_warm(source) -> bool:
    from layerlift.inference.engines.flux import embeddings
    from layerlift.inference.engines.flux.engine import FIXED_PROMPTS

    return len(embeddings.load_cached(source, FIXED_PROMPTS)) == len(FIXED_PROMPTS)


def _cached_flux_repos() -> list[str]:
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir()
    except Exception:  # no cache yet, or unreadable: nothing to list  # noqa: BLE001
        return []
    return sorted(r.repo_id for r in info.repos
                  if r.repo_type == "model" and "flux" in r.repo_id.lower())


def _report_device(out) -> None:
    import warnings

    from layerlift.inference.engines.flux import memory

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        device = memory.pick_device(None)
    tier = memory.pick_tier(device)
    free = memory.free_vram_gib(device)
    if device.startswith("cuda"):
        import torch

        gpu = torch.cuda.get_device_name(0)
        print(f"Device: cuda ({gpu}, {free:.1f} GiB free) -> memory tier {tier}", file=out)
        needs = ", ".join(f"{t} >= {memory.TIER_NEEDS_GIB[t]:g} GiB" for t in memory.TIERS)
        print(f"  tiers by free VRAM: {needs}; force one with --memory", file=out)
        if not memory.has_bitsandbytes():
            print("  nf4 tier unavailable: bitsandbytes is not installed", file=out)
    elif device == "mps":
        print("Device: mps (Apple GPU) -> all components on the device, bf16", file=out)
    else:
        print("Device: cpu -> no GPU found; the flux engine runs but takes minutes per "
              "image with the real model (the classical engine is instant)", file=out)


# ---- download ------------------------------------------------------------------------------

# The diffusers layout only: the repo also holds the same transformer as one 23 GB file.
DOWNLOAD_PATTERNS = ["*.json", "*.txt", "*.model",
                     "transformer/*.safetensors", "vae/*.safetensors",
                     "text_encoder/*.safetensors", "text_encoder_2/*.safetensors"]


def download(repo_id: str) -> int:
    if not loading._is_repo_id(repo_id):
        print(f"layerlift models download: {repo_id!r} is not a repo id (owner/name)",
              file=sys.stderr)
        return 2
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        print("layerlift models download: HF_HUB_OFFLINE is set; unset it to download",
              file=sys.stderr)
        return 2
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError

    print(f"Downloading {repo_id} into {loading.hf_cache_dir()} (about 35 GB for "
          "FLUX.1-Fill-dev)...", file=sys.stderr)
    try:
        path = snapshot_download(repo_id, allow_patterns=DOWNLOAD_PATTERNS)
    except GatedRepoError:
        print(f"layerlift models download: access to {repo_id} denied; {GATED_HINT}",
              file=sys.stderr)
        return 2
    except LocalEntryNotFoundError:
        print(f"layerlift models download: cannot reach the Hugging Face Hub for {repo_id} "
              "(no network?)", file=sys.stderr)
        return 2
    except (HfHubHTTPError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"layerlift models download: {first[:300]}", file=sys.stderr)
        return 2
    print(f"Done: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
