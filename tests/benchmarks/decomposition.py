"""Decomposition quality: the classical engine vs OpenCV TELEA and NS on synthetic cases.

    .venv/bin/python -m tests.benchmarks.decomposition [--count N] [--size S] [--json OUT]

The cases come from inference.synth with fixed seeds: surface families in turn, opaque and
semi-transparent marks in equal numbers. Baselines inpaint the whole mask; their logo layer is
unblended from the input and the inpainted object with the least alpha that explains the
input (the same for both baselines). Prints Markdown tables; writes every figure as JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from layerlift.inference import DecomposeRequest, decompose
from layerlift.inference.metrics import evaluate
from layerlift.inference.synth import KINDS, generate_triplet

FIRST_SEED = 1000
METHODS = ("classical", "telea", "ns")
METRICS = ("psnr", "ssim", "alpha_mae", "cycle_psnr", "outside_max_diff", "seconds")
INPAINT_RADIUS = 5


def case_list(count: int) -> list[tuple[int, str, bool]]:
    """(seed, kind, opaque): families in turn, opaque and semi-transparent alternating, the
    alternation flipped every round so each family gets both."""
    cases = []
    for i in range(count):
        round_ = i // len(KINDS)
        cases.append((FIRST_SEED + i, KINDS[i % len(KINDS)], (i + round_) % 2 == 0))
    return cases


def unblend_least_alpha(image: np.ndarray, obj: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The logo RGBA that explains image = alpha-over(logo, obj) with the least alpha.

    Per pixel, alpha is the smallest value that keeps the logo colour inside [0, 255]; the
    colour follows from the blend equation. This is the natural unblending when only the
    object is known.
    """
    i = image.astype(np.float64)
    b = obj.astype(np.float64)
    up = np.where(i > b, (i - b) / np.maximum(255.0 - b, 1e-6), 0.0)
    down = np.where(i < b, (b - i) / np.maximum(b, 1e-6), 0.0)
    alpha = np.clip(np.maximum(up, down).max(axis=2), 0, 1)
    a8 = np.ceil(alpha * 255.0 - 1e-9)
    a = a8 / 255.0
    colour = b + (i - b) / np.maximum(a, 1e-6)[..., None]
    logo = np.zeros(image.shape[:2] + (4,), np.uint8)
    logo[..., :3] = np.clip(np.rint(colour), 0, 255).astype(np.uint8)
    logo[..., 3] = a8.astype(np.uint8)
    logo[~mask] = 0
    logo[logo[..., 3] == 0] = 0
    return logo


def run_baseline(image: np.ndarray, mask: np.ndarray, flag: int) -> tuple[np.ndarray, np.ndarray]:
    m8 = mask.astype(np.uint8) * 255
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    filled = cv2.cvtColor(cv2.inpaint(bgr, m8, INPAINT_RADIUS, flag), cv2.COLOR_BGR2RGB)
    obj = image.copy()
    obj[mask] = filled[mask]
    return obj, unblend_least_alpha(image, obj, mask)


def run_method(method: str, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    if method == "classical":
        layers = decompose(DecomposeRequest(image=image, mask=mask, engine="classical"))
        return layers.object, layers.logo
    flag = cv2.INPAINT_TELEA if method == "telea" else cv2.INPAINT_NS
    return run_baseline(image, mask, flag)


def run_cases(count: int, size: int, log=sys.stderr) -> list[dict[str, Any]]:
    rows = []
    for n, (seed, kind, opaque) in enumerate(case_list(count)):
        t = generate_triplet(seed, size, kind, opaque)
        for method in METHODS:
            row: dict[str, Any] = {"seed": seed, "kind": kind, "opaque": opaque,
                                   "opacity": t.meta["opacity"], "method": method}
            start = time.perf_counter()
            try:
                obj, logo = run_method(method, t.composite, t.mask)
            except Exception as exc:  # a failing engine is a result to report, not a crash
                row["error"] = f"{type(exc).__name__}: {exc}"
                rows.append(row)
                continue
            row["seconds"] = time.perf_counter() - start
            row.update(evaluate(t.composite, t.mask, t.object, t.logo, obj, logo))
            rows.append(row)
        print(f"case {n + 1}/{count} seed {seed} {kind} "
              f"{'opaque' if opaque else 'semi'}: " + "  ".join(
                  f"{r['method']} {r.get('psnr', float('nan')):.2f} dB"
                  for r in rows[-len(METHODS):]), file=log, flush=True)
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and mean of every metric per method, over all cases and per group."""
    groups = {"all": lambda r: True, "opaque": lambda r: r["opaque"],
              "semi-transparent": lambda r: not r["opaque"]}
    out: dict[str, Any] = {}
    for method in METHODS:
        mine = [r for r in rows if r["method"] == method]
        out[method] = {"failures": sum("error" in r for r in mine)}
        for gname, keep in groups.items():
            ok = [r for r in mine if keep(r) and "error" not in r]
            stats = {"cases": len(ok)}
            for m in METRICS:
                vals = np.array([r[m] for r in ok], dtype=np.float64)
                finite = vals[np.isfinite(vals)] if m != "cycle_psnr" else vals
                stats[m] = {
                    "median": float(np.median(vals)) if vals.size else math.nan,
                    "mean": float(np.mean(finite)) if finite.size else math.nan,
                    "min": float(np.min(vals)) if vals.size else math.nan,
                    "max": float(np.max(vals)) if vals.size else math.nan,
                }
            out[method][gname] = stats
        out[method]["psnr_by_kind"] = {
            k: float(np.median([r["psnr"] for r in mine if r["kind"] == k and "error" not in r]
                               or [math.nan])) for k in KINDS}
    return out


def fmt(x: float, digits: int = 2) -> str:
    if math.isnan(x):
        return "n/a"
    return "inf" if math.isinf(x) else f"{x:.{digits}f}"


def markdown(summary: dict[str, Any], count: int, size: int) -> str:
    lines = [f"Decomposition benchmark: {count} synthetic cases at {size} px "
             f"(seeds {FIRST_SEED}..{FIRST_SEED + count - 1}); inside the mask unless noted.", "",
             "| method | cases | PSNR median / mean (dB) | SSIM median | alpha MAE median / mean "
             "| cycle PSNR median (dB) | outside max diff | time mean (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for gname in ("all", "opaque", "semi-transparent"):
        for method in METHODS:
            s = summary[method][gname]
            fails = summary[method]["failures"]
            label = f"{method} ({gname})"
            cases = f"{s['cases']}" + (f" (+{fails} failed)" if fails and gname == "all" else "")
            lines.append(
                f"| {label} | {cases} | {fmt(s['psnr']['median'])} / {fmt(s['psnr']['mean'])} | "
                f"{fmt(s['ssim']['median'], 4)} | {fmt(s['alpha_mae']['median'], 4)} / "
                f"{fmt(s['alpha_mae']['mean'], 4)} | {fmt(s['cycle_psnr']['median'])} | "
                f"{fmt(s['outside_max_diff']['max'], 0)} | {fmt(s['seconds']['mean'], 3)} |")
    lines += ["", "Median PSNR inside the mask (dB) per surface family:", "",
              "| method | " + " | ".join(KINDS) + " |", "|---" * (len(KINDS) + 1) + "|"]
    for method in METHODS:
        by = summary[method]["psnr_by_kind"]
        lines.append(f"| {method} | " + " | ".join(fmt(by[k]) for k in KINDS) + " |")
    lines += ["", "Acceptance (issue 2), classical engine:"]
    gains = []
    for gname in ("all", "opaque", "semi-transparent"):
        gain = (summary["classical"][gname]["psnr"]["median"]
                - summary["telea"][gname]["psnr"]["median"])
        gains.append(f"{gname} {gain:+.2f} dB")
    cls = summary["classical"]["all"]
    lines += [
        "- median PSNR gain over TELEA (>= +2 dB): " + ", ".join(gains),
        f"- alpha MAE (<= 0.08): median {fmt(cls['alpha_mae']['median'], 4)}, "
        f"mean {fmt(cls['alpha_mae']['mean'], 4)}",
        f"- cycle PSNR (>= 40 dB): median {fmt(cls['cycle_psnr']['median'])}, "
        f"worst case {fmt(cls['cycle_psnr']['min'])}",
        f"- outside-mask max diff (0): {fmt(cls['outside_max_diff']['max'], 0)}",
    ]
    return "\n".join(lines)


def _json_safe(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_json_safe(v) for v in x]
    return x


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.decomposition")
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--json", type=Path, default=None, help="write all figures here")
    args = parser.parse_args(argv)
    rows = run_cases(args.count, args.size)
    summary = summarise(rows)
    print(markdown(summary, args.count, args.size))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.json.with_suffix(args.json.suffix + ".tmp")
        tmp.write_text(json.dumps(_json_safe({"count": args.count, "size": args.size,
                                              "first_seed": FIRST_SEED, "summary": summary,
                                              "cases": rows}), indent=1))
        tmp.replace(args.json)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
