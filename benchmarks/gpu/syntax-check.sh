#!/usr/bin/env bash
# Here: compiles every engine translation unit with -fsyntax-only against another LibTorch's headers (a wheel's
# torch/include, or a libtorch archive's include), to find API changes before a GPU machine's build does.
#   benchmarks/gpu/syntax-check.sh TORCH_INCLUDE_DIR     (prints one line per file; exit 1 on an error)
# Debian's 1.13 headers stay on the default search path below the given ones; each file is compiled as the
# build does, with <torch/torch.h> included first (its precompiled header). About 4 minutes on two cores.
set -uo pipefail
cd "$(dirname "$0")/../.."
inc="${1:?usage: syntax-check.sh TORCH_INCLUDE_DIR}"
spm=".deps/sentencepiece-0.1.97/include"
check() {
  local errors
  errors=$(c++ -std=c++20 -fsyntax-only -fopenmp -D_GLIBCXX_USE_CXX11_ABI=1 -DUSE_DISTRIBUTED \
    -DLABBOOK_VERSION='"0"' -Icore -isystem "$inc" -isystem "$inc/torch/csrc/api/include" -isystem "$spm" \
    -include torch/torch.h "$1" 2>&1 | grep -E 'error' | head -8)
  if [ -z "$errors" ]; then echo "ok      $1"; else printf 'ERRORS  %s\n%s\n' "$1" "$errors"; fi
}
export -f check
export inc spm
ls core/engine/*.cpp app/lbk-engine/main.cpp | xargs -P "$(nproc)" -I{} bash -c 'check {}' | tee /tmp/syntax-check.log
! grep -q '^ERRORS' /tmp/syntax-check.log
