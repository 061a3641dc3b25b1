"""python -m layerlift.inference.synth OUT_DIR --count N --seed S --size N"""

from __future__ import annotations

import argparse
import sys

from layerlift.inference.errors import InputError
from layerlift.inference.synth.io import generate_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m layerlift.inference.synth",
                                     description="Write synthetic logo-on-surface triplets.")
    parser.add_argument("out_dir")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args(argv)
    if args.size < 64:
        parser.error("--size must be at least 64")
    try:
        folders = generate_dataset(args.out_dir, args.count, args.seed, args.size)
    except (InputError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(folders)} triplets to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
