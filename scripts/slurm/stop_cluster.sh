#!/usr/bin/env bash
# Stop the cluster started by start_cluster.sh DIR: end its jobs, then SIGTERM the daemons by
# recorded PID, in two waves
# (slurmd with slurmctld first: slurmd ignores SIGTERM while retrying a dead controller), then
# SIGKILL whatever is still alive after 15 s. Keeps DIR (and its database) for a warm restart.
[ $# -ge 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
T=$(cd "$1" 2>/dev/null && pwd) || { echo "no such folder: $1" >&2; exit 2; }
stop_wave() {
  local pids=() d f p
  for d in "$@"; do
    f=$T/pids/$d; [ -f "$f" ] || continue; p=$(cat "$f")
    if kill -0 "$p" 2>/dev/null; then kill -TERM "$p"; pids+=("$p"); fi
  done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then echo "pid $p ignored SIGTERM; sending SIGKILL" >&2; kill -KILL "$p"; fi
  done
  for d in "$@"; do rm -f "$T/pids/$d"; done
}
export SLURM_CONF=$T/slurm.conf
alive() { [ -f "$T/pids/$1" ] && kill -0 "$(cat "$T/pids/$1")" 2>/dev/null; }

# 1. End every job of this cluster first (SIGKILL to all steps, then cancel) and let the step
#    daemons report back: a slurmstepd whose slurmd is gone retries forever and is left behind.
if alive slurmctld && alive slurmd; then
  jobs=$(timeout 5 squeue -h -o %A 2>/dev/null | tr '\n' ' ')
  if [ -n "${jobs// /}" ]; then
    timeout 5 scancel --signal=KILL --full $jobs 2>/dev/null
    timeout 5 scancel $jobs 2>/dev/null
    for _ in $(seq 1 150); do [ -z "$(timeout 5 squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.1; done
  fi
fi

# 2. the daemons
stop_wave slurmd slurmctld
stop_wave slurmdbd mariadbd munged

# 3. any step daemon of this cluster still alive (they inherit SLURM_CONF from our slurmd)
for p in $(pgrep -x slurmstepd 2>/dev/null); do
  if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "SLURM_CONF=$T/slurm.conf"; then
    kill -KILL "$p" 2>/dev/null
  fi
done
