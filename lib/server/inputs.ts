import type { TextInput } from '../model';
import { ApiError } from './errors';

/** Whether the body gave one input or a batch: TEI answers and counts the two differently. */
export type Method = 'single' | 'batch';

/** Inputs of a request, in order, and how they came. */
export interface RequestInputs<T> {
  items: T[];
  method: Method;
}

function tokenIdsRefused(field: string): ApiError {
  return new ApiError(
    422,
    'Validation',
    `\`${field}\` holds token ids; this server takes texts (send the strings, it tokenizes them with the model's own tokenizer)`,
    field,
  );
}

function checkText(value: string, field: string): string {
  // TEI refuses an empty text: it has no tokens to embed or classify.
  if (value === '') throw new ApiError(400, 'Empty', `\`${field}\` cannot be empty`, field);
  return value;
}

/** Refuses a batch larger than the server's --max-client-batch-size, as TEI does. */
export function checkBatchSize(size: number, limit: number, field: string): void {
  if (size === 0) throw new ApiError(400, 'Empty', `\`${field}\` cannot be empty`, field);
  if (size > limit) {
    throw new ApiError(422, 'Validation', `batch size ${size} > maximum allowed batch size ${limit}`, field);
  }
}

/**
 * TEI's `Input`: a text or an array of texts. An array of numbers is one input of token ids in
 * TEI; this server refuses ids with a message saying so. (The JSON schema has checked the types.)
 */
export function textInputs(
  value: string | (string | number)[],
  limit: number,
  field = 'inputs',
): RequestInputs<string> {
  if (typeof value === 'string') return { items: [checkText(value, field)], method: 'single' };
  if (value.length > 0 && value.every((item) => typeof item === 'number')) throw tokenIdsRefused(field);
  checkBatchSize(value.length, limit, field);
  return {
    items: value.map((item, index) => {
      if (typeof item !== 'string') throw tokenIdsRefused(`${field}[${index}]`);
      return checkText(item, `${field}[${index}]`);
    }),
    method: 'batch',
  };
}

type PredictValue = string | (string | string[])[];

function predictItem(value: string | string[], field: string): TextInput {
  if (typeof value === 'string') return checkText(value, field);
  if (value.length === 1) return checkText(value[0]!, `${field}[0]`);
  if (value.length === 2) {
    return { text: checkText(value[0]!, `${field}[0]`), textPair: checkText(value[1]!, `${field}[1]`) };
  }
  throw new ApiError(
    422,
    'Validation',
    `\`${field}\` must be a text, [text] or a [text, text_pair] pair; got an array of ${value.length}`,
    field,
  );
}

/**
 * TEI's `PredictInput`, whose first element decides its form: a text, ["text"] or ["text", "pair"]
 * is one input (answered with one list of labels); [[...], [...]] is a batch of them (a list per
 * input).
 */
export function predictInputs(value: PredictValue, limit: number): RequestInputs<TextInput> {
  if (typeof value === 'string') return { items: [checkText(value, 'inputs')], method: 'single' };
  if (value.length === 0) throw new ApiError(400, 'Empty', '`inputs` cannot be empty', 'inputs');
  if (typeof value[0] === 'string') {
    if (!value.every((item) => typeof item === 'string')) {
      throw new ApiError(
        422,
        'Validation',
        '`inputs` mixes texts and arrays: give a text, a [text, text_pair] pair, or an array of those',
        'inputs',
      );
    }
    return { items: [predictItem(value as string[], 'inputs')], method: 'single' };
  }
  checkBatchSize(value.length, limit, 'inputs');
  return {
    items: value.map((item, index) => {
      if (typeof item === 'string') {
        throw new ApiError(
          422,
          'Validation',
          `\`inputs[${index}]\` is a text in a batch of arrays: give every input as [text] or [text, text_pair]`,
          'inputs',
        );
      }
      return predictItem(item, `inputs[${index}]`);
    }),
    method: 'batch',
  };
}
