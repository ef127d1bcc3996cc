// The option parsers and the options every task command shares.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Device } from '../model';

// A bad value is a usage error (exit 2) naming the option, from commander.

export function positiveInteger(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('Expected an integer >= 1.');
  }
  return Number(value);
}

export function threadCount(value: string): number {
  const threads = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(threads >= 1 && threads <= 1024))
    throw new InvalidArgumentError('Expected an integer from 1 to 1024.');
  return threads;
}

/** 'all' stays a string: commander turns a parser's null into ''. */
export function topKOrAll(value: string): number | 'all' {
  if (value === 'all') return value;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError("Expected an integer >= 1 or 'all'.");
  }
  return Number(value);
}

export function device(value: string): Device {
  if (!/^(cpu|cuda|auto|cuda:[0-9]+)$/.test(value)) {
    throw new InvalidArgumentError("Expected 'cpu', 'cuda', 'cuda:N' or 'auto'.");
  }
  return value as Device;
}

export interface CommonOptions {
  model?: string;
  file?: string;
  device?: Device;
  batchSize?: number;
  threads?: number;
  workers?: number;
  progress: boolean;
}

/** Adds the options of every task command; `inputs` says what a --file holds. */
export function addCommonOptions(command: Command, demoModel: string, inputs: string): Command {
  return command
    .option(
      '-m, --model <dir>',
      `model directory (model.pt, config.json, tokenizer.json); default: the package's demo model models/${demoModel}`,
    )
    .option('-f, --file <path>', `read inputs from a file, ${inputs}`)
    .addOption(
      new Option(
        '--device <device>',
        "'cpu', 'cuda', 'cuda:N' or 'auto' (CUDA when usable) (default: cpu)",
      ).argParser(device),
    )
    .addOption(
      new Option('--batch-size <n>', 'sequences per forward pass (default: 8)').argParser(positiveInteger),
    )
    .addOption(
      new Option('--threads <n>', 'intra-op threads of the model (default: all cores)').argParser(
        threadCount,
      ),
    )
    .addOption(
      new Option(
        '--workers <n>',
        'forwards run at the same time, sharing the threads (default: one per thread for models of at most 2 MFLOP per token, such as 2 layers x 128 wide, else 1)',
      ).argParser(threadCount),
    )
    .option('--no-progress', 'no progress bar on stderr (shown for --file inputs)');
}

/** The common options that are pipeline() options, those given only. */
export function loadOptions(options: CommonOptions): {
  device?: Device;
  threads?: number;
  workers?: number;
  batchSize?: number;
} {
  return {
    ...(options.device === undefined ? {} : { device: options.device }),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
  };
}
