#!/usr/bin/env bash
# The sanitizer stage of the reliability tier (issue #11; npm run test:reliability runs it after
# jest): the addon built with clang and AddressSanitizer (LeakSanitizer included) against the
# default runtime, into build/sanitize-address/ (never over build/<tag>/Release, which the other
# tests load), then the native and task tests with the ASan runtime preloaded into the Node
# processes that load the addon, and only those. Fails when ASan reports any error, or LSan any
# leak that tools/sanitizers/lsan.supp does not list (scan-reports.js names the frames).
#
#   bash tools/sanitizers/run.sh              build (incremental) and run the tests below
#   bash tools/sanitizers/run.sh FILE...      the same on these test files instead
#
# Expects a machine set up by tools/setup.sh (the venv's torch, fixtures, node_modules). Installs
# clang and its sanitizer runtimes with apt-get when they are missing (Debian 12: clang 14).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
SAN="$ROOT/tools/sanitizers"
WORK="$ROOT/build/sanitize-address"
LOGS="$WORK/logs"
started=$SECONDS
stage() { echo "sanitizers: $* ($((SECONDS - started)) s)"; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# The core of the binding: loads, forwards, bad calls, Workers and their teardown, concurrency;
# then every task end to end. Left out: test/native/runtime-mismatch.test.ts, which by design
# loads copies of the regular gcc build (build/<tag>/Release) from a scratch package in child
# processes, so nothing instrumented would run (TORCH_ENCODERS_BINARY_DIR, inherited, would even
# swap in the ASan binary and defeat the mismatch it sets up); the ELF reader it exercises runs
# instrumented in every other test, which all load through the ASan loader.
TESTS=(
  test/native/goldens.test.ts
  test/native/bad-calls.test.ts
  test/native/forward-arguments.test.ts
  test/native/worker.test.ts
  test/native/worker-teardown.test.ts
  test/native/concurrency.test.ts
  test/native/runtime.test.ts
  test/tasks/*.test.ts
)
if [ $# -gt 0 ]; then TESTS=("$@"); fi

# --- clang and its ASan runtime ------------------------------------------------------------------
runtime_path() { clang -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null || true; }
if ! command -v clang++ >/dev/null || [ ! -f "$(runtime_path)" ]; then
  packages=(clang libclang-rt-14-dev)
  echo "sanitizers: installing ${packages[*]}"
  if ! DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends \
    "${packages[@]}" >/dev/null; then
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends \
      "${packages[@]}" >/dev/null
  fi
fi
ASAN_RUNTIME="$(runtime_path)"
if [ ! -f "$ASAN_RUNTIME" ]; then
  echo "sanitizers: clang has no ASan runtime (libclang_rt.asan-x86_64.so); install libclang-rt-<version>-dev" >&2
  exit 2
fi
SYMBOLIZER="$(dirname "$(readlink -f "$(command -v clang)")")/llvm-symbolizer"
stage "clang $(clang -dumpversion), runtime $ASAN_RUNTIME"

# --- the instrumented build ----------------------------------------------------------------------
# build-native.js reads the runtime discovery from dist/lib (npm test has compiled it in CI).
[ -f dist/lib/native.js ] || npm run --silent build:ts
TAG="$(node -p "require('./dist/lib/libtorch-discovery.js').discoverLibtorch(process.cwd()).tag")"
OUT="$WORK/$TAG"
cmake_args=(--CDCMAKE_CXX_COMPILER=clang++ --CDTORCH_ENCODERS_SANITIZE=address)
if command -v ccache >/dev/null; then cmake_args+=(--CDCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
node tools/build-native.js --out "$OUT" -- "${cmake_args[@]}" >"$WORK.build.log" 2>&1 || {
  tail -n 40 "$WORK.build.log"
  echo "sanitizers: the ASan build failed (full log: $WORK.build.log)" >&2
  exit 1
}
stage "built $OUT/Release"

# --- the run -------------------------------------------------------------------------------------
# Node is started through a wrapper that preloads the runtime (Node and V8 are not instrumented,
# so the runtime must come first in the process) and requires scope.js, which takes LD_PRELOAD
# out of the environment again and makes the wrapper process.execPath: Node children started the
# way the tests start them come back through the wrapper; Python, npm and other programs do not.
rm -rf "$LOGS"
mkdir -p "$LOGS"
NODE="$(readlink -f "$(command -v node)")"
cat >"$WORK/node" <<EOF
#!/bin/sh
# Written by tools/sanitizers/run.sh: Node with the ASan runtime, for the sanitizer run only.
LD_PRELOAD='$ASAN_RUNTIME' exec '$NODE' --require '$SAN/scope.js' "\$@"
EOF
chmod +x "$WORK/node"

# ASan, in every process that has the runtime:
#   detect_leaks=1          LeakSanitizer at each process's exit (the default on Linux; said here).
#   log_path                one report file per process (asan.<pid>): jest, the Node children of
#                           the teardown tests, all scanned below; none is lost in captured output.
#   exitcode=23             a process whose exit LSan fails says so distinctly from a test failure.
#   external_symbolizer_path  file:line in our frames; names in Node's (its symbols are in).
# The frame-pointer unwinder stays (fast_unwind_on_malloc=1, the default): the DWARF one took 4x
# the CPU time over the goldens test (125 s against 33 s; 19 s without ASan). Our code keeps its
# frame pointers; a stack cut short in libtorch or V8 can only make a leak look third-party or
# miss a suppression, and both of those fail the run too.
export ASAN_OPTIONS="detect_leaks=1:log_path=$LOGS/asan:exitcode=23:external_symbolizer_path=$SYMBOLIZER"
#   suppressions            the reviewed third-party leaks; print_suppressions lists each one used.
export LSAN_OPTIONS="suppressions=$SAN/lsan.supp:print_suppressions=1"
export TORCH_ENCODERS_BINARY_DIR="$OUT/Release"

# A positive control: the run loads the instrumented binary, in a process that has the runtime.
"$WORK/node" -e "
  const { loadedNative } = require('./dist/lib/native.js');
  const dir = loadedNative().binaryDir;
  if (dir !== process.env.TORCH_ENCODERS_BINARY_DIR) throw new Error('loaded ' + dir);
  console.log('sanitizers: the addon loads from ' + dir + ' with the ASan runtime');"

set +e
"$WORK/node" node_modules/jest/bin/jest.js --ci --runInBand --config jest.config.js "${TESTS[@]}"
jest_status=$?
set -e
stage "tests done, jest exit status $jest_status"

scan_status=0
node "$SAN/scan-reports.js" "$LOGS" || scan_status=$?
if [ "$jest_status" -ne 0 ] || [ "$scan_status" -ne 0 ]; then
  [ "$jest_status" -eq 23 ] && echo "sanitizers: jest's own process exited with the sanitizer's status (23)"
  echo "sanitizers: FAILED (jest $jest_status, reports $scan_status; logs in $LOGS)" >&2
  exit 1
fi
stage "passed: no ASan error, no leak outside lsan.supp"
