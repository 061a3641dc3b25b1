"""The mutation table from the last `make mutate` (mutmut's results under mutants/).

    .venv/bin/python -m tests.benchmarks.mutation_table [--survivors] [--earlier DIR ...]
                                                        [--sample N [--seed S]]
    .venv/bin/python -m tests.benchmarks.mutation_table --draw N [--seed S]

One row per mutated module: mutants made, checked, killed (a test failed, crashed, or ran
past mutmut's time limit: the timeouts, in brackets),
survived, reached by no test ("no tests", counted as not killed), and the share of the
checked non-equivalent mutants that no test killed. `--survivors` lists them; `mutmut
show NAME` prints one's diff. Equivalent mutants (no behaviour to tell apart) are kept in
EQUIVALENT below, each with its reason, and counted apart. `--earlier DIR` (a copy of an
earlier run's mutants/ folder, its *.meta files) fills in the mutants this run did not check:
for a run made in parts, or a recheck of the survivors only (a recheck with another test
selection makes mutmut forget the earlier verdicts).

When there is no time to run every mutant: `--draw N` prints N mutant names per module, drawn
at random with the seed S (16 unless told) from the names mutmut made (so the same code gives
the same draw; the first k of a draw of N are the draw of k). `mutmut run $(... --draw N)`
runs them, and `--sample N` counts only those in the table.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

KILLED = {1: "killed", 3: "killed", 36: "timeout", 24: "timeout", -24: "timeout",
          152: "timeout", 255: "timeout", 37: "killed",
          -11: "killed"}   # -11: the test process crashed (a Qt object left half-built)
SURVIVED = {0}
NOT_CHECKED = {None}

# mutant name -> why no test can tell it from the original. "Written" means: on every project
# that save_project writes (these keys are always there, with these values).
_OPEN = "layerlift.desktop.project.x_open_project__mutmut_"
_WHY = {
    "mask_layer": "the mask layer's name: written as MASK_LAYER, and the layers are told "
                  "apart by MASK_LAYER itself a line below",
    "strict": "zip(strict=...): the lengths are compared, with its own error, just above",
    "name": "a layer's name: always written, so the default never applies",
    "kind": "a layer's kind: always written, so the default never applies",
    "quad": "np.asarray(quad) without float64: the quad is written as floats, so it is "
            "float64 either way",
    "tint": "tint[:4]: written as 3 numbers",
    "tint_strength": "tint_strength: always written with the tint",
}
EQUIVALENT: dict[str, str] = {
    **{f"{_OPEN}{n}": _WHY["mask_layer"] for n in (22, 23, 25, 26, 27)},
    **{f"{_OPEN}{n}": _WHY["strict"] for n in (36, 39, 40)},
    **{f"{_OPEN}{n}": _WHY["name"] for n in (52, 54)},
    **{f"{_OPEN}{n}": _WHY["kind"] for n in (59, 64, 65)},
    **{f"{_OPEN}{n}": _WHY["quad"] for n in (88, 90)},
    f"{_OPEN}126": _WHY["tint"],
    **{f"{_OPEN}{n}": _WHY["tint_strength"] for n in (130, 132, 135)},
    **{f"layerlift.inference.crop.x_paste_back__mutmut_{n}":
       "np.clip's bounds on a blend of two uint8 images with weights in [0, 1]: it never "
       "leaves [0, 255]" for n in (56, 57, 63)},
    **{f"layerlift.inference.crop.x_paste_back__mutmut_{n}":
       "the blend in float64 instead of float32: the same uint8 after rounding (a float32 "
       "tie at .5 could round the other way; no real input was found that does)"
       for n in (48, 50, 54)},
    **{f"layerlift.inference.crop.x_to_photo_scale__mutmut_{n}":
       "shape[1] for shape[0]: an engine's result is square (S x S)" for n in (1, 7)},
    "layerlift.inference.crop.x_to_photo_scale__mutmut_6":
        ">= for >: equal sides have returned unchanged a line above",
    "layerlift.inference.crop.x_feathered_weight__mutmut_16":
        "np.clip's lower bound: a distance over a positive feather is never below 0",
    # The sample run of 2026-12-01 (see the README).
    "layerlift.inference.layers.x_cycle_error__mutmut_2":
        "astype(None) for astype(np.float64): None means float64",
    "layerlift.desktop.document.x_rotated_quad__mutmut_3":
        "the centre argument ignored: no caller passes one (the canvas rotates about the "
        "quad's own centre)",
    "layerlift.desktop.document.x_stroke_coverage__mutmut_78":
        "the pixel centres in float64 instead of float32: the same coverage (a stroke's "
        "distances are far inside float32's precision)",
    "layerlift.desktop.document.x_layers_from_decomposition__mutmut_17":
        "np.asarray(quad) without float64: a decomposition's quad is float64 already "
        "(logo_asset builds it so, the job only shifts it)",
    "layerlift.desktop.document.x_rgb_to_rgba__mutmut_2":
        "cvtColor's code None: OpenCV reads it as 0, which is COLOR_RGB2RGBA",
    "layerlift.inference.engines.flux.lora.x_activate__mutmut_1":
        "scale's default 2.0 for 1.0: every caller with a LoRA passes its scale, and "
        "without one the scale is not used",
    "layerlift.inference.layers.x_alpha_over__mutmut_25":
        "np.clip's upper bound 256: a blend of two uint8 images with weights in [0, 1] "
        "never passes 255",
    "layerlift.inference.layers.x_minimum_alpha__mutmut_12":
        "i >= o for i > o: where they are equal the step up is (i - o) / ... = 0 either way",
    "layerlift.inference.api.x_enforce_outside__mutmut_9":
        "the window runs on to the photo's right edge: the same layers (every engine starts "
        "from a copy of the input and an empty logo, and the cycle error counts mask pixels "
        "only); only more pixels are copied",
    "layerlift.inference.api.x_enforce_outside__mutmut_3":
        "window None: the same fix over the whole photo (mask[None] adds an axis), the same "
        "cycle error; only slower",
    "layerlift.inference.export.x__write_ora_zip__mutmut_95":
        "the mimetype's compress_type dropped: a ZipInfo is stored (uncompressed) unless told",
    "layerlift.inference.export.x__write_ora_zip__mutmut_30":
        "zip(strict=None): the file names are made from these layers, one each",
    **{f"layerlift.desktop.document.x_quad_bbox__mutmut_{n}":
       "quad_bbox has no caller (dead code, left for whoever next edits document.py to "
       "remove)" for n in range(1, 39)},
    "layerlift.desktop.project.x__open_layerlift__mutmut_99":
        "zip(strict=False): the lengths are compared, with their own error, above",
    "layerlift.desktop.project.x__parse_entry__mutmut_29":
        "a missing name left None instead of \"\": the reader takes `name or` the ORA "
        "layer's name either way",
    "layerlift.inference.imageio.x_save_png__mutmut_1":
        "zlib level 7 for 6 by default: the same pixels, only the file's size and the time "
        "to write it change",
    "layerlift.inference.export.x__write_png_layers__mutmut_14":
        "zip(strict=False): the file names are made from these layers, one each",
}

# mutant name -> the test that kills it, added (or, for tests outside [tool.mutmut]'s
# selection, found) after the run saw the mutant survive; each checked by applying the
# mutant's change to the file by hand and watching the test fail. Counted as killed.
KILLED_SINCE: dict[str, str] = {
    "layerlift.desktop.document.x_fit_asset_in_quad__mutmut_40":
        "tests/desktop/test_document.py::test_fit_asset_in_quad_keeps_aspect_and_centre",
    "layerlift.inference.imageio.x__grabcut__mutmut_11":
        "tests/inference/test_imageio.py::test_grabcut_refines_a_box_to_the_mark[2]",
    "layerlift.desktop.project.x_parse_project__mutmut_14":
        "tests/desktop/test_project_fields.py::test_a_damaged_field_is_refused_with_its_reason",
    "layerlift.desktop.project.x__open_layerlift__mutmut_88":
        "tests/desktop/test_project_fields.py::"
        "test_a_project_too_large_to_open_says_what_it_would_hold",
    **{f"layerlift.inference.engines.flux.lora.x_check_lora_file__mutmut_{n}":
       "tests/inference/flux/test_lora.py::test_a_wrong_lora_is_refused_with_its_reason"
       for n in (11, 29, 46)},
    "layerlift.inference.imageio.x_being_written__mutmut_22":
        "tests/inference/test_racing_writes.py::"
        "test_a_write_that_starts_while_another_is_under_way_is_refused",
    "layerlift.inference.crop.x_extract__mutmut_63":
        "tests/inference/test_api_forwarding.py::"
        "test_a_window_shrunk_for_the_engine_is_area_averaged_and_grown_back_smooth",
    "layerlift.inference.imageio.x_sweep_stale__mutmut_24":
        "tests/e2e/test_hard_stops.py::test_what_a_killed_run_left_is_removed_by_the_next_run",
    "layerlift.desktop.document.xǁDocumentǁset_mask__mutmut_6":
        "tests/desktop/test_document.py::"
        "test_set_mask_keeps_soft_coverage_and_turns_a_bool_mask_into_255",
    "layerlift.inference.export.x_psd_bytes__mutmut_3":
        "tests/inference/test_big_inputs.py::test_the_psd_is_the_same_in_bands",
    "layerlift.inference.imageio.x__short__mutmut_13":
        "tests/inference/test_imageio.py::test_a_library_error_is_folded_into_one_short_line",
    **{f"layerlift.inference.export.x__write_ora_zip__mutmut_{n}":
       "tests/inference/test_export.py::test_ora_stack_xml_is_the_openraster_layout"
       for n in (24, 65)},
    "layerlift.inference.layers.x_solve_logo__mutmut_43":
        "tests/inference/test_solve_logo.py::test_solving_outside_where_prints_no_numpy_warning",
    "layerlift.inference.imageio.x_write_png__mutmut_6":
        "tests/inference/test_imageio.py::test_a_bool_mask_is_saved_as_a_black_and_white_png",
    "layerlift.inference.imageio.x__lock__mutmut_8":
        "tests/e2e/test_hard_stops.py::test_a_killed_file_write_is_swept_by_the_next_write",
    "layerlift.desktop.document.x_replacement_placement__mutmut_33":
        "tests/desktop/test_bend.py::test_a_replaced_bent_mark_offers_its_bend_back",
    "layerlift.inference.export.x_ora_bytes__mutmut_4":
        "tests/inference/test_imageio.py::"
        "test_ora_streamed_to_its_file_equals_the_in_memory_one_and_fails_cleanly",
    "layerlift.inference.export.x__write_png_layers__mutmut_36":
        "tests/inference/test_export.py::test_png_folder_with_manifest",
    "layerlift.inference.layers.x_logo_bbox__mutmut_9":
        "tests/inference/test_solve_logo.py::test_a_hairline_logo_one_pixel_high_or_wide_has_its_box",
    "layerlift.inference.layers.x_logo_asset__mutmut_16":
        "tests/inference/test_solve_logo.py::"
        "test_an_empty_logo_is_one_transparent_pixel_on_the_unit_square",
}


def _status(code: int | None) -> str:
    if code in NOT_CHECKED:
        return "not checked"
    if code in SURVIVED:
        return "survived"
    if code in KILLED:
        return KILLED[code]
    if code in (5, 33):
        return "no tests"
    return "other"


def results(root: Path = Path("mutants"), earlier: tuple[Path, ...] = ()
            ) -> dict[str, dict[str, str]]:
    """module path -> {mutant name: status}; a mutant not checked in `root` takes its
    status from the first of the `earlier` folders that checked it."""
    out = {}
    for meta in sorted(root.glob("layerlift/**/*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        relative = meta.relative_to(root)
        for folder in earlier:
            old = folder / relative
            if old.is_file():
                old_codes = json.loads(old.read_text())["exit_code_by_key"]
                codes = {name: old_codes.get(name) if code is None else code
                         for name, code in codes.items()}
        out[str(relative)[:-len(".meta")]] = {name: _status(code)
                                              for name, code in codes.items()}
    return out


def draw(table: dict[str, dict[str, str]], n: int, seed: int = 16) -> set[str]:
    """N mutant names of each module (all of a smaller one), drawn with `seed`."""
    drawn: set[str] = set()
    for statuses in table.values():
        names = sorted(statuses)
        random.Random(seed).shuffle(names)
        drawn.update(names[:n])
    return drawn


def _row(name: str, c: Counter) -> str:
    """One table row; the share is of the checked mutants that are not equivalent."""
    real = c["survived"] - c["equivalent"]
    share = f"{100 * real / max(1, c['checked'] - c['equivalent']):.1f} %" if c["checked"] \
        else "-"
    return (f"| {name} | {c['mutants']} | {c['checked']} | {c['killed']} ({c['timeout']}) | "
            f"{c['since']} | {c['survived']} ({c['equivalent']}) | {c['no_tests']} | {share} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--survivors", action="store_true")
    parser.add_argument("--earlier", type=Path, action="append", default=[])
    parser.add_argument("--draw", type=int, help="print N mutant names per module and stop")
    parser.add_argument("--sample", type=int, help="count only the --draw N mutants")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    table = results(earlier=tuple(args.earlier))
    if args.draw:
        if not table:
            raise SystemExit("no mutants yet: run mutmut once (any part) to make them")
        print("\n".join(sorted(draw(table, args.draw, args.seed))))
        return
    if args.sample:
        drawn = draw(table, args.sample, args.seed)
        table = {module: {name: status for name, status in statuses.items() if name in drawn}
                 for module, statuses in table.items()}
    print("| module | mutants | checked | killed (timeouts) | killed since the run "
          "| survived (equivalent) | no tests | not killed / checked non-equivalent |")
    print("|---|---|---|---|---|---|---|---|")
    total: Counter = Counter()
    for module, statuses in table.items():
        counts = Counter(statuses.values())
        since = sum(1 for n, s in statuses.items()
                    if s in ("survived", "no tests") and n in KILLED_SINCE)
        equivalent = sum(1 for n, s in statuses.items()
                         if s in ("survived", "no tests") and n in EQUIVALENT)
        row = Counter(mutants=len(statuses), checked=len(statuses) - counts["not checked"],
                      killed=counts["killed"] + counts["timeout"], timeout=counts["timeout"],
                      since=since, survived=counts["survived"] + counts["no tests"] - since,
                      equivalent=equivalent, no_tests=counts["no tests"])
        print(_row(module, row))
        total.update(row)
    print(_row("all", total))
    if args.survivors:
        for statuses in table.values():
            for name, status in statuses.items():
                if status in ("survived", "no tests"):
                    why = EQUIVALENT.get(name, "")
                    since = KILLED_SINCE.get(name, "")
                    print(f"{status}: {name}" + (f"  (equivalent: {why})" if why else "")
                          + (f"  (killed since by {since})" if since else ""))


if __name__ == "__main__":
    main()
