// Preloaded (node --require) into every Node process of the sanitizer run by its node wrapper
// (written by tools/sanitizers/run.sh). The ASan runtime is in this process already: the dynamic
// linker read LD_PRELOAD when the process started. Removing it from the environment now keeps it
// out of every child (Python, npm, git: uninstrumented programs whose own leaks would be reported,
// and which ASan slows). Node children that tests start through process.execPath still get it,
// because process.execPath becomes the wrapper, which preloads the runtime again.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const wrapper = path.resolve(__dirname, '../../build/sanitize-address/node');
if (!/libclang_rt\.asan/.test(fs.readFileSync('/proc/self/maps', 'utf8'))) {
  // Loading the instrumented addon would fail with a less helpful message.
  throw new Error(
    `sanitizers: the ASan runtime is not loaded in this process; start Node through ${wrapper}`,
  );
}
delete process.env.LD_PRELOAD;
process.execPath = wrapper;
