"""Do the `train improve` filters pick good decompositions? Checked where the truth is known.

    .venv/bin/python -m tests.benchmarks.train_filters [--count 40] [--size 256]

Generated triplets are decomposed and composed back by the classical engine (the flux engine
needs real weights to say anything); each candidate is scored by the default filters, and the
scores are compared with the true quality of the object (PSNR inside the mask vs the clean
surface). A useful filter's score falls as the PSNR rises (negative rank correlation), and
the kept candidates are better than the rejected ones. The classical engine is deterministic,
so the seed-agreement filter has nothing to measure here.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import spearmanr

from layerlift.inference import ComposeRequest, DecomposeRequest, compose, decompose
from layerlift.inference.metrics import psnr
from layerlift.inference.synth import generate_triplet
from layerlift.training.improve import Candidate, default_filters


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    filters = default_filters()
    rows = []
    start = time.perf_counter()
    for seed in range(args.count):
        t = generate_triplet(seed, size=args.size)
        layers = decompose(DecomposeRequest(image=t.composite, mask=t.mask, seed=seed))
        back = compose(ComposeRequest(object=layers.object, logo=layers.logo))
        cand = Candidate(f"{seed}", t.composite, t.mask, layers, [], back)
        scores = {f.name: f.score(cand) for f in filters}
        kept = all(scores[f.name] <= f.threshold for f in filters)
        rows.append({"psnr": psnr(layers.object, t.object, t.mask), "kept": kept, **scores})
    elapsed = time.perf_counter() - start
    quality = np.array([r["psnr"] for r in rows])
    kept = np.array([r["kept"] for r in rows])
    print(f"{args.count} generated cases at {args.size}px, classical engine "
          f"({elapsed / args.count:.2f} s per case incl. generation and recomposition)")
    print(f"kept {kept.sum()}/{len(kept)} ({100 * kept.mean():.0f} %)")
    if kept.any() and (~kept).any():
        print(f"object PSNR inside the mask: kept median {np.median(quality[kept]):.2f} dB, "
              f"rejected median {np.median(quality[~kept]):.2f} dB")
    print(f"{'filter':16s} {'threshold':>9s} {'pass':>6s} {'median score':>13s} "
          f"{'rank corr. with PSNR':>21s}")
    for f in filters:
        values = np.array([r[f.name] for r in rows])
        passed = (values <= f.threshold).mean()
        if np.ptp(values) > 0:
            corr = f"{spearmanr(values, quality).statistic:+.2f}"
        else:
            corr = "constant"
        print(f"{f.name:16s} {f.threshold:9.3f} {100 * passed:5.0f}% {np.median(values):13.4f} "
              f"{corr:>21s}")


if __name__ == "__main__":
    main()
