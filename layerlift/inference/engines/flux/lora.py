"""LoRA files: diffusers-format .safetensors only, checked before anything loads them.

`--lora FILE[:SCALE]`. A file is accepted when its safetensors header parses, every tensor is a
`transformer.<module>.lora_A/lora_B.weight` of a module the transformer has, and nothing else is
in it. Pickle checkpoints, garbage and other formats are refused with EngineUnavailable (an
InputError: exit 2 in the CLI) before torch reads a byte of tensor data.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import tempfile
from pathlib import Path

from layerlift.inference.errors import EngineUnavailable, InputError

_KEY = re.compile(r"^transformer\.(?P<module>.+)\.lora_(?P<ab>[AB])\.weight$")
_MAX_HEADER = 100 * 1024 * 1024
METADATA_KEY = "lora_adapter_metadata"


def parse_lora_spec(spec: str, default_scale: float = 1.0) -> tuple[Path, float]:
    """"FILE[:SCALE]" -> (path, scale). A trailing ":number" is the scale."""
    path, scale = spec, default_scale
    head, sep, tail = spec.rpartition(":")
    if sep and head:
        try:
            scale = float(tail)
            path = head
        except ValueError:
            pass
    if not -4.0 <= scale <= 4.0:
        raise InputError(f"LoRA scale must be between -4 and 4, got {scale}")
    return Path(path).expanduser(), scale


def read_header(path: Path) -> dict:
    """The JSON header of a .safetensors file; EngineUnavailable for anything else."""
    if not path.is_file():
        raise EngineUnavailable(f"LoRA file not found: {path}")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(8)
            if len(raw) < 8:
                raise EngineUnavailable(f"{path.name} is not a .safetensors LoRA (too short)")
            (length,) = struct.unpack("<Q", raw)
            if length < 2 or length > min(_MAX_HEADER, path.stat().st_size - 8):
                raise EngineUnavailable(
                    f"{path.name} is not a .safetensors LoRA (pickle checkpoints and other "
                    "formats are refused; convert it to diffusers .safetensors)")
            header = json.loads(fh.read(length))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise EngineUnavailable(f"{path.name} is not a .safetensors LoRA "
                                "(its header is not valid)") from None
    except OSError as e:
        raise EngineUnavailable(f"cannot read LoRA file {path}: {e.strerror or e}") from None
    if not isinstance(header, dict):
        raise EngineUnavailable(f"{path.name} is not a .safetensors LoRA")
    return header


def check_lora_file(path: Path, module_names: set[str] | None = None) -> dict:
    """Validate a diffusers-format FLUX LoRA; returns its adapter metadata (may be empty).

    module_names: the transformer's module names; when given, every LoRA target must exist.
    """
    header = read_header(path)
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise EngineUnavailable(f"{path.name}: its __metadata__ is not an object")
    if not header:
        raise EngineUnavailable(f"{path.name} holds no tensors")
    bad = [k for k in header if not _KEY.match(k)]
    if bad:
        raise EngineUnavailable(
            f"{path.name} is not a diffusers-format FLUX LoRA (unexpected key {bad[0]!r}; "
            "expected transformer.<module>.lora_A.weight / lora_B.weight)")
    modules = {_KEY.match(k)["module"] for k in header}
    for module in modules:
        if f"transformer.{module}.lora_A.weight" not in header or \
                f"transformer.{module}.lora_B.weight" not in header:
            raise EngineUnavailable(f"{path.name}: {module} lacks its lora_A or lora_B weight")
    if module_names is not None:
        unknown = sorted(modules - module_names)
        if unknown:
            raise EngineUnavailable(
                f"{path.name} does not fit this FLUX transformer (no module {unknown[0]!r})")
    adapter = metadata.get(METADATA_KEY)
    if adapter:
        try:
            config = json.loads(adapter) if isinstance(adapter, str) else None
        except (ValueError, RecursionError):
            config = None
        if not isinstance(config, dict):
            raise EngineUnavailable(f"{path.name}: unreadable adapter metadata (not a JSON "
                                    "object)")
        # diffusers stores the transformer's LoraConfig fields as "transformer.<field>".
        return {k.removeprefix("transformer."): v for k, v in config.items()}
    return {}


def adapter_name_for(path: Path) -> str:
    """A stable adapter name per file (its resolved path and modification time)."""
    stat = path.stat()
    token = f"{path.resolve()}:{stat.st_mtime_ns}:{stat.st_size}"
    return "layerlift_" + hashlib.sha256(token.encode()).hexdigest()[:12]


def load_lora(pipe, path: Path) -> str:
    """Check and load the LoRA into the pipeline's transformer once; returns the adapter name."""
    name = adapter_name_for(path)
    if name in (getattr(pipe.transformer, "peft_config", None) or {}):
        return name
    check_lora_file(path, {n for n, _ in pipe.transformer.named_modules()})
    try:
        pipe.load_lora_weights(str(path), adapter_name=name)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise EngineUnavailable(f"could not load LoRA {path.name}: {str(exc)[:200]}") from None
    return name


def keep_lora_precision(pipe, path: Path, name: str, dtype) -> int:
    """Give adapter `name` its file's full-precision weights in `dtype`.

    Under fp8 layerwise casting, peft builds the LoRA layers in the base weights' storage
    dtype (float8), which cannot compute and would quantize the adapter; the small LoRA
    tensors are kept in the compute dtype instead. Returns how many tensors were set.
    """
    from safetensors.torch import load_file

    weights = load_file(str(path))
    count = 0
    for param_name, param in pipe.transformer.named_parameters():
        if f".{name}." not in param_name:
            continue
        key = "transformer." + param_name.replace(f".{name}.", ".")
        if key in weights:
            param.data = weights[key].to(device=param.device, dtype=dtype)
            count += 1
    return count


def activate(pipe, name: str | None, scale: float = 1.0) -> None:
    """Use adapter `name` at `scale`, or no LoRA at all (zero-shot) when name is None."""
    loaded = getattr(pipe.transformer, "peft_config", None) or {}
    if name is None:
        if loaded:
            pipe.disable_lora()
        return
    pipe.enable_lora()
    pipe.set_adapters([name], adapter_weights=[scale])


def save_lora(transformer, path: str | Path, lora_config, adapter_name: str = "default") -> None:
    """Write the transformer's adapter as a diffusers-format .safetensors with its metadata.

    lora_config: the peft LoraConfig used to add the adapter; its rank and alpha are stored
    (transformer_lora_adapter_metadata), without which alpha is lost on reload. Atomic.
    """
    from diffusers import FluxFillPipeline
    from peft.utils import get_peft_model_state_dict

    path = Path(path)
    if path.suffix != ".safetensors":
        raise InputError(f"a LoRA is saved as .safetensors, not {path.name}")
    state = get_peft_model_state_dict(transformer, adapter_name=adapter_name)
    tmpdir = tempfile.mkdtemp(dir=path.parent, prefix=".lora-")
    try:
        FluxFillPipeline.save_lora_weights(
            tmpdir, transformer_lora_layers=state, weight_name="lora.safetensors",
            transformer_lora_adapter_metadata=lora_config.to_dict())
        os.replace(os.path.join(tmpdir, "lora.safetensors"), path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
