#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for torch-encoders development: system packages (libtorch,
# OpenBLAS, Python torch for the fixture tools), npm dependencies, the native build, the
# TypeScript build and the fixture models. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# libtorch-dev: headers and libraries; libopenblas0-openmp: libtorch multiplies through the
# system BLAS, and the default reference BLAS is ~30x slower; python3-torch: the fixture tools.
packages=(libtorch-dev libopenblas0-openmp python3-torch cmake g++ make clang-format)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: npm dependencies"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "setup: native build"
npm run --silent build:native >/dev/null
echo "setup: TypeScript build"
npm run --silent build:ts
echo "setup: fixture models"
npm run --silent fixtures >/dev/null
echo "setup: done"
