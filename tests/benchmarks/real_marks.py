"""The classical engine on real marks: Font Awesome logos, Twemoji, word marks, lockups, on
real photographs and procedural products (cases from real_marks_cases.py).

    .venv/bin/python -m tests.benchmarks.real_marks [--count 48] [--prompt mask|box|both]
        [--first-seed S] [--save-dir DIR] [--save-count N] [--json OUT] [--exact-mask]

Every case is run with the loose user mask, the box prompt, or both; the classical engine and
OpenCV TELEA (the whole prompt inpainted, radius 5) on each. All figures are inside the prompt
unless noted. Prints Markdown tables and the five worst cases by gain over TELEA.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from layerlift.inference import DecomposeRequest, decompose
from layerlift.inference.metrics import alpha_mae, cycle_psnr, max_change_outside, psnr
from tests.benchmarks.decomposition import run_baseline
from tests.benchmarks.real_marks_cases import FIRST_SEED, SOURCES, RealCase, benchmark_cases

VISIBLE_ALPHA = 0.1       # a mark pixel counts as visible from this true alpha ...
VISIBLE_DIFF = 12         # ... and this max-channel change of the composite vs the object
SAME_AS_INPUT = 3         # an object pixel within this of the composite was left as it was
LEFT_BEHIND_BAD = 0.05
DETAIL_ALPHA = 0.05
PANEL = 256


# ------------------------------------------------------------------------------ figures

def left_behind_share(case: RealCase, obj: np.ndarray) -> float:
    """Among the mark's visible pixels, the share the engine left equal to the composite."""
    comp = case.composite.astype(np.int16)
    visible = (case.logo[..., 3] >= VISIBLE_ALPHA * 255) & \
        (np.abs(comp - case.object).max(axis=2) > VISIBLE_DIFF)
    if not visible.any():
        return math.nan
    same = np.abs(comp - obj).max(axis=2) <= SAME_AS_INPUT
    return float((same & visible).sum() / visible.sum())


def laplacian_std(rgb: np.ndarray, where: np.ndarray) -> float:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(grey, cv2.CV_32F)[where].std())


def detail_ratio(case: RealCase, obj: np.ndarray) -> float:
    """Laplacian std of `obj` over the true support, relative to the true object's."""
    support = case.logo[..., 3] > DETAIL_ALPHA * 255
    truth = laplacian_std(case.object, support)
    return laplacian_std(obj, support) / truth if truth > 0 else math.nan


def run_engine(case: RealCase, prompt: np.ndarray, exact: bool) -> tuple[Any, float]:
    kwargs: dict[str, Any] = {}
    if exact:
        kwargs["exact_mask"] = True
    start = time.perf_counter()
    layers = decompose(DecomposeRequest(image=case.composite, mask=prompt, engine="classical",
                                        **kwargs))
    return layers, time.perf_counter() - start


def run_telea(case: RealCase, prompt: np.ndarray) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    obj, _ = run_baseline(case.composite, prompt, cv2.INPAINT_TELEA)
    return obj, time.perf_counter() - start


def case_figures(case: RealCase, prompt_name: str, exact: bool) -> tuple[dict[str, Any],
                                                                         dict[str, np.ndarray]]:
    """Every figure of one case under one prompt, and the arrays for its picture."""
    prompt = case.mask if prompt_name == "mask" else case.box
    layers, seconds = run_engine(case, prompt, exact)
    telea, telea_seconds = run_telea(case, prompt)
    ours = psnr(layers.object, case.object, prompt)
    base = psnr(telea, case.object, prompt)
    conf = layers.meta.get("confidence")
    row = {
        "seed": case.meta["seed"], "prompt": prompt_name, "meta": case.meta,
        "psnr": ours, "telea_psnr": base, "gain": ours - base,
        "alpha_mae": alpha_mae(layers.logo, case.logo, prompt),
        "left_behind": left_behind_share(case, layers.object),
        "detail": detail_ratio(case, layers.object), "telea_detail": detail_ratio(case, telea),
        "outside_max_diff": max_change_outside(case.composite, layers.object, prompt),
        "cycle_psnr": cycle_psnr(case.composite, layers.object, layers.logo, prompt),
        "confidence": None if conf is None else float(conf),
        "seconds": seconds, "telea_seconds": telea_seconds,
    }
    return row, {"prompt": prompt, "object": layers.object, "logo": layers.logo,
                 "telea": telea}


# ---------------------------------------------------------------------------- summaries

def groups(rows: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    out = [("all", rows)]
    out += [(f, [r for r in rows if r["meta"]["family"] == f]) for f in ("print", "watermark")]
    out += [(s, [r for r in rows if r["meta"]["mark_source"] == s]) for s in SOURCES]
    out += [(g, [r for r in rows if r["meta"]["surface_group"] == g])
            for g in ("photo", "procedural")]
    return [(name, rs) for name, rs in out if rs]


def median(rows: list[dict[str, Any]], key: str) -> float:
    vals = np.array([r[key] for r in rows], np.float64)
    vals = vals[~np.isnan(vals)]
    return float(np.median(vals)) if vals.size else math.nan


def spearman(rows: list[dict[str, Any]]) -> str:
    pairs = [(r["confidence"], r["psnr"]) for r in rows
             if r["confidence"] is not None and math.isfinite(r["psnr"])]
    if len(pairs) < 5:
        return "n/a"
    from scipy.stats import spearmanr

    rho = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
    return fmt(float(rho))


def fmt(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return "inf" if math.isinf(x) else f"{x:.{digits}f}"


def table_row(name: str, rows: list[dict[str, Any]]) -> str:
    bad = sum(r["left_behind"] > LEFT_BEHIND_BAD for r in rows)
    secs = [r["seconds"] for r in rows]
    cells = [
        name, str(len(rows)), fmt(median(rows, "gain")),
        f"{fmt(median(rows, 'psnr'))} / {fmt(median(rows, 'telea_psnr'))}",
        fmt(median(rows, "alpha_mae"), 3),
        f"{fmt(median(rows, 'left_behind') * 100, 1)} % ({bad})",
        f"{fmt(median(rows, 'detail'))} / {fmt(median(rows, 'telea_detail'))}",
        str(max(r["outside_max_diff"] for r in rows)), fmt(median(rows, "cycle_psnr")),
        spearman(rows), f"{fmt(float(np.median(secs)))} / {fmt(max(secs))}",
    ]
    return "| " + " | ".join(cells) + " |"


def markdown(rows: list[dict[str, Any]], prompt_name: str) -> str:
    lines = [f"Prompt: **{prompt_name}** ({len(rows)} cases; medians; inside the prompt)", "",
             "| group | n | gain over TELEA (dB) | PSNR engine / TELEA (dB) | alpha MAE "
             "| left-behind (cases > 5 %) | detail ratio engine / TELEA | outside max diff "
             "| cycle PSNR (dB) | confidence Spearman | time median / max (s) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += [table_row(name, rs) for name, rs in groups(rows)]
    return "\n".join(lines)


def describe(meta: dict[str, Any]) -> str:
    keys = ("family", "mark_source", "mark", "surface", "warp", "opacity", "jpeg_quality",
            "mask_kind", "across_px")
    return ", ".join(f"{k}={fmt(meta[k]) if isinstance(meta[k], float) else meta[k]}"
                     for k in keys if k in meta)


def worst(rows: list[dict[str, Any]], n: int = 5) -> str:
    ranked = sorted(rows, key=lambda r: r["gain"])[:n]
    lines = [f"Worst {n} by gain ({rows[0]['prompt']} prompt):"]
    for r in ranked:
        lines.append(
            f"- seed {r['seed']}: gain {fmt(r['gain'])} dB (engine {fmt(r['psnr'])}, TELEA "
            f"{fmt(r['telea_psnr'])}), alpha MAE {fmt(r['alpha_mae'], 3)}, left-behind "
            f"{fmt(r['left_behind'] * 100, 1)} %, detail {fmt(r['detail'])}; "
            f"{describe(r['meta'])}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- pictures

def crop_box(prompt: np.ndarray, pad: int = 24) -> tuple[int, int, int, int]:
    """The prompt's bbox grown by pad, and grown in height to at least half its width."""
    ys, xs = np.nonzero(prompt)
    h, w = prompt.shape
    grow = max(0, (xs.max() - xs.min()) // 2 - (ys.max() - ys.min())) // 2
    return (max(xs.min() - pad, 0), max(ys.min() - pad - grow, 0), min(xs.max() + pad + 1, w),
            min(ys.max() + pad + grow + 1, h))


def panel(rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    part = rgb[y0:y1, x0:x1]
    width = max(1, int(round(part.shape[1] * PANEL / part.shape[0])))
    return cv2.resize(part, (width, PANEL), interpolation=cv2.INTER_LINEAR)


def thumbnail(case: RealCase, prompt: np.ndarray) -> np.ndarray:
    """The whole frame with the prompt's outline in yellow."""
    img = case.composite.copy()
    contours = cv2.findContours(prompt.astype(np.uint8), cv2.RETR_EXTERNAL,
                                cv2.CHAIN_APPROX_NONE)[0]
    cv2.drawContours(img, contours, -1, (255, 220, 0), 2)
    return cv2.resize(img, (PANEL, PANEL), interpolation=cv2.INTER_AREA)


def grey(alpha: np.ndarray) -> np.ndarray:
    return np.repeat(alpha[..., None], 3, axis=2)


def save_picture(case: RealCase, arrays: dict[str, np.ndarray], path: Path) -> None:
    """frame | composite | true object | engine object | TELEA | true alpha | engine alpha."""
    box = crop_box(arrays["prompt"])
    parts = [thumbnail(case, arrays["prompt"])] + [panel(a, box) for a in (
        case.composite, case.object, arrays["object"], arrays["telea"],
        grey(case.logo[..., 3]), grey(arrays["logo"][..., 3]))]
    sep = np.full((PANEL, 3, 3), 255, np.uint8)
    row = np.concatenate([x for p in parts for x in (p, sep)][:-1], axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(row, cv2.COLOR_RGB2BGR))


# ---------------------------------------------------------------------------------- main

def exact_supported() -> bool:
    return "exact_mask" in {f.name for f in dataclasses.fields(DecomposeRequest)}


def run(args: argparse.Namespace, prompts: list[str]) -> list[dict[str, Any]]:
    exact = args.exact_mask and exact_supported()
    if args.exact_mask and not exact:
        print("note: DecomposeRequest has no exact_mask field; running without it",
              file=sys.stderr)
    rows = []
    picked = set(range(0, args.count, max(1, args.count // max(args.save_count, 1))))
    picked = set(sorted(picked)[:args.save_count])
    for n, case in enumerate(benchmark_cases(args.count, args.size, first_seed=args.first_seed)):
        for prompt_name in prompts:
            row, arrays = case_figures(case, prompt_name, exact)
            rows.append(row)
            if args.save_dir and n in picked:
                name = f"{case.meta['seed']}_{prompt_name}_{case.meta['mark_source']}.png"
                save_picture(case, arrays, args.save_dir / name)
        print(f"case {n + 1}/{args.count} seed {case.meta['seed']}: " + "  ".join(
            f"{r['prompt']} gain {fmt(r['gain'])}" for r in rows[-len(prompts):]),
            file=sys.stderr, flush=True)
    return rows


def json_safe(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [json_safe(v) for v in x]
    return x


def write_json(path: Path, rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(json_safe({"count": args.count, "first_seed": args.first_seed,
                                         "exact_mask": args.exact_mask, "cases": rows}),
                              indent=1))
    tmp.replace(path)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.real_marks")
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED,
                        help="fresh seeds check that a change is not tuned to the fixed cases")
    parser.add_argument("--prompt", choices=("mask", "box", "both"), default="both")
    parser.add_argument("--size", type=int, default=512,
                        help="the cases' side in px (placements and mark sizes are drawn anew)")
    parser.add_argument("--save-dir", type=Path, default=None,
                        help="one side-by-side PNG per case and prompt")
    parser.add_argument("--save-count", type=int, default=10 ** 9,
                        help="pictures for N cases spread over the run (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument("--exact-mask", action="store_true",
                        help="pass exact_mask=True where the request has that field")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    prompts = ["mask", "box"] if args.prompt == "both" else [args.prompt]
    start = time.perf_counter()
    rows = run(args, prompts)
    print(f"Real-marks benchmark: {args.count} cases (seeds {args.first_seed}.."
          f"{args.first_seed + args.count - 1}, {args.size} px), classical engine vs OpenCV TELEA, "
          f"exact_mask={args.exact_mask and exact_supported()}\n")
    for p in prompts:
        mine = [r for r in rows if r["prompt"] == p]
        print(markdown(mine, p) + "\n\n" + worst(mine) + "\n")
    print(f"total {time.perf_counter() - start:.0f} s")
    if args.json:
        write_json(args.json, rows, args)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
