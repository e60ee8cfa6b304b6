#!/usr/bin/env bash
# Stops what slurm-start.sh started: cancels every job first (jobs outlive a stopped slurmd), then slurmd,
# slurmctld and munged, each by its PID file.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/common.sh"
dir="$(realpath -m "${1:?usage: slurm-stop.sh DIR}")"
export SLURM_CONF="$dir/slurm.conf"
if [ -f "$dir/slurmctld.pid" ] && [ -f "$SLURM_CONF" ]; then
  jobs="$(squeue -h -o %i 2>/dev/null || true)"
  if [ -n "$jobs" ]; then
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 150); do
      [ -z "$(squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
fi
stop_pidfile "$dir/slurmd.pid" 10
stop_pidfile "$dir/slurmctld.pid" 10
stop_pidfile "$dir/munge/munged.pid" 5
echo "slurm stopped"
