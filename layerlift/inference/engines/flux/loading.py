"""Finding and loading FLUX.1-Fill-dev weights, never over the network.

A model is named by one string (`--model`, DecomposeRequest.model):

- a diffusers folder (any standard save_pretrained layout: model_index.json, transformer/, vae/,
  scheduler/, text_encoder/, tokenizer/, text_encoder_2/, tokenizer_2/);
- a single-file transformer, `FILE.safetensors` (or `FILE.gguf`, quantized). The other
  components come from a base: the diffusers folder the file sits in (or its parent's), else
  $LAYERLIFT_FLUX_BASE (a folder or repo id), else the default repo in the Hugging Face cache;
- a Hugging Face repo id, looked up in the local Hugging Face cache only
  (default black-forest-labs/FLUX.1-Fill-dev; $LAYERLIFT_FLUX_MODEL changes the default).

Missing weights raise EngineUnavailable naming what was searched and the command that fixes it.
The text encoders are not loaded here: the pipeline runs on cached prompt embeddings
(see embeddings.py), so the main pipeline is built with text_encoder=None etc.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from layerlift.inference.errors import EngineUnavailable

DEFAULT_REPO = "black-forest-labs/FLUX.1-Fill-dev"
MODEL_ENV = "LAYERLIFT_FLUX_MODEL"
BASE_ENV = "LAYERLIFT_FLUX_BASE"
FIX_HINT = "run `layerlift models download` (or pass --model DIR)"
TEXT_COMPONENTS = ("text_encoder", "tokenizer", "text_encoder_2", "tokenizer_2")
RUN_COMPONENTS = ("transformer", "vae", "scheduler")
SINGLE_FILE_SUFFIXES = (".safetensors", ".gguf")


@dataclass(frozen=True)
class ModelSource:
    """Where the weights are: a local diffusers folder, plus an optional transformer file."""

    label: str                       # what the user asked for, for messages and reports
    base: Path                       # diffusers folder (a cache snapshot for a repo id)
    transformer_file: Path | None = None


def default_model() -> str:
    return os.environ.get(MODEL_ENV) or DEFAULT_REPO


def hf_cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def cached_snapshot(repo_id: str) -> Path | None:
    """The repo's folder in the local Hugging Face cache, or None. Never touches the network."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


def _is_repo_id(spec: str) -> bool:
    parts = spec.split("/")
    return len(parts) == 2 and all(parts) and not Path(spec).exists() \
        and not spec.startswith((".", "~", "/"))


def _base_for_file(path: Path) -> tuple[Path, str]:
    """The diffusers folder that supplies the components beside a single-file transformer."""
    for folder in (path.parent, path.parent.parent):
        if (folder / "model_index.json").is_file():
            return folder, str(folder)
    base_spec = os.environ.get(BASE_ENV)
    if base_spec:
        return _resolve_folder_or_repo(base_spec), base_spec
    return _resolve_folder_or_repo(DEFAULT_REPO), DEFAULT_REPO


def _resolve_folder_or_repo(spec: str) -> Path:
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "model_index.json").is_file():
            raise EngineUnavailable(f"{spec} is not a diffusers folder (no model_index.json)")
        return path
    if _is_repo_id(spec):
        snapshot = cached_snapshot(spec)
        if snapshot is None:
            raise EngineUnavailable(
                f"FLUX weights not found: {spec} is not in the Hugging Face cache "
                f"({hf_cache_dir()}); run `layerlift models download {spec}` or pass --model DIR")
        return snapshot
    raise EngineUnavailable(f"no such model folder or file: {spec}; {FIX_HINT}")


def resolve_model(spec: str | None) -> ModelSource:
    """Turn the user's model string into local paths, or raise EngineUnavailable."""
    spec = spec or default_model()
    path = Path(spec).expanduser()
    if path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        if not path.is_file():
            raise EngineUnavailable(f"no such transformer file: {spec}")
        base, _ = _base_for_file(path)
        return ModelSource(label=spec, base=base, transformer_file=path)
    if path.is_file():
        raise EngineUnavailable(f"{spec}: a single-file transformer must be .safetensors or "
                                ".gguf (pickle checkpoints are refused)")
    return ModelSource(label=spec, base=_resolve_folder_or_repo(spec))


def model_index(base: Path) -> dict:
    try:
        return json.loads((base / "model_index.json").read_text())
    except (OSError, ValueError) as exc:
        raise EngineUnavailable(f"unreadable model_index.json in {base}: {exc}") from None


def missing_components(source: ModelSource, names: tuple[str, ...]) -> list[str]:
    """Component folders of `names` that are absent or hold no config/weights."""
    missing = []
    for name in names:
        if name == "transformer" and source.transformer_file is not None:
            continue
        folder = source.base / name
        if not folder.is_dir() or not any(folder.iterdir()):
            missing.append(name)
        elif name in ("transformer", "vae", "text_encoder", "text_encoder_2") and not any(
                p.suffix in (".safetensors", ".bin") for p in folder.iterdir()):
            missing.append(name)
    return missing


def require_components(source: ModelSource, names: tuple[str, ...]) -> None:
    missing = missing_components(source, names)
    if missing:
        raise EngineUnavailable(
            f"incomplete FLUX weights in {source.base}: missing {', '.join(missing)}; "
            f"{FIX_HINT}")


def _load_error(source: ModelSource, exc: BaseException) -> EngineUnavailable:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return EngineUnavailable(f"could not load FLUX from {source.label}: {first[:300]}")


def load_transformer(source: ModelSource, dtype, quantization: str | None = None):
    """The Fill transformer from the folder or the single file, optionally quantized.

    quantization: None, "nf4" (bitsandbytes) — a .gguf file is always loaded with its own
    quantization.
    """
    import torch  # noqa: F401  (diffusers needs torch loaded first)
    from diffusers import FluxTransformer2DModel

    kwargs: dict = {"dtype": dtype, "local_files_only": True}
    if quantization == "nf4":
        kwargs["quantization_config"] = nf4_config(dtype)
    try:
        if source.transformer_file is None:
            return FluxTransformer2DModel.from_pretrained(
                str(source.base), subfolder="transformer", **kwargs)
        if source.transformer_file.suffix.lower() == ".gguf":
            kwargs["quantization_config"] = gguf_config(dtype)
        return FluxTransformer2DModel.from_single_file(
            str(source.transformer_file), config=str(source.base), subfolder="transformer",
            **kwargs)
    except EngineUnavailable:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as exc:
        raise _load_error(source, exc) from None


def nf4_config(dtype):
    from importlib.util import find_spec

    if find_spec("bitsandbytes") is None:
        raise EngineUnavailable("memory tier nf4 needs bitsandbytes: pip install bitsandbytes "
                                "(CUDA only), or pick another tier with --memory")
    from diffusers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_compute_dtype=dtype)


def gguf_config(dtype):
    from importlib.util import find_spec

    if find_spec("gguf") is None:
        raise EngineUnavailable("a .gguf transformer needs the gguf package: pip install gguf")
    from diffusers import GGUFQuantizationConfig

    return GGUFQuantizationConfig(compute_dtype=dtype)


def load_fill_pipeline(source: ModelSource, dtype, quantization: str | None = None):
    """FluxFillPipeline (with exact position ids, see pipeline.py) without text encoders:
    it runs on cached prompt embeddings."""
    from layerlift.inference.engines.flux.pipeline import ExactIdsFluxFillPipeline

    require_components(source, RUN_COMPONENTS)
    transformer = load_transformer(source, dtype, quantization)
    try:
        pipe = ExactIdsFluxFillPipeline.from_pretrained(
            str(source.base), transformer=transformer, text_encoder=None, tokenizer=None,
            text_encoder_2=None, tokenizer_2=None, dtype=dtype, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as exc:
        raise _load_error(source, exc) from None
    for name in ("transformer", "vae"):
        check_all_weights_loaded(source, name, getattr(pipe, name))
    pipe.set_progress_bar_config(disable=True)
    return pipe


def check_all_weights_loaded(source: ModelSource, name: str, module) -> None:
    """Refuse a component whose checkpoint lacks weights its config asks for: diffusers
    leaves those on the meta device with a warning, and the run fails later, deep inside."""
    missing = [key for key, p in module.named_parameters() if p.device.type == "meta"]
    if missing:
        raise EngineUnavailable(
            f"could not load FLUX from {source.label}: the {name}'s checkpoint does not match "
            f"its config ({len(missing)} weights missing, e.g. {missing[0]})")


def load_text_components(source: ModelSource, dtype) -> dict:
    """CLIP and T5 encoders and tokenizers, by the classes model_index.json names."""
    import transformers

    require_components(source, TEXT_COMPONENTS)
    index = model_index(source.base)
    parts = {}
    try:
        for name in TEXT_COMPONENTS:
            library, class_name = index.get(name) or (None, None)
            if library != "transformers" or not hasattr(transformers, class_name or ""):
                raise EngineUnavailable(
                    f"{source.base}/model_index.json names no transformers class for {name}")
            cls = getattr(transformers, class_name)
            kwargs = {"local_files_only": True}
            if name.startswith("text_encoder"):
                kwargs["dtype"] = dtype
            parts[name] = cls.from_pretrained(str(source.base / name), **kwargs)
    except EngineUnavailable:
        raise
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as exc:
        raise _load_error(source, exc) from None
    for name in ("text_encoder", "text_encoder_2"):
        parts[name].eval()
    return parts
