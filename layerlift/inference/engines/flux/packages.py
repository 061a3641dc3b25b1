"""Whether the flux engine's packages are installed here, and the one-line message if not.

The lite desktop bundle (`make bundle`) and a wheel installed without its dependencies have
the classical engine only; choosing flux there must say how to get it, not crash on an import.
"""

from __future__ import annotations

from importlib.util import find_spec

from layerlift.inference.errors import EngineUnavailable

PACKAGES = ("torch", "diffusers", "transformers", "peft", "accelerate", "safetensors",
            "huggingface_hub")
ENABLE_HINT = ("to enable it, install Layerlift with its full dependencies (`pip install .` "
               "in a checkout, or a built wheel) or build the full bundle with "
               "`make bundle-full`")


def _installed(name: str) -> bool:
    try:
        return find_spec(name) is not None
    except (ImportError, ValueError):   # ValueError: a module set to None in sys.modules
        return False


def missing_packages() -> list[str]:
    """The flux engine's packages that cannot be imported here, in PACKAGES order."""
    return [name for name in PACKAGES if not _installed(name)]


def missing_message(missing: list[str]) -> str:
    return (f"the flux engine needs {', '.join(missing)}, not installed in this Layerlift "
            f"(classical engine only); {ENABLE_HINT}")


def require_packages() -> None:
    """Raise EngineUnavailable (one line: what is missing, how to enable flux) if any is."""
    missing = missing_packages()
    if missing:
        raise EngineUnavailable(missing_message(missing))
