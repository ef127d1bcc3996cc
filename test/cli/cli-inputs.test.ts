// The CLI's input and output helpers, without spawning it or loading libtorch.
import { Readable } from 'node:stream';
import { CliError } from '../../lib/cli/errors';
import { chunked, parseQaLine, splitLines } from '../../lib/cli/inputs';
import { compactFloat, jsonLine } from '../../lib/cli/output';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function linesOf(...chunks: (string | Buffer)[]): Promise<string[]> {
  return collect(splitLines(Readable.from(chunks, { objectMode: true })));
}

describe('splitLines', () => {
  test('keeps empty lines; a final newline does not add an empty line', async () => {
    expect(await linesOf('a\n\nb\n')).toEqual(['a', '', 'b']);
    expect(await linesOf('a\n\nb')).toEqual(['a', '', 'b']);
    expect(await linesOf('\n')).toEqual(['']);
    expect(await linesOf('a\n\n')).toEqual(['a', '']);
    expect(await linesOf('')).toEqual([]);
  });

  test('drops CR of CRLF and a leading byte order mark, keeps a lone CR inside a line', async () => {
    expect(await linesOf('\uFEFFone\r\ntwo\r\n')).toEqual(['one', 'two']);
    expect(await linesOf('a\rb\n')).toEqual(['a\rb']);
  });

  test('joins lines and characters split across chunks', async () => {
    expect(await linesOf('ab', 'c\r', '\nd', 'e')).toEqual(['abc', 'de']);
    const bytes = Buffer.from('Über 👍\nzwei\n', 'utf8');
    const pieces = [bytes.subarray(0, 1), bytes.subarray(1, 7), bytes.subarray(7)];
    expect(await linesOf(...pieces)).toEqual(['Über 👍', 'zwei']);
  });
});

test('chunked groups in order and keeps the remainder', async () => {
  async function* numbers() {
    for (let i = 0; i < 7; i++) yield i;
  }
  expect(await collect(chunked(numbers(), 3))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
});

describe('parseQaLine', () => {
  test('reads question and context', () => {
    expect(parseQaLine({ text: '{"question":"q","context":"c","id":1}', number: 1 }, 'stdin')).toEqual({
      question: 'q',
      context: 'c',
    });
  });

  test.each([
    ['not json', /^stdin line 3: expected a JSON object .*; not JSON/],
    ['[1, 2]', /^stdin line 3: expected a JSON object .*; got \[1,2\]$/],
    ['{"question": "q"}', /^stdin line 3: expected .*; "context" is missing$/],
    ['{"question": 5, "context": "c"}', /^stdin line 3: expected .*; "question" is a number$/],
  ])('names the line of a bad record: %s', (text, message) => {
    let error: unknown;
    try {
      parseQaLine({ text, number: 3 }, 'stdin');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(1);
    expect((error as CliError).message).toMatch(message);
  });
});

describe('compactFloat', () => {
  test('prints float32 values in the shortest form that reads back the same', () => {
    const values = Float32Array.from([0.806, -0.10618327558040619, 1e-7, 3.4e38, 0.1, 1 / 3]);
    for (const value of values) {
      const compact = compactFloat(value);
      expect(Math.fround(compact)).toBe(value);
      expect(String(compact).replace(/^-?0\.0*|e.*$|\./g, '').length).toBeLessThanOrEqual(9);
    }
    expect(compactFloat(Math.fround(0.806))).toBe(0.806);
  });

  test('leaves integers, doubles and non-finite numbers alone', () => {
    expect(compactFloat(12)).toBe(12);
    expect(compactFloat(0.700845330953598)).toBe(0.700845330953598);
    expect(compactFloat(NaN)).toBeNaN();
  });

  test('jsonLine writes typed arrays as arrays, one line', () => {
    expect(jsonLine({ text: 'x', embedding: Float32Array.from([0.5, 0.1]) })).toBe(
      '{"text":"x","embedding":[0.5,0.1]}\n',
    );
  });
});
