"""The training objective: flow matching on both triptychs, plus the cycle term.

Flow matching (rectified flow, as FLUX): for clean packed latents x0, noise n and sigma in
(0, 1), x_t = (1 - sigma) x0 + sigma n, and the transformer predicts v ~ n - x0. Sigma is drawn
from a logit-normal (mean 0, std 1), the usual choice for FLUX fine-tuning.

    L_flow = mean over the 2B items (B decompose + B compose triptychs) of |v - (n - x0)|^2

The cycle term (both directions, in the packed latent space of the panels):
  1. one-step estimate of the clean triptych from the same forward: x0_hat = x_t - sigma * v
     (the Euler step to sigma = 0; differentiable, so gradients reach the first pass).
  2. decompose -> compose: the logo and object panels of the decompose estimate (A', B') replace
     the logo and object panels of the compose triptych's masked-image latents (its condition);
     compose -> decompose: the composite panel of the compose estimate (I*) replaces the
     composite panel of the decompose triptych's condition. The fill-mask channels and the
     panels the model must generate are left as they are. The two triptychs are cut as the
     engine cuts them (decompose around the user's mask, compose around the logo's support),
     so a swapped panel is first resampled from its crop onto the other's (bilinear,
     differentiable); where the other crop reaches past it, the real panel stays.
  3. the transformer runs again on the same noisy latents x_t and sigma with the cycled
     condition, giving v_cyc. The cycle loss pulls it onto the prediction from the real
     condition, which is held fixed (stop-gradient) so the two cannot agree by ignoring
     the condition:
        L_cycle = mean over items of (1 - sigma_src) * |v_cyc - stopgrad(v)|^2
     where sigma_src is the sigma of the item whose estimate was swapped in: the weight
     discounts one-step estimates made from very noisy inputs.
     Gradients of L_cycle reach the LoRA through v_cyc (second pass) and through A', B', I*
     (first pass): the decomposition is pushed towards layers that compose back to the same
     result, and composition towards an image that decomposes back.

  L = L_flow + w * L_cycle   (w = --cycle-weight from step --cycle-start on; 0 before)

Two ways to build the cycled condition (--cycle-space):
  latent (default): swap the panels in latent space. Panels are whole token columns
      (S is a multiple of 16); each is unpacked to its latent grid, resampled onto the other
      crop and packed again (an approximation: latents are only roughly local); skipped are
      the VAE round trip and its small cross-panel receptive field at the seams, and the
      masked copies of the swapped panel (the object panel's known pixels, the composite
      outside the logo) stay the real ones. Cheap: no VAE work with gradients.
  pixel: what inference does when it composes back the layers it decomposed: decode the
      estimate with the VAE, build the other direction's triptych in pixels
      (decompose: [I* | white | I*], compose: [A' | B' | B']), mask it with the real fill
      masks and encode it with prepare_mask_latents. Gradients flow through the frozen VAE;
      it costs a VAE decode and encode of 2B triptychs with activations kept (GBs at S=512).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from layerlift.training.model import FillModel, Inputs


@dataclass
class LossParts:
    total: torch.Tensor
    flow_decompose: float
    flow_compose: float
    cycle: float


def sample_sigmas(count: int, generator: torch.Generator) -> torch.Tensor:
    """Logit-normal sigmas in (0, 1)."""
    return torch.sigmoid(torch.randn(count, generator=generator))


def panels(tokens: torch.Tensor, inputs: Inputs) -> torch.Tensor:
    """(B, N, D) packed tokens viewed as (B, rows, 3 panels, cols, D)."""
    b, _, d = tokens.shape
    return tokens.view(b, inputs.rows, 3, inputs.panel_cols, d)


def resample(images: torch.Tensor, maps: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) panels cut to one crop, resampled onto another crop's grid (`maps` from
    crop_maps); where the target crop reaches past the source crop, `fallback` (same shape)."""
    grid = F.affine_grid(maps.to(images.dtype), list(fallback.shape), align_corners=False)
    moved = F.grid_sample(images, grid, mode="bilinear", padding_mode="border",
                          align_corners=False)
    inside = (grid.abs() <= 1).all(dim=-1).unsqueeze(1)
    return torch.where(inside, moved, fallback.to(moved.dtype))


def move_panels(tokens: torch.Tensor, maps: torch.Tensor, fallback: torch.Tensor
                ) -> torch.Tensor:
    """Packed panel tokens (B, rows, k, cols, 4C) resampled onto the other crop: unpacked to
    the latent grid (the inverse of FluxFillPipeline._pack_latents), moved, packed again."""
    b, rows, k, cols, d = tokens.shape
    c = d // 4

    def unpack(t: torch.Tensor) -> torch.Tensor:
        t = t.permute(0, 2, 1, 3, 4).reshape(b * k, rows, cols, c, 2, 2)
        return t.permute(0, 3, 1, 4, 2, 5).reshape(b * k, c, 2 * rows, 2 * cols)

    moved = resample(unpack(tokens), maps.repeat_interleave(k, dim=0), unpack(fallback))
    packed = moved.view(b * k, c, rows, 2, cols, 2).permute(0, 2, 4, 1, 3, 5)
    return packed.reshape(b, k, rows, cols, d).permute(0, 2, 1, 3, 4)


def cycled_condition(cond: torch.Tensor, estimate: torch.Tensor,
                     inputs: Inputs) -> torch.Tensor:
    """The condition with panels swapped in from the other direction's one-step estimate.

    Items [0, B) are decompose, [B, 2B) compose. Decompose item i gets compose item i's
    generated composite (panel 2) as its composite (panel 0); compose item i gets decompose
    item i's logo and object (panels 1, 2) as its logo and object (panels 0, 1). Each is
    moved onto the receiving item's crop first.
    """
    half, dim = inputs.half, inputs.latent_dim
    est = panels(estimate, inputs)
    latent = panels(cond[..., :dim], inputs).to(est.dtype)
    composite_star = move_panels(est[half:, :, 2:3], inputs.to_decompose, latent[:half, :, 0:1])
    layers = move_panels(est[:half, :, 1:3], inputs.to_compose, latent[half:, :, 0:2])
    dec_latent = torch.cat([composite_star, latent[:half, :, 1:3]], dim=2)
    comp_latent = torch.cat([layers, latent[half:, :, 2:3]], dim=2)
    new_latent = torch.cat([dec_latent, comp_latent], dim=0).reshape(cond.shape[0], -1, dim)
    return torch.cat([new_latent.to(cond.dtype), cond[..., dim:]], dim=-1)


def cycled_condition_pixels(model: FillModel, estimate: torch.Tensor, inputs: Inputs,
                            generator: torch.Generator) -> torch.Tensor:
    """The cycled condition built in pixels, as inference composes back (module docstring)."""
    half = inputs.half
    images = model.decode(estimate, inputs)
    s = images.shape[-2]
    dec_est, comp_est = images[:half], images[half:]
    # each panel moved onto the receiving crop; past the source crop, that item's own
    # estimate of its (known) input panel
    composite_star = resample(comp_est[..., 2 * s:], inputs.to_decompose, dec_est[..., :s])
    white = torch.ones_like(composite_star)
    logo = resample(dec_est[..., s:2 * s], inputs.to_compose, comp_est[..., :s])
    obj = resample(dec_est[..., 2 * s:], inputs.to_compose, comp_est[..., s:2 * s])
    decompose_again = torch.cat([composite_star, white, composite_star], dim=-1)
    compose_again = torch.cat([logo, obj, obj], dim=-1)
    return model.condition(torch.cat([decompose_again, compose_again]), inputs, generator)


def training_loss(model: FillModel, inputs: Inputs, generator: torch.Generator,
                  cycle_weight: float, cycle_space: str = "latent") -> LossParts:
    """L_flow (+ w * L_cycle when w > 0) for one batch; see the module docstring."""
    x0 = inputs.x0.float()
    count = x0.shape[0]
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    sigma = sample_sigmas(count, generator).to(x0.device)
    s = sigma.view(-1, 1, 1)
    noisy = ((1 - s) * x0 + s * noise).to(inputs.x0.dtype)
    v = model.velocity(noisy, inputs.cond, sigma, inputs)
    per_item = ((v - (noise - x0)) ** 2).mean(dim=(1, 2))
    half = inputs.half
    flow = per_item.mean()
    cycle = torch.zeros((), device=x0.device)
    if cycle_weight > 0:
        estimate = noisy.float() - s * v
        if cycle_space == "pixel":
            cond_cyc = cycled_condition_pixels(model, estimate, inputs, generator)
        else:
            cond_cyc = cycled_condition(inputs.cond, estimate, inputs)
        v_cyc = model.velocity(noisy, cond_cyc, sigma, inputs)
        cyc_item = ((v_cyc - v.detach()) ** 2).mean(dim=(1, 2))
        # weight each cycled item by how clean the estimate it was given is: the estimate
        # comes from the other direction's item (decompose i <-> compose i)
        source_sigma = torch.cat([sigma[half:], sigma[:half]])
        cycle = ((1 - source_sigma) * cyc_item).mean()
    total = flow + cycle_weight * cycle
    per_item = per_item.detach()
    return LossParts(total=total, flow_decompose=float(per_item[:half].mean()),
                     flow_compose=float(per_item[half:].mean()), cycle=float(cycle.detach()))


@torch.no_grad()
def fixed_set_flow_loss(model: FillModel, inputs: Inputs, seed: int,
                        sigmas: tuple[float, ...] = (0.25, 0.5, 0.75)) -> float:
    """Flow loss on fixed inputs, noise and sigmas: comparable across steps and runs.
    The fixed set is made of training samples, so this is not a held-out loss."""
    generator = torch.Generator().manual_seed(seed)
    x0 = inputs.x0.float()
    losses = []
    for value in sigmas:
        noise = torch.randn(x0.shape, generator=generator).to(x0.device)
        sigma = torch.full((x0.shape[0],), value, device=x0.device)
        noisy = ((1 - value) * x0 + value * noise).to(inputs.x0.dtype)
        v = model.velocity(noisy, inputs.cond, sigma, inputs)
        losses.append(float(((v - (noise - x0)) ** 2).mean()))
    return sum(losses) / len(losses)
