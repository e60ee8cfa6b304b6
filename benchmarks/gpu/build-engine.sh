#!/usr/bin/env bash
# On a GPU machine (../shared/notes/gpu.md): builds lbk and lbk-engine against the LibTorch of the machine's
# PyTorch wheel (CUDA), with the headers and libraries that benchmarks/gpu/stage-engine-deps.sh packed here into
# .gpu-carry/engine-deps.tar.xz. The programs land in build-gpu/bin; run them with the environment that
#   source build-gpu/env.sh
# sets (the carried libraries). Takes a few minutes on 16 cores.
# Environment: LABBOOK_TORCH_PREFIX  LibTorch's CMake prefix (default: the python3 torch's cmake_prefix_path);
#              LABBOOK_GPU_BUILD     the build folder (default: build-gpu)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
build="${LABBOOK_GPU_BUILD:-build-gpu}"
work="$root/$build/deps"
log() { printf '[build-engine] %s\n' "$*" >&2; }
trap 'log "stopped: exit $? at line $LINENO: $BASH_COMMAND"' ERR

torch_prefix="${LABBOOK_TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}"
abi=$(python3 -c 'import torch; print(int(torch.compiled_with_cxx11_abi()))' 2>/dev/null || echo "?")
log "LibTorch from $torch_prefix (C++11 ABI: $abi); $(c++ --version | head -1); $(cmake --version | head -1)"

# The carried files and sentencepiece once per machine (a stamp says they are done): a second run rebuilds only
# what changed in the checkout.
stamp="$work/.unpacked-$(cksum <.gpu-carry/engine-deps.tar.xz | cut -d' ' -f1)"
fresh=0
if [ ! -f "$stamp" ]; then
  fresh=1
  rm -rf "$work" && mkdir -p "$work"
  # Python unpacks (the image may lack the xz tool).
  python3 -c 'import sys, tarfile; t = tarfile.open(sys.argv[1])
t.extractall(sys.argv[2], **({"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}))' \
    .gpu-carry/engine-deps.tar.xz "$work"
fi
sys="$work/sysroot"
export PKG_CONFIG_PATH="$sys/lib/pkgconfig"
if ! command -v pkg-config >/dev/null; then
  export PKG_CONFIG="$sys/bin/pkg-config" # a wrapper: the carried libraries for pkgconf alone, not the compiler
fi
generator=(); command -v ninja >/dev/null && generator=(-G Ninja)

# sentencepiece, static with its bundled protobuf-lite: the engine links it with --exclude-libs, so that
# protobuf stays private to it beside LibTorch's (the clash of ../shared/notes/toolchain.md cannot arise).
spm="$work/sentencepiece-0.1.97"
if [ "$fresh" = 1 ]; then
  # CMAKE_POLICY_VERSION_MINIMUM: its cmake_minimum_required(3.1) stops CMake 4 (pip's) without it.
  if ! { cmake -S "$work/spm-src" -B "$work/spm-build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
           -DSPM_ENABLE_SHARED=OFF -DSPM_USE_BUILTIN_PROTOBUF=ON -DSPM_ENABLE_TCMALLOC=OFF \
           -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_INSTALL_PREFIX="$spm" -DCMAKE_INSTALL_LIBDIR=lib \
           -DCMAKE_POLICY_VERSION_MINIMUM=3.5 &&
         cmake --build "$work/spm-build" -j "$(nproc)" && cmake --install "$work/spm-build"; } >"$work/spm.log" 2>&1; then
    tail -30 "$work/spm.log" >&2; log "sentencepiece's build failed; log in $build/deps/spm.log"; exit 1
  fi
  # Static archives link in dependency order: the trainer's library before the one it calls.
  sed -i -e 's/-lsentencepiece -lsentencepiece_train/-lsentencepiece_train -lsentencepiece/' \
    "$spm/lib/pkgconfig/sentencepiece.pc"
  touch "$stamp"
fi
export PKG_CONFIG_PATH="$spm/lib/pkgconfig:$PKG_CONFIG_PATH"
log "sentencepiece in $spm"

# A CUDA LibTorch's CMake files look for the CUDA toolkit (nvcc) and cuDNN, which a wheel takes from pip's
# nvidia-cudnn package: point them there (that package has no unversioned libcudnn.so for find_library).
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
cuda_args=()
cudnn=$(python3 -c 'import os, nvidia.cudnn as c; print(os.path.dirname(c.__file__) if c.__file__ else list(c.__path__)[0])' \
  2>/dev/null || true)
if [ -n "$cudnn" ] && [ -f "$cudnn/include/cudnn.h" ]; then
  cudnn_lib=$(ls "$cudnn"/lib/libcudnn.so* 2>/dev/null | head -1 || true)
  [ -n "$cudnn_lib" ] && cuda_args+=(-DCUDNN_INCLUDE_PATH="$cudnn/include" -DCUDNN_LIBRARY_PATH="$cudnn_lib")
fi
log "nvcc: $(command -v nvcc || echo none); cuDNN: ${cudnn:-none}"

cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${cuda_args[@]}" \
  -DLABBOOK_BUILD_GUI=OFF -DLABBOOK_BUILD_TESTS=OFF -DLABBOOK_BUILD_BENCHMARKS=OFF \
  -DLABBOOK_DEPS_DIR="$work" -DCMAKE_PREFIX_PATH="$torch_prefix;$sys" -DICU_ROOT="$sys" \
  -DCMAKE_PROJECT_INCLUDE="$root/benchmarks/gpu/nvtx-shim.cmake" \
  -DSQLite3_INCLUDE_DIR="$sys/include" -DSQLite3_LIBRARY="$sys/lib/libsqlite3.so" \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,--exclude-libs,ALL -Wl,-rpath-link,$sys/lib" >"$root/$build/configure.log" 2>&1 ||
  { tail -40 "$root/$build/configure.log" >&2; log "configure failed; log in $build/configure.log"; exit 1; }
cmake --build "$build" --target lbk lbk-engine -j "$(nproc)"
printf 'export LD_LIBRARY_PATH="%s/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"\n' "$sys" >"$build/env.sh"
log "built $build/bin/lbk and $build/bin/lbk-engine"
