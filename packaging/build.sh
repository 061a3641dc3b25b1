#!/usr/bin/env bash
# Build the desktop bundle, dist/layerlift/ with the executable dist/layerlift/layerlift
# (PyInstaller onedir; not run in CI). `make bundle` / `make bundle-full` install PyInstaller
# into .venv and call this.
#   packaging/build.sh                          classical engine only (lite)
#   LAYERLIFT_BUNDLE_FLUX=1 packaging/build.sh  with torch/diffusers for the flux engine (full)
# Also installs the .desktop entry, AppStream metainfo and icons into dist/layerlift/share/
# (the layout of a /usr/share or ~/.local/share tree).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
APP_ID=io.github.layerlift.Layerlift
SIZES="16 32 48 64 128 256 512"

if ! "$PY" -m PyInstaller --version >/dev/null 2>&1; then
    echo "PyInstaller is not installed in $PY's environment; run 'make bundle'" >&2
    exit 2
fi
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist \
    --workpath build/pyinstaller packaging/layerlift.spec

share=dist/layerlift/share
install -Dm644 packaging/$APP_ID.desktop "$share/applications/$APP_ID.desktop"
install -Dm644 packaging/$APP_ID.metainfo.xml "$share/metainfo/$APP_ID.metainfo.xml"
install -Dm644 layerlift/resources/icons/layerlift.svg \
    "$share/icons/hicolor/scalable/apps/$APP_ID.svg"
for n in $SIZES; do
    install -Dm644 "layerlift/resources/icons/layerlift-$n.png" \
        "$share/icons/hicolor/${n}x${n}/apps/$APP_ID.png"
done
if command -v desktop-file-validate >/dev/null; then
    desktop-file-validate "$share/applications/$APP_ID.desktop"
fi
if command -v appstreamcli >/dev/null; then
    appstreamcli validate --no-net "$share/metainfo/$APP_ID.metainfo.xml" || true
fi
echo "built dist/layerlift/layerlift: $(du -sh dist/layerlift | cut -f1)," \
    "$(find dist/layerlift -type f | wc -l) files, in $(( $(date +%s) - start )) s"
