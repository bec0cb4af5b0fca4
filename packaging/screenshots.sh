#!/usr/bin/env bash
# The named screenshot set, made from the real window under Xvfb with openbox (Qt's
# window shortcuts need an active window): the demo while masked, the reveal card, one
# lane with a keyed provider on the loopback server, 8 lanes, a long Markdown answer
# with code next to an error lane, settings, the history, a study's estimate, the
# Studies view with the demo study running, the rating queue and its end; each at
# 1280x800 and 1920x1080, light and dark. Needs: apt-get install xvfb openbox imagemagick.
# Usage: packaging/screenshots.sh [OUT_DIR]   (default build/screenshots)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT="${1:-build/screenshots}"
mkdir -p "$OUT"
N=90
for SIZE in 1280x800 1920x1080; do
  for THEME in light dark; do
    N=$((N + 1))
    export DISPLAY=":$N"
    Xvfb "$DISPLAY" -screen 0 "${SIZE}x24" >/dev/null 2>&1 &
    XVFB=$!
    sleep 0.5
    openbox >/dev/null 2>&1 &
    WM=$!
    sleep 0.5
    HOME_DIR="$(mktemp -d)"
    CHATLAB_HOME="$HOME_DIR" CHATLAB_THEME="$THEME" QT_QPA_PLATFORM=xcb \
      SHOTS_OUT="$OUT" SHOTS_TAG="${SIZE%%x*}-$THEME" "$PY" packaging/shots.py || STATUS=$?
    kill "$WM" "$XVFB" 2>/dev/null || true
    rm -rf "$HOME_DIR"
    [ "${STATUS:-0}" = 0 ] || exit "$STATUS"
  done
done
echo "screenshots in $OUT"
