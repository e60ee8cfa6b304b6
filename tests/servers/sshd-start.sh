#!/usr/bin/env bash
# Starts a throwaway OpenSSH server on 127.0.0.1 for the launch tests, with its own host key, a client key and
# a known_hosts file, logging in as an unprivileged test user. Writes DIR/env for the tests to read.
# Usage: sshd-start.sh DIR   (environment: LABBOOK_TEST_SSH_PORT, default 22222; LABBOOK_TEST_SSH_USER, lbktest)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$here/common.sh"
dir="$(realpath -m "${1:?usage: sshd-start.sh DIR}")"
port="${LABBOOK_TEST_SSH_PORT:-22222}"
user="${LABBOOK_TEST_SSH_USER:-lbktest}"

[ "$(id -u)" -eq 0 ] || { echo "sshd-start.sh: needs root (creates a test user, starts sshd)" >&2; exit 1; }
install_missing openssh-server openssh-client rsync

"$here/sshd-stop.sh" "$dir" >/dev/null 2>&1 || true
mkdir -p /run/sshd "$dir"
chmod 711 "$dir" # sshd reads authorized_keys as the test user
rm -f "$dir"/host_ed25519* "$dir"/client_ed25519* "$dir"/known_hosts "$dir"/authorized_keys "$dir"/env

if ! id "$user" >/dev/null 2>&1; then
  useradd -m -s /bin/sh "$user"
  echo "$user" >"$dir/created_user" # sshd-stop.sh removes the account it finds named here
fi
usermod -p '*' "$user" # a fresh account is locked ('!'), which sshd refuses without PAM
home="$(getent passwd "$user" | cut -d: -f6)"
workdir="$home/labbook-test"
rm -rf "$workdir"

ssh-keygen -q -t ed25519 -N '' -C labbook-test-host -f "$dir/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -C labbook-test-client -f "$dir/client_ed25519"
cp "$dir/client_ed25519.pub" "$dir/authorized_keys"
chmod 644 "$dir/authorized_keys"
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >"$dir/known_hosts"

cat >"$dir/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $dir/host_ed25519
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin no
AllowUsers $user
Subsystem sftp internal-sftp
LogLevel VERBOSE
CONF
/usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
wait_for_file "$dir/sshd.pid" 50

# The test user runs this build's lbk: it needs to reach it (and its libraries) through traversable folders.
lbk="${LABBOOK_BIN_DIR:-}/lbk"
cat >"$dir/env" <<ENV
LBK_TEST_SSH_HOST=127.0.0.1
LBK_TEST_SSH_PORT=$port
LBK_TEST_SSH_USER=$user
LBK_TEST_SSH_KEY=$dir/client_ed25519
LBK_TEST_SSH_KNOWN_HOSTS=$dir/known_hosts
LBK_TEST_SSH_WORKDIR=$workdir
LBK_TEST_SSH_PIDFILE=$dir/sshd.pid
ENV
# One real login proves the setup before any test relies on it.
ssh -T -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$dir/known_hosts" \
  -i "$dir/client_ed25519" -p "$port" -l "$user" 127.0.0.1 true
if [ -x "$lbk" ] && ! runuser -u "$user" -- "$lbk" --version >/dev/null 2>&1; then
  echo "sshd-start.sh: $user cannot run $lbk (folder permissions?)" >&2
  exit 1
fi
echo "sshd on 127.0.0.1:$port (pid $(cat "$dir/sshd.pid")), user $user"
