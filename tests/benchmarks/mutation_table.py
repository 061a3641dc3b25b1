"""The mutation table from the last `make mutate` (mutmut's results under mutants/).

    .venv/bin/python -m tests.benchmarks.mutation_table [--survivors]

One row per mutated module: mutants made, checked, killed (a test failed or timed out),
survived, and the survivors' share of the checked ones. `--survivors` lists them; `mutmut
show NAME` prints one's diff. Equivalent mutants (no behaviour to tell apart) are kept in
EQUIVALENT below, each with its reason, and counted apart.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout",
          152: "timeout", 255: "timeout", 37: "killed"}
SURVIVED = {0}
NOT_CHECKED = {None}

# mutant name -> why no test can tell it from the original
EQUIVALENT: dict[str, str] = {}


def _status(code: int | None) -> str:
    if code in NOT_CHECKED:
        return "not checked"
    if code in SURVIVED:
        return "survived"
    if code in KILLED:
        return "killed"
    if code in (5, 33):
        return "no tests"
    return "other"


def results(root: Path = Path("mutants")) -> dict[str, dict[str, str]]:
    """module path -> {mutant name: status}."""
    out = {}
    for meta in sorted(root.glob("layerlift/**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        module = str(meta.relative_to(root))[:-len(".meta")]
        out[module] = {name: _status(code) for name, code in codes.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--survivors", action="store_true")
    args = parser.parse_args()
    table = results()
    print("| module | mutants | checked | killed | survived (equivalent) | no tests "
          "| survived / checked non-equivalent |")
    print("|---|---|---|---|---|---|---|")
    total: Counter = Counter()
    for module, statuses in table.items():
        counts = Counter(statuses.values())
        equivalent = sum(1 for n, s in statuses.items() if s == "survived" and n in EQUIVALENT)
        checked = len(statuses) - counts["not checked"]
        real = counts["survived"] - equivalent
        share = f"{100 * real / max(1, checked - equivalent):.1f} %" if checked else "-"
        print(f"| {module} | {len(statuses)} | {checked} | {counts['killed']} | "
              f"{counts['survived']} ({equivalent}) | {counts['no tests']} | {share} |")
        total.update(mutants=len(statuses), checked=checked, killed=counts["killed"],
                     survived=counts["survived"], equivalent=equivalent,
                     no_tests=counts["no tests"])
    real = total["survived"] - total["equivalent"]
    share = 100 * real / max(1, total["checked"] - total["equivalent"])
    print(f"| all | {total['mutants']} | {total['checked']} | {total['killed']} | "
          f"{total['survived']} ({total['equivalent']}) | {total['no_tests']} | {share:.1f} % |")
    if args.survivors:
        for statuses in table.values():
            for name, status in statuses.items():
                if status in ("survived", "no tests"):
                    why = EQUIVALENT.get(name, "")
                    print(f"{status}: {name}" + (f"  (equivalent: {why})" if why else ""))


if __name__ == "__main__":
    main()
