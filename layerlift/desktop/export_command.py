"""`layerlift export PROJECT.ora --out FILE`: open a project (or any ORA) the way the app does
and write it as PSD, OpenRaster, or a flattened PNG or JPEG, chosen by FILE's suffix.

Qt-free. Errors follow the CLI's table: a file that cannot be read, or an --out that cannot
be written, exits 2 with one line and writes nothing (every write is atomic).
"""

from __future__ import annotations

from pathlib import Path

from layerlift.inference.cli import EXIT_OK, Parser
from layerlift.inference.errors import InputError

KINDS = {".psd": "psd", ".ora": "ora", ".png": "flat", ".jpg": "flat", ".jpeg": "flat"}


def build_parser() -> Parser:
    parser = Parser(prog="layerlift export",
                    description="Open a Layerlift project (or any OpenRaster file) and write "
                    "it as a layered PSD or ORA, or a flattened PNG or JPEG.")
    parser.add_argument("project", metavar="PROJECT", help="a .ora file")
    parser.add_argument("--out", required=True, metavar="FILE",
                        help="FILE.psd, FILE.ora, FILE.png or FILE.jpg")
    parser.add_argument("--debug", action="store_true", help="print tracebacks of internal "
                        "errors")
    return parser


def main(argv: list[str]) -> int:
    from layerlift.desktop.project import check_target, export, open_project
    from layerlift.inference.imageio import check_not_protected, check_writable_target

    args = build_parser().parse_args(argv)
    source, out = Path(args.project), Path(args.out)
    kind = KINDS.get(out.suffix.lower())
    if kind is None:
        raise InputError(f"--out {out} must end in .psd, .ora, .png or .jpg")
    check_not_protected(out, [source])
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name")
    check_writable_target(out)
    doc, _settings = open_project(source)
    check_target(doc, out)
    export(doc, out, kind)
    print(out)
    return EXIT_OK
