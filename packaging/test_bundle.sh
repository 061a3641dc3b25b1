#!/usr/bin/env bash
# Check a built desktop bundle (`make bundle-test`; not part of `make test`):
#   the bundled files are inside it; --version; with no arguments the app starts offscreen and
#   stays up UP_S seconds, then closes on SIGTERM; the same with the bundled sample photo;
#   decompose, compose, batch and models from the same executable; the flux engine in a lite
#   bundle says how to enable it, in a full one it runs and trains (a tiny random model).
#   BUNDLE=dist/layerlift UP_S=8 packaging/test_bundle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUNDLE=${BUNDLE:-dist/layerlift}
EXE=$BUNDLE/layerlift
UP_S=${UP_S:-8}
RES=$BUNDLE/_internal/resources
VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' layerlift/__init__.py)

[ -x "$EXE" ] || { echo "no bundle at $EXE: run 'make bundle'" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A private home: no autosave from an earlier run is offered, no settings are left behind.
export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config XDG_DATA_HOME=$tmp/home/.local/share \
    XDG_CACHE_HOME=$tmp/home/.cache XDG_STATE_HOME=$tmp/home/.local/state
export QT_QPA_PLATFORM=offscreen
mkdir -p "$HOME"

pass() { echo "ok   $*"; }
fail() { echo "FAIL $*" >&2; exit 1; }

check_files() {
    local f
    for f in icons/layerlift.svg icons/layerlift-256.png icons/brush.svg style/layerlift.qss \
        sample/photo.jpg sample/mask.png; do
        [ -f "$RES/$f" ] || fail "bundled file missing: $RES/$f"
    done
    [ -n "$(find "$BUNDLE/_internal" -name 'libqsvgicon*' -print -quit)" ] \
        || fail "Qt's SVG icon plugin is not in the bundle"
    [ -n "$(find "$BUNDLE/_internal/patchmatch" -name 'libpatchmatch*' -print -quit)" ] \
        || fail "PatchMatch's native library is not in the bundle"
    pass "bundled files: icons, stylesheet, sample photo + mask, SVG icon plugin, PatchMatch"
}

check_version() {
    local out
    out=$("$EXE" --version)
    [ "$out" = "layerlift $VERSION" ] || fail "--version printed '$out', not 'layerlift $VERSION'"
    pass "--version: $out"
}

# Start the app with the given arguments, check it is still running after UP_S seconds,
# then close it with SIGTERM (the app closes its window on it) and wait for it to exit.
check_stays_up() {
    local log=$tmp/app-$#.log pid i
    "$EXE" "$@" >"$log" 2>&1 &
    pid=$!
    sleep "$UP_S"
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" || true
        cat "$log" >&2
        fail "the app ($*) exited within ${UP_S} s"
    fi
    kill -TERM "$pid"
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fail "the app ignored SIGTERM"; fi
    wait "$pid" || true
    if grep -E "Traceback|Error|could not" "$log" >&2; then fail "the app ($*) logged errors"; fi
    pass "app ${*:-(no arguments)}: up ${UP_S} s offscreen, closed on SIGTERM"
}

check_cli() {
    local out=$tmp/sample.layers f
    "$EXE" decompose "$RES/sample/photo.jpg" --mask "$RES/sample/mask.png" --out "$out" \
        || fail "decompose of the bundled sample failed"
    for f in object.png logo.png layers.psd layers.ora manifest.json report.json; do
        [ -s "$out/$f" ] || fail "decompose wrote no $f"
    done
    pass "decompose of the bundled sample photo + mask into $out"
    "$EXE" compose --object "$out/object.png" --logo "$out/logo.png" --out "$tmp/recomposed.png" \
        >/dev/null && [ -s "$tmp/recomposed.png" ] || fail "compose failed"
    pass "compose of those layers"
    mkdir -p "$tmp/batch"
    cp "$RES/sample/photo.jpg" "$tmp/batch/mug.jpg"
    cp "$RES/sample/mask.png" "$tmp/batch/mug.mask.png"
    "$EXE" batch "$tmp/batch" --out "$tmp/batch-out" | grep -q "1 done, 0 failed" \
        || fail "batch failed"
    pass "batch of one photo"
    "$EXE" models >"$tmp/models.txt" || { cat "$tmp/models.txt" >&2; fail "models failed"; }
    grep -q "classical" "$tmp/models.txt" || fail "models does not list the classical engine"
    pass "models"
}

# Lite: choosing flux exits 2 with one line saying how to enable it.
check_flux_message() {
    local rc=0 err=$tmp/flux.err
    "$EXE" decompose "$RES/sample/photo.jpg" --mask "$RES/sample/mask.png" --engine flux \
        --out "$tmp/flux.layers" 2>"$err" || rc=$?
    [ "$rc" = 2 ] || { cat "$err" >&2; fail "--engine flux exited $rc, not 2"; }
    [ "$(wc -l <"$err")" = 1 ] || { cat "$err" >&2; fail "--engine flux: not one line"; }
    grep -q "make bundle-full" "$err" || { cat "$err" >&2; fail "no hint how to enable flux"; }
    grep -q "make bundle-full" "$tmp/models.txt" || fail "models gives no hint for flux"
    pass "lite bundle, --engine flux: $(cat "$err")"
}

# Full: the flux engine runs and trains, on tiny random weights written by the venv that
# built the bundle.
check_flux_runs() {
    local py=${PYTHON:-.venv/bin/python}
    "$py" -c "import sys; from layerlift.inference.engines.flux.tiny import save_tiny_pipeline
save_tiny_pipeline(sys.argv[1])" "$tmp/tiny-flux" >/dev/null 2>&1 \
        || fail "could not write a tiny FLUX model with $py"
    LAYERLIFT_CACHE_DIR=$tmp/cache "$EXE" decompose "$RES/sample/photo.jpg" \
        --mask "$RES/sample/mask.png" --engine flux --model "$tmp/tiny-flux" --steps 2 \
        --size 64 --device cpu --out "$tmp/flux.layers" 2>"$tmp/flux.err" \
        || { cat "$tmp/flux.err" >&2; fail "full bundle: flux decompose failed"; }
    [ -s "$tmp/flux.layers/report.json" ] || fail "full bundle: flux wrote no report"
    pass "full bundle, --engine flux on a tiny random model: layers in $tmp/flux.layers"
    LAYERLIFT_CACHE_DIR=$tmp/cache "$EXE" train --model "$tmp/tiny-flux" --stream 1 --steps 2 \
        --resolution 64 --rank 4 --cycle-start 0 --device cpu --out "$tmp/lora.safetensors" \
        >"$tmp/train.log" 2>&1 || { tail "$tmp/train.log" >&2; fail "full bundle: train failed"; }
    [ -s "$tmp/lora.safetensors" ] || fail "full bundle: train wrote no LoRA"
    pass "full bundle, train: 2 steps on synthetic samples -> $tmp/lora.safetensors"
}

echo "testing $EXE ($(du -sh "$BUNDLE" | cut -f1))"
check_files
check_version
check_stays_up
check_stays_up "$RES/sample/photo.jpg"
check_cli
if [ -d "$BUNDLE/_internal/torch" ]; then check_flux_runs; else check_flux_message; fi
echo "bundle test passed"
