"""Typed errors of the core. Each carries a one-line message meant for the user."""


class LayerliftError(Exception):
    """Base of every error the core raises on purpose."""


class InputError(LayerliftError):
    """Bad input from the user: a file, a mask, a box, an option. The CLI exits 2."""


class EngineUnavailable(InputError):
    """The engine cannot run here: weights missing, a LoRA refused, no such engine."""


class Cancelled(LayerliftError):
    """The run was cancelled through its cancel token; nothing is returned."""
