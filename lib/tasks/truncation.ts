import { TorchEncodersError } from '../errors';
import type { Encoding, TextTokenizer, TokenizerInput } from '../tokenizer';

/**
 * Tokenizes `inputs` for a task that reads one sequence per input. With `truncate` each is cut to
 * the tokenizer's maxLength; without it each is tokenized whole and one that is longer is refused
 * with E_INPUT_TOO_LONG, so that no text is silently cut (TEI's `truncate: false`).
 * `label(i)` names input i in the error ("inputs[3]", "documents[0]").
 */
export async function encodeTruncating(
  tokenizer: TextTokenizer,
  inputs: readonly TokenizerInput[],
  truncate: boolean,
  where: string,
  label: (index: number) => string,
): Promise<Encoding[]> {
  if (truncate) return tokenizer.encodeBatch(inputs);
  const encodings = await tokenizer.encodeBatch(inputs, { maxLength: Number.MAX_SAFE_INTEGER });
  encodings.forEach((encoding, index) => {
    if (encoding.ids.length > tokenizer.maxLength) {
      throw new TorchEncodersError(
        'E_INPUT_TOO_LONG',
        `${where}: ${label(index)} has ${encoding.ids.length} tokens; the model takes at most ${tokenizer.maxLength} (truncate: true cuts it to fit)`,
      );
    }
  });
  return encodings;
}
