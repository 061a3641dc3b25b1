"""PyInstaller entry point: the same main() as the `layerlift-gui` console script."""

import sys

from layerlift.desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
