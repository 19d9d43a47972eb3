#!/usr/bin/env bash
# The consumer test: ndjit as somebody else's dependency.
#   run.sh install BUILD_DIR   cmake --install into a temporary prefix
#   run.sh deb BUILD_DIR       cpack's .deb, checked and unpacked into a
#                              temporary root (nothing is installed system-wide)
# Then, against that tree alone: `ndjit --version`, no public header that
# names LLVM or Highway, the tests/consumer project built with
# find_package(ndjit) and a compiler line from pkg-config, and both programs'
# output compared with expected.txt.
set -euo pipefail
mode=$1
build=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "consumer test ($mode): $*" >&2; exit 1; }

case $mode in
  install)
    prefix=$work/prefix
    cmake --install "$build" --prefix "$prefix" > "$work/install.log"
    ;;
  deb)
    (cd "$build" && cpack -G DEB > "$work/cpack.log") || { cat "$work/cpack.log"; fail "cpack failed"; }
    deb=$(ls "$build"/ndjit_*_amd64.deb)
    bash "$here/check_deb.sh" "$deb" "$work/root"
    prefix=$work/root/usr
    ;;
  *) fail "unknown mode '$mode'" ;;
esac

version=$("$prefix/bin/ndjit" --version) || fail "ndjit --version failed"
grep -q '^ndjit [0-9]' <<< "$version" || fail "ndjit --version printed '$version'"
if grep -rlE '#include [<"](llvm|hwy)/' "$prefix/include"; then
  fail "public headers above include LLVM or Highway headers"
fi
[ -f "$prefix/include/ndjit/version.h" ] || fail "no ndjit/version.h"
inl=$(find "$prefix/include" -name '*-inl.h')
[ -z "$inl" ] || fail "internal -inl.h headers installed: $inl"

cmake -S "$here" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log" || { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/cmake-build" -j "$(nproc)" > "$work/build.log" 2>&1 ||
  { tail -50 "$work/build.log"; fail "build with find_package(ndjit)"; }
"$work/cmake-build/consumer" > "$work/cmake.out" || fail "the find_package consumer failed"
diff -u "$here/expected.txt" "$work/cmake.out" || fail "find_package consumer output"

pcdir=$(dirname "$(find "$prefix" -name ndjit.pc)")
export PKG_CONFIG_PATH=$pcdir
libdir=$(pkg-config --variable=libdir ndjit)
# shellcheck disable=SC2046
g++ -std=c++20 -O1 "$here/main.cc" -o "$work/pc-consumer" $(pkg-config --cflags --libs ndjit) \
  -Wl,-rpath,"$libdir" || fail "build with pkg-config"
"$work/pc-consumer" > "$work/pc.out" || fail "the pkg-config consumer failed"
diff -u "$here/expected.txt" "$work/pc.out" || fail "pkg-config consumer output"
echo "consumer test ($mode): ok, $(grep -c '' "$here/expected.txt") values from both builds"
