#!/usr/bin/env node
// Re-renders the Markdown report and the SVG chart of a results file written by bench/run.js (for instance after
// installing vega and vega-lite), without measuring anything again.
//
//   node bench/render.js bench/results/<date>.json
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const report = require('./lib/report');

async function main() {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: node bench/render.js bench/results/<date>.json');
  const results = JSON.parse(fs.readFileSync(file, 'utf8'));
  const stem = file.replace(/\.json$/, '');
  results.chart = await report.writeChart(results, `${stem}.svg`);
  if (results.chart.svg && results.mode === 'full' && !results.only) {
    fs.copyFileSync(`${stem}.svg`, path.join(path.dirname(file), 'latest.svg'));
  }
  await report.writeJson(file, results);
  fs.writeFileSync(`${stem}.md`, report.markdown(results, path.basename(`${stem}.svg`)));
  process.stderr.write(
    `wrote ${stem}.md${results.chart.svg ? ` and ${stem}.svg` : ` (no chart: ${results.chart.reason})`}\n`,
  );
}

main().catch((error) => {
  process.stderr.write(`${error && error.stack ? error.stack : error}\n`);
  process.exit(1);
});
