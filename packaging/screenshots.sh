#!/usr/bin/env bash
# Regenerate the README screenshots: the demo session mid-stream and with answers done.
# Runs the real app under Xvfb (apt-get install xvfb xdotool imagemagick) from the
# project's venv (PYTHON=... to override) and writes resources/screenshots/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT=resources/screenshots
mkdir -p "$OUT"
export DISPLAY="${SCREENSHOT_DISPLAY:-:97}"
Xvfb "$DISPLAY" -screen 0 1400x860x24 >/dev/null 2>&1 &
XVFB=$!
HOME_DIR="$(mktemp -d)"
APP=""
cleanup() { [ -n "$APP" ] && kill "$APP" 2>/dev/null; kill "$XVFB" 2>/dev/null; rm -rf "$HOME_DIR"; }
trap cleanup EXIT
sleep 0.5
CHATLAB_HOME="$HOME_DIR" QT_QPA_PLATFORM=xcb "$PY" -m chatlab >/dev/null 2>&1 &
APP=$!
WID=""
for _ in $(seq 1 100); do
  WID="$(xdotool search --onlyvisible --name '^chatlab' 2>/dev/null | head -n 1 || true)"
  [ -n "$WID" ] && break
  sleep 0.1
done
[ -n "$WID" ] || { echo "the chatlab window did not appear" >&2; exit 1; }
sleep 2.6   # the demo prompt is sent at start (SDK import and warm-up first): the reasoner is mid-trace now
import -window "$WID" "$OUT/demo-streaming.png"
sleep 6     # every lane has finished
import -window "$WID" "$OUT/demo-done.png"
echo "wrote $OUT/demo-streaming.png and $OUT/demo-done.png"
