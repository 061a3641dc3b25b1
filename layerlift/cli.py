"""The `layerlift` command: the core's sub-commands plus the trainer and the desktop app.

It sits above the three packages so that it may import each of them; the core's CLI
(layerlift.inference.cli) may not import the app or the trainer. Each is imported only when
its sub-command runs, so `layerlift --help` loads neither torch nor Qt.
`layerlift --version` prints the version.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import metadata

import layerlift
from layerlift.inference import cli as core_cli


def run_train(argv: list[str]) -> int | None:
    from layerlift.training.cli import main as train_main

    return train_main(argv)


def run_export(argv: list[str]) -> int | None:
    from layerlift.desktop.export_command import main as export_main

    return export_main(argv)


def run_gui(argv: list[str]) -> int | None:
    from layerlift.desktop.app import main as gui_main

    return gui_main(argv)


COMMANDS: dict[str, tuple[core_cli.Delegate, str]] = {
    "train": (run_train, "cycle-consistent LoRA training"),
    "gui": (run_gui, "open the desktop editor (optionally on IMAGE)"),
    "export": (run_export, "write a project (.ora) as PSD, ORA, PNG or JPEG"),
}


def version() -> str:
    """The installed distribution's version; the package's own constant where there is no
    metadata (a PyInstaller bundle, a bare checkout on sys.path)."""
    try:
        return metadata.version("layerlift")
    except metadata.PackageNotFoundError:
        return layerlift.__version__


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        print(f"layerlift {version()}")
        return 0
    return core_cli.main(argv, COMMANDS)


if __name__ == "__main__":
    sys.exit(main())
