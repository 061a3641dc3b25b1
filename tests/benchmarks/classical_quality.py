"""Classical engine vs OpenCV TELEA on the small fixed cases of classical_cases.py.

Prints PSNR inside the mask (ours, TELEA), alpha MAE inside the mask, cycle PSNR, opacity.
Run: .venv/bin/python -m tests.benchmarks.classical_quality
"""

from __future__ import annotations

import time

import numpy as np

from layerlift.inference.api import decompose
from layerlift.inference.contract import DecomposeRequest
from tests.benchmarks.classical_cases import psnr_inside, standard_cases, telea


def main() -> None:
    gains = []
    print(f"{'case':28s} {'ours':>7s} {'telea':>7s} {'gain':>6s} {'aMAE':>6s} {'cycle':>6s} "
          f"{'opac':>5s} {'ms':>5s}")
    for case in standard_cases():
        start = time.perf_counter()
        layers = decompose(DecomposeRequest(case.composite, case.mask))
        ms = (time.perf_counter() - start) * 1000
        ours = psnr_inside(layers.object, case.object, case.mask)
        base = psnr_inside(telea(case), case.object, case.mask)
        a_err = np.abs(layers.logo[..., 3].astype(float) - case.logo[..., 3])[case.mask] / 255
        gains.append(ours - base)
        print(f"{case.name:28s} {ours:7.2f} {base:7.2f} {ours - base:6.2f} {a_err.mean():6.3f} "
              f"{layers.meta['cycle_psnr']:6.1f} {layers.meta['opacity']:5.2f} {ms:5.0f}")
    print(f"median gain {np.median(gains):.2f} dB, min {np.min(gains):.2f} dB")


if __name__ == "__main__":
    main()
