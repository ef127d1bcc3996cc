#!/usr/bin/env bash
# Packs the package with its prebuilt binaries (one per libtorch runtime), installs the tarball into
# an empty project with every compiler and cmake replaced by a tripwire, and runs forwards there
# against the Python goldens of each runtime:
#   - libtorch 2.13 from a venv holding torch 2.13 (VIRTUAL_ENV, python3 on PATH: the venv's);
#   - Debian's libtorch 1.13 with no venv active, on the same machine (both installed at once);
#   - a libtorch of a version with no prebuild: one E_NATIVE_LOAD error naming it and the fixes.
# Fails if the install tried to compile anything or the installed package cannot run a model.
#
#   bash tools/pack-smoke.sh [all|venv|debian]   (default all; CI runs them all)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
which="${1:-all}"
venv="$repo/.venv"
debian_lib=/usr/lib/x86_64-linux-gnu

npm run --silent build:ts
npm run --silent prebuildify
tarball="$repo/$(npm pack --silent --ignore-scripts | tail -n 1)"
echo "pack-smoke: packed $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
# The budget for the tarball: the demo models ship as fine-tuning deltas (a few MB), built after install.
size=$(stat -c %s "$tarball")
if [ "$size" -gt 50000000 ]; then
  echo "pack-smoke: FAILED: the tarball is $size bytes, over the 50 MB budget" >&2
  exit 1
fi
contents="$(tar -tzf "$tarball")"
if grep -q '^package/models/[^/]*/model\.\(pt\|safetensors\)$' <<<"$contents"; then
  echo "pack-smoke: FAILED: the tarball carries built demo models (models/*/model.*)" >&2
  exit 1
fi
for tag in libtorch-2.13 libtorch-1.13; do
  for file in torch_encoders.node torch_encoders_loader.node torch_encoders_mkl_cpu.so; do
    grep -qx "package/prebuilds/linux-x64/$tag/$file" <<<"$contents" ||
      { echo "pack-smoke: FAILED: the tarball has no prebuilds/linux-x64/$tag/$file" >&2; exit 1; }
  done
done

work="$(mktemp -d)"
trap 'rm -rf "$work" "$tarball"' EXIT
mkdir -p "$work/tripwire" "$work/app"
for tool in cc gcc g++ c++ clang clang++ cmake make ninja; do
  printf '#!/bin/sh\necho "%s was called: the install tried to compile" >&2\ntouch "%s"\nexit 1\n' \
    "$tool" "$work/compiler-called" >"$work/tripwire/$tool"
  chmod +x "$work/tripwire/$tool"
done

cd "$work/app"
npm init -y >/dev/null
PATH="$work/tripwire:$PATH" npm install --no-audit --no-fund --loglevel=error --foreground-scripts "$tarball"
if [ -e "$work/compiler-called" ]; then
  echo "pack-smoke: FAILED: the install invoked a compiler" >&2
  exit 1
fi
if [ -e node_modules/torch-encoders/build ]; then
  echo "pack-smoke: FAILED: the install built the addon instead of using a prebuild" >&2
  exit 1
fi

# Runs every golden case of the fixture folder $FIXTURE through the installed package, with both
# integer input types, and checks that the runtime expected ($EXPECT_TAG) is the one loaded.
check_goldens() {
  PATH="$work/tripwire:$PATH" node -e '
const fs = require("node:fs");
const path = require("node:path");
const { Model, buildInfo } = require("torch-encoders");
const resolved = require.resolve("torch-encoders");
if (!resolved.startsWith(process.cwd())) throw new Error(`resolved ${resolved}, not the installed copy`);
(async () => {
  const info = buildInfo();
  if (info.runtime.tag !== process.env.EXPECT_TAG) throw new Error(`loaded ${info.runtime.tag}, expected ${process.env.EXPECT_TAG}`);
  if (!info.binaryDir.startsWith(path.join(process.cwd(), "node_modules/torch-encoders/prebuilds/"))) throw new Error(`loaded ${info.binaryDir}, not a prebuild`);
  let worst = 0;
  let forwards = 0;
  for (const fixture of ["base", "sequence-classification", "token-classification", "question-answering"]) {
    const dir = path.join(process.env.FIXTURE, fixture);
    const goldens = JSON.parse(fs.readFileSync(path.join(dir, "goldens.json"), "utf8"));
    const model = await Model.load(path.join(dir, "model.pt"));
    for (const make of [(v) => BigInt64Array.from(v, BigInt), (v) => Int32Array.from(v)]) {
      for (const c of goldens.cases) {
        const out = await model.forward({ input_ids: make(c.input_ids), attention_mask: make(c.attention_mask), token_type_ids: make(c.token_type_ids) }, c.dims);
        forwards++;
        for (const [name, expected] of Object.entries(c.outputs)) {
          expected.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(out[name].data[i] - v)); });
        }
      }
    }
    await model.dispose();
  }
  if (!(worst <= 1e-5)) throw new Error(`outputs differ from the goldens by ${worst}`);
  console.log(`pack-smoke: libtorch ${info.runtime.version} (${info.runtime.rule}, ${path.relative(process.cwd(), info.binaryDir)}): ${forwards} forwards, max abs diff ${worst.toExponential(2)}`);
})().catch((e) => { console.error(e); process.exit(1); });
'
}

passed=0
if [ "$which" = all ] || [ "$which" = venv ]; then
  # A user's activated venv: VIRTUAL_ENV set and its bin first on PATH.
  (cd "$repo" && node tools/fixtures.js >/dev/null)
  VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" EXPECT_TAG=libtorch-2.13 \
    FIXTURE="$repo/test/fixtures/generated/libtorch-2.13" check_goldens
  passed=$((passed + 1))
fi
if [ "$which" = all ] || [ "$which" = debian ]; then
  # No venv: python3 on PATH has no torch here, so Debian's libtorch is the one found.
  if env -u VIRTUAL_ENV python3 -c 'import torch' 2>/dev/null; then
    echo "pack-smoke: FAILED: python3 on PATH has torch, so Debian's libtorch would not be the one found" >&2
    exit 1
  fi
  (cd "$repo" && TORCH_ENCODERS_LIBTORCH="$debian_lib" node tools/fixtures.js >/dev/null)
  (unset VIRTUAL_ENV; EXPECT_TAG=libtorch-1.13 FIXTURE="$repo/test/fixtures/generated/libtorch-1.13" check_goldens)
  passed=$((passed + 1))
fi

# The demo models are not in the package: the CLI says how to build them, and the command it names builds them
# from the installed package (the pretrained encoder from PyPI: here the project venv, which has it).
if [ "$which" = all ] || [ "$which" = venv ]; then
  set +e
  message="$(VIRTUAL_ENV="$venv" PATH="$work/tripwire:$venv/bin:$PATH" node_modules/.bin/torch-encoders classify "I loved this film." 2>&1)"
  status=$?
  set -e
  if [ "$status" -eq 0 ] || ! grep -q "npm run build:demo-models" <<<"$message"; then
    echo "pack-smoke: FAILED: without demo models the CLI should fail naming npm run build:demo-models; got ($status): $message" >&2
    exit 1
  fi
  (cd node_modules/torch-encoders && PYTHON="$venv/bin/python" npm run --silent build:demo-models >/dev/null)
  output="$(VIRTUAL_ENV="$venv" PATH="$work/tripwire:$venv/bin:$PATH" node_modules/.bin/torch-encoders classify "I loved this film, the acting was superb.")"
  grep -q '"label":"positive"' <<<"$output" ||
    { echo "pack-smoke: FAILED: the built demo sentiment model printed $output" >&2; exit 1; }
  echo "pack-smoke: demo models: the CLI named the build command; built from the package, classify printed $output"
  passed=$((passed + 1))

  # The server from the installed package (its dependencies are the package's, not the repository's).
  VIRTUAL_ENV="$venv" PATH="$work/tripwire:$venv/bin:$PATH" node -e '
const { spawn } = require("node:child_process");
const child = spawn("node_modules/.bin/torch-encoders", ["serve", "--port", "0", "--model", "sentiment=node_modules/torch-encoders/models/sentiment"], { stdio: ["ignore", "pipe", "inherit"] });
const fail = (message) => { console.error(`pack-smoke: FAILED: serve: ${message}`); child.kill("SIGKILL"); process.exit(1); };
const timer = setTimeout(() => fail("not ready within 120 s"), 120000);
let url;
require("node:readline").createInterface({ input: child.stdout }).on("line", async (line) => {
  const entry = JSON.parse(line);
  url ??= entry.url;
  if (entry.msg !== "ready") return;
  const response = await fetch(`${url}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ inputs: "I loved this film, the acting was superb." }) });
  const body = await response.json();
  if (response.status !== 200 || body[0]?.label !== "positive") fail(`/predict answered ${response.status} ${JSON.stringify(body)}`);
  child.kill("SIGTERM");
  child.once("exit", (code) => {
    clearTimeout(timer);
    if (code !== 0) fail(`exited ${code} after SIGTERM`);
    console.log(`pack-smoke: serve from the package: /predict answered ${JSON.stringify(body[0])}; SIGTERM exited 0`);
  });
});
'
  passed=$((passed + 1))
fi

# A libtorch with no prebuild (a version this package was not built for), and no compiler.
fake="$work/libtorch-2.99"
mkdir -p "$fake/lib"
echo "2.99.0+cpu" >"$fake/build-version"
touch "$fake/lib/libtorch.so"
PATH="$work/tripwire:$PATH" TORCH_ENCODERS_LIBTORCH="$fake" node -e '
const { buildInfo } = require("torch-encoders");
try {
  buildInfo();
  throw new Error("loaded a binary for libtorch 2.99");
} catch (error) {
  const wanted = ["libtorch 2.99.0", process.env.TORCH_ENCODERS_LIBTORCH, "TORCH_ENCODERS_LIBTORCH",
    "Prebuilt binaries in this package: libtorch-1.13, libtorch-2.13", "tools/build-native.js", "pip install torch==2.13.0"];
  const missing = wanted.filter((part) => !String(error.message).includes(part));
  if (error.code !== "E_NATIVE_LOAD" || missing.length > 0) {
    console.error(error);
    throw new Error(`expected E_NATIVE_LOAD naming ${missing.join(", ")}`);
  }
  console.log("pack-smoke: libtorch 2.99 (no prebuild): E_NATIVE_LOAD naming the version, the rule, the prebuilds and the fixes");
}
'
passed=$((passed + 1))
echo "pack-smoke: $passed passed, 0 failed"
