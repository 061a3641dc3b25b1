"""The flux engine (FLUX.1-Fill-dev + LoRA). See engine.py; loading rules in loading.py.

Importing this package is cheap: torch and diffusers load when FluxEngine is first used, so
`layerlift models` and the registry do not pay for them up front.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from layerlift.inference.engines.flux.engine import FluxEngine

__all__ = ["FluxEngine"]


def __getattr__(name: str):
    if name == "FluxEngine":
        from layerlift.inference.engines.flux.engine import FluxEngine

        return FluxEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
