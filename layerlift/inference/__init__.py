"""Layerlift's headless core. Never imports Qt or desktop/ (an import-linter contract)."""

from layerlift.inference.api import compose, decompose
from layerlift.inference.contract import ComposeRequest, DecomposeRequest, Layers
from layerlift.inference.errors import Cancelled, EngineUnavailable, InputError, LayerliftError

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
