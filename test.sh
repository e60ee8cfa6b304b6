#!/usr/bin/env bash
# Sets Labbook up on Debian 12 (installs what is missing, builds into build/) and runs the whole test suite
# with CTest. Servers the tests need (sshd, Slurm) are started and stopped by the tests themselves.
# Arguments go to ctest, e.g. ./test.sh -L core   or   ./test.sh -R tst_store
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
export LABBOOK_EXTRA_PKGS="${LABBOOK_EXTRA_PKGS:-} xvfb xauth openssh-server openssh-client rsync slurmctld slurmd slurm-client munge python3-torch python3-sentencepiece python3-venv"
./packaging/bootstrap.sh
mkdir -p build
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >build/.configure.log 2>&1 ||
  { cat build/.configure.log; exit 1; }
cmake --build build -j 2
cd build
# Two tests at a time (CI has two cores): the suites wait on processes, servers and disk as much as on a core.
ctest --output-on-failure --timeout 900 -j 2 "$@"
