#!/usr/bin/env bash
# Stops what sshd-start.sh started: workers the tests left running on the test user's side, then sshd. By PID.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/common.sh"
dir="$(realpath -m "${1:?usage: sshd-stop.sh DIR}")"
if [ -f "$dir/env" ]; then
  workdir="$(sed -n 's/^LBK_TEST_SSH_WORKDIR=//p' "$dir/env")"
  for f in "$workdir"/runs/*/worker.pid; do
    [ -f "$f" ] && stop_pidfile "$f" 5
  done
fi
stop_pidfile "$dir/sshd.pid" 5
# The test user, when sshd-start.sh created it (never an account that existed before), with its home. It fails
# while a process of that user still runs (a Slurm job the Slurm fixture has not stopped yet): then it stays.
if [ -f "$dir/created_user" ]; then
  user="$(cat "$dir/created_user")"
  if userdel -r "$user" >/dev/null 2>&1; then
    rm -f "$dir/created_user"
    echo "test user $user removed"
  else
    echo "test user $user left in place (still in use)"
  fi
fi
echo "sshd stopped"
