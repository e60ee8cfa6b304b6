#!/usr/bin/env bash
# Here (Debian 12), for benchmarks/gpu/build-engine.sh on a GPU machine that has CUDA's PyTorch but no Debian
# development packages: packs what the engine's build needs besides LibTorch into .gpu-carry/engine-deps.tar.xz:
#   sysroot/  headers (nlohmann/json, CLI11, SQLite, zstd, ICU, minizip) with their CMake and pkg-config files, the shared
#             libraries they name (Debian 12's; they need glibc 2.36, the GPU image has a newer one) and pkgconf;
#   spm-src/  Debian's sentencepiece 0.1.97 source (its static libraries restored), built there statically with
#             its bundled protobuf-lite.
# About 11 MB. Called by prepare.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.gpu-carry
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
sys="$stage/sysroot"
mkdir -p "$sys/include" "$sys/lib/pkgconfig" "$sys/share/cmake" "$sys/bin"
libdir=/usr/lib/x86_64-linux-gnu

cp -r /usr/include/nlohmann /usr/include/CLI /usr/include/unicode "$sys/include/"
cp /usr/include/sqlite3.h /usr/include/sqlite3ext.h /usr/include/zstd.h /usr/include/zdict.h \
   /usr/include/zstd_errors.h "$sys/include/"
cp -r /usr/share/cmake/nlohmann_json /usr/share/cmake/CLI11 "$sys/share/cmake/"
# zlib's minizip and the zlib headers it includes (its .pc below names their folder too: an image without zlib's
# headers finds them there, not by the chance that ICU's include folder is the same); libz.so.1 itself is the
# image's (any Python has one), not carried, so as not to put Debian's older one before it.
cp -r /usr/include/minizip /usr/include/zlib.h /usr/include/zconf.h "$sys/include/"
for so in libicuuc.so.72 libicudata.so.72 libsqlite3.so.0 libzstd.so.1 libpkgconf.so.3 libminizip.so.1; do
  cp -L "$libdir/$so" "$sys/lib/$so"
  ln -sf "$so" "$sys/lib/${so%%.so*}.so"
done
# pkgconf for a machine without pkg-config, behind a wrapper that gives only it the carried libraries.
cp /usr/bin/pkgconf "$sys/bin/pkgconf-debian"
cat >"$sys/bin/pkg-config" <<'SH'
#!/bin/sh
here=$(dirname "$(readlink -f "$0")")
LD_LIBRARY_PATH="$here/../lib" exec "$here/pkgconf-debian" "$@"
SH
chmod +x "$sys/bin/pkg-config"
cat >"$sys/lib/pkgconfig/libzstd.pc" <<'PC'
prefix=${pcfiledir}/../..
libdir=${prefix}/lib
includedir=${prefix}/include
Name: zstd
Description: fast lossless compression algorithm library (Debian 12's, carried)
Version: 1.5.4
Libs: -L${libdir} -lzstd
Cflags: -I${includedir}
PC

cat >"$sys/lib/pkgconfig/minizip.pc" <<'PC'
prefix=${pcfiledir}/../..
libdir=${prefix}/lib
includedir=${prefix}/include
Name: minizip
Description: zip reading of zlib's contrib (Debian 12's, carried)
Version: 1.2.8
Libs: -L${libdir} -lminizip
Cflags: -I${includedir}/minizip -I${includedir}
PC

packaging/spm-source.sh "$stage/src"
# Debian's packaging patch drops the static libraries; the GPU build needs them (build-engine.sh says why).
patch -s -R -d "$stage/src/spm" -p1 <"$stage/src/spm/debian/patches/disable-static-library.patch"
mkdir -p "$stage/spm-src"
(cd "$stage/src/spm" && cp -r CMakeLists.txt VERSION.txt config.h.in sentencepiece.pc.in LICENSE README.md src third_party \
   "$stage/spm-src/")
rm -rf "$stage/src"

mkdir -p "$out"
tar -cJf "$out/engine-deps.tar.xz" -C "$stage" sysroot spm-src
du -h "$out/engine-deps.tar.xz"
