import { TorchEncodersError } from './errors';

/** A short description of a value for error messages: "the number 1.5", "the string 'x'", "null". */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string')
    return `the string '${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return `the ${typeof value} ${String(value)}`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (typeof value === 'function') return 'a function';
  return 'an object';
}

export function badInput(where: string, what: string, expected: string, got: unknown): TorchEncodersError {
  return new TorchEncodersError(
    'E_BAD_INPUT',
    `${where}: ${what} must be ${expected}; got ${describeValue(got)}`,
  );
}

/** Checks an optional integer option; returns `fallback` when it is undefined. */
export function integerOption(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw badInput(where, `options.${name}`, range, value);
  }
  return value;
}

export function booleanOption(where: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw badInput(where, `options.${name}`, 'a boolean', value);
  return value;
}

export function choiceOption<T extends string>(
  where: string,
  name: string,
  value: unknown,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    throw badInput(where, `options.${name}`, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
  }
  return value as T;
}

export function stringArrayOption(
  where: string,
  name: string,
  value: unknown,
  fallback: readonly string[],
): string[] {
  if (value === undefined) return [...fallback];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) {
    throw badInput(where, `options.${name}`, 'an array of strings', value);
  }
  return value as string[];
}

/** Rejects options objects that are not plain objects, and keys the function does not know. */
export function checkOptionKeys(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw badInput(where, 'options', 'an object', options);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TorchEncodersError(
        'E_BAD_INPUT',
        `${where}: unknown option '${key}'; known options are ${known.map((k) => `'${k}'`).join(', ')}`,
      );
    }
  }
}
