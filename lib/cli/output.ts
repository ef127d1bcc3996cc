import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { SingleBar } from 'cli-progress';

/**
 * The shortest decimal that reads back as the same float32, for numbers that are float32 values
 * (model outputs): 0.8060000538825989 prints as 0.806. Other numbers are returned unchanged.
 */
export function compactFloat(value: number): number {
  if (!Number.isFinite(value) || Math.fround(value) !== value) return value;
  // Small integers (offsets, indices) already print in full and short.
  if (Number.isInteger(value) && Math.abs(value) <= 2 ** 24) return value;
  for (let digits = 1; digits <= 9; digits++) {
    const shorter = Number(value.toPrecision(digits));
    if (Math.fround(shorter) === value) return shorter;
  }
  return value;
}

function compactReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number') return compactFloat(value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number>, compactFloat);
  }
  return value;
}

/** One JSON line; float32 numbers in their shortest form, typed arrays as arrays. */
export function jsonLine(value: unknown): string {
  return JSON.stringify(value, compactReplacer) + '\n';
}

/** Writes lines to a stream, waiting for it to drain when its buffer is full (bounded memory). */
export class LineWriter {
  readonly #stream: Writable;

  constructor(stream: Writable) {
    this.#stream = stream;
  }

  async write(text: string): Promise<void> {
    if (!this.#stream.write(text)) await once(this.#stream, 'drain');
  }
}

export interface Progress {
  update(done: number): void;
  stop(): void;
}

/**
 * A progress bar on `stream` showing done/total. On a terminal it redraws in place; elsewhere
 * (logs, CI, pipes) it prints a line every `scheduleMs` and always the final state.
 */
export function createProgress(
  label: string,
  total: number,
  stream: NodeJS.WriteStream,
  scheduleMs = 5000,
): Progress {
  const tty = stream.isTTY === true;
  const bar = new SingleBar({
    stream,
    format: tty
      ? `${label} [{bar}] {value}/{total} {percentage}% | {duration_formatted} | eta {eta_formatted}`
      : `${label}: {value}/{total} ({percentage}%) {duration_formatted} elapsed`,
    barCompleteChar: '=',
    barIncompleteChar: '-',
    noTTYOutput: true,
    notTTYSchedule: scheduleMs,
    // Keep the terminal's own settings: nothing to restore if the process is interrupted.
    linewrap: true,
    hideCursor: false,
    // Off a terminal, stop() prints the final line; a newline after it would be an empty line.
    clearOnComplete: !tty,
    etaBuffer: 50,
  });
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}
