// mulberry32: a small seeded PRNG, so samples and splits are the same in every process, run and Node version.
// Shared by tools/prepare_demo_data.js (the demo data splits) and bench/lib/common.js (the benchmark sentences);
// it requires nothing, so the benchmark's WASM contender loads no native code through it.
'use strict';

/** A function returning uniform floats in [0, 1), the same sequence for the same seed. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = { rng };
