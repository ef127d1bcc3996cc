// The server load test's report: Markdown tables and a vega-lite chart rendered to SVG by vega (headless
// View.toSVG(), as bench/lib/report.js does), from the results object bench/serve/run.js builds.
//
//   node bench/serve/report.js bench/results/<date>-serve.json    re-renders the .md and .svg beside it
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { renderSpec, writeJson } = require('../lib/report');

const fmt = (value, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : Number(value).toFixed(digits);
const pct = (share) => (share === null || share === undefined ? '-' : `${(share * 100).toFixed(0)}%`);
const ms = (value) => (value === null || value === undefined ? '-' : `${fmt(value, value < 10 ? 2 : 1)} ms`);

function seriesName(row) {
  return row.inputs > 1 ? `${row.route}, ${row.inputs} sentences a request` : row.route;
}

function errorCell(row) {
  return `${row.errors + row.timeouts}${row.timeouts > 0 ? ` (${row.timeouts} timeouts)` : ''}${
    row.badBodies > 0 ? `, ${row.badBodies} malformed` : ''
  }`;
}

/** The throughput and latency table, one row per scenario (also what run.js prints). */
function summaryTable(results) {
  const lines = [
    '| route | connections | sentences a request | req/s (min-max) | sentences/s | p50 | p95 | p99 | max | non-2xx | errors | rows a forward | server CPU | others CPU |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |',
  ];
  for (const row of results.summary) {
    const spread =
      row.rounds > 1 ? ` (${fmt(row.requestsPerSecondMin)}-${fmt(row.requestsPerSecondMax)})` : '';
    lines.push(
      `| ${row.route} | ${row.connections} | ${row.inputs} | ${fmt(row.requestsPerSecond)}${spread} | ` +
        `${fmt(row.inputsPerSecond, 0)} | ${ms(row.p50Ms)} | ${ms(row.p95Ms)} | ${ms(row.p99Ms)} | ${ms(row.maxMs)} | ` +
        `${row.non2xx} | ${errorCell(row)} | ${fmt(row.rowsPerForward)} | ${pct(row.serverCpuShare)} | ` +
        `${pct(row.othersCpuShare)} |`,
    );
  }
  return lines.join('\n');
}

function healthTable(results) {
  const lines = [
    '| while | probes | p50 | p95 | p99 | max | non-200 | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const idle = results.idleHealth;
  if (idle) {
    const l = idle.latencyMs;
    lines.push(
      `| idle (models loaded) | ${l.n} | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.max)} | ` +
        `${idle.non200} | ${idle.errors + idle.unanswered} |`,
    );
  }
  for (const row of results.summary.filter((r) => r.health)) {
    const h = row.health;
    lines.push(
      `| ${row.route} at ${row.connections} connections | ${h.probes} | ${ms(h.p50Ms)} | ${ms(h.p95Ms)} | ` +
        `${ms(h.p99Ms)} | ${ms(h.maxMs)} | ${h.non200} | ${h.errors} |`,
    );
  }
  return lines.join('\n');
}

function soakSection(results) {
  const s = results.soak;
  if (!s) return [];
  const growth = s.rss.secondHalfGrowth;
  const verdict =
    growth !== null && growth <= s.rss.limit
      ? `stable: ${fmt(growth * 100, 2)}% over the second half, within the ${s.rss.limit * 100}% limit`
      : `**not stable**: ${fmt((growth ?? NaN) * 100, 2)}% over the second half, above the ${s.rss.limit * 100}% limit`;
  const errors = s.non2xx + s.errors + s.timeouts + s.badBodies;
  return [
    `## Soak: ${s.route} at ${s.connections} connections for ${fmt(s.seconds, 0)} s`,
    '',
    `The server's RSS (VmRSS of /proc/<pid>/status) read every ${s.sampleSeconds} s from the start of the soak ` +
      '(the server already warm: after the runs above and a warm-up); the slope is a least-squares line through ' +
      "the second half's readings, the growth that line's rise over the second half against its value at the half.",
    '',
    '| requests | req/s | p50 | p99 | max | non-2xx | errors | RSS start | RSS end | RSS max | slope, second half | growth, second half |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${s.requests} | ${fmt(s.requestsPerSecond)} | ${ms(s.latencyMs.p50)} | ${ms(s.latencyMs.p99)} | ` +
      `${ms(s.latencyMs.max)} | ${s.non2xx} | ${errors - s.non2xx} | ${fmt(s.rss.startMb, 0)} MB | ` +
      `${fmt(s.rss.endMb, 0)} MB | ${fmt(s.rss.maxMb, 0)} MB | ${fmt(s.rss.secondHalfSlopeMbPerMin, 2)} MB/min | ` +
      `${fmt((growth ?? NaN) * 100, 2)}% |`,
    '',
    `RSS ${verdict}. Throughput by ${s.sampleSeconds} s window: ${s.windows
      .map((w) => fmt(w.requestsPerSecond, 0))
      .join(', ')} req/s.`,
    '',
  ];
}

function markdown(results, svgName) {
  const m = results.machine;
  const v = results.versions;
  const st = results.settings;
  const sv = results.server;
  const load = (a) => a.map((x) => x.toFixed(2)).join(' / ');
  const totalRequests =
    results.summary.reduce((a, r) => a + r.requests, 0) + (results.soak ? results.soak.requests : 0);
  const lines = [
    `# torch-encoders serve under load, ${results.date} (${results.mode} run)`,
    '',
    `Machine: ${m.cpuModel}, ${m.logicalCores} logical cores, ${m.memoryGb} GB, ${m.os}. Node ${v.node}, ` +
      `torch-encoders ${v.torchEncoders} on libtorch ${v.libtorch} (BLAS: ${v.blas}), autocannon ${v.autocannon}.`,
    '',
    `Server: \`${sv.command}\` (models: ${(sv.models ?? []).map((x) => `${x.name} (${x.task})`).join(', ')}), ` +
      `ready in ${fmt(sv.readyMs / 1000)} s; limits ${sv.limits.maxConcurrentRequests} concurrent requests, ` +
      `${sv.limits.maxBatchTokens} batch tokens, ${sv.limits.maxBatchRequests} requests a batch, ` +
      `${sv.limits.maxClientBatchSize} inputs a request. Load generator: ${st.loadGenerator}, over loopback: the ` +
      `server and the load generator share the machine's ${m.logicalCores} cores.`,
    '',
    `Run: ${st.rounds} round${st.rounds > 1 ? 's' : ''} of every scenario, each a ${st.warmupSeconds} s warm-up ` +
      `then ${st.durationSeconds} s measured${
        st.rounds > 1
          ? '; figures are the medians of the rounds (max: over every round; error counts: sums, warm-ups included)'
          : ' (error counts include the warm-up)'
      }. Load average (1 / 5 / 15 min) before: ${load(m.loadAverageBefore)}, after: ` +
      `${load(m.loadAverageAfter)}. Wall time ${fmt(results.wallSeconds / 60)} min.`,
    '',
    `Request bodies: ${results.sentences.count} real sentences (${results.sentences.sources
      .map((s) => s.name)
      .join(', ')}; ${results.sentences.drawnBy}, sha256 ${results.sentences.sha256.slice(0, 12)}...), ` +
      `rotated through the requests: \`{"inputs": "<sentence>"}\`, or the next ${st.batch.inputs} as an array.`,
    '',
  ];
  if (results.warnings.length > 0) {
    lines.push('> **Warnings**', ...results.warnings.map((w) => `> - ${w}`), '');
  }
  if (results.failures.length > 0) {
    lines.push('> **Failures**', ...results.failures.map((f) => `> - ${f}`), '');
  } else {
    lines.push(
      `**No errors**: ${totalRequests} measured requests (warm-ups and probes besides), every answer 2xx, ` +
        'no connection errors or timeouts, every sampled body well-formed, /health always 200.',
      '',
    );
  }
  lines.push(
    '## Throughput and latency',
    '',
    summaryTable(results),
    '',
    '- **req/s**: 2xx answers after the first ÷ the time from the first answer to the last (batched requests ' +
      'are answered in waves; whole waves between two answers do not depend on where the run stops); ' +
      '**sentences/s** = req/s × sentences a request. Latency: from sending a request to the last byte of its ' +
      'answer, over every 2xx answer of the measured run (autocannon, one request at a time on each connection).',
    '- **rows a forward**: mean rows of the forwards the server ran, from its own `te_batch_next_size` metric ' +
      '(requests that arrive together share a forward).',
    '- **server CPU**, **others CPU**: the server process and every process other than the server, the load ' +
      `generator and the /health probe, as a share of the machine's ${m.logicalCores} cores over the run ` +
      "(/proc); others' is the highest of the rounds. The load generator took the rest.",
    '',
    '## /health under load',
    '',
    `GET /health at ${st.healthRate} probes a second from a process of its own (bench/serve/health-probe.js, ` +
      'keep-alive, open loop: a late probe does not hold back the next), while the server idles and while it ' +
      'serves the busiest /embed run.',
    '',
    healthTable(results),
    '',
    ...soakSection(results),
  );
  if (svgName) lines.push(`![throughput, latency and RSS](${svgName})`, '');
  lines.push(
    `Raw figures (every round, server metrics, machine, versions): ${path.basename(
      results.jsonName ?? `${results.date}-serve.json`,
    )}. Made by \`${results.command}\`.`,
    '',
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Chart
// ---------------------------------------------------------------------------------------------------------------

const HEALTH_SERIES = '/health (probe during /embed)';
const COLORS = ['#d62728', '#1f77b4', '#ff7f0e', '#2ca02c'];

function chartSpec(results) {
  const connections = [...new Set(results.summary.map((r) => r.connections))].sort((a, b) => a - b);
  const series = [...new Set(results.summary.map(seriesName)), HEALTH_SERIES];
  const color = {
    field: 'series',
    type: 'nominal',
    title: null,
    scale: { domain: series, range: COLORS.slice(0, series.length) },
    legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 },
  };
  const x = { field: 'connections', type: 'ordinal', sort: connections, title: 'connections' };
  const throughput = results.summary
    .filter((r) => r.inputsPerSecond !== null)
    .map((r) => ({
      series: seriesName(r),
      connections: r.connections,
      value: r.inputsPerSecond,
      lo: (r.requestsPerSecondMin ?? r.requestsPerSecond) * r.inputs,
      hi: (r.requestsPerSecondMax ?? r.requestsPerSecond) * r.inputs,
      text: fmt(r.inputsPerSecond, 0),
    }));
  const latency = results.summary.flatMap((r) =>
    [
      ['p50', r.p50Ms],
      ['p99', r.p99Ms],
    ].map(([percentile, value]) => ({
      series: seriesName(r),
      connections: r.connections,
      percentile,
      value,
    })),
  );
  for (const r of results.summary.filter((row) => row.health)) {
    latency.push(
      { series: HEALTH_SERIES, connections: r.connections, percentile: 'p50', value: r.health.p50Ms },
      { series: HEALTH_SERIES, connections: r.connections, percentile: 'p99', value: r.health.p99Ms },
    );
  }
  const panels = [
    {
      title: { text: 'Throughput, sentences/s', subtitle: 'higher is better' },
      width: 300,
      height: 240,
      data: { values: throughput },
      layer: [
        {
          mark: { type: 'line', point: { size: 50 } },
          encoding: { x, y: { field: 'value', type: 'quantitative', title: 'sentences/s' }, color },
        },
        {
          mark: { type: 'rule' },
          encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
        },
        // /predict's labels below its points, the others above: at one connection the routes nearly meet.
        ...[
          [`datum.series === '/predict'`, 16],
          [`datum.series !== '/predict'`, -10],
        ].map(([filter, dy]) => ({
          transform: [{ filter }],
          mark: { type: 'text', dy, fontSize: 10 },
          encoding: { x, y: { field: 'value', type: 'quantitative' }, text: { field: 'text' }, color },
        })),
      ],
    },
    {
      title: { text: 'Latency, ms (log scale)', subtitle: 'p50 solid, p99 dashed' },
      width: 300,
      height: 240,
      data: { values: latency.filter((d) => d.value !== null && d.value > 0) },
      layer: [
        {
          mark: { type: 'line', point: { size: 40 } },
          encoding: {
            x,
            y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: 'ms' },
            color,
            strokeDash: {
              field: 'percentile',
              type: 'nominal',
              scale: {
                domain: ['p50', 'p99'],
                range: [
                  [1, 0],
                  [4, 3],
                ],
              },
              legend: null,
            },
          },
        },
        {
          // The probe has a point at one connection count only, no line: its points say which percentile they are.
          transform: [
            { filter: `datum.series === '${HEALTH_SERIES}'` },
            { calculate: "datum.percentile + ' ' + format(datum.value, '.1f')", as: 'label' },
          ],
          mark: { type: 'text', align: 'left', dx: 7, fontSize: 10 },
          encoding: {
            x,
            y: { field: 'value', type: 'quantitative' },
            text: { field: 'label' },
            color,
          },
        },
      ],
    },
  ];
  const soak = results.soak;
  if (soak) {
    const growth = soak.rss.secondHalfGrowth;
    const rss = soak.samples.map((s) => s.rssMb).filter((v) => v !== null);
    panels.push({
      title: {
        text: 'Soak: server RSS, MB',
        subtitle: `${soak.route} at ${soak.connections} connections; second half ${fmt(soak.rss.secondHalfSlopeMbPerMin, 2)} MB/min (${fmt((growth ?? NaN) * 100, 2)}%)`,
      },
      width: 300,
      height: 240,
      data: {
        values: soak.samples
          .filter((s) => s.rssMb !== null)
          .map((s) => ({ minutes: s.seconds / 60, rssMb: s.rssMb })),
      },
      mark: { type: 'line', point: { size: 20, color: '#555' }, color: '#555' },
      encoding: {
        x: { field: 'minutes', type: 'quantitative', title: 'minutes' },
        // A 5% band either side, the failure limit: growth near it shows as a clear slope, noise as noise.
        y: {
          field: 'rssMb',
          type: 'quantitative',
          scale: { domain: [Math.min(...rss) * 0.95, Math.max(...rss) * 1.05], nice: false },
          title: 'RSS, MB',
        },
      },
    });
  }
  const m = results.machine;
  const st = results.settings;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `torch-encoders serve under load (${results.date}, ${results.mode} run)`,
      subtitle: [
        `${m.cpuModel}, ${m.logicalCores} cores shared by the server (--threads ${st.threads}) and autocannon on ` +
          `loopback; demo models; ${st.rounds} round(s) of ${st.durationSeconds} s, medians; whiskers: min-max ` +
          'of rounds.',
        `Load average before ${m.loadAverageBefore[0].toFixed(2)}, after ${m.loadAverageAfter[0].toFixed(2)}. ` +
          `${results.failures.length === 0 ? 'No errors.' : `${results.failures.length} failure(s): see the report.`}`,
      ],
      anchor: 'start',
    },
    hconcat: panels,
    spacing: 60,
    resolve: { scale: { color: 'shared' } },
    config: { font: 'sans-serif', view: { stroke: '#ddd' }, title: { anchor: 'start' } },
  };
}

function writeChart(results, file) {
  return renderSpec(chartSpec(results), file);
}

/** Writes `<stem>.json`, `<stem>.md` and (unless chart: false) `<stem>.svg`; returns the extensions written. */
async function write(results, stem, { chart = true } = {}) {
  fs.mkdirSync(path.dirname(stem), { recursive: true });
  const written = ['json', 'md'];
  const rendered = chart ? await writeChart(results, `${stem}.svg`) : { svg: null, reason: '--no-chart' };
  if (rendered.svg) written.push('svg');
  const full = { ...results, jsonName: path.basename(`${stem}.json`), chart: rendered };
  await writeJson(`${stem}.json`, full);
  fs.writeFileSync(`${stem}.md`, markdown(full, rendered.svg));
  return written;
}

module.exports = { markdown, summaryTable, chartSpec, write };

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/serve/report.js RESULTS.json\n');
    process.exit(2);
  }
  const results = JSON.parse(fs.readFileSync(file, 'utf8'));
  write(results, file.replace(/\.json$/, '')).then(
    (written) => process.stderr.write(`wrote ${file.replace(/\.json$/, '')}.{${written.join(',')}}\n`),
    (error) => {
      process.stderr.write(`${error.stack}\n`);
      process.exit(1);
    },
  );
}
