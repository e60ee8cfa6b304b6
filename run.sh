#!/usr/bin/env bash
# Sets Labbook up on Debian 12 (installs what is missing, builds into build/) and runs its main job: the GUI
# where there is a display; without one, the default experiment (experiments/top20-title.json, every paper)
# trained headless, followed live, with a printed summary. Extra arguments go to that program.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
./packaging/bootstrap.sh
mkdir -p build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/.configure.log 2>&1 ||
  { cat build/.configure.log; exit 1; }
cmake --build build -j 2
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/bin/labbook ]; then
  exec build/bin/labbook "$@"
fi
exec build/bin/lbk run experiments/top20-title.json "$@"
