import { resolveMicroBatchOptions, type MicroBatchOptions, type TokenSequence } from '../batching';
import type { Forwarder } from '../forwarder';
import { runMicroBatches, streamMicroBatches, type RowTask } from '../micro-batch-stream';
import { badInput, checkOptionKeys } from '../validate';
import { asList } from './inputs';

/** Inputs for a pipeline's `stream`: any iterable or async iterable, read as it is consumed. */
export type InputStream<Item> = Iterable<Item> | AsyncIterable<Item>;

export interface TaskDefinition<Item, Options extends MicroBatchOptions, Result> {
  task: string;
  optionKeys: readonly string[];
  /** The pipeline's defaults, under each call's options. */
  defaults: Options;
  forwarder: Forwarder;
  /** Validates one input; `label` names it in errors ("input", "inputs[3]"). */
  check(value: unknown, label: string): Item;
  /**
   * The task's work for a call with `options` (the defaults merged in), checking them; `single`
   * when the call gave one input rather than an array.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each task has its own sequence and kept types
  rowTask(options: Options, single: boolean): RowTask<Item, TokenSequence & any, any, Result>;
}

/**
 * A task's two ways in: a call on one input or an array (results come back the same way), and a
 * stream over an iterable or async iterable (results in order, as they are ready). Both run through
 * the task's forwarder in bounded windows (lib/micro-batch-stream.ts).
 */
export function taskEntryPoints<Item, Options extends MicroBatchOptions, Result>(
  definition: TaskDefinition<Item, Options, Result>,
) {
  const { task, optionKeys, defaults, forwarder, check } = definition;

  function prepare(options: Options, single: boolean) {
    checkOptionKeys(task, options, optionKeys);
    const merged = { ...defaults, ...options };
    const limits = resolveMicroBatchOptions(task, merged, forwarder.defaultLimits);
    return { rowTask: definition.rowTask(merged, single), limits };
  }
  // Bad defaults are refused when the pipeline is made, not at its first call.
  prepare({} as Options, false);

  async function call(input: unknown, options: Options = {} as Options): Promise<Result | Result[]> {
    const { items, single } = asList(input, check);
    const { rowTask, limits } = prepare(options, single);
    const results = await runMicroBatches(items, rowTask, forwarder, limits);
    return single ? results[0]! : results;
  }

  function stream(inputs: InputStream<unknown>, options: Options = {} as Options): AsyncIterable<Result> {
    const iterable = inputs as Partial<Iterable<unknown> & AsyncIterable<unknown>> | null;
    if (
      typeof inputs === 'string' ||
      typeof iterable !== 'object' ||
      iterable === null ||
      (typeof iterable[Symbol.iterator] !== 'function' &&
        typeof iterable[Symbol.asyncIterator] !== 'function')
    ) {
      throw badInput(`${task}.stream`, 'inputs', 'an iterable or async iterable of inputs', inputs);
    }
    const { rowTask, limits } = prepare(options, false);
    return streamMicroBatches(checkEach(inputs, check), rowTask, forwarder, limits);
  }

  return { call, stream };
}

/** Checks each input as it is read; arrays at once, so a bad one is refused before any forward. */
function checkEach<Item>(
  inputs: InputStream<unknown>,
  check: (value: unknown, label: string) => Item,
): InputStream<Item> {
  if (Array.isArray(inputs)) return inputs.map((value, index) => check(value, `inputs[${index}]`));
  if (Symbol.asyncIterator in inputs) {
    return (async function* () {
      let index = 0;
      for await (const value of inputs) yield check(value, `inputs[${index++}]`);
    })();
  }
  return (function* () {
    let index = 0;
    for (const value of inputs) yield check(value, `inputs[${index++}]`);
  })();
}
