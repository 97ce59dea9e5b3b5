#!/usr/bin/env bash
# CI for the Python package (crates/python): a fresh venv from PyPI, the abi3 wheel built
# by maturin in the dev profile (dependencies at opt-level 3, our crates at 1: quick to
# build, fast enough to run), installed with pip like a user would, then pytest.
# Exits non-zero on any failure; prints pytest's summary line last.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  echo "== python3-venv (Debian)"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-venv
fi

venv=$(mktemp -d "${TMPDIR:-/tmp}/yolo-basin-venv.XXXXXX")
wheels=$(mktemp -d "${TMPDIR:-/tmp}/yolo-basin-wheels.XXXXXX")
trap 'rm -rf "$venv" "$wheels"' EXIT

echo "== venv $venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet maturin pytest numpy
"$venv/bin/python" -m pip --version

echo "== maturin build (dev profile)"
start=$(date +%s)
"$venv/bin/maturin" build --profile dev --manifest-path crates/python/Cargo.toml \
  --interpreter "$venv/bin/python" --out "$wheels"
echo "wheel built in $(( $(date +%s) - start )) s: $(ls "$wheels")"

echo "== pip install the wheel"
"$venv/bin/python" -m pip install --quiet "$wheels"/*.whl
# Import from the installed wheel, not from the source tree.
cd "$venv"
"$venv/bin/python" -c 'import yolo_basin, sys; print("yolo_basin from", yolo_basin.__file__)'

echo "== pytest"
YOLO_BASIN_ROOT="$root" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  "$root/crates/python/tests"
