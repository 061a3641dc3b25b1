"""The training objective: flow matching on both triptychs, plus the cycle reconstruction.

Flow matching (rectified flow, as FLUX): for clean packed latents x0, noise n and sigma in
(0, 1), x_t = (1 - sigma) x0 + sigma n, and the transformer predicts v ~ n - x0.

Timesteps (--timestep-shift, on by default): sigma = sigmoid(z + mu), z ~ N(0, 1): the
logit-normal usual for FLUX fine-tuning, shifted by the mu with which FluxFillPipeline shifts
its inference schedule (mu grows with the image-token count, from the scheduler's config;
sigmoid(logit(t) + mu) is exactly the scheduler's time shift of t). The median sigma is then
about 0.73 at S = 512 and 0.84 at S = 768, where inference spends its steps; unshifted it
would be 0.5. --no-timestep-shift: mu = 0.

Loss region (--loss-region): `fill` (default) averages the squared error over the tokens the
fill mask generates (a token counts when any of its 16 x 16 pixels is filled); `all` over
every token. Inference copies the other tokens from the condition and throws the model's
output there away, and compose generates only the dilated logo support (10-20 % of its
tokens): averaged over all tokens, its signal would be diluted 5-10 times.

    L_flow = mean over the 2B items (B decompose + B compose) of
             mean over the item's region tokens of |v - (n - x0)|^2

The cycle reconstruction (the paper's cycle): decompose I into (A', B') and compose them back:
the result must be I; compose (A, B) into I* and decompose it again: the result must be A, B.
  1. the first pass's one-step estimate x0_hat = x_t - sigma * v (differentiable), kept on
     the region tokens only; elsewhere the known x0, as the engine pastes its output only
     inside the fill region.
  2. decompose -> compose: the logo and object panels of the decompose estimate (A', B')
     become the logo and object panels of the compose condition (its masked-image latents);
     compose -> decompose: the composite panel of the compose estimate (I*) becomes the
     composite panel of the decompose condition. The fill-mask channels stay. The two
     triptychs are cut as the engine cuts them (decompose around the user's mask, compose
     around the logo's support), so a swapped panel is first resampled from its crop onto
     the other's (bilinear, differentiable); where the other crop reaches past it, the real
     panel stays.
  3. the cycled pass is a flow-matching pass of its own, with fresh noise n' and sigma': its
     clean latents x0' are the real panels it must produce (the real composite when composing
     back, the real logo and object when decomposing again) and, on the panels it is given
     as input, the swapped-in estimate, held fixed there: no real input panel reaches the
     cycled pass through x_t', so it can only rebuild the target from the estimate.
        L_cycle = mean over items of (1 - sigma_src) * mean over region tokens of
                  |v' - (n' - x0')|^2
     sigma_src is the first-pass sigma of the item whose estimate was swapped in (one-step
     estimates from very noisy inputs are poor, so they count less); sigma' is the cycled
     pass's own, drawn as the first pass's. Gradients reach the LoRA through v' (second
     pass) and through A', B', I* (first pass): decomposition is pushed towards layers that
     compose back to the input, composition towards an image that decomposes back.

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

import math
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


def sample_sigmas(count: int, generator: torch.Generator, mu: float = 0.0) -> torch.Tensor:
    """Logit-normal sigmas in (0, 1), shifted by mu: sigmoid(z + mu), z ~ N(0, 1)."""
    return torch.sigmoid(torch.randn(count, generator=generator) + mu)


def schedule_shift(scheduler_config, tokens: int) -> float:
    """The mu by which FluxFillPipeline shifts its schedule for `tokens` image tokens.

    Dynamic shifting (FLUX.1-Fill-dev): calculate_shift, as the pipeline calls it. A fixed
    shift s maps t to s t / (1 + (s - 1) t) = sigmoid(logit(t) + ln s): mu = ln s.
    """
    from diffusers.pipelines.flux.pipeline_flux_fill import calculate_shift

    c = scheduler_config
    if not c.get("use_dynamic_shifting", False):
        return math.log(c.get("shift", 1.0))
    return calculate_shift(tokens, c.get("base_image_seq_len", 256),
                           c.get("max_image_seq_len", 4096), c.get("base_shift", 0.5),
                           c.get("max_shift", 1.15))


def region_mse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor
               ) -> torch.Tensor:
    """(B,) squared error per item, averaged over the tokens `weight` (B, N) selects."""
    err = ((pred - target) ** 2).mean(dim=2)
    return (err * weight).sum(dim=1) / weight.sum(dim=1).clamp_min(1.0)


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


def loss_weights(inputs: Inputs, loss_region: str) -> torch.Tensor:
    """(2B, N) token weights of the loss: the fill region, or every token."""
    if loss_region == "all":
        return torch.ones_like(inputs.region)
    return inputs.region


def cycled_target(x0: torch.Tensor, cond_cyc: torch.Tensor, inputs: Inputs) -> torch.Tensor:
    """The cycled pass's clean latents: the real panels it must produce, and on the panels
    it is given (decompose: the composite; compose: logo and object) the swapped-in estimate
    of its condition, held fixed."""
    half, dim = inputs.half, inputs.latent_dim
    target = panels(x0, inputs).clone()
    given = panels(cond_cyc[..., :dim].detach().float().contiguous(), inputs)
    target[:half, :, 0] = given[:half, :, 0]
    target[half:, :, 0:2] = given[half:, :, 0:2]
    return target.reshape(x0.shape)


def noised(x0: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    s = sigma.view(-1, 1, 1)
    return (1 - s) * x0 + s * noise


def training_loss(model: FillModel, inputs: Inputs, generator: torch.Generator,
                  cycle_weight: float, cycle_space: str = "latent", loss_region: str = "fill",
                  timestep_shift: bool = True) -> LossParts:
    """L_flow (+ w * L_cycle when w > 0) for one batch; see the module docstring."""
    x0 = inputs.x0.float()
    count, half = x0.shape[0], inputs.half
    dtype = inputs.x0.dtype
    mu = schedule_shift(model.pipe.scheduler.config, x0.shape[1]) if timestep_shift else 0.0
    weight = loss_weights(inputs, loss_region)
    noise = torch.randn(x0.shape, generator=generator).to(x0.device)
    sigma = sample_sigmas(count, generator, mu).to(x0.device)
    noisy = noised(x0, noise, sigma).to(dtype)
    v = model.velocity(noisy, inputs.cond, sigma, inputs)
    per_item = region_mse(v, noise - x0, weight)
    flow = per_item.mean()
    cycle = torch.zeros((), device=x0.device)
    if cycle_weight > 0:
        kept = inputs.region[..., None] > 0
        estimate = torch.where(kept, noisy.float() - sigma.view(-1, 1, 1) * v, x0)
        if cycle_space == "pixel":
            cond_cyc = cycled_condition_pixels(model, estimate, inputs, generator)
        else:
            cond_cyc = cycled_condition(inputs.cond, estimate, inputs)
        x0_cyc = cycled_target(x0, cond_cyc, inputs)
        noise_cyc = torch.randn(x0.shape, generator=generator).to(x0.device)
        sigma_cyc = sample_sigmas(count, generator, mu).to(x0.device)
        v_cyc = model.velocity(noised(x0_cyc, noise_cyc, sigma_cyc).to(dtype), cond_cyc,
                               sigma_cyc, inputs)
        cyc_item = region_mse(v_cyc, noise_cyc - x0_cyc, weight)
        # decompose item i was given compose item i's estimate, and the other way round
        source_sigma = torch.cat([sigma[half:], sigma[:half]])
        cycle = ((1 - source_sigma) * cyc_item).mean()
    total = flow + cycle_weight * cycle
    per_item = per_item.detach()
    return LossParts(total=total, flow_decompose=float(per_item[:half].mean()),
                     flow_compose=float(per_item[half:].mean()), cycle=float(cycle.detach()))


@torch.no_grad()
def fixed_set_cycle_loss(model: FillModel, inputs: Inputs, seed: int, repeats: int = 4,
                         **options) -> float:
    """L_cycle on fixed inputs with fixed noise and sigmas (`options` as training_loss's):
    comparable across models."""
    generator = torch.Generator().manual_seed(seed)
    values = [training_loss(model, inputs, generator, 1.0, **options).cycle
              for _ in range(repeats)]
    return sum(values) / len(values)


@torch.no_grad()
def fixed_set_flow_loss(model: FillModel, inputs: Inputs, seed: int,
                        sigmas: tuple[float, ...] = (0.25, 0.5, 0.75),
                        loss_region: str = "fill") -> float:
    """Flow loss on fixed inputs, noise and sigmas: comparable across steps and runs.
    The fixed set is made of training samples, so this is not a held-out loss."""
    generator = torch.Generator().manual_seed(seed)
    x0 = inputs.x0.float()
    weight = loss_weights(inputs, loss_region)
    losses = []
    for value in sigmas:
        noise = torch.randn(x0.shape, generator=generator).to(x0.device)
        sigma = torch.full((x0.shape[0],), value, device=x0.device)
        v = model.velocity(noised(x0, noise, sigma).to(inputs.x0.dtype), inputs.cond, sigma,
                           inputs)
        losses.append(float(region_mse(v, noise - x0, weight).mean()))
    return sum(losses) / len(losses)
