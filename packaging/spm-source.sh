#!/usr/bin/env bash
# Fetches Debian's sentencepiece source package and unpacks it into DIR/spm (Debian's patches applied).
# Used by bootstrap.sh (which builds it against the system protobuf) and by benchmarks/gpu/prepare.sh (which
# carries it to a GPU machine that has no Debian packages).
#   packaging/spm-source.sh DIR
set -euo pipefail
work="${1:?usage: spm-source.sh DIR}"
log() { printf '[spm-source] %s\n' "$*" >&2; }
sudo_cmd=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); fi

rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/sources.list.d"
# A private deb-src list derived from the machine's own sources, so the system apt config stays untouched and
# no mirror name is written anywhere in the repository.
found_src=0
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] || continue
  sed -e 's/^Types:.*/Types: deb-src/' "$f" >"$work/apt/sources.list.d/$(basename "$f")"
  found_src=1
done
if [ -f /etc/apt/sources.list ]; then
  grep -E '^deb ' /etc/apt/sources.list | sed -e 's/^deb /deb-src /' >"$work/apt/sources.list" || true
  [ -s "$work/apt/sources.list" ] && found_src=1
fi
touch "$work/apt/sources.list"
if [ "$found_src" -eq 0 ]; then log "no apt sources found to derive deb-src entries from"; exit 1; fi
apt_opts=(-o "Dir::Etc::SourceList=$work/apt/sources.list" -o "Dir::Etc::SourceParts=$work/apt/sources.list.d"
  -o "Dir::State::Lists=$work/apt/lists" -o "APT::Get::List-Cleanup=0")
"${sudo_cmd[@]}" apt-get "${apt_opts[@]}" update -qq
(cd "$work" && apt-get "${apt_opts[@]}" source --download-only sentencepiece >/dev/null)
dsc=$(ls "$work"/sentencepiece_*.dsc | head -1)
(cd "$work" && dpkg-source -x "$dsc" spm >/dev/null)
log "sentencepiece source in $work/spm"
