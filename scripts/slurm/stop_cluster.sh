#!/usr/bin/env bash
# Stop the cluster started by start_cluster.sh DIR: SIGTERM by recorded PID, in two waves
# (slurmd with slurmctld first: slurmd ignores SIGTERM while retrying a dead controller), then
# SIGKILL whatever is still alive after 15 s. Keeps DIR (and its database) for a warm restart.
[ $# -ge 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
T=$1
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
stop_wave slurmd slurmctld
stop_wave slurmdbd mariadbd munged
