"""The flux engine: FLUX.1-Fill-dev (+ an optional LoRA) on the in-context triptych.

With a LoRA (the paper's method), one Fill pass over the triptych does the task:
decompose [composite | logo | object], compose [logo | object | composite].
Without one (zero-shot), decompose inpaints the object on the working crop with a fixed prompt
and compose refines a plain composite with a low-strength Fill pass inside the logo's support.
Either way the logo layer is solved at photo resolution so alpha-over(logo, object) rebuilds
the input inside the mask, and outside the mask nothing changes.
The user's hints (inference/hints.py): "not mark" pixels leave the region the model fills
and stay the input, as outside the mask; "mark" pixels join the zero-shot fill's support (the
classical matte's) and, in both modes, the logo layer's alpha. With a LoRA the model itself
decides what the object shows under a "mark" pixel.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from layerlift.inference.contract import (
    CancelToken,
    ComposeRequest,
    DecomposeRequest,
    Layers,
    ProgressCallback,
    check_cancel,
    report,
)
from layerlift.inference.crop import CropBox, extract, paste_back, to_photo_scale, working_crop
from layerlift.inference.engines.flux import embeddings, loading, lora, memory, packages
from layerlift.inference.engines.flux.quiet import quiet_libraries
from layerlift.inference.errors import Cancelled, EngineUnavailable
from layerlift.inference.hints import NOT_MARK, force_alpha
from layerlift.inference.layers import solve_logo
from layerlift.inference.morphology import dilate
from layerlift.inference.triptych import (
    COMPOSE_PROMPT,
    DECOMPOSE_PROMPT,
    compose_triptych,
    decompose_triptych,
    logo_panel,
    split_panels,
)

log = logging.getLogger(__name__)

OBJECT_FILL_PROMPT = ("A product photo: the clean surface of the product, with no logo, "
                      "no text and no print.")
REFINE_PROMPT = ("A product photo with a logo printed on its surface, following its shape, "
                 "lighting and texture.")
FIXED_PROMPTS = [DECOMPOSE_PROMPT, COMPOSE_PROMPT, OBJECT_FILL_PROMPT, REFINE_PROMPT]
DEFAULT_STEPS = 28
GUIDANCE = 30.0          # FLUX.1-Fill-dev's recommended distilled guidance
FILL_DILATION = 4        # px at S: the fill region reaches a little past the mask
TEXT_ENCODER_GIB = 12.0  # free VRAM needed to encode the prompts on the GPU (T5-XXL + CLIP)
QUIET = 4.0              # |composite - object| below this (0-255) with no logo evidence: no logo


@dataclass
class Loaded:
    key: tuple
    pipe: object
    source: loading.ModelSource
    device: str
    tier: str
    embeds: dict = field(default_factory=dict)
    adapters: dict = field(default_factory=dict)   # lora path -> adapter name


@dataclass
class RunState:
    """Progress across candidates, and the cancel flag seen by the step callback."""

    on_progress: ProgressCallback | None
    cancel: CancelToken | None
    runs: int
    done_runs: int = 0
    cancelled: bool = False


@dataclass
class DecomposeCrop:
    """Where a decomposition works, at the model's size S."""

    box: CropBox                    # the working crop on the photo
    comp: np.ndarray                # the photo's crop at S
    mask_s: np.ndarray              # the mask at S
    region: np.ndarray              # what the model fills (bool, S x S)
    mark_s: np.ndarray              # where the logo may be; region minus this is known surface
    matte_prior: np.ndarray | None  # zero-shot: the classical matte's alpha at photo scale
    kept: np.ndarray | None         # the "not mark" hints (photo-sized bool), kept as the input


def decompose_crop(request: DecomposeRequest, zero_shot: bool) -> DecomposeCrop:
    """The working crop and the region the model fills: the mask grown a little; zero-shot,
    only the mark the classical matte finds inside the loose mask (untouched surface stays
    the input); never the pixels hinted "not mark"."""
    s = request.size
    box = working_crop(request.mask)
    mask_s = extract(request.mask, box, s)
    region = dilate(mask_s, FILL_DILATION)
    mark_s = mask_s
    matte_prior = None
    if zero_shot:
        matte_prior, support = classical_matte(request.image, request.mask, box, request.hints)
        # (with hints the user has said what is mark: nothing left of it is nothing to fill,
        # not a matte that failed and leaves the model the whole loose mask)
        hinted = request.hints is not None and bool(request.hints.any())
        if support.any() or hinted:
            # (the matte is the window's own, not the photo's: resize, do not cut again)
            mark_s = extract(support, CropBox(0, 0, box.side), s)
            region = dilate(mark_s, FILL_DILATION) & dilate(mask_s, 1)
    kept = None if request.hints is None else request.hints == NOT_MARK
    if kept is not None:
        region &= ~extract(kept, box, s)
    return DecomposeCrop(box, extract(request.image, box, s), mask_s, region, mark_s,
                         matte_prior, kept)


class FluxEngine:
    name = "flux"

    def __init__(self) -> None:
        packages.require_packages()   # torch & co. missing (the lite bundle): say how to fix
        self._loaded: Loaded | None = None
        self._fallback: dict[str, str] = {}   # device -> tier an OOM fell back to
        self._lock = threading.Lock()

    # ---- public API ---------------------------------------------------------------------

    def decompose(self, request: DecomposeRequest, on_progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> Layers:
        with self._lock, quiet_libraries():
            return self._with_memory_fallback(
                request, lambda loaded: self._decompose(loaded, request, on_progress, cancel))

    def compose(self, request: ComposeRequest, on_progress: ProgressCallback | None = None,
                cancel: CancelToken | None = None) -> np.ndarray:
        with self._lock, quiet_libraries():
            return self._with_memory_fallback(
                request, lambda loaded: self._compose(loaded, request, on_progress, cancel))

    # ---- loading and memory -------------------------------------------------------------

    def _with_memory_fallback(self, request, work):
        """Run `work(loaded)`; on CUDA out-of-memory reload one tier down and retry."""
        import torch

        device = memory.pick_device(request.device, warn=False)  # warned once loaded
        # After an out-of-memory fallback, later runs start from the tier that worked; a
        # pipeline already loaded keeps its tier (free VRAM now leaves out its own weights).
        tier = memory.pick_tier(device, request.memory or self._fallback.get(device)
                                or self._loaded_tier(device))
        tried = []
        while True:
            tried.append(tier)
            try:
                loaded = self._load(request.model, device, tier)
                result = work(loaded)
            except torch.cuda.OutOfMemoryError:
                loaded = None   # drop every reference before the next tier loads
                self.unload()
                following = memory.next_tier(tier)
                if following is None:
                    raise EngineUnavailable(
                        f"out of GPU memory even with memory tier {tier}; free the GPU or "
                        "use a smaller --size") from None
                message = f"out of GPU memory with memory tier {tier}; retrying with {following}"
                log.warning(message)
                warnings.warn(message, RuntimeWarning, stacklevel=3)
                tier = following
                self._fallback[device] = tier
                continue
            meta = result.meta if isinstance(result, Layers) else None
            if meta is not None:
                meta.update(memory_tier=tier, memory_tiers_tried=tried, device=device,
                            model=loaded.source.label)
            return result

    def _loaded_tier(self, device: str) -> str | None:
        loaded = self._loaded
        return loaded.tier if loaded is not None and loaded.device == device else None

    def _load(self, model: str | None, device: str, tier: str) -> Loaded:
        source = loading.resolve_model(model)
        key = (str(source.base), str(source.transformer_file), device, tier)
        if self._loaded is not None and self._loaded.key == key:
            return self._loaded
        self.unload()
        dtype = memory.compute_dtype(device)
        # Prompt embeddings first: on a cold cache this loads (then frees) the text encoders
        # before the transformer takes the memory.
        # T5-XXL alone is ~9.5 GB in bf16: with less free VRAM it encodes on the CPU.
        free = memory.free_vram_gib(device)
        text_device = "cpu" if free is not None and free < TEXT_ENCODER_GIB else device
        embeds = embeddings.prompt_embeddings(source, FIXED_PROMPTS, text_device, dtype)
        pipe = loading.load_fill_pipeline(source, dtype, memory.quantization_for(tier))
        memory.place(pipe, tier, device)
        # After the load, so that weights that cannot load are the one line a user sees.
        memory.warn_if_cpu(device)
        self._loaded = Loaded(key, pipe, source, device, tier, embeds)
        return self._loaded

    def unload(self) -> None:
        """Drop the loaded pipeline and give its memory back."""
        if self._loaded is None:
            return
        self._loaded = None
        gc.collect()
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:
            pass

    def _use_lora(self, loaded: Loaded, spec: str | None, scale: float) -> dict | None:
        """Activate the request's LoRA (loaded once per file) or none; returns its report."""
        if not spec:
            lora.activate(loaded.pipe, None)
            return None
        path, scale = lora.parse_lora_spec(spec, scale)
        if not path.is_file():
            raise EngineUnavailable(f"no such LoRA file: {path}")
        key = str(path.resolve())
        name = lora.adapter_name_for(path)     # changes when the file is rewritten
        old = loaded.adapters.get(key)
        if old != name:
            if old is not None:
                loaded.pipe.delete_adapters(old)   # a retrained file replaces its adapter
                del loaded.adapters[key]
            name = lora.load_lora(loaded.pipe, path)
            loaded.adapters[key] = name
            if loaded.tier == "fp8":
                lora.keep_lora_precision(loaded.pipe, path, name, memory.compute_dtype(
                    loaded.device))
        lora.activate(loaded.pipe, name, scale)
        return {"file": str(path), "scale": scale, "adapter": name}

    # ---- one Fill pass ------------------------------------------------------------------

    def _fill(self, loaded: Loaded, image: np.ndarray, fill_mask: np.ndarray, prompt: str,
              steps: int, seed: int, state: RunState, strength: float = 1.0) -> np.ndarray:
        """FLUX Fill on `image` (uint8 HxWx3) where fill_mask is 1; returns uint8 HxWx3."""
        import torch
        from PIL import Image

        pipe = loaded.pipe
        h, w = image.shape[:2]
        dtype = pipe.transformer.dtype
        # The cache holds the embeddings on the CPU, and the pipeline passes given embeddings
        # on unmoved: without this the transformer meets CPU inputs with GPU weights.
        device = pipe._execution_device
        embeds, pooled = (t.to(device, dtype) for t in loaded.embeds[prompt])

        def on_step(pipeline, i, _t, kwargs):
            total = state.runs * pipeline.num_timesteps
            report(state.on_progress, state.done_runs * pipeline.num_timesteps + i + 1, total)
            if state.cancel is not None and state.cancel.is_set():
                state.cancelled = True
                pipeline._interrupt = True   # stops before the next step
            return kwargs

        generator = torch.Generator("cpu").manual_seed(seed)
        latents = None
        if strength >= 1.0:
            latents = initial_noise(pipe, h, w, generator, dtype)
        result = pipe(
            image=Image.fromarray(image),
            mask_image=Image.fromarray((fill_mask > 0.5).astype(np.uint8) * 255, mode="L"),
            prompt_embeds=embeds, pooled_prompt_embeds=pooled,
            height=h, width=w, strength=strength, num_inference_steps=steps,
            guidance_scale=GUIDANCE, generator=generator, latents=latents, output_type="np",
            callback_on_step_end=on_step, max_sequence_length=embeddings.MAX_SEQUENCE_LENGTH)
        if state.cancelled:
            # The pipeline still decodes after an interrupt; that image is thrown away.
            raise Cancelled("cancelled")
        state.done_runs += 1
        return np.clip(np.rint(result.images[0] * 255.0), 0, 255).astype(np.uint8)

    # ---- decompose ----------------------------------------------------------------------

    def _decompose(self, loaded: Loaded, request: DecomposeRequest,
                   on_progress: ProgressCallback | None, cancel: CancelToken | None) -> Layers:
        start = time.perf_counter()
        lora_info = self._use_lora(loaded, request.lora, request.lora_scale)
        steps = request.steps or DEFAULT_STEPS
        # 1. The working crop at the model's size, and the region the model fills.
        crop = decompose_crop(request, zero_shot=lora_info is None)
        # 2. The candidates (one seed each); the one that scores best is kept.
        candidates, (score, seed, obj, logo_panel) = self._candidates(
            loaded, request, crop, lora_info is not None, steps,
            RunState(on_progress, cancel, runs=request.candidates))
        model_s = time.perf_counter() - start
        # 3. The layers at photo scale: the object pasted inside the mask, the logo solved
        #    from it (its alpha from the model's logo panel with a LoRA, else the matte's).
        prior = crop.matte_prior if logo_panel is None else hinted_alpha(
            to_photo_scale(panel_alpha(crop.comp, obj, logo_panel), crop.box), request.hints,
            request.mask, crop.box)
        paste = request.mask if crop.kept is None else request.mask & ~crop.kept
        if not crop.region.any():
            paste = np.zeros_like(request.mask)
        obj_full, logo_full = layers_at_photo_scale(request.image, paste, crop.box, obj, prior)
        timings = {"model_s": model_s, "solve_s": time.perf_counter() - start - model_s}
        # 4. What was done, for meta.
        meta = {
            "mode": "lora" if lora_info else "zero-shot",
            "lora": lora_info,
            "steps": steps,
            "size": request.size,
            "best_seed": seed,   # the API reports the requested seed as "seed"
            # what candidates are ranked by (lower is better); not a cycle error: the cycle
            # (compose the layers back, compare with the input) is the caller's to measure
            "candidate_score": score,
            "candidate_score_kind": "model rebuild error" if lora_info
            else "fill error on known surface",
            "candidates": candidates,
            "crop": {"x0": crop.box.x0, "y0": crop.box.y0, "side": crop.box.side},
            "timings": timings,
        }
        return Layers(object=obj_full, logo=logo_full, meta=meta)

    def _candidates(self, loaded: Loaded, request: DecomposeRequest, crop: DecomposeCrop,
                    with_lora: bool, steps: int, state: RunState
                    ) -> tuple[list[dict], tuple[float, int, np.ndarray, np.ndarray | None]]:
        """Each candidate's seed and score, and the best one: (score, seed, object at S,
        logo panel or None). With a LoRA the model decomposes the triptych and is scored by
        how well its panels rebuild the composite; zero-shot it fills the object alone and
        is scored on the known surface at the seam."""
        if not crop.region.any():   # nothing to fill: no model run, the object is the input
            return [{"seed": request.seed, "score": 0.0}], (0.0, request.seed, crop.comp, None)
        candidates = []
        best = None
        for k in range(request.candidates):
            check_cancel(state.cancel)
            seed = request.seed + k
            if with_lora:
                tri, fill = decompose_triptych(crop.comp, crop.mask_s, FILL_DILATION)
                out = self._fill(loaded, tri, fill, DECOMPOSE_PROMPT, steps, seed, state)
                _, logo_panel, obj = split_panels(out)
                obj = np.where(crop.region[..., None], obj, crop.comp)
                score = panel_rebuild_error(crop.comp, obj, logo_panel, crop.mask_s)
            else:
                out = self._fill(loaded, crop.comp, crop.region.astype(np.float32),
                                 OBJECT_FILL_PROMPT, steps, seed, state)
                logo_panel = None
                obj = np.where(crop.region[..., None], out, crop.comp)
                score = seam_error(crop.comp, obj, crop.mark_s, crop.region)
            candidates.append({"seed": seed, "score": score})
            if best is None or score < best[0]:
                best = (score, seed, obj, logo_panel)
        return candidates, best

    # ---- compose ------------------------------------------------------------------------

    def _compose(self, loaded: Loaded, request: ComposeRequest,
                 on_progress: ProgressCallback | None, cancel: CancelToken | None) -> np.ndarray:
        from layerlift.inference.engines.classical.compose import compose_classical

        lora_info = self._use_lora(loaded, request.lora, request.lora_scale)
        steps = request.steps or DEFAULT_STEPS
        s = request.size
        obj = request.object
        logo = logo_in_place(request)
        support = logo[..., 3] > 0
        if not support.any():
            return obj.copy()
        box = compose_crop(logo)
        obj_s = extract(obj, box, s)
        support_s = extract(support, box, s)
        state = RunState(on_progress, cancel, runs=1)
        check_cancel(cancel)
        if lora_info is not None:
            tri, fill = compose_triptych(logo_panel(logo, box, s), obj_s, support_s,
                                         FILL_DILATION)
            out = self._fill(loaded, tri, fill, COMPOSE_PROMPT, steps, request.seed, state)
            panel = split_panels(out)[2]
            changed = support
        else:
            # Zero-shot: the classical composite (warp, surface shading, sharpness match),
            # refined by a low-strength Fill pass inside the logo's support.
            plain = compose_classical(request)
            changed = support | (plain != obj).any(axis=2)
            region_s = dilate(extract(changed, box, s), FILL_DILATION).astype(np.float32)
            panel = self._fill(loaded, extract(plain, box, s), region_s, REFINE_PROMPT, steps,
                               request.seed, state, strength=request.strength)
        grow = max(1, round(FILL_DILATION * box.side / s))
        return paste_back(obj, panel, box, dilate(changed, grow), feather=grow)


# ---- pixel helpers (pure numpy) ------------------------------------------------------------

def compose_crop(logo: np.ndarray, margin: float = 0.25) -> CropBox:
    """The compose triptych's window: around the in-place logo's support (alpha > 0). The
    trainer cuts its compose examples with this same call. The support must not be empty."""
    return working_crop(logo[..., 3] > 0, margin=margin)


def initial_noise(pipe, height: int, width: int, generator, dtype):
    """The packed starting noise of a strength-1 run, drawn exactly as the pipeline would.

    At strength 1 the pipeline encodes the image with the VAE only to mix it in with weight
    0; passing this noise as `latents` skips that encode (one VAE pass per run) and gives
    the same result, bit for bit.
    """
    from diffusers.utils.torch_utils import randn_tensor

    channels = pipe.vae.config.latent_channels
    lh = 2 * (height // (pipe.vae_scale_factor * 2))
    lw = 2 * (width // (pipe.vae_scale_factor * 2))
    shape = (1, channels, lh, lw)
    device = pipe._execution_device
    # The pipeline's own encode draws its latent sample first; draw (and drop) the same
    # numbers so the run is identical to a plain FluxFillPipeline call with this generator.
    randn_tensor(shape, generator=generator, device=device, dtype=pipe.vae.dtype)
    noise = randn_tensor(shape, generator=generator, device=device, dtype=dtype)
    return pipe._pack_latents(noise, 1, channels, lh, lw)


def panel_rebuild_error(comp: np.ndarray, obj: np.ndarray, logo_panel: np.ndarray,
                        mask: np.ndarray) -> float:
    """How far the model's own layers rebuild the composite inside the mask (MAE in [0, 1]).

    With alpha a from panel_alpha, the logo panel L = a F + (1 - a) 255 gives
    alpha-over = a F + (1 - a) O = L - (1 - a)(255 - O).
    """
    a = panel_alpha(comp, obj, logo_panel)[..., None]
    rebuilt = logo_panel.astype(np.float32) - (1 - a) * (255.0 - obj.astype(np.float32))
    diff = np.abs(np.clip(rebuilt, 0, 255) - comp.astype(np.float32))[mask]
    return float(diff.mean() / 255.0) if diff.size else 0.0


def seam_error(comp: np.ndarray, obj: np.ndarray, mark: np.ndarray, region: np.ndarray) -> float:
    """Zero-shot score: how far the fill strays from the known surface around the mark
    (pixels it regenerated whose truth is the input)."""
    ring = region & ~mark
    if not ring.any():
        return 0.0
    return float(np.abs(obj.astype(np.float32) - comp.astype(np.float32))[ring].mean() / 255.0)


def panel_alpha(comp: np.ndarray, obj: np.ndarray, logo_panel: np.ndarray) -> np.ndarray:
    """Per-pixel alpha implied by composite C, object O and logo-on-white L (float [0, 1]).

    C - O = a (F - O) and L - 255 = a (F - 255) give (C - O) - (L - 255) = a (255 - O);
    solved in least squares over the channels, damped where O is near white.
    """
    c, o, lp = (x.astype(np.float32) for x in (comp, obj, logo_panel))
    num = ((c - o) - (lp - 255.0)) * (255.0 - o)
    den = (255.0 - o) ** 2
    a = num.sum(axis=2) / (den.sum(axis=2) + 3 * 20.0 ** 2)
    return np.clip(a, 0.0, 1.0)


def classical_matte(image: np.ndarray, mask: np.ndarray, box: CropBox,
                    hints: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The classical engine's matte on the window at photo scale, with the user's hints
    forced in: (alpha, support)."""
    from layerlift.inference.engines.classical.matting import estimate_matte

    crop = extract(image, box).astype(np.float32) / 255.0
    matte = estimate_matte(crop, extract(mask, box))
    alpha = hinted_alpha(np.clip(matte.alpha, 0.0, 1.0).astype(np.float32), hints, mask, box)
    return alpha, alpha > 0


def hinted_alpha(alpha: np.ndarray, hints: np.ndarray | None, mask: np.ndarray,
                 box: CropBox) -> np.ndarray:
    """A window's alpha (photo scale) with the photo-sized hints forced in (inference/hints.py);
    unchanged without hints."""
    if hints is None:
        return alpha
    return force_alpha(alpha, extract(hints, box), extract(mask, box))


def layers_at_photo_scale(image: np.ndarray, mask: np.ndarray, box: CropBox, obj_s: np.ndarray,
                          prior: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Paste the S x S object back (inside the mask, feathered) and solve the logo at photo
    resolution against it, so the layers rebuild the input exactly up to rounding.

    prior: an alpha estimate over the window (box.side x box.side, photo scale), or None.
    """
    s = obj_s.shape[0]
    feather = max(1, round(2 * box.side / s))
    obj_full = paste_back(image, obj_s, box, mask, feather=feather)
    h, w = mask.shape
    x0, y0 = max(box.x0, 0), max(box.y0, 0)
    x1, y1 = min(box.x1, w), min(box.y1, h)
    win = (slice(y0, y1), slice(x0, x1))
    inside = mask[win]
    if prior is None:
        prior = np.zeros(inside.shape, np.float32)
    else:
        prior = prior[y0 - box.y0:y1 - box.y0, x0 - box.x0:x1 - box.x0]
    c = image[win]
    o = obj_full[win]
    # No sign of a mark here (object and input agree, no alpha evidence): the surface is the
    # input itself, which keeps untouched surface inside a loose mask exact.
    quiet = inside & (np.abs(c.astype(np.int16) - o).max(axis=2) <= QUIET) & (prior < 0.03)
    o[quiet] = c[quiet]
    prior = np.where(inside, np.clip(prior, 0.0, 1.0), 0.0).astype(np.float32)
    logo = solve_logo(c, o, prior)
    logo[~inside] = 0
    logo_full = np.zeros(image.shape[:2] + (4,), np.uint8)
    logo_full[win] = logo
    return obj_full, logo_full


def logo_in_place(request: ComposeRequest) -> np.ndarray:
    """The request's logo as an in-place RGBA layer the size of the object (straight alpha);
    an asset is warped onto its quad by the classical engine's warp."""
    from layerlift.inference.engines.classical.compose import place_logo

    if request.logo is not None:
        return request.logo
    layer = np.zeros(request.object.shape[:2] + (4,), np.uint8)
    placed = place_logo(request)
    if placed is None:
        return layer
    premult, (x0, y0, x1, y1) = placed
    alpha = np.clip(premult[..., 3:4], 0.0, 1.0)
    colour = premult[..., :3] / np.maximum(alpha, 1e-6)
    rgba = np.concatenate([colour, alpha], axis=2) * 255.0
    layer[y0:y1, x0:x1] = np.clip(np.rint(rgba), 0, 255).astype(np.uint8)
    return layer
