"""The tiny builder keeps FLUX.1-Fill's real channel layout and saves loadable folders."""

from __future__ import annotations

import numpy as np
import torch

from layerlift.inference.engines.flux import tiny


def test_tiny_pipeline_has_the_real_fill_layout():
    pipe = tiny.build_tiny_fill_pipeline(seed=0)
    cfg = pipe.transformer.config
    assert cfg.in_channels == 384 and pipe.transformer.out_channels == 64
    assert pipe.vae.config.latent_channels == 16
    assert pipe.vae_scale_factor == 8
    head = cfg.attention_head_dim
    assert sum(cfg.axes_dims_rope) == head
    assert not pipe.transformer.training and not pipe.text_encoder_2.training


def test_tiny_pipeline_runs_a_3x64x64_triptych():
    pipe = tiny.build_tiny_fill_pipeline(seed=0)
    image = np.random.default_rng(0).random((64, 192, 3)).astype(np.float32)
    fill = np.zeros((64, 192), np.float32)
    fill[:, 64:] = 1
    out = pipe(prompt="the logo", image=image, mask_image=fill, height=64, width=192,
               num_inference_steps=1, output_type="np",
               generator=torch.Generator().manual_seed(0)).images
    assert out.shape == (1, 64, 192, 3) and np.isfinite(out).all()


def test_same_seed_same_weights_other_seed_differs():
    a = tiny.build_tiny_fill_pipeline(seed=3).transformer.state_dict()
    b = tiny.build_tiny_fill_pipeline(seed=3).transformer.state_dict()
    c = tiny.build_tiny_fill_pipeline(seed=4).transformer.state_dict()
    key = "x_embedder.weight"
    assert torch.equal(a[key], b[key]) and not torch.equal(a[key], c[key])


def test_single_file_transformer_loads_the_same_weights(tiny_folder):
    from diffusers import FluxTransformer2DModel

    single = FluxTransformer2DModel.from_single_file(
        str(tiny_folder / "transformer.safetensors"), config=str(tiny_folder),
        subfolder="transformer", local_files_only=True)
    folder = FluxTransformer2DModel.from_pretrained(
        str(tiny_folder), subfolder="transformer", local_files_only=True)
    for (k, v), (k2, v2) in zip(single.state_dict().items(), folder.state_dict().items(),
                                strict=True):
        assert k == k2 and torch.equal(v, v2)
