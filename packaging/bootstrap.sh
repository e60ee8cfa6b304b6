#!/usr/bin/env bash
# Installs what Labbook needs on a Debian 12 machine, and builds sentencepiece against the system protobuf.
# Idempotent: when everything is already there it only checks, in about a second.
#
# Why sentencepiece is built here: Debian's libsentencepiece carries its own protobuf-lite 3.14 and exports its
# symbols, while LibTorch links the system protobuf 3.21; one process that loads both crashes before main.
# Building Debian's own sentencepiece source against the system protobuf removes the clash.
#
# Environment:
#   LABBOOK_DEPS_DIR   where the local sentencepiece prefix goes (default: <checkout>/.deps)
#   LABBOOK_EXTRA_PKGS extra Debian packages to install (the test script adds sshd, Slurm, Xvfb)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="${LABBOOK_DEPS_DIR:-$root/.deps}"
spm_version="0.1.97"
spm_prefix="$deps/sentencepiece-$spm_version"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    log "not root and no sudo: install packages by hand or run as root"; fi
fi

# Build and runtime packages. qt6-svg for SVG export of plots; libgloo-dev for torch.distributed headers;
# OpenBLAS's OpenMP build under LibTorch (selected below).
pkgs=(
  build-essential cmake pkg-config ninja-build git ca-certificates
  libtorch-dev libopenblas0-openmp libgloo-dev
  qt6-base-dev qt6-base-dev-tools qt6-svg-dev libqcustomplot-dev libgl-dev
  nlohmann-json3-dev libsimdjson-dev libsqlite3-dev sqlite3 libzstd-dev zstd libminizip-dev libcli11-dev libicu-dev
  protobuf-compiler libprotobuf-dev dpkg-dev
)
# shellcheck disable=SC2206
pkgs+=(${LABBOOK_EXTRA_PKGS:-})

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${#missing[@]} Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Wait for another apt (an unattended upgrade, a second bootstrap) instead of failing at once.
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "all Debian packages present"
fi

# OpenBLAS's pthreads build (Debian's default, priority 100) keeps a thread pool of its own beside LibTorch's
# OpenMP pool, and each spins while the other works: on two cores Transformer encoders trained 2.2x slower than
# with the OpenMP build, which shares LibTorch's pool (docs/BENCHMARKS.md, "Which OpenBLAS"). All three
# alternatives move together, so that no process loads both builds. An alternative set by hand is left alone.
multiarch="$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)"
for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
  name="$lib-$multiarch"
  target="/usr/lib/$multiarch/openblas-openmp/$lib"
  query="$(update-alternatives --query "$name" 2>/dev/null || true)"
  if [ -e "$target" ] && grep -q '^Status: auto' <<<"$query" && ! grep -qx "Value: $target" <<<"$query"; then
    log "selecting OpenBLAS's OpenMP build for $lib"
    # Not fatal: without it Labbook builds and runs, its encoders at about half the speed.
    "${sudo_cmd[@]}" update-alternatives --quiet --set "$name" "$target" ||
      log "could not select $target for $name (not root?): encoders will train slower; run as root to switch"
  fi
done

# sentencepiece from Debian's source package, against the system protobuf.
if [ -f "$spm_prefix/lib/pkgconfig/sentencepiece.pc" ] && [ -f "$spm_prefix/.labbook-built" ]; then
  log "sentencepiece $spm_version present in $spm_prefix"
  exit 0
fi

log "building sentencepiece $spm_version against the system protobuf into $spm_prefix"
work="$deps/src"
"$root/packaging/spm-source.sh" "$work"
# Debian's patch points src/init.h at the bundled protobuf-lite; use the system protobuf instead.
sed -i -e 's|#include "third_party/protobuf-lite/google/protobuf/message_lite.h"|#include <google/protobuf/message_lite.h>|' \
  "$work/spm/src/init.h"
build_log="$deps/sentencepiece-build.log"
if ! { cmake -S "$work/spm" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DSPM_USE_BUILTIN_PROTOBUF=OFF \
         -DSPM_ENABLE_SHARED=ON -DCMAKE_INSTALL_PREFIX="$spm_prefix" -DCMAKE_INSTALL_LIBDIR=lib &&
       cmake --build "$work/build" -j "$(nproc)" && cmake --install "$work/build"; } >"$build_log" 2>&1; then
  tail -40 "$build_log" >&2
  log "sentencepiece build failed; full log in $build_log"
  exit 1
fi
touch "$spm_prefix/.labbook-built"
rm -rf "$work"
log "sentencepiece installed in $spm_prefix"
