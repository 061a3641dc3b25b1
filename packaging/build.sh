#!/usr/bin/env bash
# Build the desktop app as a PyInstaller onedir bundle in dist/layerlift/ (not run in CI).
#   packaging/build.sh               classical engine only (~200 MB)
#   LAYERLIFT_BUNDLE_FLUX=1 packaging/build.sh   with torch/diffusers for the flux engine
# Also installs the .desktop entry, AppStream metainfo and icon into dist/layerlift/share/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
"$PY" -m PyInstaller --version >/dev/null 2>&1 || "$PY" -m pip install --quiet 'pyinstaller>=6.10'
"$PY" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
    packaging/layerlift.spec
share=dist/layerlift/share
install -Dm644 packaging/io.github.layerlift.Layerlift.desktop \
    "$share/applications/io.github.layerlift.Layerlift.desktop"
install -Dm644 packaging/io.github.layerlift.Layerlift.metainfo.xml \
    "$share/metainfo/io.github.layerlift.Layerlift.metainfo.xml"
install -Dm644 layerlift/resources/icons/layerlift.svg \
    "$share/icons/hicolor/scalable/apps/io.github.layerlift.Layerlift.svg"
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$share/applications/io.github.layerlift.Layerlift.desktop"
fi
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net "$share/metainfo/io.github.layerlift.Layerlift.metainfo.xml" || true
fi
echo "built dist/layerlift/layerlift-gui"
