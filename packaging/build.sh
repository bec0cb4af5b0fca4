#!/usr/bin/env bash
# Build the one-folder bundle from a clean virtualenv:
#   dist/chatlab/chatlab  and  dist/chatlab-<version>-linux-x86_64.tar.gz
# Usage: packaging/build.sh   (PYTHON=python3.12, BUILD_DIR=build, DIST_DIR=dist by default)
# The build venv lives in build/bundle-venv and is made afresh each time, so nothing from a
# development venv (test tools, Qt add-ons) can slip into the bundle.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PY="${PYTHON:-python3.12}"
if ! "$PY" --version >/dev/null 2>&1 && command -v pyenv >/dev/null 2>&1; then
  PYENV_VERSION="$(pyenv versions --bare | grep -E '^3\.12(\.|$)' | tail -n 1)"
  export PYENV_VERSION
fi
VERSION="$(sed -n 's/^__version__ = "\(.*\)"/\1/p' chatlab/__init__.py)"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PLATFORM=linux-x86_64 ;;
  Linux-aarch64) PLATFORM=linux-aarch64 ;;
  *) PLATFORM="$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)" ;;
esac
BUILD="${BUILD_DIR:-$ROOT/build}"   # the build venv and PyInstaller's work files
DIST="${DIST_DIR:-$ROOT/dist}"      # the bundle and the archive
VENV="$BUILD/bundle-venv"
rm -rf "$VENV" "$BUILD/pyinstaller" "$DIST/chatlab" "$DIST/chatlab-$VERSION-$PLATFORM.tar.gz"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check . "pyinstaller>=6.10,<7"
"$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
  --distpath "$DIST" --workpath "$BUILD/pyinstaller" packaging/chatlab.spec
if [ "$(uname -s)" = Linux ]; then
  # Strip debug symbols, except from the auditwheel-repaired libraries in *.libs/
  # (OpenBLAS, gfortran): strip breaks their patched ELF layout ("load command
  # address/offset not page-aligned"). This saves about 50 MB.
  if command -v strip >/dev/null; then
    find "$DIST/chatlab/_internal" -type f -name '*.so*' -not -path '*.libs/*' \
      -exec strip --strip-unneeded {} + 2>/dev/null || true
  fi
  cp LICENSE "$DIST/chatlab/LICENSE"
  cp packaging/bundle-README.txt "$DIST/chatlab/README.txt"
  tar -C "$DIST" -czf "$DIST/chatlab-$VERSION-$PLATFORM.tar.gz" chatlab
  echo "unpacked: $(du -sb "$DIST/chatlab" | awk '{printf "%.1f MB", $1/1e6}')"
  echo "compressed: $(stat -c %s "$DIST/chatlab-$VERSION-$PLATFORM.tar.gz" | awk '{printf "%.1f MB", $1/1e6}')"
  echo "built $DIST/chatlab/chatlab and $DIST/chatlab-$VERSION-$PLATFORM.tar.gz"
fi
