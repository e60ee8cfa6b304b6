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
echo "sshd stopped"
