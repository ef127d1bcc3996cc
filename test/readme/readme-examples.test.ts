// The README's runnable examples (code blocks after a `<!-- runnable: NAME -->` line) run as
// written, from the repository root, with 'torch-encoders' resolved to this checkout's build.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const BLOCK = /<!-- runnable: ([\w.-]+) -->\n```js\n([\s\S]*?)\n```/g;
const examples = new Map([...README.matchAll(BLOCK)].map(([, name, code]) => [name!, code!]));

let scratch: string;
beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-readme-'));
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

async function runExample(name: string): Promise<string> {
  const code = examples.get(name);
  if (code === undefined) throw new Error(`README.md has no runnable block named ${name}`);
  expect(code).toContain("from 'torch-encoders'");
  const file = path.join(scratch, name);
  const index = path.join(ROOT, 'dist/lib/index.js');
  fs.writeFileSync(file, code.replace("from 'torch-encoders'", `from ${JSON.stringify(index)}`));
  const { stdout } = await run(process.execPath, [file], { cwd: ROOT, timeout: 120_000 });
  return stdout;
}

it('has the runnable blocks this test knows', () => {
  expect([...examples.keys()].sort()).toEqual(['classify-in-workers.mjs', 'embed-lines.mjs']);
});

it('classify-in-workers.mjs: two Workers classify four texts and are terminated', async () => {
  const lines = (await runExample('classify-in-workers.mjs')).trim().split('\n');
  const results = lines.map((line) => JSON.parse(line) as { text: string; label: string; score: number });
  expect(results.map((r) => [r.text, r.label])).toEqual([
    ['I loved this film.', 'positive'],
    ['A dull, tedious mess.', 'negative'],
    ['Superb acting throughout.', 'positive'],
    ['I want my money back.', 'negative'],
  ]);
  for (const r of results) expect(r.score).toBeGreaterThan(0.5);
}, 130_000);

it('embed-lines.mjs: streams every line of the README through the embeddings model', async () => {
  const stdout = await runExample('embed-lines.mjs');
  const lineCount = README.split('\n').length - (README.endsWith('\n') ? 1 : 0);
  expect(stdout).toContain('first vector: 384');
  expect(stdout).toContain(`${lineCount} lines embedded`);
}, 130_000);
