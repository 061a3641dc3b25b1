"""One click on each real mark (cases from real_marks_cases.py): how much of the mark the
selection covers, how much of it is mark, and the decomposition that follows.

    .venv/bin/python -m tests.benchmarks.select_marks [--count 48] [--first-seed 7000]
        [--processes 2]

The click lands on the deepest pixel of the mark's largest part (where a user would click).
"Covered" is the share of the mark's pixels (true alpha above 0.3 of its peak) inside the
selection; "mark share" the share of the selection's pixels the mark touches. The classical
engine then decomposes with the selection; OpenCV TELEA inpaints the case's TRUE loose mask
(one click against a brushed mask). PSNR of both objects is measured inside the union of the
two masks. "Left > 5 %": cases leaving more than 5 % of the mark's visible pixels as they
were (real_marks.left_behind_share). Time per click is also measured on a 24 MP photo (a
case's composite scaled up to 6000 x 4000, the click scaled with it).
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from typing import Any

import cv2
import numpy as np

from layerlift.inference import DecomposeRequest, decompose
from layerlift.inference.metrics import psnr
from layerlift.inference.select import select_mark
from tests.benchmarks.decomposition import run_baseline
from tests.benchmarks.real_marks import LEFT_BEHIND_BAD, fmt, left_behind_share
from tests.benchmarks.real_marks_cases import FIRST_SEED, RealCase, case_plan, generate_case

MARK_ALPHA = 0.3        # of the mark's own peak alpha (a watermark's peak is its opacity)
BIG = (6000, 4000)      # a 24 MP photo, width x height
BIG_CASES = 6


def mark_pixels(case: RealCase) -> np.ndarray:
    alpha = case.logo[..., 3]
    return alpha > MARK_ALPHA * int(alpha.max())


def click_point(case: RealCase) -> tuple[int, int]:
    """The deepest pixel of the mark's largest connected part, from the true alpha."""
    mark = mark_pixels(case).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mark, connectivity=8)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    depth = cv2.distanceTransform((labels == largest).astype(np.uint8), cv2.DIST_L2, 3)
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return int(x), int(y)


def case_row(plan: tuple[int, str, str, str]) -> dict[str, Any]:
    seed, source, family, group = plan
    case = generate_case(seed, 512, source, family, group)
    point = click_point(case)
    start = time.perf_counter()
    selected = select_mark(case.composite, [point])
    select_s = time.perf_counter() - start
    mark = mark_pixels(case)
    obj = decompose(DecomposeRequest(image=case.composite, mask=selected,
                                     engine="classical")).object
    telea, _ = run_baseline(case.composite, case.mask, cv2.INPAINT_TELEA)
    where = selected | case.mask
    return {"seed": seed, "meta": case.meta, "point": point,
            "covered": float((selected & mark).sum() / max(int(mark.sum()), 1)),
            "mark_share": float((selected & (case.logo[..., 3] > 0)).sum()
                                / max(int(selected.sum()), 1)),
            "gain": psnr(obj, case.object, where) - psnr(telea, case.object, where),
            "left_behind": left_behind_share(case, obj), "select_s": select_s}


def big_photo_seconds(plan: tuple[int, str, str, str]) -> tuple[float, float, float]:
    """(wall, CPU) seconds of one click on the case scaled up to 24 MP, and the share of the
    scaled mark it covers. The CPU time (all of this process's threads) reads the same on a
    loaded machine, where wall time does not."""
    seed, source, family, group = plan
    case = generate_case(seed, 512, source, family, group)
    x, y = click_point(case)
    big = cv2.resize(case.composite, BIG, interpolation=cv2.INTER_CUBIC)
    point = (x * BIG[0] / 512, y * BIG[1] / 512)
    start, cpu = time.perf_counter(), time.process_time()
    selected = select_mark(big, [point])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    mark = cv2.resize(mark_pixels(case).astype(np.uint8), BIG,
                      interpolation=cv2.INTER_NEAREST) > 0
    return wall, cpu, float((selected & mark).sum() / max(int(mark.sum()), 1))


def med(rows: list[dict[str, Any]], key: str) -> float:
    vals = np.array([r[key] for r in rows], np.float64)
    vals = vals[~np.isnan(vals)]
    return float(np.median(vals)) if vals.size else float("nan")


def table(rows: list[dict[str, Any]], big: list[tuple[float, float, float]]) -> str:
    def line(name: str, rs: list[dict[str, Any]]) -> str:
        bad = sum(r["left_behind"] > LEFT_BEHIND_BAD for r in rs)
        secs = [r["select_s"] for r in rs]
        return (f"| {name} | {len(rs)} | {fmt(med(rs, 'covered'))} | "
                f"{sum(r['covered'] < 0.8 for r in rs)} | {fmt(med(rs, 'mark_share'))} | "
                f"{fmt(med(rs, 'gain'))} | {bad} | "
                f"{np.median(secs) * 1000:.0f} / {max(secs) * 1000:.0f} |")

    out = ["| group | n | covered (median) | covered < 0.8 (cases) | mark share of the "
           "selection (median) | gain over TELEA on the true mask (dB, median) | "
           "left > 5 % (cases) | ms per click at 512 px, median / max |",
           "|---|---|---|---|---|---|---|---|", line("all", rows)]
    for key, values in (("family", ("print", "watermark")),
                        ("surface_group", ("photo", "procedural"))):
        out += [line(v, [r for r in rows if r["meta"][key] == v]) for v in values]
    wall, cpu = (np.array([b[i] for b in big]) * 1000 for i in (0, 1))
    out.append(f"\nTime per click on a 24 MP photo ({len(big)} cases): median "
               f"{np.median(wall):.0f} ms, max {wall.max():.0f} ms (CPU time: median "
               f"{np.median(cpu):.0f} ms, max {cpu.max():.0f} ms); covered (median) "
               f"{fmt(float(np.median([b[2] for b in big])))}")
    return "\n".join(out)


def worst(rows: list[dict[str, Any]], n: int = 5) -> str:
    lines = [f"Worst {n} by gain:"]
    for r in sorted(rows, key=lambda r: r["gain"])[:n]:
        m = r["meta"]
        lines.append(f"- seed {r['seed']}: gain {fmt(r['gain'])} dB, covered "
                     f"{fmt(r['covered'])}, mark share {fmt(r['mark_share'])}; {m['family']}, "
                     f"{m['mark_source']} {m.get('mark')} on {m.get('surface')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.select_marks")
    parser.add_argument("--count", type=int, default=48)
    parser.add_argument("--first-seed", type=int, default=FIRST_SEED)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args(argv)
    plan = case_plan(args.count, args.first_seed)
    start = time.perf_counter()
    with Pool(args.processes) as pool:
        rows = pool.map(case_row, plan)
    # Timed alone, one at a time: a shared pool would time the other process too.
    big = [big_photo_seconds(p) for p in plan[:BIG_CASES]]
    print(f"One click per mark: {args.count} cases, seeds {args.first_seed}.."
          f"{args.first_seed + args.count - 1}\n")
    print(table(rows, big) + "\n\n" + worst(rows))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
