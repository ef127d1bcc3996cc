// fast-check arbitraries for the fuzz properties: hostile Unicode, option values of every wrong kind,
// typed arrays and dims for forward. Values that cannot cross IPC are encoded (fuzz-child.ts decodes them).
import fc from 'fast-check';
import type { ArraySpec, Special } from './fuzz-child';

const codeUnit = (min: number, max: number) =>
  fc.integer({ min, max }).map((unit) => String.fromCharCode(unit));
const codePoint = (min: number, max: number) =>
  fc.integer({ min, max }).map((point) => String.fromCodePoint(point));

/** Pieces of text that have broken tokenizers and offset arithmetic elsewhere. */
const FRAGMENT = fc.oneof(
  // Any UTF-16 code unit: lone high and low surrogates, NUL and every control character included.
  { arbitrary: fc.string({ unit: codeUnit(0, 0xffff), maxLength: 8 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 8 }), weight: 2 },
  { arbitrary: fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uDC00\uD800'), weight: 2 },
  {
    arbitrary: fc.constantFrom('\0', '\0\0\0', '\u0001', '\u007f', '\u0085', '\uFEFF', '\uFFFD', '\uFFFF'),
    weight: 2,
  },
  // Combining marks, alone, stacked (zalgo) and on a base letter.
  { arbitrary: fc.string({ unit: codeUnit(0x300, 0x36f), minLength: 1, maxLength: 30 }), weight: 2 },
  { arbitrary: fc.constantFrom('e\u0301', 'a\u0308\u0323', '\u0301', 'ก\u0e31\u0e49'), weight: 1 },
  // Right-to-left scripts and the bidi controls.
  {
    arbitrary: fc.constantFrom(
      'שלום עולם',
      'مرحبا بالعالم',
      '\u202Eabc\u202C',
      '\u200F',
      '\u200E',
      '\u2067x\u2069',
      'ا\u0651\u064E',
    ),
    weight: 2,
  },
  { arbitrary: fc.string({ unit: codePoint(0x590, 0x6ff), maxLength: 10 }), weight: 1 },
  // Emoji: ZWJ families, skin tones, flags, keycaps, variation selectors, tags.
  {
    arbitrary: fc.constantFrom(
      '👨\u200D👩\u200D👧\u200D👦',
      '👩🏽\u200D💻',
      '🏳️\u200D🌈',
      '🇫🇷🇯🇵',
      '1\uFE0F\u20E3',
      '🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}',
      '\u200D\u200D',
      '\uFE0F',
      '🍕',
    ),
    weight: 2,
  },
  // Whitespace of every kind, and line breaks.
  {
    arbitrary: fc.constantFrom(' ', '\t', '\n', '\r\n', '\u00A0', '\u2028', '\u3000', '\u200B', '   '),
    weight: 2,
  },
  // Text a tokenizer treats specially: special tokens written out, a word past WordPiece's 100 chars.
  {
    arbitrary: fc.constantFrom(
      '[CLS]',
      '[SEP]',
      '[PAD]',
      '[MASK]',
      '[UNK]',
      '<s>',
      '</s>',
      '##ing',
      'x'.repeat(150),
    ),
    weight: 2,
  },
  {
    arbitrary: fc.constantFrom('Angela Merkel visited Washington.', 'the cat sat', '東京', 'São Paulo'),
    weight: 3,
  },
);

/** Random hostile text, up to a few hundred characters. */
export const hostileText = fc.array(FRAGMENT, { maxLength: 24 }).map((parts) => parts.join(''));

/** Text long enough to need several windows (the fixtures take 128 tokens), still hostile. */
export const longHostileText = fc
  .tuple(hostileText, fc.integer({ min: 30, max: 120 }), hostileText)
  .map(([head, words, tail]) => `${head} ${'word '.repeat(words)}${tail} ${'Berlin '.repeat(words)}`);

/**
 * About `bytes` bytes of UTF-16 text (2 bytes a code unit) built from hostile fragments, made from
 * `seed` so a run can be replayed.
 */
export function megabyteText(seed: number, bytes = 1 << 20): string {
  const parts = fc.sample(FRAGMENT, { seed, numRuns: 400 });
  const block = `${parts.join(' ')} `;
  return block.repeat(Math.ceil(bytes / 2 / block.length)).slice(0, bytes / 2);
}

const special = (kind: Special['__fuzz']): Special => ({ __fuzz: kind });
const isSpecial = (value: unknown, kind: Special['__fuzz']) =>
  typeof value === 'object' && value !== null && (value as Partial<Special>).__fuzz === kind;

/** Wrong values of every kind for an option. */
export const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    NaN,
    Infinity,
    -Infinity,
    -1,
    0,
    -0,
    0.5,
    1.5,
    2 ** 31,
    2 ** 53,
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    1e308,
    -(2 ** 31),
    null,
    undefined,
    true,
    false,
    '',
    '1',
    'none',
    'NaN',
    '__proto__',
    [],
    [1],
    ['O'],
    {},
    { valueOf: 1 },
    10n,
    new Date(0),
  ),
  fc.constantFrom(
    special('function'),
    special('symbol'),
    special('signal'),
    special('abortedSignal'),
    special('proxy'),
    special('getterThrows'),
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: 4 })), { maxLength: 3 }),
);

/**
 * An options object: some of `known` with values from `valid` (per key) or weirdValue, plus now and
 * then an unknown key. Occasionally not an object at all.
 */
export function optionsFor(
  known: Record<string, fc.Arbitrary<unknown>>,
  unknownKeys: readonly string[] = ['topk', 'top_k', 'foo', 'constructor', 'toString', '__proto__'],
): fc.Arbitrary<unknown> {
  const entry = fc.oneof(
    ...Object.entries(known).map(([key, valid]) =>
      fc.tuple(
        fc.constant(key),
        fc.oneof({ arbitrary: valid, weight: 3 }, { arbitrary: weirdValue, weight: 2 }),
      ),
    ),
    fc.tuple(fc.constantFrom(...unknownKeys), weirdValue),
  );
  const object = fc.uniqueArray(entry, { maxLength: 4, selector: ([key]) => key }).map((entries) => {
    // defineProperty: a '__proto__' entry stays an own key, as JSON.parse would give it.
    const options: Record<string, unknown> = {};
    for (const [key, value] of entries) {
      Object.defineProperty(options, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return options;
  });
  return fc.oneof(
    { arbitrary: object, weight: 12 },
    { arbitrary: fc.constantFrom(undefined, null, 5, 'topK', [], [{ topK: 1 }]), weight: 1 },
  );
}

/** The keys of an options object, for checking that an E_BAD_INPUT message names the bad one. */
export function optionKeys(options: unknown): string[] {
  return typeof options === 'object' && options !== null && !Array.isArray(options)
    ? Object.keys(options)
    : [];
}

const smallInt = (min: number, max: number) => fc.integer({ min, max });

/** Valid-looking values per option of each task (the weird ones come from weirdValue). */
export const TASK_OPTIONS: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
  'text-classification': {
    topK: fc.oneof(smallInt(1, 5), fc.constant(null)),
    functionToApply: fc.constantFrom('softmax', 'sigmoid', 'none'),
    batchSize: smallInt(1, 16),
    maxBatchTokens: smallInt(1, 4096),
    signal: fc.constant(special('signal')),
  },
  'token-classification': {
    aggregationStrategy: fc.constantFrom('none', 'simple', 'first', 'average', 'max'),
    ignoreLabels: fc.constantFrom([], ['O'], ['O', 'B-PER'], ['nothing']),
    stride: smallInt(0, 130),
    batchSize: smallInt(1, 16),
    maxBatchTokens: smallInt(1, 4096),
  },
  'question-answering': {
    topK: smallInt(1, 5),
    docStride: smallInt(0, 140),
    maxSeqLen: smallInt(1, 140),
    maxQuestionLen: smallInt(1, 80),
    maxAnswerLen: smallInt(1, 30),
    handleImpossibleAnswer: fc.boolean(),
    alignToWords: fc.boolean(),
    batchSize: smallInt(1, 16),
  },
  'feature-extraction': {
    pooling: fc.constantFrom('mean', 'cls', 'max', 'none'),
    normalize: fc.boolean(),
    batchSize: smallInt(1, 16),
    maxBatchTokens: smallInt(1, 4096),
  },
};

/** Load options accepted by pipeline() besides the task's. */
export const LOAD_OPTIONS: Record<string, fc.Arbitrary<unknown>> = {
  device: fc.constantFrom('cpu', 'cuda', 'cuda:7', 'auto', 'tpu', 'CPU', 'cuda:-1', 'cuda:0x1'),
  threads: smallInt(1, 3),
  workers: smallInt(1, 3),
  optimize: fc.boolean(),
  outputNames: fc.constantFrom([], ['logits'], ['a', 'b', 'c'], ['logits', 'logits']),
  maxLength: smallInt(0, 600),
  dynamicBatching: fc.oneof(
    fc.boolean(),
    fc.record(
      { maxBatchTokens: smallInt(0, 5000), maxBatchSize: smallInt(0, 70), maxWaitMs: smallInt(-1, 20) },
      { requiredKeys: [] },
    ),
  ),
};

const ARRAY_KINDS: ArraySpec['__array'][] = [
  'BigInt64Array',
  'Int32Array',
  'BigUint64Array',
  'Uint32Array',
  'Int16Array',
  'Uint8Array',
  'Float32Array',
  'Float64Array',
  'Array',
  'DataView',
];

/** Token ids out of the fixtures' vocabulary (30522 ids), or not integers at all. */
const badId = fc.constantFrom(
  -1,
  30522,
  30523,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 40,
  -(2 ** 62),
  2 ** 63,
  NaN,
  0.5,
);

/** A dimension that is not a usable size: zero, negative, past 128 positions, fractional, huge. */
const badDimension = fc.constantFrom(
  0,
  -1,
  129,
  513,
  1.5,
  NaN,
  Infinity,
  2 ** 31,
  2 ** 32 + 1,
  2 ** 53,
  -(2 ** 53),
);

/** One thing wrong with an otherwise valid forward call. */
type Fault =
  | { kind: 'arrayKind'; input: number; to: ArraySpec['__array'] }
  | { kind: 'length'; input: number; delta: number }
  | { kind: 'offset'; input: number; offset: number }
  | { kind: 'id'; input: number; at: number; id: number }
  | { kind: 'dim'; axis: number; to: number }
  | { kind: 'rank'; rank: number }
  | { kind: 'drop'; input: number }
  | { kind: 'extraName'; name: string }
  | { kind: 'inputs'; to: unknown }
  | { kind: 'dims'; to: unknown };

const input = fc.integer({ min: 0, max: 2 });
const fault: fc.Arbitrary<Fault> = fc.oneof(
  fc.record({ kind: fc.constant('arrayKind' as const), input, to: fc.constantFrom(...ARRAY_KINDS) }),
  fc.record({ kind: fc.constant('length' as const), input, delta: fc.integer({ min: -5, max: 5 }) }),
  fc.record({ kind: fc.constant('offset' as const), input, offset: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('id' as const), input, at: fc.nat(), id: badId }),
  fc.record({ kind: fc.constant('dim' as const), axis: fc.integer({ min: 0, max: 1 }), to: badDimension }),
  fc.record({ kind: fc.constant('rank' as const), rank: fc.constantFrom(0, 1, 3) }),
  fc.record({ kind: fc.constant('drop' as const), input }),
  fc.record({
    kind: fc.constant('extraName' as const),
    name: fc.constantFrom('position_ids', '', 'x'.repeat(300), 'input_ids\0', '__proto__', 'constructor'),
  }),
  // Not weirdValue's throwing getter: that case is a test of its own (fuzz-forward.test.ts, KNOWN BUG).
  fc.record({
    kind: fc.constant('inputs' as const),
    to: weirdValue.filter((v) => !isSpecial(v, 'getterThrows')),
  }),
  fc.record({ kind: fc.constant('dims' as const), to: weirdValue }),
);

export interface ForwardCase {
  inputs: unknown;
  dims: unknown;
  /** What was done to a valid call, for reading a failure. */
  faults: Fault[];
}

const NAMES = ['input_ids', 'attention_mask', 'token_type_ids'];

/**
 * forward(inputs, dims): a valid call (int64 or int32 ids in the vocabulary, masks and type ids of 0/1,
 * [batch, seq] within the position embeddings) with none (a third of the cases), one or two faults.
 */
export const forwardCase: fc.Arbitrary<ForwardCase> = fc
  .record({
    batch: fc.integer({ min: 1, max: 4 }),
    seq: fc.integer({ min: 1, max: 40 }),
    names: fc.integer({ min: 1, max: 3 }),
    kinds: fc.array(fc.constantFrom<ArraySpec['__array']>('BigInt64Array', 'Int32Array'), {
      minLength: 3,
      maxLength: 3,
    }),
    ids: fc.array(fc.integer({ min: 0, max: 30521 }), { minLength: 1, maxLength: 16 }),
    faults: fc.oneof(
      { arbitrary: fc.constant<Fault[]>([]), weight: 1 },
      { arbitrary: fc.array(fault, { minLength: 1, maxLength: 2 }), weight: 2 },
    ),
  })
  .map(({ batch, seq, names, kinds, ids, faults }) => {
    let dims: unknown = [batch, seq];
    const specs: ArraySpec[] = NAMES.slice(0, names).map((name, i) => ({
      __array: kinds[i]!,
      values: Array.from({ length: batch * seq }, (_, j) =>
        name === 'input_ids' ? ids[j % ids.length]! : j % 2,
      ),
      offset: 0,
    }));
    const inputNames = NAMES.slice(0, names);
    let inputs: unknown;
    let replacedInputs = false;
    for (const f of faults) {
      const spec = specs[Math.min('input' in f ? f.input : 0, specs.length - 1)]!;
      switch (f.kind) {
        case 'arrayKind':
          spec.__array = f.to;
          break;
        case 'length': {
          const length = Math.max(0, spec.values.length + f.delta);
          spec.values = Array.from(
            { length },
            (_, j) => spec.values[j % Math.max(1, spec.values.length)] ?? 0,
          );
          break;
        }
        case 'offset':
          spec.offset = f.offset;
          break;
        case 'id':
          if (spec.values.length > 0) spec.values[f.at % spec.values.length] = f.id;
          break;
        case 'dim':
          // Arrays keep their size: the binding must compare dims with what it was given.
          if (Array.isArray(dims)) dims[f.axis] = f.to;
          break;
        case 'rank':
          dims = [batch, seq, 2].slice(0, f.rank);
          break;
        case 'drop':
          inputNames.splice(Math.min(f.input, inputNames.length - 1), 1);
          break;
        case 'extraName':
          inputNames.push(f.name);
          specs.push({ ...specs[0]!, values: [...specs[0]!.values] });
          break;
        case 'inputs':
          inputs = f.to;
          replacedInputs = true;
          break;
        case 'dims':
          dims = f.to;
          break;
      }
    }
    if (!replacedInputs) {
      const object: Record<string, ArraySpec> = {};
      inputNames.forEach((name, i) => {
        const spec = specs[NAMES.indexOf(name) >= 0 ? NAMES.indexOf(name) : i] ?? specs[0]!;
        Object.defineProperty(object, name, {
          value: spec,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      });
      inputs = object;
    }
    return { inputs, dims, faults };
  });
