// Turns a bench/run.js results object into Markdown and a vega-lite chart rendered to SVG by vega (headless
// View.toSVG(); no hand-written SVG). vega and vega-lite are ESM packages, loaded on demand: without them the
// Markdown is still written and the chart is skipped with a reason.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const SCENARIOS = {
  'bert-b1': { title: 'BERT-base, batch 1 x 128 tokens (forward from token ids)', metric: 'latency' },
  'bert-b8': { title: 'BERT-base, batch 8 x 128 tokens (forward from token ids)', metric: 'latency' },
  sentiment: { title: 'Demo sentiment model, end to end from strings', metric: 'throughput' },
  concurrency: { title: 'Concurrent single-text requests (demo sentiment model)', metric: 'concurrency' },
  'concurrency-base': {
    title: 'Concurrent single-text requests (BERT-base sentence embeddings)',
    metric: 'concurrency',
  },
  embeddings: { title: 'all-MiniLM-L6-v2 sentence embeddings of real sentences', metric: 'embeddings' },
  diagnostics: { title: 'Diagnostics: BERT-base b1 x 128 under other settings', metric: 'latency' },
};
const ORDER = [
  'torch-encoders',
  'torch-encoders-sdpa',
  'torch-encoders-int8',
  'torch-encoders-bf16',
  'torch-encoders-1.13',
  'torch-encoders-1.13-int8',
  'torch-encoders-one-worker',
  'torch-encoders-worker-per-thread',
  'torch-encoders-dynamic-batching',
  'torch-encoders-dynamic-batching-one-worker',
  'torch-encoders-dynamic-batching-worker-per-thread',
  'transformers-js-node',
  'transformers-js-node-sorted',
  'transformers-js-node-q8',
  'transformers-js-wasm',
  'python-torch',
];
/** Short names for the chart's axis. */
const SHORT = {
  'torch-encoders': 'torch-encoders fp32 (2.x, eager file)',
  'torch-encoders-sdpa': 'torch-encoders fp32 (2.x, SDPA file)',
  'torch-encoders-int8': 'torch-encoders int8 (2.x)',
  'torch-encoders-bf16': 'torch-encoders bf16 (2.x)',
  'torch-encoders-1.13': 'torch-encoders fp32 (Debian 1.13)',
  'torch-encoders-1.13-int8': 'torch-encoders int8 (Debian 1.13)',
  'torch-encoders-one-worker': 'torch-encoders fp32, workers: 1',
  'torch-encoders-dynamic-batching': 'torch-encoders + dynamicBatching',
  'torch-encoders-dynamic-batching-one-worker': 'torch-encoders + dynamicBatching, workers: 1',
  'torch-encoders-worker-per-thread': 'torch-encoders fp32, a worker per thread',
  'torch-encoders-dynamic-batching-worker-per-thread':
    'torch-encoders + dynamicBatching, a worker per thread',
  'transformers-js-node-sorted': 'transformers.js fp32, length-sorted batches',
  'transformers-js-node': 'transformers.js fp32 (onnxruntime-node)',
  'transformers-js-node-q8': 'transformers.js q8 (onnxruntime-node)',
  'transformers-js-wasm': 'transformers.js (WASM)',
  'python-torch': 'Python torch 2.x (TorchScript)',
};
/** One colour per ORDER entry, in its order. */
const COLORS = [
  '#d62728',
  '#e7969c',
  '#ff9896',
  '#bcbd22',
  '#8c564b',
  '#c49c94',
  '#ff7f0e',
  '#f7b6d2',
  '#e377c2',
  '#9467bd',
  '#c5b0d5',
  '#1f77b4',
  '#6baed6',
  '#17becf',
  '#aec7e8',
  '#2ca02c',
];

const fmt = (value, digits = 1) =>
  value === null || value === undefined || Number.isNaN(value) ? '-' : Number(value).toFixed(digits);
const ms = (value) =>
  value === null || value === undefined ? '-' : value >= 100 ? fmt(value, 0) : fmt(value, 1);

function sortRows(rows) {
  return [...rows].sort(
    (a, b) =>
      Object.keys(SCENARIOS).indexOf(a.scenario) - Object.keys(SCENARIOS).indexOf(b.scenario) ||
      ORDER.indexOf(a.contender) - ORDER.indexOf(b.contender),
  );
}

function contenderLabel(results, row) {
  const label = results.contenders[row.contender] ?? row.contender;
  return row.variant ? `${label}, ${row.variant}` : label;
}

function scenarioCell(row) {
  const prefix = row.scenario === 'diagnostics' ? 'diag. ' : '';
  if (row.metric === 'latency') return `${prefix}b${row.batch}×s${row.seq}`;
  if (row.metric === 'throughput') return `${prefix}sentiment, ${row.texts} texts, batch ${row.batchSize}`;
  if (row.metric === 'embeddings') return `embeddings, ${row.texts} sentences, batch ${row.batchSize}`;
  const model = row.scenario === 'concurrency-base' ? 'BERT-base embeddings' : 'sentiment';
  return `${prefix}${row.requests} concurrent requests, ${model}`;
}

/** The main table: one line per contender and scenario, all from the same run. */
function markdownTable(results) {
  const lines = [
    '| scenario | contender | runtime | median | p95 | spread | throughput | GFLOP/s | peak RSS | speed vs torch-encoders |',
    '| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const row of sortRows(results.summary)) {
    let median = '-';
    let p95 = '-';
    let spread = '-';
    let throughput = '-';
    if (row.metric === 'latency' || row.metric === 'concurrency') {
      median = `${ms(row.medianMs)} ms`;
      p95 = `${ms(row.p95Ms)} ms`;
      const n = row.metric === 'latency' ? row.runs : row.rounds * row.requests;
      const processes =
        row.processes > 1
          ? ` in ${row.processes} processes, medians ${row.processMediansMs.map(ms).join(' / ')}`
          : '';
      spread = `IQR ${ms(row.q1Ms)}–${ms(row.q3Ms)}, min ${ms(row.minMs)}, max ${ms(row.maxMs)} (n=${n}${processes})`;
      throughput =
        row.metric === 'latency'
          ? `${fmt(row.sequencesPerSecond, 2)} seq/s`
          : `${fmt(row.requestsPerSecond, 1)} req/s`;
    } else if (row.metric === 'throughput') {
      median = `${ms(row.medianMs)} ms / round`;
      spread =
        row.rounds > 1
          ? `${fmt(row.textsPerSecondMin, 0)}–${fmt(row.textsPerSecondMax, 0)} texts/s (${row.rounds} rounds` +
            `${row.processes > 1 ? ` in ${row.processes} processes` : ''})`
          : '1 round';
      throughput = `${fmt(row.textsPerSecond, 0)} texts/s`;
    } else if (row.metric === 'embeddings') {
      // median: a batched pass over every sentence; p95: of single requests, the median of the rounds' p95s.
      median = `${ms(row.medianMs)} ms / round`;
      p95 = `${ms(row.latencyP95Ms)} ms (single)`;
      spread =
        `${fmt(row.textsPerSecondMin, 0)}–${fmt(row.textsPerSecondMax, 0)} sentences/s; single-request p95 ` +
        `${ms(row.latencyP95MinMs)}–${ms(row.latencyP95MaxMs)} ms (${row.rounds} round${row.rounds > 1 ? 's' : ''}` +
        `${row.processes > 1 ? ` in ${row.processes} processes` : ''})`;
      throughput = `${fmt(row.textsPerSecond, 0)} sentences/s`;
    }
    const gflops =
      row.gflops === undefined
        ? '-'
        : `${fmt(row.gflops, 1)}${row.shareOfSgemmPeak ? ` (${fmt(100 * row.shareOfSgemmPeak, 0)}%)` : ''}`;
    const isReference = row.contender === 'torch-encoders' && row.scenario !== 'diagnostics';
    const versus =
      row.scenario === 'diagnostics' && row.speedReference
        ? ` (vs ${row.speedReference.replace('bert-', '')})`
        : '';
    const speed = isReference
      ? '1 (reference)'
      : row.speedVsTorchEncoders === null
        ? '-'
        : `${fmt(row.speedVsTorchEncoders, 2)}×${versus}`;
    lines.push(
      `| ${scenarioCell(row)} | ${contenderLabel(results, row)} | ${row.runtime ?? '-'} | ${median} | ${p95} | ${spread} | ${throughput} | ${gflops} | ${fmt(row.peakRssMb, 0)} MB | ${speed} |`,
    );
  }
  return lines.join('\n');
}

/** Where libtorch's BERT-base forward spends its time, op by op, and what the matrix multiplies achieve. */
function profileSection(profile, results) {
  if (!profile) return [];
  const total = profile.ops.reduce((sum, op) => sum + op.selfMs, 0);
  const base = results.models.base.config;
  const [h, i, layers] = [base.hidden_size, base.intermediate_size, base.num_hidden_layers];
  // Linear layers of one b1 x s128 forward: Q, K, V, attention output (h x h each), FFN in and out (h x i each),
  // the pooler (h x h, one token): 2 FLOPs per multiply-add.
  const linearFlops = 2 * (layers * 128 * (4 * h * h + 2 * h * i) + h * h);
  const linearOps = [
    'aten::addmm',
    'aten::linear',
    'aten::mm',
    'quantized::linear_dynamic',
    'mkldnn::_linear',
  ];
  const linearMs = profile.ops
    .filter((op) => linearOps.includes(op.op))
    .reduce((sum, op) => sum + op.selfMs, 0);
  const title = profile.variant ?? 'fp32';
  const lines = [
    `## Where the forward goes: ${title} (libtorch profiler, BERT-base b1 × s128)`,
    '',
    `Self CPU time per op, averaged over ${profile.runs} forwards of the TorchScript file under ` +
      "torch.autograd.profiler (Python torch: the same libtorch ops, threads and executor setting as torch-encoders' " +
      `workers); ${ms(profile.wallMsPerForward)} ms per forward with the profiler on.`,
    '',
    '| op | calls per forward | self ms per forward | share |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const op of profile.ops.slice(0, 8)) {
    lines.push(`| ${op.op} | ${op.calls} | ${ms(op.selfMs)} | ${fmt((100 * op.selfMs) / total, 1)}% |`);
  }
  if (linearMs > 0) {
    lines.push(
      '',
      `The linear layers (${linearOps.filter((name) => profile.ops.some((op) => op.op === name)).join(', ')}) ` +
        `take ${ms(linearMs)} ms (${fmt((100 * linearMs) / total, 0)}%) for ${fmt(linearFlops / 1e9, 1)} GFLOP: ` +
        `${fmt(linearFlops / (linearMs / 1000) / 1e9, 0)} GFLOP/s` +
        (results.sgemm ? ` (the machine's fp32 GEMM limit: ${fmt(results.sgemm.gflops, 0)} GFLOP/s)` : '') +
        '.',
    );
  }
  lines.push('');
  return lines;
}

/** The best large fp32 MatMul each library reaches here, and the best of all (the limit GFLOP/s is read against). */
function gemmSection(results) {
  if (!results.gemmPeaks || results.gemmPeaks.length === 0) return [];
  const lines = [
    "## The machine's fp32 GEMM limit",
    '',
    `Best of ${results.sgemm.timesMs.length} fp32 MatMuls of two ${results.sgemm.n}×${results.sgemm.n} matrices per ` +
      `process, ${results.sgemm.threads} threads, measured at the start and at the end of the run (each figure below ` +
      'is one process):',
    '',
    '| library | best GFLOP/s | each process |',
    '| --- | ---: | --- |',
  ];
  for (const peak of [...results.gemmPeaks].sort((a, b) => b.gflops - a.gflops)) {
    lines.push(
      `| ${peak.library} | ${fmt(peak.gflops, 0)} | ${peak.gflopsEach.map((g) => fmt(g, 0)).join(' / ')} |`,
    );
  }
  lines.push(
    '',
    `The GFLOP/s column of the results reads each forward against the best: ${fmt(results.sgemm.gflops, 0)} GFLOP/s.`,
    '',
  );
  return lines;
}

/**
 * The embeddings scenario: what was embedded (sources, seed, counts), the model and its exports, each contender's
 * throughput and single-request latency with their spread, and its answers against torch-encoders'.
 */
function embeddingsSection(results) {
  const rows = sortRows(results.summary.filter((r) => r.scenario === 'embeddings'));
  const model = results.models.embeddings;
  if (rows.length === 0 || !model) return [];
  const sample = results.embeddingSentences;
  const checks = results.agreement.filter((check) => check.scenario === 'embeddings');
  const reference = rows.find((r) => r.contender === 'torch-encoders');
  const first = rows[0];
  const cos = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x.toFixed(6));
  const lines = [
    '## Sentence embeddings: all-MiniLM-L6-v2 (models/embeddings)',
    '',
    `The demo embeddings model (${(model.parameters / 1e6).toFixed(1)} M parameters, ` +
      `${model.config.num_hidden_layers} layers, ${model.config.hidden_size} wide; model.safetensors sha256 ` +
      `${(model.modelSha256 ?? '-').slice(0, 12)}…), mean pooling over real tokens and L2 normalisation, from strings. ` +
      `torch-encoders loads models/embeddings/model.pt; transformers.js the ONNX export of that same file ` +
      `(${model.onnxSource}; fp32 \`onnx/model.onnx\`, \`q8\` = ${model.q8Onnx}), prepared by bench/prepare.py in ` +
      `${model.onnxDir.replace(/^.*\/(build\/)/, '$1')}. Checked there before timing: the ONNX fp32 file against ` +
      `model.pt, max |difference| of last_hidden_state ${fmt(model.checks?.onnxFp32MaxAbsDiff * 1e6, 1)}e-6 ` +
      `(q8: ${fmt(model.checks?.onnxQ8MaxAbsDiff, 2)}); model.pt against sentence-transformers ` +
      `${model.checks?.sentenceTransformers ?? '-'} on the checkpoint, lowest cosine ` +
      `${cos(model.checks?.sentenceTransformersMinCosine)}. torch-encoders int8: ` +
      `${model.int8Dir ? 'tools/export.py --quantize int8' : `none (${model.int8Source})`}.`,
    '',
  ];
  if (sample) {
    lines.push(
      `Sentences: ${sample.count} real sentences, a fixed sample (seed ${sample.seed}, ${sample.words.min}–` +
        `${sample.words.max} words, deduplicated; sha256 ${sample.sha256.slice(0, 12)}…; ${sample.drawnBy}): ` +
        sample.sources
          .map(
            (source) =>
              `${source.taken} of ${source.candidates} from ${source.what} (${source.files.join(', ')})`,
          )
          .join('; ') +
        (first.tokenLengths
          ? `. ${first.tokenLengths.min}–${first.tokenLengths.max} tokens (median ${first.tokenLengths.median}), ` +
            `none over the model's ${model.maxLength}`
          : '') +
        '.',
      '',
    );
  }
  lines.push(
    `Every contender in its own process, ${results.threads} intra-op threads, the same ${first.texts} sentences ` +
      `in batches of ${first.batchSize}. Per round: every sentence in batches, timed whole (sentences/s), then ` +
      `${first.latencyRequests} single-sentence requests one after the other (median and p95 of that round). ` +
      'Figures are the median over rounds, with the lowest and highest round. torch-encoders: one ' +
      `\`embed(sentences, { pooling: 'mean', normalize: true, batchSize: ${first.batchSize} })\` call (it sorts by ` +
      'length and pads each batch to its own longest), with its defaults ' +
      `(${model.defaultWorkers === 1 ? 'one model worker with every thread' : `${model.defaultWorkers} model workers`}) ` +
      "and with the other worker setting; transformers.js: `extractor(chunk, { pooling: 'mean', normalize: true })` " +
      'on consecutive chunks in input order (it pads a call to its longest member), and on chunks of the sentences ' +
      'sorted by character length (sorted inside the timed pass, vectors put back in input order).',
    '',
    '| contender | runtime | sentences/s (min–max) | single request: median | p95 (min–max) | vs torch-encoders | cosine to torch-encoders: min / median |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- |',
  );
  for (const row of rows) {
    const check = checks.find((c) => c.contender === row.contender);
    const agreement =
      row.contender === 'torch-encoders' && !check
        ? 'reference'
        : check
          ? `${cos(check.minCosine)} / ${cos(check.medianCosine)}` +
            (check.ok === false
              ? ` **FAILED** (≥ ${check.tolerance?.minCosine} required${check.error ? `: ${check.error}` : ''})`
              : '') +
            (check.ok === null ? ' (measured, not judged)' : '') +
            (row.contender === 'torch-encoders' ? ' (its other processes against the first)' : '')
          : '-';
    const versus =
      reference && row !== reference ? `${fmt(row.textsPerSecond / reference.textsPerSecond, 2)}×` : '1';
    lines.push(
      `| ${SHORT[row.contender] ?? row.contender}${row.workers ? ` (workers: ${row.workers})` : ''} | ${row.runtime ?? '-'} | ` +
        `${fmt(row.textsPerSecond, 0)} (${fmt(row.textsPerSecondMin, 0)}–${fmt(row.textsPerSecondMax, 0)}) | ` +
        `${ms(row.latencyMedianMs)} ms | ${ms(row.latencyP95Ms)} ms (${ms(row.latencyP95MinMs)}–${ms(row.latencyP95MaxMs)}) | ` +
        `${versus} | ${agreement} |`,
    );
  }
  lines.push(
    '',
    `Same answers: each contender's vectors of all ${first.texts} sentences (every process) against torch-encoders' ` +
      `first process, sentence by sentence; fp32 rows must reach a cosine of ${checks.find((c) => c.tolerance)?.tolerance.minCosine ?? 0.9999} ` +
      'on every sentence (else the run fails), int8 and q8 are reported as measured.',
    '',
  );
  return lines;
}

/** Issue 10's acceptance figures, each a ratio of two rows of this run. */
function acceptanceSection(results) {
  const items = results.acceptance?.items ?? [];
  if (items.length === 0) return [];
  const label = (side) => `${SHORT[side.contender] ?? side.contender}`;
  const figure = (side) =>
    side.medianMs !== undefined
      ? `${ms(side.medianMs)} ms`
      : side.textsPerSecond !== undefined
        ? `${fmt(side.textsPerSecond, 0)} texts/s`
        : `${fmt(side.requestsPerSecond, 1)} req/s`;
  const lines = [
    '## Acceptance figures (issue 10)',
    '',
    `Best opt-in mode (fastest at b1): ${results.acceptance.bestOptInMode ?? '-'}. Latency ratios are ours ÷ ` +
      "theirs (lower is better); rates are ours ÷ theirs (higher is better); WASM's is its time ÷ ours.",
    '',
    '| figure | scenario | ours | theirs | ratio | target | met |',
    '| --- | --- | --- | --- | ---: | --- | --- |',
  ];
  for (const item of items) {
    const aim = item.aim ? ` (aim ${item.aim}: ${item.aimMet ? 'met' : 'missed'})` : '';
    lines.push(
      `| ${item.what} | ${item.scenario} | ${label(item.ours)} ${figure(item.ours)} | ${label(item.theirs)} ` +
        `${figure(item.theirs)} | ${fmt(item.ratio, 2)} | ${item.target}${aim} | ${item.met ? 'yes' : '**no**'} |`,
    );
  }
  lines.push('');
  return lines;
}

function nodeShareSection(share) {
  if (share === null) return [];
  const pct = (part) => `${fmt((100 * part) / share.sumOfPartsMs, 1)}%`;
  return [
    '## Node-side share (torch-encoders, BERT-base b1 × s128, end to end from a string)',
    '',
    `Medians of ${share.runs} runs, each piece timed from outside the library in bench/contenders/torch-encoders.js, ` +
      `on a ${share.textLength}-character text of ${share.untruncatedTokens} tokens truncated to ${share.dims[1]}:`,
    '',
    '| piece | median | share of the sum |',
    '| --- | ---: | ---: |',
    `| tokenize (TextTokenizer.encodeBatch, HF tokenizers in Rust) | ${fmt(share.tokenizeMs, 2)} ms | ${pct(share.tokenizeMs)} |`,
    `| marshal (padSequences: padding into int64 typed arrays) | ${fmt(share.marshalMs, 3)} ms | ${pct(share.marshalMs)} |`,
    `| native forward (Model.forward, libtorch) | ${fmt(share.forwardMs, 1)} ms | ${pct(share.forwardMs)} |`,
    `| post-process (row split, mean pooling, L2 normalisation) | ${fmt(share.postprocessMs, 2)} ms | ${pct(share.postprocessMs)} |`,
    `| **sum** | ${fmt(share.sumOfPartsMs, 1)} ms | |`,
    '',
    `Non-forward (Node-side) share: **${fmt(100 * share.nonForwardShare, 1)}%** (${fmt(share.nonForwardMs, 2)} ms of ` +
      `${fmt(share.sumOfPartsMs, 1)} ms). The public feature-extraction pipeline on the same text took ` +
      `${fmt(share.pipelineMedianMs, 1)} ms (median; p95 ${fmt(share.pipelineP95Ms, 1)} ms), of which ` +
      `${fmt(share.pipelineOverheadMs, 2)} ms (${fmt(100 * share.pipelineOverheadShare, 1)}%) outside its forward ` +
      `(median ${fmt(share.pipelineForwardMedianMs, 1)} ms: the pipeline loads its own instance of the model).`,
    '',
  ];
}

function responsivenessSection(rows) {
  if (!rows || rows.length === 0) return [];
  const delay = (d) => `${fmt(d.p50Ms, 1)} / ${fmt(d.p99Ms, 1)} / ${ms(d.maxMs)} ms`;
  return [
    '## Event-loop responsiveness while the model works',
    '',
    'Event-loop delay (how late a 10 ms timer fires, as `perf_hooks.monitorEventLoopDelay` samples it, plus the ' +
      'stretch from its last tick to the end) in one process: idle after warm-up, then while rounds of calls issued ' +
      'at once run (bench/contenders/responsiveness.js). "late" is the share of the busy wall time the loop spent ' +
      'late: near 0 the loop kept turning, 1 it never turned. Beside other work on the cores the idle row shows it too.',
    '',
    '| contender | workload | calls | idle p50 / p99 / max | busy p50 / p99 / max | late | busy wall |',
    '| --- | --- | ---: | --- | --- | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${SHORT[r.contender] ?? r.contender} | ${r.variant} | ${r.calls} | ${delay(r.idle)} | ` +
        `${delay(r.busy)} | ${fmt(100 * r.busy.lateShare, 0)}% | ${ms(r.busy.wallMs)} ms |`,
    ),
    '',
  ];
}

/** RSS after each load/dispose cycle of the BERT-base weights, per library (bench/contenders/load-dispose.js). */
function loadDisposeSection(rows, modelName) {
  if (!rows || rows.length === 0) return [];
  const every = (values) => values.map((x) => fmt(x, 0)).join(' ');
  return [
    `## Load/dispose cycles (${modelName}, ${rows[0].cycles} cycles)`,
    '',
    `Each cycle loads the same ${modelName} weights (TorchScript` +
      ' for torch-encoders, the ONNX export of the same weights ' +
      'for onnxruntime-node), runs two b1 × 16 forwards and frees the model (`Model.dispose()`, ' +
      '`InferenceSession.release()`); RSS is sampled after each cycle following a full collection. Growth is ' +
      `counted from cycle ${rows[0].settleCycles}, once the allocator has seen a few models come and go.`,
    '',
    '| library | runtime | RSS before | with the 1st model | after the 1st cycle | after cycle ' +
      `${rows[0].settleCycles} | at the end | highest | growth after cycle ${rows[0].settleCycles} | load median |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.library} | ${r.runtime ?? '-'} | ${fmt(r.rssBeforeMb, 0)} MB | ${fmt(r.loadedRssFirstMb, 0)} MB | ` +
        `${fmt(r.rssAfterFirstMb, 0)} MB | ${fmt(r.rssSettledMb, 0)} MB | ${fmt(r.rssEndMb, 0)} MB | ` +
        `${fmt(r.rssMaxMb, 0)} MB | ${fmt(r.growthAfterSettleMb, 0)} MB | ${ms(r.loadMedianMs)} ms |`,
    ),
    '',
    ...rows.flatMap((r) => [`RSS after each cycle, ${r.library} (MB): ${every(r.rssMb)}`, '']),
  ];
}

function markdown(results, svgName) {
  const m = results.machine;
  const v = results.versions;
  const lines = [
    `# torch-encoders benchmark, ${results.date} (${results.mode} run)`,
    '',
    `Machine: ${m.cpuModel}, ${m.logicalCores} logical cores (${m.simd.join(', ') || 'no AVX2/FMA'}), ${m.memoryGb} GB, ${m.os}. ` +
      `**Every contender runs with ${results.threads} intra-op threads**, each scenario in its own process ` +
      '(peak RSS = getrusage maxRSS of that process, model load included).',
    '',
    // A run of some scenarios only names the runtimes that ran.
    'Versions: ' +
      [
        `torch-encoders ${v.torchEncoders} on libtorch ${v.libtorch} (BLAS: ${v.libtorchBlas}; the default runtime)` +
          (v.libtorchDebian
            ? ` and on Debian's libtorch ${v.libtorchDebian} (BLAS: ${v.libtorchDebianBlas ?? '-'}; ` +
              '`TORCH_ENCODERS_LIBTORCH=/usr/lib/x86_64-linux-gnu` in those processes)'
            : ''),
        v.transformersJs &&
          `transformers.js ${v.transformersJs} with ` +
            [
              v.onnxruntimeNode && `onnxruntime-node ${v.onnxruntimeNode}`,
              v.onnxruntimeWeb && `onnxruntime-web ${v.onnxruntimeWeb}`,
            ]
              .filter(Boolean)
              .join(' and '),
        v.pythonTorch && `Python ${v.python} with torch ${v.pythonTorch}`,
        `Node ${v.node}`,
      ]
        .filter(Boolean)
        .join('; ') +
      '.',
    '',
  ];
  const info = m.buildInfo?.['torch-encoders'];
  if (info || m.cpuinfo) {
    const avx512 = m.cpuinfo?.avx512 ?? [];
    lines.push(
      `CPU: ${m.cpuModel} (/proc/cpuinfo: vendor ${m.cpuinfo?.vendor ?? '-'}, family ${m.cpuinfo?.family ?? '-'}, ` +
        `model ${m.cpuinfo?.model ?? '-'}; ${avx512.length > 0 ? avx512.join(' ') : 'no AVX-512'}; ` +
        `${m.cpuinfo?.bf16 ? 'bf16 in hardware' : 'no bf16 in hardware'})` +
        (info
          ? `; buildInfo().cpu: ${info.cpu.vendor}, ${info.cpu.model}, avx512 ${info.cpu.avx512}; MKL vendor override ` +
            `${info.mklCpuOverride.active ? 'active' : 'inactive'} (${info.mklCpuOverride.reason}).`
          : '.'),
      '',
    );
  }
  if (results.warnings.length > 0) {
    lines.push('> **Warnings**', ...results.warnings.map((w) => `> - ${w}`), '');
  }
  if (results.failures.length > 0) {
    lines.push(
      '> **Failed jobs**',
      ...results.failures.map((f) => `> - ${f.scenario} / ${f.contender}: ${f.error.split('\n')[0]}`),
      '',
    );
  }
  if (results.summary.length === 0 && (results.loadDispose ?? []).length > 0) {
    // A run of --only load-dispose: the rest of the report would describe scenarios that did not run.
    lines.push(...loadDisposeSection(results.loadDispose, results.models.base.name));
    lines.push(
      `Raw figures: ${results.date}${results.mode === 'full' ? '' : `-${results.mode}`}-load-dispose.json. ` +
        `Made by \`node bench/run.js --only load-dispose${results.mode === 'full' ? '' : ` --${results.mode}`}\`.`,
      '',
    );
    return lines.join('\n');
  }
  if (svgName && results.chart?.svg) lines.push(`![benchmark chart](${svgName})`, '');
  lines.push('## Results', '', markdownTable(results), '');
  lines.push(
    '- **speed vs torch-encoders**: torch-encoders fp32 time ÷ contender time in the same scenario (for throughput, ' +
      'contender ÷ torch-encoders rate): above 1 the contender is faster, below 1 slower.',
  );
  const has = (metric, scenario) =>
    results.summary.some((r) => r.metric === metric && (scenario === undefined || r.scenario === scenario));
  if (results.models.base && has('latency')) {
    lines.push(
      `- **${results.models.base.name} rows**: one set of random weights (seed ` +
        `${results.models.base.weightSeed}, ${(results.models.base.parameters / 1e6).toFixed(1)} M parameters) as TorchScript fp32 ` +
        '(torch-encoders, Python torch), TorchScript int8 and ONNX opset 14 (transformers.js); the forward of fixed ' +
        'token ids (no tokenization), warm-up runs excluded. fp32 TorchScript: ' +
        `${results.models.base.fp32Source ?? 'traced'}; int8: ${results.models.base.int8Source}.`,
      `- **GFLOP/s**: FLOPs of the forward ÷ median time. ${results.flopsFormula}. int8 rows count the same ` +
        'FLOPs (fp32-equivalent work).',
    );
  }
  if (results.sgemm) {
    lines.push(
      `- **fp32 GEMM limit of this machine**: ${fmt(results.sgemm.gflops, 1)} GFLOP/s (${results.sgemm.library ?? results.sgemm.contender}: ` +
        `best of ${results.sgemm.timesMs.length} ${results.sgemm.n}×${results.sgemm.n} fp32 matmuls, ` +
        `${results.sgemm.threads} threads; every library's below); the GFLOP/s column gives each forward's share of it.`,
    );
  }
  const sentiment = results.summary.find((r) => r.scenario === 'sentiment' && r.tokenLengths);
  const classifier = results.models.classifier;
  const workers = (n) =>
    n === 1
      ? 'one model worker with every thread (one forward at a time)'
      : `${n} model workers of ${Math.max(1, results.threads / n)} thread${results.threads / n > 1 ? 's' : ''} each (forwards side by side)`;
  if (classifier && has('throughput', 'sentiment')) {
    lines.push(
      `- **sentiment rows**: ${classifier.source === 'demo' ? 'the demo model models/sentiment' : classifier.source} ` +
        `(${classifier.config.num_hidden_layers} layers, ${classifier.config.hidden_size} wide), real sentences from ` +
        "UCI's Sentiment Labelled Sentences (Amazon, IMDb, Yelp; fixed-seed sample)" +
        (sentiment
          ? `, ${sentiment.tokenLengths.min}–${sentiment.tokenLengths.max} tokens (median ${sentiment.tokenLengths.median})`
          : '') +
        '. torch-encoders: one `classify(texts, { batchSize: 8 })` call (it sorts by length and pads each batch to its ' +
        'own longest); transformers.js: `classifier(chunk)` on consecutive chunks of 8 in input order (it pads a call to ' +
        'its longest member). Both tokenize, run the model and apply softmax + top-1 label. torch-encoders runs with its ' +
        'defaults' +
        (Number.isInteger(classifier.defaultWorkers)
          ? `: for this model ${workers(classifier.defaultWorkers)} `
          : ' ') +
        '(lib/default-workers.ts: a worker per thread only for models too small to use a second thread); the ' +
        '"workers: 1" or "a worker per thread" row is the other setting.',
    );
  }
  if (has('concurrency')) {
    lines.push(
      '- **concurrent requests**: all requests issued at once (`Promise.all` of single-text calls), latency from issue ' +
        'to result, throughput = requests ÷ wall time; warm-up rounds excluded. torch-encoders without dynamicBatching ' +
        "runs one forward per request, queued on the model's workers; with it, requests that arrive together share forwards " +
        '(grouped by length). ' +
        'transformers.js on onnxruntime-node runs concurrent session.run calls.',
    );
  }
  lines.push(
    ...(results.int8Accuracy
      ? [
          `- **int8 accuracy cost** (demo sentiment model, the ${results.int8Accuracy.sentences} held-out sentences of ` +
            `its model card): fp32 ${fmt(100 * results.int8Accuracy.fp32Accuracy, 1)}%, int8 ` +
            `${fmt(100 * results.int8Accuracy.int8Accuracy, 1)}% correct; the same label on ` +
            `${fmt(100 * results.int8Accuracy.sameLabel, 1)}% of them.`,
        ]
      : []),
    ...(results.summary.some((r) => r.contender === 'transformers-js-wasm')
      ? [
          '- **WASM** runs no native code: onnxruntime-node and sharp are stubbed out, onnxruntime-web is handed to ' +
            'transformers.js (see bench/contenders/transformers-js.js); it gets fewer runs of the large shapes.',
        ]
      : []),
    '',
  );
  lines.push(...embeddingsSection(results));
  lines.push(...acceptanceSection(results));
  lines.push(...gemmSection(results));
  lines.push(...nodeShareSection(results.nodeShare));
  lines.push(...loadDisposeSection(results.loadDispose, results.models.base?.name));
  lines.push(...responsivenessSection(results.responsiveness));
  for (const profile of results.profiles ?? [results.profile])
    lines.push(...profileSection(profile, results));
  const otherChecks = results.agreement.filter((check) => check.scenario !== 'embeddings');
  if (otherChecks.length > 0) {
    lines.push(
      '## Same weights, same answers',
      '',
      'Every mode against the fp32 reference (torch-encoders fp32 on the default libtorch) on the same inputs: for ' +
        'BERT-base, a strided sample of last_hidden_state (2,048 values, every k-th of the output) from each ' +
        "contender's last timed forward; relative RMS = RMS of the difference ÷ RMS of the reference. For the " +
        'sentiment model, the top label on every benchmark sentence.',
      '',
      '| scenario | contender | mode | runtime | max abs diff | relative RMS | tolerance | ok |',
      '| --- | --- | --- | --- | ---: | ---: | --- | --- |',
    );
    for (const check of otherChecks) {
      const ok = check.ok ? 'yes' : '**NO**';
      if (check.maxAbsDiff !== undefined) {
        const tolerance =
          check.tolerance.maxAbsDiff !== undefined
            ? `max abs ≤ ${check.tolerance.maxAbsDiff}`
            : `rel. RMS ≤ ${check.tolerance.relRms}`;
        lines.push(
          `| ${check.scenario} | ${results.contenders[check.contender]} | ${check.mode} | ${check.runtime ?? '-'} | ` +
            `${check.maxAbsDiff.toExponential(2)} | ${check.relRms.toExponential(2)} | ${tolerance} | ${ok} |`,
        );
      } else if (check.sameLabelFraction !== undefined) {
        lines.push(
          `| ${check.scenario} | ${results.contenders[check.contender]} | ${check.mode ?? '-'} | - | ` +
            `same top label: ${fmt(100 * check.sameLabelFraction, 1)}% | - | ≥ ${check.mode === 'int8' ? '95' : '99.9'}% | ${ok} |`,
        );
      } else {
        lines.push(
          `| ${check.scenario} | ${results.contenders[check.contender]} | ${check.mode} | - | - | - | ${check.error} | ${ok} |`,
        );
      }
    }
    lines.push('');
  }
  const modeSuffix = results.mode === 'full' ? '' : `-${results.mode}`;
  const onlySuffix = results.only ? `-${results.only.join('+')}` : '';
  lines.push(
    `Raw figures (every timed run, machine info, model preparation): ${results.date}${modeSuffix}${onlySuffix}.json. ` +
      `Made by \`node bench/run.js${results.mode === 'full' ? '' : ` --${results.mode}`}` +
      `${results.only ? ` --only ${results.only.join(',')}` : ''}\`.`,
    '',
  );
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Chart
// ---------------------------------------------------------------------------------------------------------------

/** One bar per contender and scenario: the scenario's headline figure with its spread. */
function chartRows(results) {
  const rows = [];
  for (const row of sortRows(results.summary)) {
    if (row.scenario === 'diagnostics') continue;
    const label = SHORT[row.contender] ?? row.contender;
    if (row.metric === 'latency') {
      rows.push({
        panel: `BERT-base forward b${row.batch} × s${row.seq}: median ms (lower is better)`,
        contender: label,
        value: row.medianMs,
        lo: row.q1Ms,
        hi: row.q3Ms,
        text: `${ms(row.medianMs)} ms`,
      });
    } else if (row.metric === 'throughput') {
      rows.push({
        panel: `Sentiment, ${row.texts} texts from strings: texts/s (higher is better)`,
        contender: label,
        value: row.textsPerSecond,
        lo: row.textsPerSecondMin,
        hi: row.textsPerSecondMax,
        text: `${fmt(row.textsPerSecond, 0)}/s`,
      });
    } else if (row.metric === 'embeddings') {
      rows.push({
        panel: `MiniLM-L6 embeddings, ${row.texts} sentences: sentences/s (higher is better)`,
        contender: label,
        value: row.textsPerSecond,
        lo: row.textsPerSecondMin,
        hi: row.textsPerSecondMax,
        text: `${fmt(row.textsPerSecond, 0)}/s`,
      });
      rows.push({
        panel: 'MiniLM-L6 embeddings, single requests: p95 ms (lower is better)',
        contender: label,
        value: row.latencyP95Ms,
        lo: row.latencyP95MinMs,
        hi: row.latencyP95MaxMs,
        text: `${ms(row.latencyP95Ms)} ms`,
      });
    } else {
      rows.push({
        panel: `${row.requests} concurrent requests, ${
          row.scenario === 'concurrency-base' ? 'BERT-base embeddings' : 'demo sentiment'
        }: requests/s (higher is better)`,
        contender: label,
        value: row.requestsPerSecond,
        lo: row.requestsPerSecond,
        hi: row.requestsPerSecond,
        text: `${fmt(row.requestsPerSecond, 1)}/s, p95 ${ms(row.p95Ms)} ms`,
      });
    }
  }
  return rows;
}

function chartSpec(results) {
  const data = chartRows(results);
  // Every panel lists its contenders in one order: torch-encoders' variants first.
  const contenders = ORDER.map((id) => SHORT[id]).filter((label) => data.some((d) => d.contender === label));
  const colorOf = (label) => {
    const id = Object.entries(SHORT).find(([, short]) => short === label)?.[0];
    return COLORS[Math.max(0, ORDER.indexOf(id))];
  };
  const y = { field: 'contender', type: 'nominal', sort: contenders, title: null };
  const m = results.machine;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `torch-encoders benchmark (${results.date}, ${results.mode} run)`,
      subtitle: [
        `${m.cpuModel}, ${m.logicalCores} cores, ${results.threads} threads for every contender. ` +
          'Whiskers: IQR of runs (latency), min-max of rounds (throughput).',
      ],
      anchor: 'start',
    },
    data: { values: data },
    facet: {
      row: {
        field: 'panel',
        type: 'nominal',
        sort: [...new Set(data.map((d) => d.panel))],
        title: null,
        header: {
          labelAngle: 0,
          labelOrient: 'top',
          labelAnchor: 'start',
          labelFontWeight: 'bold',
          labelLimit: 700,
        },
      },
    },
    spec: {
      width: 380,
      height: { step: 20 },
      layer: [
        {
          mark: { type: 'bar', height: { band: 0.8 } },
          encoding: {
            y,
            x: { field: 'value', type: 'quantitative', title: null },
            color: {
              field: 'contender',
              type: 'nominal',
              legend: null,
              scale: { domain: contenders, range: contenders.map(colorOf) },
            },
          },
        },
        {
          mark: { type: 'rule', color: '#333' },
          encoding: { y, x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' } },
        },
        {
          mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
          encoding: { y, x: { field: 'hi', type: 'quantitative' }, text: { field: 'text' } },
        },
      ],
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    config: {
      view: { stroke: null },
      font: 'sans-serif',
      axis: { labelLimit: 420 },
      header: { labelFontSize: 12 },
    },
  };
}

/** Renders the chart to `file` with vega-lite + vega. Returns { svg: file | null, spec, reason? }. */
async function writeChart(results, file) {
  const spec = chartSpec(results);
  return { ...(await renderSpec(spec, file)), spec };
}

/**
 * Renders the vega-lite `spec` to the SVG file `file`. Returns { svg: its name } or, without vega and
 * vega-lite installed, { svg: null, reason }.
 */
async function renderSpec(spec, file) {
  let vega;
  let vegaLite;
  try {
    vegaLite = await import('vega-lite');
    vega = await import('vega');
  } catch (error) {
    return {
      svg: null,
      reason: `vega / vega-lite not installed (${error.code ?? error.message}); add them as devDependencies to render`,
    };
  }
  const compile = vegaLite.compile ?? vegaLite.default?.compile;
  const { View, parse } = vega.View ? vega : vega.default;
  // vega-lite warns that the facets' independent scales share field names; they do, on purpose.
  const quiet = {
    level: () => quiet,
    error: (...m) => console.error(...m),
    warn() {},
    info() {},
    debug() {},
  };
  const compiled = compile(spec, { logger: quiet }).spec;
  const view = new View(parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, svg);
  return { svg: path.basename(file) };
}

/**
 * Writes `value` as JSON, formatted by the project's Prettier when it is installed (a devDependency), so that
 * `prettier --check .` accepts committed results; plain JSON.stringify otherwise.
 */
async function writeJson(file, value) {
  let text = JSON.stringify(value, null, 2) + '\n';
  try {
    const prettier = require('prettier');
    const config = (await prettier.resolveConfig(file)) ?? {};
    text = await prettier.format(text, { ...config, filepath: file });
  } catch {
    // Prettier missing: unformatted JSON is still valid JSON.
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

module.exports = { markdown, markdownTable, writeChart, renderSpec, chartSpec, writeJson };
