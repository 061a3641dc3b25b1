"""Shared helpers of the flux engine tests."""

from __future__ import annotations


def tiny_request(image, mask, model, **kw):
    from layerlift.inference.contract import DecomposeRequest

    kw.setdefault("steps", 2)
    kw.setdefault("size", 64)
    return DecomposeRequest(image=image, mask=mask, engine="flux", model=str(model), **kw)
