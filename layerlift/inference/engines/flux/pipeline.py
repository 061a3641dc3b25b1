"""FluxFillPipeline with image position ids that stay exact at every panel size allowed.

diffusers builds the ids (0, row, column) in the prompt embeddings' dtype. bfloat16 holds
integers exactly only up to 256, and a 3S-wide triptych has 3S/16 token columns: above
S = 1360 neighbouring columns would share a position (257 -> 256). FLUX's own reference code
keeps the ids in float32; so do this pipeline and the trainer (`image_ids`). The transformer
turns them into rotary embeddings in float32 or float64 either way.
"""

from __future__ import annotations

import torch
from diffusers import FluxFillPipeline


def image_ids(rows: int, cols: int, device: torch.device | str) -> torch.Tensor:
    """(rows * cols, 3) position ids of the packed image tokens, in float32."""
    return FluxFillPipeline._prepare_latent_image_ids(1, rows, cols, device, torch.float32)


class ExactIdsFluxFillPipeline(FluxFillPipeline):
    """FluxFillPipeline whose image position ids are float32 whatever the compute dtype."""

    @staticmethod
    def _prepare_latent_image_ids(batch_size: int, height: int, width: int, device,
                                  dtype: torch.dtype) -> torch.Tensor:
        return image_ids(height, width, device)
