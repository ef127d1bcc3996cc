import { spawnSync } from 'node:child_process';
import { ROOT, venvPython } from '../helpers/venv-python';

/**
 * Runs a unittest script with the venv's Python; returns how many tests ran and passed (skipped
 * ones not counted: a test skipped for a missing module proves nothing), failing on any failure.
 */
function runUnittests(script: string, timeout: number): number {
  const result = spawnSync(venvPython(), [script], { cwd: ROOT, encoding: 'utf8', timeout });
  // unittest reports on stderr: "Ran N tests in Xs", then "OK", "OK (skipped=K)" or "FAILED (...)".
  const report = result.stderr ?? '';
  if (result.status !== 0) throw new Error(`${script} exited ${result.status}:\n${report.slice(-4000)}`);
  const verdict = /\nOK(?: \(skipped=(\d+)\))?\s*$/.exec(report);
  if (verdict === null) throw new Error(`${script} did not report OK:\n${report.slice(-4000)}`);
  const ran = Number(/^Ran (\d+) tests? in /m.exec(report)?.[1] ?? 0);
  return ran - Number(verdict[1] ?? 0);
}

// The fixture tools are code too: their own checks (HF key names, numerics against independent
// references, trace validity at other shapes) run with the project venv's Python (torch 2.x,
// transformers); tools/test_export.py also runs the exporter and its files on Debian's torch 1.13.
describe('Python tools', () => {
  // 104 s was seen beside other builds (load average 14): the limit leaves room for a busy machine.
  it('tools/test_modeling.py passes', () => {
    expect(runUnittests('tools/test_modeling.py', 300_000)).toBeGreaterThanOrEqual(19);
  }, 300_000);

  // The exporter and its safetensors reader on tiny checkpoints of every model type and head, both
  // backends and attentions, int8, bf16, fp16, ONNX and every documented error (about 2 min here).
  it('tools/test_export.py passes', () => {
    expect(runUnittests('tools/test_export.py', 400_000)).toBeGreaterThanOrEqual(27);
  }, 400_000);
});
