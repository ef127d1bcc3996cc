import { TorchEncodersError } from '../../lib/errors';
import { explainMissingOp } from '../../lib/model';

// libtorch 1.13's message for a file that calls SDPA (seen loading a torch 2.13 export), as the addon
// passes it on: the op, then libtorch's suggestions and the serialized code's location.
const LIBTORCH_MESSAGE = [
  'load: ',
  'Unknown builtin op: aten::scaled_dot_product_attention.',
  'Here are some suggestions: ',
  '\taten::_scaled_dot_product_attention',
  '',
  'The original call is:',
  '  File "code/__torch__/transformers/models/bert/modeling_bert.py", line 40',
].join('\n');

describe('explainMissingOp', () => {
  const metadata = {
    format: 1 as const,
    task: 'base' as const,
    torchVersion: '2.13.0+cpu',
    attention: 'sdpa' as const,
    inputNames: ['input_ids', 'attention_mask'],
    outputNames: ['last_hidden_state'],
    dtype: 'float32' as const,
    maxLength: 128,
  };

  it('names the op, the exporting torch and both fixes', () => {
    const error = explainMissingOp(
      new TorchEncodersError('E_MODEL_LOAD', LIBTORCH_MESSAGE),
      '/m/model.pt',
      metadata,
    );
    expect(error.code).toBe('E_MODEL_LOAD');
    expect(error.message).toContain("'/m/model.pt' needs the operator aten::scaled_dot_product_attention,");
    expect(error.message).toContain('exported by torch 2.13.0+cpu with sdpa attention');
    expect(error.message).toContain('--attention eager');
    expect(error.message).toContain('a libtorch at least as new as the exporter');
    expect(error.message).not.toContain('\n');
    expect((error.cause as Error).message).toBe(LIBTORCH_MESSAGE);
  });

  it('leaves errors of other codes alone', () => {
    const original = new TorchEncodersError('E_FORWARD', LIBTORCH_MESSAGE);
    expect(explainMissingOp(original, 'model.pt', metadata)).toBe(original);
  });

  it('says when no torch-encoders.json records the exporter', () => {
    const error = explainMissingOp(
      new TorchEncodersError('E_MODEL_LOAD', 'Unknown builtin op: aten::_foo_bar'),
      'model.pt',
      undefined,
    );
    expect(error.message).toContain('needs the operator aten::_foo_bar,');
    expect(error.message).toContain('an unknown torch (no torch-encoders.json beside it)');
  });

  it('leaves other errors as they are', () => {
    const other = new TorchEncodersError('E_MODEL_LOAD', 'PytorchStreamReader failed reading zip archive');
    expect(explainMissingOp(other, 'model.pt', metadata)).toBe(other);
    const forward = new TorchEncodersError('E_FORWARD', 'Unknown builtin op: aten::x');
    expect(explainMissingOp(forward, 'model.pt', metadata)).toBe(forward);
  });
});
