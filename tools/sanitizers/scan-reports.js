#!/usr/bin/env node
// Reads every ASan/LSan report that the processes of the sanitizer run wrote (log_path, one file
// per process: asan.<pid>) and decides the verdict of tools/sanitizers/run.sh:
//   - any AddressSanitizer error (use-after-free, overflow, double free, ...): failure;
//   - any leak LSan still reports after lsan.supp: failure. A leak with a frame in this project's
//     code (native/, the node-addon-api code compiled into the addon, or a torch_encoders binary)
//     is ours to fix; one without is a third-party leak not yet reviewed: either it is fixed, or it
//     gets a reviewed entry with its reason in lsan.supp.
// Prints what it found and exits 0 when clean, 1 otherwise, 2 on usage errors.
//   node tools/sanitizers/scan-reports.js LOG_DIR
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const OUR_FRAME = /\/native\/(core|napi|loader|mkl)\/|\/node-addon-api\/|torch_encoders[\w]*\.(node|so)\b/;
const FRAME = /^\s+#\d+ /;

/** A frame without its address and build id, its function's arguments cut short. */
function shorten(frame) {
  const text = frame.replace(/ 0x[0-9a-f]+ in /, ' ').replace(/ \(BuildId: [0-9a-f]+\)/, '');
  return text.length > 220 ? `${text.slice(0, 200)} ... ${text.slice(-60)}` : text;
}

/** Splits one process's log into ASan errors and leak blocks, each with its frames. */
function parseLog(text) {
  const errors = [];
  const leaks = [];
  const suppressed = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const error = /==\d+==ERROR: AddressSanitizer: (.*)$/.exec(line);
    const leak = /^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\) allocated from:/.exec(line);
    if (error || leak) {
      // An error's report holds several stacks (the access, then the allocation and free sites):
      // keep every frame up to its SUMMARY line; a leak block ends at its first blank line.
      const frames = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        if (leak && lines[j].trim() === '') break;
        if (error && lines[j].startsWith('SUMMARY:')) break;
        if (FRAME.test(lines[j])) frames.push(lines[j].trim());
      }
      if (error) errors.push({ kind: error[1], frames, text: lines.slice(i, j + 1).join('\n') });
      else leaks.push({ kind: leak[1], bytes: Number(leak[2]), objects: Number(leak[3]), frames });
      i = j;
      continue;
    }
    if (/^Suppressions used:/.test(line)) {
      for (let j = i + 2; j < lines.length && !/^-+$/.test(lines[j]); j++) {
        const row = /^\s*(\d+)\s+(\d+)\s+(.+)$/.exec(lines[j]);
        if (row) suppressed.push({ count: Number(row[1]), bytes: Number(row[2]), pattern: row[3] });
      }
    }
  }
  return { errors, leaks, suppressed };
}

function main() {
  const dir = process.argv[2];
  if (!dir || !fs.existsSync(dir)) {
    console.error('usage: scan-reports.js LOG_DIR');
    return 2;
  }
  const files = fs.readdirSync(dir).filter((name) => /^asan\.\d+$/.test(name));
  let failed = false;
  const suppressedTotals = new Map();
  for (const name of files.sort()) {
    const { errors, leaks, suppressed } = parseLog(fs.readFileSync(path.join(dir, name), 'utf8'));
    for (const row of suppressed) {
      const total = suppressedTotals.get(row.pattern) ?? { count: 0, bytes: 0, processes: 0 };
      total.count += row.count;
      total.bytes += row.bytes;
      total.processes += 1;
      suppressedTotals.set(row.pattern, total);
    }
    for (const error of errors) {
      failed = true;
      const ours = error.frames.filter((frame) => OUR_FRAME.test(frame));
      console.log(`\nsanitizers: ${name}: AddressSanitizer: ${error.kind}`);
      console.log(
        ours.length > 0 ? `  first frame in this project: ${shorten(ours[0])}` : '  no frame in this project',
      );
      console.log(error.text.replace(/^/gm, '  | '));
    }
    // LSan lists one block per distinct stack: blocks that differ only below the frames shown
    // (the JS callers) are counted together.
    const groups = new Map();
    for (const leak of leaks) {
      failed = true;
      const ours = leak.frames.filter((frame) => OUR_FRAME.test(frame));
      const shown = (ours.length > 0 ? ours.slice(0, 4) : leak.frames.slice(0, 10)).map(shorten);
      const key = `${leak.kind}\n${ours.length > 0}\n${shown.join('\n')}`;
      const group = groups.get(key) ?? {
        leak,
        ours: ours.length > 0,
        shown,
        bytes: 0,
        objects: 0,
        blocks: 0,
      };
      group.bytes += leak.bytes;
      group.objects += leak.objects;
      group.blocks += 1;
      groups.set(key, group);
    }
    for (const group of groups.values()) {
      const where = group.ours ? "in this project's code" : 'third-party, not in lsan.supp';
      console.log(
        `\nsanitizers: ${name}: ${group.leak.kind.toLowerCase()} leak of ${group.bytes} bytes in ${group.objects} objects (${group.blocks} stacks), ${where}:`,
      );
      console.log(`    ${group.shown.join('\n    ')}`);
    }
  }
  console.log(`\nsanitizers: ${files.length} report file(s) in ${dir}`);
  if (suppressedTotals.size > 0) {
    console.log('sanitizers: leaks suppressed by lsan.supp (objects, bytes, processes, entry):');
    for (const [pattern, total] of [...suppressedTotals].sort((a, b) => b[1].bytes - a[1].bytes)) {
      console.log(`  ${total.count}\t${total.bytes}\t${total.processes}\t${pattern}`);
    }
  }
  return failed ? 1 : 0;
}

process.exitCode = main();
