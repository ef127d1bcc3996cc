// The smoke test of the benchmark: `npm run bench:quick -- --sentences 200` end to end (BERT-base random weights and the ONNX exports of
// the demo models prepared into build/bench on first use, every contender and scenario in its own process, about
// 5 minutes on 2 cores; it needs the demo models built: tools/build_demo_models.py). Checks
// that it completes and writes valid JSON, the Markdown report and the chart; it asserts nothing about speed
// (timings on a shared test machine mean nothing).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
// bench:quick took ~4 min on an idle 2-core machine before the embeddings scenario (~1 min more), ~2 min more when
// build/bench is prepared first; 9 min beside a busy test suite (load average 4) was seen.
const TIMEOUT_MS = 900_000;
const SENTENCES = 200;

interface SummaryRow {
  scenario: string;
  contender: string;
  metric: 'latency' | 'throughput' | 'concurrency' | 'embeddings';
  runtime: string | null;
  peakRssMb: number;
  medianMs?: number;
  textsPerSecond?: number;
  requestsPerSecond?: number;
  speedVsTorchEncoders: number | null;
}

function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'npm',
      ['run', '--silent', 'bench:quick', '--', ...args],
      { cwd: ROOT, timeout: TIMEOUT_MS - 10_000, maxBuffer: 32 * 2 ** 20 },
      (error, _stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stderr });
      },
    );
  });
}

describe('npm run bench:quick', () => {
  let out: string;
  let results: Record<string, unknown> & { summary: SummaryRow[] };
  let stem: string;

  beforeAll(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-quick-'));
    // 200 sentences instead of 1,000 for the sentiment and embeddings scenarios: this checks the harness, every
    // contender and scenario still runs, in less of the CI's 30-minute budget.
    const { code, stderr } = await run(['--out', out, '--sentences', String(SENTENCES)]);
    if (code !== 0) throw new Error(`npm run bench:quick exited ${code}:\n${stderr.slice(-4000)}`);
    const json = fs.readdirSync(out).find((file) => file.endsWith('-quick.json'));
    if (json === undefined) throw new Error(`no *-quick.json in ${out}: ${fs.readdirSync(out).join(', ')}`);
    stem = path.join(out, json.replace(/\.json$/, ''));
    results = JSON.parse(fs.readFileSync(`${stem}.json`, 'utf8'));
  }, TIMEOUT_MS);

  afterAll(() => {
    if (out !== undefined) fs.rmSync(out, { recursive: true, force: true });
  });

  it('writes valid JSON with the machine, versions and every section', () => {
    expect(results).toMatchObject({
      schema: 1,
      mode: 'quick',
      threads: 2,
      machine: {
        cpuModel: expect.any(String),
        cpuinfo: { vendor: expect.any(String), avx512: expect.any(Array) },
        logicalCores: expect.any(Number),
        threads: 2,
        buildInfo: {
          'torch-encoders': {
            cpu: { vendor: expect.any(String) },
            mklCpuOverride: { active: expect.any(Boolean) },
          },
        },
      },
      versions: {
        node: process.version,
        libtorch: expect.any(String),
        libtorchDebian: expect.any(String),
        onnxruntimeNode: expect.any(String),
        onnxruntimeWeb: expect.any(String),
        pythonTorch: expect.any(String),
      },
      flopsFormula: expect.any(String),
      sgemm: { n: expect.any(Number), gflops: expect.any(Number), library: expect.any(String) },
      profile: { runs: expect.any(Number), ops: expect.any(Array) },
      acceptance: { bestOptInMode: expect.any(String), items: expect.any(Array) },
      int8Accuracy: {
        sentences: 300,
        fp32Accuracy: expect.any(Number),
        int8Accuracy: expect.any(Number),
        sameLabel: expect.any(Number),
      },
      nodeShare: {
        tokenizeMs: expect.any(Number),
        marshalMs: expect.any(Number),
        forwardMs: expect.any(Number),
        postprocessMs: expect.any(Number),
        nonForwardShare: expect.any(Number),
      },
      failures: [],
    });
    // The machine's fp32 GEMM limit from each library: torch 2.x (MKL), Debian's torch 1.13, onnxruntime-node.
    const peaks = results.gemmPeaks as Array<{ contender: string; gflops: number }>;
    expect(peaks.map((peak) => peak.contender).sort()).toEqual(
      ['onnxruntime-node', 'python-torch', 'python-torch-1.13'].sort(),
    );
    expect(results.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Array.isArray(results.runs)).toBe(true);
  });

  it('has a summary row for every contender of every scenario', () => {
    const keys = results.summary.map((row) => `${row.scenario}/${row.contender}`).sort();
    // The second torch-encoders row of a model is the worker setting that is not its default
    // (lib/default-workers.ts): workers: 1 for small models, a worker per thread for MiniLM and larger.
    const models = results.models as {
      classifier: { defaultWorkers: number };
      embeddings: { defaultWorkers: number; int8Dir: string | null };
    };
    const other = (defaultWorkers: number) => (defaultWorkers === 1 ? 'worker-per-thread' : 'one-worker');
    const classifierOther = other(models.classifier.defaultWorkers);
    expect(keys).toEqual(
      [
        'bert-b1/python-torch',
        'bert-b1/torch-encoders',
        'bert-b1/torch-encoders-1.13',
        'bert-b1/torch-encoders-1.13-int8',
        'bert-b1/torch-encoders-bf16',
        'bert-b1/torch-encoders-int8',
        'bert-b1/torch-encoders-sdpa',
        'bert-b1/transformers-js-node',
        'bert-b1/transformers-js-node-q8',
        'bert-b1/transformers-js-wasm',
        'bert-b8/python-torch',
        'bert-b8/torch-encoders',
        'bert-b8/torch-encoders-int8',
        'bert-b8/torch-encoders-sdpa',
        'bert-b8/transformers-js-node',
        'bert-b8/transformers-js-wasm',
        'concurrency-base/torch-encoders',
        'concurrency-base/torch-encoders-dynamic-batching',
        'concurrency-base/transformers-js-node',
        'concurrency/torch-encoders',
        'concurrency/torch-encoders-dynamic-batching',
        `concurrency/torch-encoders-dynamic-batching-${classifierOther}`,
        `concurrency/torch-encoders-${classifierOther}`,
        'concurrency/transformers-js-node',
        'embeddings/torch-encoders',
        `embeddings/torch-encoders-${other(models.embeddings.defaultWorkers)}`,
        ...(models.embeddings.int8Dir === null ? [] : ['embeddings/torch-encoders-int8']),
        'embeddings/transformers-js-node',
        'embeddings/transformers-js-node-q8',
        'embeddings/transformers-js-node-sorted',
        'sentiment/torch-encoders',
        'sentiment/torch-encoders-int8',
        `sentiment/torch-encoders-${classifierOther}`,
        'sentiment/transformers-js-node',
        'sentiment/transformers-js-wasm',
      ].sort(),
    );
    for (const row of results.summary) {
      expect(row.peakRssMb).toBeGreaterThan(0);
      const figure =
        row.metric === 'latency'
          ? row.medianMs
          : row.metric === 'throughput' || row.metric === 'embeddings'
            ? row.textsPerSecond
            : row.requestsPerSecond;
      expect(Number.isFinite(figure)).toBe(true);
      expect(row).toHaveProperty('speedVsTorchEncoders');
    }
    // The rows on Debian's libtorch ran on it, the others on the default (the venv's 2.x).
    const runtimes = results.summary.filter(
      (row) => row.contender.startsWith('torch-encoders') && row.metric === 'latency',
    );
    for (const row of runtimes) {
      expect(row.runtime).toMatch(row.contender.includes('1.13') ? /^libtorch 1\.13/ : /^libtorch 2\./);
    }
  });

  it('ran the same weights in every contender (fp32 the same answers, reduced precision measured)', () => {
    const checks = results.agreement as Array<{
      scenario: string;
      contender: string;
      mode: string;
      ok: boolean | null;
      minCosine?: number;
    }>;
    const modes = new Set(checks.map((check) => check.mode));
    expect([...modes].sort()).toEqual(['bf16', 'fp32', 'int8', 'q8']);
    expect(checks.filter((check) => check.mode === 'fp32' && check.ok !== true)).toEqual([]);
    // Random BERT-base weights: every mode within its tolerance. The demo models' int8 and q8 answers depend on
    // their weights, so they are only reported (sentiment: a label agreement, embeddings: cosines).
    const base = checks.filter((check) => check.scenario.startsWith('bert-'));
    expect(base.filter((check) => check.ok !== true)).toEqual([]);
    const embeddings = checks.filter((check) => check.scenario === 'embeddings');
    expect(embeddings.map((check) => check.contender)).toEqual(
      expect.arrayContaining([
        'transformers-js-node',
        'transformers-js-node-q8',
        'transformers-js-node-sorted',
      ]),
    );
    for (const check of embeddings) expect(check.minCosine).toBeGreaterThan(0);
    // Which real sentences were embedded is recorded.
    expect(results.embeddingSentences).toMatchObject({
      count: SENTENCES,
      seed: expect.any(Number),
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      sources: [
        { name: 'squad-v1.1', taken: 67 },
        { name: 'sentiment-uci', taken: 67 },
        { name: 'wnut17', taken: 66 },
      ],
    });
  });

  it('writes the Markdown report, and the chart when vega is installed', () => {
    const markdown = fs.readFileSync(`${stem}.md`, 'utf8');
    expect(markdown).toContain('| scenario | contender | runtime | median | p95 |');
    expect(markdown).toContain('Acceptance figures');
    expect(markdown).toContain("The machine's fp32 GEMM limit");
    expect(markdown).toContain('Same weights, same answers');
    expect(markdown).toContain('Sentence embeddings: all-MiniLM-L6-v2');
    expect(markdown).toContain('Node-side share');
    expect(markdown).toContain('Where the forward goes: fp32');
    const chart = results.chart as { svg: string | null; reason?: string };
    if (chart.svg !== null) {
      expect(fs.readFileSync(path.join(out, chart.svg), 'utf8')).toMatch(/^<svg/);
    } else {
      expect(chart.reason).toMatch(/vega/);
    }
  });
});
