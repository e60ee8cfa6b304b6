#!/usr/bin/env bash
# Starts a one-node Slurm cluster on 127.0.0.1 for the launch tests: munged with its own key, slurmctld and
# slurmd with every file in DIR, and a partition "debug". Writes DIR/env (SLURM_CONF) for the tests.
# Usage: slurm-start.sh DIR   (environment: LABBOOK_TEST_SLURM_PORT, default 16817; slurmd uses the next port)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/common.sh"
dir="$(realpath -m "${1:?usage: slurm-start.sh DIR}")"
port="${LABBOOK_TEST_SLURM_PORT:-16817}"

[ "$(id -u)" -eq 0 ] || { echo "slurm-start.sh: needs root (slurmd runs jobs as their users)" >&2; exit 1; }
install_missing slurmctld slurmd slurm-client munge

"$here/slurm-stop.sh" "$dir" >/dev/null 2>&1 || true
# Job ids and queued jobs of an earlier cluster must not carry over.
rm -rf "$dir"
mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
chmod 755 "$dir"

# munge: its own key and socket, run as the munge user.
chown munge:munge "$dir/munge"
chmod 755 "$dir/munge"
runuser -u munge -- mungekey --create --keyfile="$dir/munge/munge.key" 2>/dev/null ||
  runuser -u munge -- mungekey -c -k "$dir/munge/munge.key"
chmod 600 "$dir/munge/munge.key"
runuser -u munge -- munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
  --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
wait_for_file "$dir/munge/munged.pid" 50

node="$(slurmd -C | head -n 1 | sed -e 's/^NodeName=[^ ]*//' -e 's/ UpTime=.*//')"
cat >"$dir/slurm.conf" <<CONF
ClusterName=labbooktest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
ReturnToService=2
KillWait=10
MinJobAge=300
InactiveLimit=0
NodeName=localhost NodeAddr=127.0.0.1 $node State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
chmod 644 "$dir/slurm.conf"
export SLURM_CONF="$dir/slurm.conf"
slurmctld
wait_for_file "$dir/slurmctld.pid" 100
slurmd -N localhost
wait_for_file "$dir/slurmd.pid" 100
for _ in $(seq 100); do
  state="$(sinfo -h -n localhost -o %t 2>/dev/null || true)"
  case "$state" in idle*) break ;; esac
  sleep 0.2
done
case "$state" in idle*) ;; *) echo "slurm-start.sh: node not idle (state '$state'); see $dir/slurmd.log" >&2; exit 1 ;; esac
cat >"$dir/env" <<ENV
SLURM_CONF=$dir/slurm.conf
ENV
echo "slurm on 127.0.0.1:$port (slurmctld $(cat "$dir/slurmctld.pid"), slurmd $(cat "$dir/slurmd.pid")), node idle"
