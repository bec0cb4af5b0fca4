#!/usr/bin/env bash
# Regenerates every raster icon of chatlab from the hand-written SVG sources.
#
#   packaging/icons.sh            (run from anywhere)
#
# Sources (edit these, never the PNGs):
#   resources/icons/io.github.chatlab.Chatlab.svg           master icon, viewBox 0 0 128 128
#   resources/icons/src/io.github.chatlab.Chatlab-16.svg    same design, pixel-hinted for 16 px
#   resources/icons/src/io.github.chatlab.Chatlab-24.svg    same design, pixel-hinted for 24 px
#   resources/icons/io.github.chatlab.Chatlab-symbolic.svg  monochrome symbolic variant
#
# Outputs:
#   resources/icons/hicolor/<N>x<N>/apps/io.github.chatlab.Chatlab.png   N = 16 24 32 48 64 128 256 512
#   resources/icons/hicolor/scalable/apps/io.github.chatlab.Chatlab.svg  (copy of the master)
#   resources/icons/hicolor/symbolic/apps/io.github.chatlab.Chatlab-symbolic.svg
#   packaging/windows/chatlab.ico   16 24 32 48 64 128 256   (ImageMagick)
#   packaging/macos/chatlab.icns    16 ... 1024              (Python with Pillow)
#
# Needs rsvg-convert (Debian/Ubuntu: librsvg2-bin) and ImageMagick (`magick` or `convert`).
# The .icns needs Pillow: set PYTHON to an interpreter that has it, e.g.
#   python3 -m venv /tmp/iconvenv && /tmp/iconvenv/bin/pip install pillow
#   PYTHON=/tmp/iconvenv/bin/python packaging/icons.sh
# Without Pillow the .icns step is skipped with a message (on macOS, `iconutil` works too).
# optipng, if installed, squeezes the PNGs a little further; the output is identical in look.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
icons="$root/resources/icons"
app_id="io.github.chatlab.Chatlab"
master="$icons/$app_id.svg"
symbolic="$icons/$app_id-symbolic.svg"
sizes=(16 24 32 48 64 128 256 512)
ico_sizes=(16 24 32 48 64 128 256)

die() { echo "icons.sh: $*" >&2; exit 1; }

command -v rsvg-convert >/dev/null || die "rsvg-convert not found (install librsvg2-bin)"
if command -v magick >/dev/null; then
    im=(magick)
elif command -v convert >/dev/null; then
    im=(convert)
else
    die "ImageMagick not found (install imagemagick)"
fi
[[ -f "$master" ]] || die "missing $master"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The source for one pixel size: a hand-hinted variant if there is one, else the master.
source_for() {
    local hinted="$icons/src/$app_id-$1.svg"
    if [[ -f "$hinted" ]]; then echo "$hinted"; else echo "$master"; fi
}

# Render one size to $2, stripped of metadata and maximally compressed (lossless).
render() {
    local n="$1" out="$2"
    rsvg-convert --width "$n" --height "$n" --format png "$(source_for "$n")" -o "$tmp/raw.png"
    "${im[@]}" "$tmp/raw.png" -strip \
        -define png:exclude-chunks=date,time \
        -define png:compression-level=9 -define png:compression-strategy=1 \
        -define png:compression-filter=5 "$out"
    if command -v optipng >/dev/null; then optipng -quiet -o5 -strip all "$out"; fi
}

for n in "${sizes[@]}"; do
    dir="$icons/hicolor/${n}x${n}/apps"
    mkdir -p "$dir"
    render "$n" "$dir/$app_id.png"
    cp "$dir/$app_id.png" "$tmp/$n.png"
done
mkdir -p "$icons/hicolor/scalable/apps"
cp "$master" "$icons/hicolor/scalable/apps/$app_id.svg"
if [[ -f "$symbolic" ]]; then
    mkdir -p "$icons/hicolor/symbolic/apps"
    cp "$symbolic" "$icons/hicolor/symbolic/apps/$app_id-symbolic.svg"
fi
echo "wrote resources/icons/hicolor/ (${sizes[*]} px, scalable, symbolic)"

# Windows: one .ico with every size up to 256 (ImageMagick stores the 256 px entry as PNG).
mkdir -p "$root/packaging/windows"
ico_inputs=()
for n in "${ico_sizes[@]}"; do ico_inputs+=("$tmp/$n.png"); done
"${im[@]}" "${ico_inputs[@]}" "$root/packaging/windows/chatlab.ico"
echo "wrote packaging/windows/chatlab.ico (${ico_sizes[*]} px)"

# macOS: .icns through Pillow, which needs the exact 16...1024 renders.
python="${PYTHON:-python3}"
if command -v "$python" >/dev/null && "$python" -c "import PIL" 2>/dev/null; then
    render 1024 "$tmp/1024.png"
    mkdir -p "$root/packaging/macos"
    "$python" - "$tmp" "$root/packaging/macos/chatlab.icns" <<'PY'
import sys
from PIL import Image

tmp, out = sys.argv[1], sys.argv[2]
extra = [Image.open(f"{tmp}/{n}.png") for n in (16, 32, 64, 128, 256, 512)]
Image.open(f"{tmp}/1024.png").save(out, format="ICNS", append_images=extra)
PY
    echo "wrote packaging/macos/chatlab.icns (16...1024 px)"
else
    echo "skipped packaging/macos/chatlab.icns: '$python' has no Pillow." >&2
    echo "  python3 -m venv /tmp/iconvenv && /tmp/iconvenv/bin/pip install pillow" >&2
    echo "  PYTHON=/tmp/iconvenv/bin/python $0" >&2
    echo "  (or on macOS: build an .iconset from the hicolor PNGs and run iconutil -c icns)" >&2
fi
