// How named inputs reach a module's positional forward arguments, on scripted modules whose
// arguments have defaults. The module is made by the runtime's own Python torch.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Model } from '../../lib';
import { discoverLibtorch } from '../../lib/libtorch-discovery';

const REPO = path.resolve(__dirname, '../..');
let scratch: string;
let modelFile: string;

// Returns, per token, input_ids + 1000 * token_type_ids + 100 * attention_mask, with -1 standing
// for an argument that arrived as None, so each output says which inputs the module received.
const SCRIPT = `
import sys
from typing import Optional
import torch

class Probe(torch.nn.Module):
    def forward(self, input_ids: torch.Tensor, attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        mask = attention_mask if attention_mask is not None else torch.full_like(input_ids, -1)
        types = token_type_ids if token_type_ids is not None else torch.full_like(input_ids, -1)
        return (input_ids + 1000 * types + 100 * mask).float()

torch.jit.save(torch.jit.script(Probe()), sys.argv[1])
`;

beforeAll(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'torch-encoders-arguments-'));
  modelFile = path.join(scratch, 'probe.pt');
  const python = discoverLibtorch(REPO).python;
  expect(python).toBeDefined();
  // torch.jit.script reads the class's source, so the script must be a file.
  const script = path.join(scratch, 'make_probe.py');
  fs.writeFileSync(script, SCRIPT);
  execFileSync(python!, [script, modelFile], { stdio: ['ignore', 'ignore', 'inherit'] });
});
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const ids = () => BigInt64Array.from([5n, 6n]);
const ones = () => BigInt64Array.from([1n, 1n]);
const twos = () => BigInt64Array.from([2n, 2n]);

describe('forward arguments with defaults', () => {
  it('passes an input that follows a defaulted gap (input_ids, token_type_ids; no attention_mask)', async () => {
    await using model = await Model.load(modelFile);
    expect(model.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    const { output_0 } = await model.forward({ input_ids: ids(), token_type_ids: twos() }, [1, 2]);
    // attention_mask None (-1 * 100), token_type_ids 2 (2 * 1000).
    expect(Array.from(output_0!.data)).toEqual([5 + 2000 - 100, 6 + 2000 - 100]);
  });

  it('passes every input given, in schema order whatever the object order', async () => {
    await using model = await Model.load(modelFile);
    const { output_0 } = await model.forward(
      { token_type_ids: twos(), attention_mask: ones(), input_ids: ids() },
      [1, 2],
    );
    expect(Array.from(output_0!.data)).toEqual([5 + 2000 + 100, 6 + 2000 + 100]);
  });

  it('fills an absent token_type_ids with zeros, as Hugging Face does, even where it defaults to None', async () => {
    await using model = await Model.load(modelFile);
    const { output_0 } = await model.forward({ input_ids: ids(), attention_mask: ones() }, [1, 2]);
    expect(Array.from(output_0!.data)).toEqual([5 + 100, 6 + 100]);
  });
});

describe('forward inputs are copied when the call is made', () => {
  it('reads what was passed, whatever the caller does to its arrays while the forward waits and runs', async () => {
    await using model = await Model.load(modelFile, { threads: 1, workers: 1 });
    // A forward queued behind 50 others starts well after the caller has changed its arrays.
    const queued = Array.from({ length: 50 }, () =>
      model.forward({ input_ids: BigInt64Array.from({ length: 4096 }, () => 1n) }, [1, 4096]),
    );
    const inputIds = ids();
    const tokenTypes = twos();
    const result = model.forward({ input_ids: inputIds, token_type_ids: tokenTypes }, [1, 2]);
    inputIds.fill(9n);
    tokenTypes.fill(0n);
    // A transferred buffer is detached here: a borrowed pointer would read freed or foreign memory.
    structuredClone(inputIds.buffer, { transfer: [inputIds.buffer] });
    await Promise.all(queued);
    const { output_0 } = await result;
    expect(Array.from(output_0!.data)).toEqual([5 + 2000 - 100, 6 + 2000 - 100]);
  });
});
