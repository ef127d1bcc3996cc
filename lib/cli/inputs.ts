import * as fs from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { CliError, fileError } from './errors';

/** One input line and where it came from, for error messages. */
export interface Line {
  text: string;
  /** 1-based. */
  number: number;
}

/** Where inputs come from: their lines, how many (when known in advance) and a name for errors. */
export interface InputSource {
  lines: AsyncIterable<Line>;
  /** Known for regular files (counted first) and arguments; undefined for stdin. */
  total: number | undefined;
  /** "--file 'x.txt'", "stdin" or "arguments". */
  where: string;
}

/**
 * Splits a text stream into lines on '\n', dropping one '\r' before it (CRLF files) and a UTF-8
 * byte order mark at the start. Every line is kept, empty ones too; only the newline that ends
 * the last line does not start another one.
 */
export async function* splitLines(stream: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let first = true;
  for await (const chunk of stream) {
    // A decoder, so that a character split across two buffers is joined, not garbled.
    let text = pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk));
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      yield withoutCarriageReturn(text.slice(start, newline));
      start = newline + 1;
    }
    pending = text.slice(start);
  }
  pending += decoder.end();
  if (pending !== '') yield withoutCarriageReturn(pending);
}

function withoutCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

async function* numbered(lines: AsyncIterable<string>): AsyncGenerator<Line> {
  let number = 0;
  for await (const text of lines) yield { text, number: ++number };
}

/** Counts the lines splitLines will yield for the file behind `handle`, reading it in blocks. */
async function countLines(handle: fs.promises.FileHandle): Promise<number> {
  const buffer = Buffer.allocUnsafe(1 << 16);
  let newlines = 0;
  let last = -1;
  let position = 0;
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    for (let index = buffer.indexOf(10, 0); index !== -1 && index < bytesRead;) {
      newlines++;
      index = buffer.indexOf(10, index + 1);
    }
    last = buffer[bytesRead - 1]!;
    position += bytesRead;
  }
  return newlines + (last !== -1 && last !== 10 ? 1 : 0);
}

/**
 * Opens `file` for reading (failing with one line that names it and why) and counts its lines
 * when it is a regular file, so progress can show a total. Lines are then streamed, not held.
 */
export async function fileSource(file: string): Promise<InputSource> {
  const where = `--file '${file}'`;
  let handle: fs.promises.FileHandle | undefined;
  let total: number | undefined;
  try {
    handle = await fs.promises.open(file, 'r');
    const stat = await handle.stat();
    if (stat.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    if (stat.isFile()) total = await countLines(handle);
  } catch (error) {
    await handle?.close();
    throw fileError('--file', file, error);
  }
  const stream = handle.createReadStream({ start: 0, encoding: 'utf8', autoClose: true });
  return { lines: numbered(readingErrorsNamed(splitLines(stream), file)), total, where };
}

async function* readingErrorsNamed(lines: AsyncIterable<string>, file: string): AsyncGenerator<string> {
  try {
    yield* lines;
  } catch (error) {
    throw fileError('--file', file, error);
  }
}

export function stdinSource(stdin: Readable): InputSource {
  stdin.setEncoding('utf8');
  return { lines: numbered(splitLines(stdin)), total: undefined, where: 'stdin' };
}

export function argumentSource(texts: readonly string[]): InputSource {
  async function* lines(): AsyncGenerator<Line> {
    for (const [index, text] of texts.entries()) yield { text, number: index + 1 };
  }
  return { lines: lines(), total: texts.length, where: 'arguments' };
}

/** Groups an async sequence into arrays of at most `size` items, in order. */
export async function* chunked<T>(items: AsyncIterable<T>, size: number): AsyncGenerator<T[]> {
  let chunk: T[] = [];
  for await (const item of items) {
    chunk.push(item);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** A question-answering input read from a JSONL line. */
export interface QaLine {
  question: string;
  context: string;
}

/** Parses one JSONL line of `{"question": ..., "context": ...}`, naming the line when it is not. */
export function parseQaLine(line: Line, where: string): QaLine {
  const expected = 'expected a JSON object {"question": string, "context": string}';
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new CliError(`${where} line ${line.number}: ${expected}; not JSON (${reason})`, 1);
  }
  const object = value as { question?: unknown; context?: unknown } | null;
  if (typeof object !== 'object' || object === null || Array.isArray(object)) {
    const got = JSON.stringify(value);
    throw new CliError(
      `${where} line ${line.number}: ${expected}; got ${got.length > 40 ? `${got.slice(0, 40)}…` : got}`,
      1,
    );
  }
  for (const key of ['question', 'context'] as const) {
    if (typeof object[key] !== 'string') {
      const got =
        object[key] === undefined ? 'missing' : `a ${object[key] === null ? 'null' : typeof object[key]}`;
      throw new CliError(`${where} line ${line.number}: ${expected}; "${key}" is ${got}`, 1);
    }
  }
  return { question: object.question as string, context: object.context as string };
}
