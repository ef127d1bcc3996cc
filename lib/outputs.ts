import { TorchEncodersError } from './errors';
import type { Tensor } from './model';

/**
 * Picks a model output by its conventional name (as a dict-returning or name-mapped module gives
 * it), else by position (output_0..n of a tuple), so Hugging Face exports traced with
 * torchscript=True and dict-returning modules both work.
 */
export function pickOutput(
  outputs: Record<string, Tensor>,
  names: readonly string[],
  position: number,
  task: string,
): Tensor {
  for (const name of names) {
    const output = outputs[name];
    if (output !== undefined) return output;
  }
  const values = Object.values(outputs);
  const output = values[position];
  if (output === undefined) {
    throw new TorchEncodersError(
      'E_FORWARD',
      `${task}: the model returned ${values.length} output(s) (${Object.keys(outputs).join(', ')}); expected ${names.join(' or ')} at position ${position}`,
    );
  }
  return output;
}
