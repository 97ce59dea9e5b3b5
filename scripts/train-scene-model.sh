#!/usr/bin/env bash
# Reproduces the bundled Light-S of issue 12 (whole-scene accuracy) from the 2,830-step model
# of commit deac4d7 (leg 1), and the second leg tried after it (LEG2=1). Each leg: scene-like
# training data, one round of hard-negative mining with the weights it starts from, training,
# then the score threshold calibrated on simulated validation scenes (seeds 70000+, never the
# benchmark's 90000+); the candidate with the best validation-scene F1 is the leg's result.
# Every stage is skipped when its output exists, so a killed run resumes where it stopped.
# Usage: scripts/train-scene-model.sh [WORK_DIR]   (default /work; ~2 h on 2 cores, LEG2=1 ~2.5 h more)
set -euo pipefail
BIN=${BIN:-target/release/yolo-basin}
WORK=${1:-/work}
mkdir -p "$WORK" runs

# leg NAME INIT SYNTH_ARGS HN_SCENES HN_SEED STEPS EVAL_EVERY TRAIN_SEED CANDIDATE_STEPS...
# Writes the best calibrated candidate to $WORK/NAME.best.safetensors.
leg() {
  local name=$1 init=$2 synth_args=$3 hn_scenes=$4 hn_seed=$5 steps=$6 every=$7 seed=$8
  shift 8
  local data=$WORK/data/$name run=runs/$name best_out=$WORK/$name.best.safetensors
  [ -f "$best_out" ] && return 0
  # shellcheck disable=SC2086
  [ -f "$data/annotations.json" ] || "$BIN" synth $synth_args --scenes 0 --out "$data"
  [ -f "$WORK/$name.hn.done" ] || {
    "$BIN" hard-negatives -w "$init" --data "$data" --scenes "$hn_scenes" --seed "$hn_seed"
    touch "$WORK/$name.hn.done"
  }
  local resume=()
  [ -f "$run/last.ckpt" ] && resume=(--resume)
  [ -f "$WORK/$name.train.done" ] || {
    "$BIN" train --data "$data" --out "$run" --init "$init" --max-iter "$steps" --lr 3e-4 \
      --warmup 20 --eval-every "$every" --ckpt-every 100 --seed "$seed" --no-progress \
      --workers 2 "${resume[@]}"
    touch "$WORK/$name.train.done"
  }
  # Keep the best by validation-scene F1, not tile mAP: the trainer keeps
  # step-NNNNNN.safetensors at every validation; calibrate the candidates, keep the best.
  local best_f1=-1 best="" step w out f1
  for step in "$@"; do
    w=$(printf '%s/step-%06d.safetensors' "$run" "$step")
    [ -f "$w" ] || { echo "missing $w" >&2; exit 1; }
    out="$run/calibrated-$(basename "$w")"
    [ -f "$out" ] || "$BIN" calibrate -w "$w" -o "$out" | tee "$out.log"
    f1=$(grep -o 'F1 [0-9.]*' "$out.log" | tail -1 | cut -d' ' -f2)
    echo "$w: validation-scene F1 $f1"
    if awk -v a="$f1" -v b="$best_f1" 'BEGIN { exit !(a > b) }'; then
      best_f1=$f1
      best=$out
    fi
  done
  echo "$name: best $best (validation-scene F1 $best_f1)"
  cp "$best" "$best_out"
}

# The starting point: the bundled model before issue 12 (2,830 steps on basin tiles).
INIT0=$WORK/light-s-2830.safetensors
[ -f "$INIT0" ] || git show deac4d7:models/light-yolo-basin-s.safetensors > "$INIT0"

# Leg 1 (d12): 2,000 basin-centred tiles + 3,000 cut from whole training scenes (most of them
# background), 90/10; hard negatives from 24 scenes; 1,600 steps.
leg d12 "$INIT0" "--tiles 2000 --scene-tiles 3000 --split 0.9,0.1 --seed 12" 24 5 1600 400 0 1200 1600

cp "$WORK/d12.best.safetensors" models/light-yolo-basin-s.safetensors
echo "bundled $WORK/d12.best.safetensors"

# Leg 2 (d13), tried and not bundled (docs/results.md): fresh data with more basin-centred
# tiles (3,500 + 2,500 scene tiles, 95/5), hard negatives of leg 1's model on 16 new scenes,
# a 2,000-step schedule calibrated at step 1,500 (where that session stopped it; the poly
# schedule up to a step does not depend on where a run stops). Its validation-scene F1 tied
# leg 1's (0.736 vs 0.729) and it was kept out. Run it with LEG2=1 to continue from there.
if [ "${LEG2:-0}" = 1 ]; then
  leg d13 "$WORK/d12.best.safetensors" "--tiles 3500 --scene-tiles 2500 --split 0.95,0.05 --seed 14" 16 6 2000 500 13 1500
fi
