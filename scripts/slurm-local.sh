#!/usr/bin/env bash
# slurm-local.sh - try examples/slurm/encode-array.sh on a single-node Slurm started here:
# installs Debian's slurm-wlm and munge when missing (not part of scripts/setup.sh: only
# this check needs them), writes a one-node configuration in a temporary folder,
# starts munged, slurmctld and slurmd (as root, in the foreground of this script's
# background jobs, no systemd needed), submits the array script on N shards of a small
# image set, waits for the merge job and compares the merged file with one
# `facenet encode --batch 1` of the same list (bit for bit).  Everything it started is
# stopped at the end; the report is on stdout.
#
#   sudo scripts/slurm-local.sh [N] [IMAGES...]   (default: 3 shards of the 18 happy-house photos)
#
# Run by hand (it needs root and starts daemons), not by make test.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
N=${1:-3}
[ $# -gt 0 ] && shift
SHARED=${FACENET_SHARED:-../shared}
imgs=("$@")
[ ${#imgs[@]} -gt 0 ] || imgs=("$(readlink -f "$SHARED/images/happy-house")")
FACENET=$(readlink -f "$BUILD/facenet")
MODEL=$(readlink -f weights/dlib-resnet)
[ -x "$FACENET" ] || { echo "slurm-local: $FACENET not built (run make)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "slurm-local: needs root (daemons, /etc/munge)" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "slurm-local: installing slurm-wlm and munge" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

T=$(mktemp -d /tmp/slurm-local.XXXXXX)
chmod 755 "$T"
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$p" 2>/dev/null || true; done
    [ -f "$T/munged.pid" ] && kill "$(cat "$T/munged.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap cleanup EXIT

# munge: a key, and a daemon with its socket in $T
[ -s /etc/munge/munge.key ] || { mkdir -p /etc/munge; dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null; }
chown root:root /etc/munge/munge.key 2>/dev/null || true
chmod 400 /etc/munge/munge.key
mkdir -p "$T/munge"
munged --force -S "$T/munge/socket" --pid-file "$T/munged.pid" --log-file "$T/munged.log" --seed-file "$T/munge/seed"
export MUNGE_SOCKET="$T/munge/socket"

host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
mkdir -p "$T/spool/ctld" "$T/spool/d" "$T/log"
cat >"$T/slurm.conf" <<CONF
ClusterName=facenet-local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/socket
CredType=cred/munge
StateSaveLocation=$T/spool/ctld
SlurmdSpoolDir=$T/spool/d
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"
echo "slurm-local: Slurm $(slurmctld -V | awk '{print $2}'), one node $host with $cpus CPUs, config $SLURM_CONF"
slurmctld -D -f "$SLURM_CONF" >"$T/log/slurmctld.out" 2>&1 &
PIDS+=($!)
sleep 2
slurmd -D -f "$SLURM_CONF" >"$T/log/slurmd.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 30); do
    sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed)' && break
    sleep 1
done
if ! sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed)'; then
    echo "slurm-local: the node never became idle; logs:" >&2
    tail -n 20 "$T/log/"* >&2
    exit 1
fi
sinfo

work="$T/work"
mkdir -p "$work"
chmod 777 "$work"
cd "$work"
t0=$(date +%s)
FACENET=$FACENET FACENET_OPTS="--model $MODEL --batch 1" \
    bash "$OLDPWD/examples/slurm/encode-array.sh" "$work/all.h5" "$N" "${imgs[@]}"
# wait for every job to leave the queue
for _ in $(seq 600); do
    [ -z "$(squeue -h 2>/dev/null)" ] && break
    sleep 1
done
t1=$(date +%s)
sacct >/dev/null 2>&1 || true
cat "$work"/facenet-*.log 2>/dev/null || true
[ -f "$work/all.h5" ] || { echo "slurm-local: no merged output; logs in $T" >&2; tail -n 30 "$T/log/"*; exit 1; }
"$FACENET" encode --model "$MODEL" --batch 1 -o "$work/single.csv" "${imgs[@]}"
"$FACENET" merge -o "$work/all.csv" "$work/all.h5"
if cmp -s "$work/all.csv" "$work/single.csv"; then
    echo "slurm-local: OK: $N array tasks + merge in $((t1 - t0)) s; the merged file equals one encode bit for bit"
else
    echo "slurm-local: FAIL: the merged file differs from one encode" >&2
    exit 1
fi
