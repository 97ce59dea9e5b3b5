#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, running deploy/slurm/scan.sbatch as an
# array of 4 tasks over simulated LiCSAR-named scenes, then checking that the merged result
# equals one `yolo-basin batch` process over the same scenes.
#
#   .ci/slurm-test.sh [BINARY]        (default target/debug/yolo-basin; run as root)
#
# Installs Debian's slurm-wlm and munge when missing. Everything it starts (munged,
# slurmctld, slurmd) runs from a temporary folder with its own config, key, sockets and
# ports, and is stopped on exit; a daemon that does not come up makes the script print its
# log and fail.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$(realpath "${1:-$ROOT/target/debug/yolo-basin}")
WEIGHTS=$ROOT/models/light-yolo-basin-s.safetensors
SCENES=5          # pairs of one simulated area
SIZE=800          # pixels a side
TASKS=4           # array tasks

say() { printf '[slurm-test] %s\n' "$*"; }
die() { printf '[slurm-test] FAIL: %s\n' "$*" >&2; exit 1; }

[[ -x $BIN ]] || die "no yolo-basin binary at $BIN (build it first: cargo build -p cli)"
[[ -f $WEIGHTS ]] || die "no model weights at $WEIGHTS"
[[ $(id -u) -eq 0 ]] || die "run as root (Slurm here runs with SlurmUser=root)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
    || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge
fi

WORK=$(mktemp -d /tmp/yolo-basin-slurm.XXXXXX)
PIDS=()
stop_daemons() {
    local rc=$?
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [[ $rc -ne 0 ]]; then
        say "failed (status $rc); work folder kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap stop_daemons EXIT

show_log() {
    say "---- $1 ----"
    cat "$1" 2>/dev/null || say "(no log at $1)"
    say "---- end of $1 ----"
}

# A daemon's log file and what it printed.
show_daemon() {
    show_log "$WORK/log/$1.log"
    show_log "$WORK/log/$1.stderr"
}

# A TCP port nobody listens on, from $1 up.
free_port() {
    local p=$1
    while (echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
    echo "$p"
}

# ---- munge: own key, socket and logs ----
mkdir -p "$WORK"/munge "$WORK"/state "$WORK"/spool "$WORK"/log
chmod 700 "$WORK"/munge
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$WORK/munge/munge.key"
SOCKET=$WORK/munge/munge.socket
munged --foreground --force \
    --key-file="$WORK/munge/munge.key" \
    --socket="$SOCKET" \
    --pid-file="$WORK/munge/munged.pid" \
    --log-file="$WORK/log/munged.log" \
    --seed-file="$WORK/munge/munged.seed" >"$WORK/log/munged.stderr" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [[ -S $SOCKET ]] && break; sleep 0.1; done
if ! [[ -S $SOCKET ]] || ! munge -n -S "$SOCKET" | unmunge -S "$SOCKET" >/dev/null; then
    show_daemon munged
    die "munged did not start"
fi
say "munged up ($SOCKET)"

# ---- slurm.conf: this host as the one node, with what slurmd -C finds ----
NODE=$(hostname -s)
NODE_LINE=$(slurmd -C | head -1)
[[ $NODE_LINE == NodeName=* ]] || die "slurmd -C printed no node line: $NODE_LINE"
CTLD_PORT=$(free_port 16817)
SLURMD_PORT=$(free_port $((CTLD_PORT + 1)))
export SLURM_CONF=$WORK/slurm.conf
cat >"$SLURM_CONF" <<EOF
ClusterName=yolo-basin-ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/log/slurmctld.log
SlurmdLogFile=$WORK/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
PlugStackConfig=$WORK/plugstack.conf
$NODE_LINE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ci Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
: >"$WORK/plugstack.conf"

# In the foreground (-D) so their ids are ours to stop; their chatter goes to their logs.
slurmctld -D -i -f "$SLURM_CONF" >"$WORK/log/slurmctld.stderr" 2>&1 &
PIDS+=($!)
slurmd -D -N "$NODE" -f "$SLURM_CONF" >"$WORK/log/slurmd.stderr" 2>&1 &
PIDS+=($!)

# Wait for the node to be idle (the controller up, the node registered).
state=""
for _ in $(seq 60); do
    state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
    [[ $state == idle ]] && break
    for pid in "${PIDS[@]}"; do
        kill -0 "$pid" 2>/dev/null || { show_daemon slurmctld; show_daemon slurmd; die "a daemon exited"; }
    done
    sleep 1
done
if [[ $state != idle ]]; then
    show_daemon slurmctld
    show_daemon slurmd
    die "node $NODE is '${state:-not known}' after 60 s, not idle"
fi
say "slurmctld and slurmd up, node $NODE idle ($NODE_LINE)"

# ---- scenes: one area simulated over pairs of growing span, named as LiCSAR names them ----
# The same seed puts the same mines in the same place; a longer span shows more subsidence,
# so the basins repeat and grow from pair to pair and link into tracks.
DATA=$WORK/scenes
mkdir -p "$DATA"
first=2021-01-01
: >"$WORK/scenes.txt"
for k in $(seq 1 "$SCENES"); do
    span=$((12 * k))
    second=$(date -d "$first + $span days" +%F)
    "$BIN" synth --tiles 0 --scenes 1 --scene-size "$SIZE" --seed 7 --span-days "$span" \
        --out "$WORK/synth-$k" >/dev/null
    name="${first//-/}_${second//-/}.geo.diff_pha.tif"
    mv "$WORK/synth-$k/scenes/scene_0.tif" "$DATA/$name"
    echo "$DATA/$name" >>"$WORK/scenes.txt"
    first=$second
done
say "simulated $SCENES scenes of ${SIZE}² px: $(xargs -n1 basename <"$WORK/scenes.txt" | tr '\n' ' ')"

# ---- the array job: the real sbatch script, fewer resources for this small node ----
cd "$WORK"
t0=$(date +%s)
job=$(sbatch --parsable --wait --array=0-$((TASKS - 1)) --cpus-per-task=1 --mem=1500M \
    --time=00:20:00 --output="$WORK/log/scan-%A_%a.out" \
    --export=ALL,YOLO_BASIN="$BIN",SCENES="$WORK/scenes.txt",RESULTS="$WORK/results-slurm",BATCH_ARGS="--weights $WEIGHTS" \
    "$ROOT/deploy/slurm/scan.sbatch") || {
    for f in "$WORK"/log/scan-*.out; do show_log "$f"; done
    show_daemon slurmctld
    show_daemon slurmd
    die "the array job failed"
}
t1=$(date +%s)
say "array job $job: $TASKS tasks in $((t1 - t0)) s"
squeue -h | grep -q . && die "jobs still queued after sbatch --wait"
sacct_like=$(scontrol show job "$job" 2>/dev/null | grep -Eo 'JobState=[A-Z]+' | sort | uniq -c | tr '\n' ' ' || true)
say "job states: ${sacct_like:-(job already purged)}"
for f in "$WORK"/log/scan-*.out; do sed "s|^|  $(basename "$f"): |" "$f" | grep -E 'batch|failed' || true; done
manifests=$(ls "$WORK"/results-slurm/manifest-*-of-$TASKS.csv | wc -l)
[[ $manifests -eq $TASKS ]] || die "$manifests manifests of $TASKS tasks"
done_rows=$(cat "$WORK"/results-slurm/manifest-*.csv | grep -c ',done,' || true)
[[ $done_rows -eq $SCENES ]] || die "$done_rows scenes done over the array, expected $SCENES"

# ---- the same scenes in one process, and both merged ----
t2=$(date +%s)
"$BIN" batch --list "$WORK/scenes.txt" -o "$WORK/results-one" --weights "$WEIGHTS" 2>/dev/null
t3=$(date +%s)
say "one process: $SCENES scenes in $((t3 - t2)) s"
for run in slurm one; do
    "$BIN" merge "$WORK/results-$run" -o "$WORK/merged-$run.gpkg" --csv "$WORK/merged-$run.basins.csv"
done

# Equal: every basin (scene, dates, score, boxes, track) and every track row, byte for byte,
# and GDAL reads both GeoPackages alike.
cmp "$WORK/merged-slurm.basins.csv" "$WORK/merged-one.basins.csv" \
    || die "the merged basins differ: diff $WORK/merged-{slurm,one}.basins.csv"
cmp "$WORK/merged-slurm.tracks.csv" "$WORK/merged-one.tracks.csv" \
    || die "the merged tracks differ: diff $WORK/merged-{slurm,one}.tracks.csv"
basins=$(($(wc -l <"$WORK/merged-one.basins.csv") - 1))
tracks=$(tail -n +2 "$WORK/merged-one.tracks.csv" | cut -d, -f1 | sort -u | wc -l)
[[ $basins -gt 0 ]] || die "no basins merged"
if command -v ogrinfo >/dev/null; then
    layer() { ogrinfo -ro -al -q "$1" | grep -vE '^(INFO|Layer name|Metadata|  DBNAME|  LAST_CHANGE)'; }
    diff <(layer "$WORK/merged-slurm.gpkg") <(layer "$WORK/merged-one.gpkg") >/dev/null \
        || die "ogrinfo reads the two GeoPackages differently"
    count=$(ogrinfo -ro -so "$WORK/merged-one.gpkg" basins | grep -Eo 'Feature Count: [0-9]+' | grep -Eo '[0-9]+')
    [[ $count -eq $basins ]] || die "ogrinfo counts $count features, the CSV $basins"
    say "ogrinfo: both GeoPackages hold the same $count features"
fi
linked=$(tail -n +2 "$WORK/merged-one.tracks.csv" | cut -d, -f1 | sort | uniq -d | wc -l)
[[ $linked -gt 0 ]] || die "no track spans two pairs: the repeated basins were not linked"
say "merged: $basins basins in $tracks tracks ($linked over several pairs); Slurm array == one process"
say "PASS"
