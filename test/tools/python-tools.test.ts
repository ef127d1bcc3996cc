import { execFileSync } from 'node:child_process';
import { ROOT, venvPython } from '../helpers/venv-python';

// The fixture tools are code too: their own checks (HF key names, numerics against independent
// references, trace validity at other shapes) run with the project venv's Python (torch 2.x,
// transformers); tools/test_export.py also runs the exporter and its files on Debian's torch 1.13.
describe('Python tools', () => {
  it('tools/test_modeling.py passes', () => {
    const output = execFileSync(venvPython(), ['tools/test_modeling.py'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(output).toBeDefined();
  }, 120_000);

  // The exporter and its safetensors reader on tiny checkpoints of every model type and head, both
  // backends and attentions, int8, bf16, fp16, ONNX and every documented error (about 2 min here).
  it('tools/test_export.py passes', () => {
    const output = execFileSync(venvPython(), ['tools/test_export.py'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(output).toBeDefined();
  }, 400_000);
});
