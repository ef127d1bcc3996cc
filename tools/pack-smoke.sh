#!/usr/bin/env bash
# Packs the package with its prebuilt binary, installs the tarball into an empty project with every
# compiler and cmake replaced by a tripwire, and runs a forward there against the Python goldens.
# Fails if the install tried to compile anything or the installed package cannot run a model.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

npm run --silent prebuildify >/dev/null
npm run --silent build:ts
tarball="$repo/$(npm pack --silent --ignore-scripts | tail -n 1)"
echo "pack-smoke: packed $(basename "$tarball") ($(du -h "$tarball" | cut -f1))"
contents="$(tar -tzf "$tarball")"
grep -qx 'package/prebuilds/linux-x64/torch-encoders.napi.glibc.node' <<<"$contents" || { echo 'pack-smoke: FAILED: the tarball has no prebuild' >&2; exit 1; }

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
PATH="$work/tripwire:$PATH" npm install --no-audit --no-fund --loglevel=error "$tarball"
if [ -e "$work/compiler-called" ]; then
  echo "pack-smoke: FAILED: the install invoked a compiler" >&2
  exit 1
fi
if [ -e node_modules/torch-encoders/build ]; then
  echo "pack-smoke: FAILED: the install built the addon instead of using the prebuild" >&2
  exit 1
fi

PATH="$work/tripwire:$PATH" FIXTURE="$repo/test/fixtures/generated/base" node -e '
const fs = require("node:fs");
const path = require("node:path");
const { Model } = require("torch-encoders");
const resolved = require.resolve("torch-encoders");
if (!resolved.startsWith(process.cwd())) throw new Error(`resolved ${resolved}, not the installed copy`);
(async () => {
  const goldens = JSON.parse(fs.readFileSync(path.join(process.env.FIXTURE, "goldens.json"), "utf8"));
  const model = await Model.load(path.join(process.env.FIXTURE, "model.pt"));
  let worst = 0;
  for (const c of goldens.cases) {
    const make = (v) => BigInt64Array.from(v, BigInt);
    const out = await model.forward({ input_ids: make(c.input_ids), attention_mask: make(c.attention_mask), token_type_ids: make(c.token_type_ids) }, c.dims);
    for (const [name, expected] of Object.entries(c.outputs)) {
      expected.data.forEach((v, i) => { worst = Math.max(worst, Math.abs(out[name].data[i] - v)); });
    }
  }
  await model.dispose();
  if (!(worst <= 1e-5)) throw new Error(`outputs differ from the goldens by ${worst}`);
  console.log(`pack-smoke: installed package ran ${goldens.cases.length} forwards, max abs diff ${worst.toExponential(2)}`);
})().catch((e) => { console.error(e); process.exit(1); });
'
echo "pack-smoke: 1 passed, 0 failed"
