# Shared by the test-server scripts: installing what is missing, and stopping a process by its PID file.
# Servers listen on 127.0.0.1 only and are stopped by PID, never by name.

install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
  fi
}

# stop_pidfile FILE [SECONDS]: SIGTERM to the PID in FILE, SIGKILL after SECONDS (default 10).
stop_pidfile() {
  local file="$1" wait="${2:-10}" pid
  [ -f "$file" ] || return 0
  pid="$(cat "$file" 2>/dev/null || true)"
  rm -f "$file"
  case "$pid" in '' | *[!0-9]*) return 0 ;; esac
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq $((wait * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

wait_for_file() {
  local file="$1" tries="${2:-100}"
  for _ in $(seq "$tries"); do
    [ -s "$file" ] && return 0
    sleep 0.1
  done
  echo "timed out waiting for $file" >&2
  return 1
}
