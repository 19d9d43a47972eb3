#!/usr/bin/env bash
# Installs ndjit's build and test dependencies from Debian 12 packages.
# Idempotent: packages already present are skipped, and `apt-get update` runs
# at most once, only when something is missing. Needs root (or sudo).
# `install-deps.sh bench` adds what only `make bench` needs (gnuplot, which
# draws the report's chart).
set -euo pipefail

packages=(
  build-essential cmake make pkg-config ccache
  llvm-19-dev libzstd-dev clang-19
  # libFuzzer (and clang's sanitizer runtimes) for `make fuzz` and the fuzz smoke tests.
  libclang-rt-19-dev
  libabsl-dev libhwy-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libedit-dev
  libeigen3-dev
  python3
  # The Python module (`import ndjit`) and its tests, for Debian's python3.
  python3-dev pybind11-dev python3-numpy python3-pytest python3-hypothesis python3-numexpr
  # ndjit.dask and its cluster tests (Debian 12: Dask 2022.12).
  python3-dask python3-distributed
)
if [ "${1:-}" = "bench" ]; then
  packages+=(gnuplot-nox libopenblas-dev)
fi

missing=()
for p in "${packages[@]}"; do
  # "install ok installed" is the only status that means the package is usable.
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
