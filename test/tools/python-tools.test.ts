import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

// The fixture tools are code too: their own checks (HF key names, numerics against independent
// references, trace validity at other shapes) run with Debian's Python torch.
describe('Python tools', () => {
  it('tools/test_modeling.py passes', () => {
    const output = execFileSync('/usr/bin/python3', ['tools/test_modeling.py'], {
      cwd: path.resolve(__dirname, '../..'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(output).toBeDefined();
  }, 120_000);

  // The exporter and its safetensors reader on tiny checkpoints of every model type and head,
  // int8, fp16, ONNX and every documented error (about 20 s).
  it('tools/test_export.py passes', () => {
    const output = execFileSync('/usr/bin/python3', ['tools/test_export.py'], {
      cwd: path.resolve(__dirname, '../..'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(output).toBeDefined();
  }, 120_000);
});
