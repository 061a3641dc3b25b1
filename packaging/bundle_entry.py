"""The desktop bundle's one entry point: PyInstaller freezes this as dist/layerlift/layerlift.

No arguments, or one existing file (a photo or a project, as a file manager passes it), opens
the app; anything else is the `layerlift` command: decompose, compose, batch, models, gui,
train, --version, --help.
"""

import sys
from pathlib import Path

from layerlift.cli import main, run_gui


def opens_the_app(argv: list[str]) -> bool:
    if not argv:
        return True
    return len(argv) == 1 and not argv[0].startswith("-") and Path(argv[0]).is_file()


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(run_gui(args) if opens_the_app(args) else main(args))
