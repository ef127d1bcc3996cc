// worker_threads Workers terminated with forwards queued on their model (issue #11, defects 1 and
// 2): the process must survive every termination, and each terminated Worker's model must be freed.
// Each scenario runs in a child process (an abort there must not take jest down with it).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { discoverLibtorch } from '../../lib/libtorch-discovery';
import { fixtureModel } from '../helpers/fixtures';

const run = promisify(execFile);
const REPO = path.resolve(__dirname, '../..');
const NATIVE_JS = path.join(REPO, 'dist/lib/native.js');
const CHILD = path.join(__dirname, '../helpers/worker-teardown.cjs');

interface Report {
  cycles: number;
  exitCodes: number[];
  rss: number[];
}

async function terminations(model: string, cycles: number, rows: number, seq: number, maxDelayMs: number) {
  const { stdout } = await run(
    process.execPath,
    ['--expose-gc', CHILD, NATIVE_JS, model, String(cycles), String(rows), String(seq), String(maxDelayMs)],
    { maxBuffer: 1 << 20, timeout: 240_000 },
  );
  return JSON.parse(stdout.trim().split('\n').pop()!) as Report;
}

describe('terminating Workers with forwards queued', () => {
  it('never takes the process down (40 terminations after 0-30 ms)', async () => {
    const report = await terminations(fixtureModel('sequence-classification'), 40, 64, 32, 30);
    expect(report.cycles).toBe(40);
    expect(report.exitCodes).toEqual([1]);
  }, 240_000);

  describe('with a 64 MiB model', () => {
    let scratch: string;
    let bigModel: string;
    beforeAll(() => {
      scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-teardown-'));
      bigModel = path.join(scratch, 'big.pt');
      // One 4096 x 4096 float32 weight (64 MiB); each forward multiplies a [rows, 4096] input by it.
      const script = path.join(scratch, 'make_big.py');
      fs.writeFileSync(
        script,
        [
          'import sys, torch',
          'class Big(torch.nn.Module):',
          '    def __init__(self):',
          '        super().__init__()',
          '        self.weight = torch.nn.Parameter(torch.randn(4096, 4096) * 0.01)',
          '    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:',
          '        x = torch.ones(input_ids.shape[0], 4096) * attention_mask.float().mean()',
          '        return x @ self.weight',
          'torch.jit.save(torch.jit.script(Big().eval()), sys.argv[1])',
        ].join('\n'),
      );
      const python = discoverLibtorch(REPO).python!;
      return run(python, [script, bigModel]);
    }, 120_000);
    afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

    it('frees each terminated Worker’s model: RSS flat over 8 terminations', async () => {
      const report = await terminations(bigModel, 8, 64, 4, 10);
      expect(report.exitCodes).toEqual([1]);
      // A leaked model per termination adds at least 64 MiB each time: 448 MiB over the last 7.
      const growth = report.rss[report.rss.length - 1]! - report.rss[0]!;
      expect(growth).toBeLessThan(192 * 1024 * 1024);
    }, 240_000);
  });
});
