"""The engine registry: engines are looked up by name and built on first use.

Heavy imports (torch, diffusers) live inside the engine modules, so importing the registry
is cheap; the flux engine's module is only imported when someone asks for "flux".
"""

from __future__ import annotations

import importlib
import threading
from typing import Protocol

import numpy as np

from layerlift.inference.contract import (
    CancelToken,
    ComposeRequest,
    DecomposeRequest,
    ProgressCallback,
)
from layerlift.inference.errors import EngineUnavailable


class Engine(Protocol):
    name: str

    def decompose(self, request: DecomposeRequest, on_progress: ProgressCallback | None,
                  cancel: CancelToken | None): ...

    def compose(self, request: ComposeRequest, on_progress: ProgressCallback | None,
                cancel: CancelToken | None) -> np.ndarray: ...


# name -> "module:factory"; the factory takes no arguments and returns an Engine.
ENGINES: dict[str, str] = {
    "classical": "layerlift.inference.engines.classical:ClassicalEngine",
    "flux": "layerlift.inference.engines.flux:FluxEngine",
}

_instances: dict[str, Engine] = {}
_lock = threading.Lock()


def engine_names() -> list[str]:
    return list(ENGINES)


def get_engine(name: str) -> Engine:
    """The engine called `name`, built once and kept (a model engine keeps its weights)."""
    if name not in ENGINES:
        raise EngineUnavailable(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
    with _lock:
        if name not in _instances:
            module_name, factory = ENGINES[name].split(":")
            module = importlib.import_module(module_name)
            _instances[name] = getattr(module, factory)()
        return _instances[name]
