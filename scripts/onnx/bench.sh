#!/usr/bin/env bash
# Times our fast path (`yolo-basin bench infer`), ONNX Runtime and PyTorch eager on the same
# weights and tile sides in one run, and prints the ratios (issue 13). See README.md here.
#
# Usage: scripts/onnx/bench.sh WEIGHTS [TILE ...]        (default tile: 416)
# Env:   BIN      yolo-basin binary        (default target/release/yolo-basin)
#        VENV     Python venv, made if missing (default .venv-onnx in the repository)
#        THREADS  threads of every engine  (default 2)
#        RUNS     timed runs per engine and tile (default 20);  WARMUP  untimed first (3)
#        ROUNDS   repeat ours-then-ORT/PyTorch this many times; each engine's figure is the
#                 median of its round medians (default 1; more evens out a busy machine)
#        CHECK    1: first check PyTorch's boxes against `yolo-basin predict` (default 1)
#        OUT      reports folder (default out/onnx-bench)
#        TORCH_INDEX  a pip index to take torch from when making the venv (a CPU build)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${BIN:-$ROOT/target/release/yolo-basin}
VENV=${VENV:-$ROOT/.venv-onnx}
THREADS=${THREADS:-2}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-1}
CHECK=${CHECK:-1}
OUT=${OUT:-$ROOT/out/onnx-bench}

[ $# -ge 1 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
WEIGHTS=$1
shift
TILES=("$@")
[ ${#TILES[@]} -gt 0 ] || TILES=(416)
[ -f "$WEIGHTS" ] || { echo "bench.sh: no weights file $WEIGHTS" >&2; exit 2; }
[ -x "$BIN" ] || { echo "bench.sh: no yolo-basin binary at $BIN (cargo build --release, or set BIN)" >&2; exit 2; }

if [ ! -x "$VENV/bin/python" ]; then
  echo "making the venv $VENV (torch, onnx, onnxruntime, safetensors, numpy, tifffile)" >&2
  python3 -m venv "$VENV"
  if [ -n "${TORCH_INDEX:-}" ]; then
    "$VENV/bin/pip" install --progress-bar off --index-url "$TORCH_INDEX" "$(grep '^torch==' "$HERE/requirements.txt")" >&2
  fi
  "$VENV/bin/pip" install --progress-bar off -r "$HERE/requirements.txt" >&2
fi
PY=$VENV/bin/python
"$PY" -c 'import torch, onnx, onnxruntime, safetensors, tifffile' || {
  echo "bench.sh: $VENV lacks a package; remove it to have it made again" >&2
  exit 2
}
mkdir -p "$OUT"

if [ "$CHECK" = 1 ]; then
  # On the phase tiles of a fresh 4-tile synth set: every prediction, PyTorch against Rust.
  YB=$BIN "$PY" "$HERE/check_predict.py" --weights "$WEIGHTS" --json "$OUT/check-predict.json"
fi

jsons=()
for ((r = 1; r <= ROUNDS; r++)); do
  ours=()
  for t in "${TILES[@]}"; do
    log=$OUT/ours-$t-round$r.txt
    "$BIN" bench infer --weights "$WEIGHTS" --tile "$t" --threads "$THREADS" \
      --runs "$RUNS" --warmup "$WARMUP" | tee "$log" >&2
    grep -q "fast path" "$log" || { echo "bench.sh: no fast-path line in $log" >&2; exit 1; }
    ours+=(--ours "$t=$log")
  done
  "$PY" "$HERE/bench_ort.py" --weights "$WEIGHTS" --tile "${TILES[@]}" --threads "$THREADS" \
    --runs "$RUNS" --warmup "$WARMUP" --check "${ours[@]}" --json "$OUT/round$r.json" >&2
  jsons+=("$OUT/round$r.json")
done
"$PY" "$HERE/bench_ort.py" --combine "${jsons[@]}" --json "$OUT/summary.json"
