"""Layerlift's headless core. Never imports Qt or desktop/ (an import-linter contract)."""

from inference.api import compose, decompose
from inference.contract import ComposeRequest, DecomposeRequest, Layers
from inference.errors import Cancelled, EngineUnavailable, InputError, LayerliftError

__all__ = [
    "Cancelled",
    "ComposeRequest",
    "DecomposeRequest",
    "EngineUnavailable",
    "InputError",
    "LayerliftError",
    "Layers",
    "compose",
    "decompose",
]
