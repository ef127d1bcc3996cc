// What a task command is (one entry of the command table in ./commands) and the steps they share:
// find the model directory, open the inputs, load the pipeline, write results as they complete.
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { CliError, usageError } from './errors';
import { demoModelDir } from './demo-models';
import { argumentSource, chunked, fileSource, stdinSource, type InputSource, type Line } from './inputs';
import type { CommonOptions } from './options';
import { LineWriter, createProgress, jsonLine, type Progress } from './output';

/** A command that runs a task pipeline; `torch-encoders` is built from a table of these. */
export interface TaskCommand<Options extends CommonOptions = CommonOptions> {
  name: string;
  /** The model it uses without --model: the package's demo model models/<demoModel>. */
  demoModel: string;
  description: string;
  /** Its positional arguments (e.g. '[texts...]'), when inputs can be given as arguments. */
  texts?: { name: string; description: string };
  /** What a --file holds, for the --file help. */
  fileHolds: string;
  /** Adds the command's own options, after the common ones. */
  addOptions(command: Command): Command;
  /** Help after the options: where the inputs come from and what is written. */
  inputHelp: string;
  /** `texts` are the positional arguments ([] for a command without them). */
  run(texts: string[], options: Options): Promise<void>;
}

/** Inputs per pipeline call for file and stdin inputs: results are written as each chunk completes. */
export const CHUNK_SIZE = 256;

export const INPUT_HELP = `
Input: texts as arguments; else --file (one text per line); else stdin (one text per line).
Every line is an input, empty ones too; a final newline does not add an empty input.
File and stdin inputs are processed ${CHUNK_SIZE} at a time and written as they complete.
Put -- before texts that start with '-'.`;

/** The model directory: --model, or the command's demo model inside the package. */
export function resolveModelDir(demoModel: string, given: string | undefined): string {
  if (given === undefined) return demoModelDir(demoModel);
  const stat = fs.statSync(given, { throwIfNoEntry: false });
  if (stat === undefined) {
    throw new CliError(`model directory '${given}' (--model) is missing: no such directory`, 1);
  }
  if (!stat.isDirectory()) {
    throw new CliError(
      `model directory '${given}' is not a directory; expected a directory with model.pt, config.json and tokenizer.json`,
      1,
    );
  }
  return given;
}

/** Arguments, else --file, else stdin (which must not be a terminal). */
export async function inputSource(texts: readonly string[], file: string | undefined): Promise<InputSource> {
  if (texts.length > 0 && file !== undefined) throw usageError('give texts as arguments or --file, not both');
  if (texts.length > 0) return argumentSource(texts);
  if (file !== undefined) return fileSource(file);
  if (process.stdin.isTTY) {
    throw usageError('no input: give texts as arguments, --file PATH, or pipe lines to stdin');
  }
  return stdinSource(process.stdin);
}

/**
 * A progress bar on stderr for --file inputs of known length, unless --no-progress. Not when both
 * stderr and stdout are the terminal: a bar redrawn there would mix with the results printed.
 */
export function progressFor(
  label: string,
  source: InputSource,
  options: Pick<CommonOptions, 'progress' | 'file'>,
): Progress | undefined {
  const show =
    options.progress &&
    options.file !== undefined &&
    source.total !== undefined &&
    !(process.stderr.isTTY && process.stdout.isTTY);
  return show ? createProgress(label, source.total!, process.stderr) : undefined;
}

/** Chunks of input lines: never smaller than one forward's batch (--batch-size). */
export function inputChunks(source: InputSource, batchSize: number | undefined): AsyncGenerator<Line[]> {
  return chunked(source.lines, Math.max(CHUNK_SIZE, batchSize ?? 0));
}

/**
 * Runs `run` over the inputs in chunks and writes one line per input as each chunk completes,
 * in input order; memory stays bounded however long the input. Progress shows for --file inputs.
 */
export async function processInputs<I, R>(args: {
  task: string;
  source: InputSource;
  options: CommonOptions;
  parse: (line: Line) => I;
  run: (batch: I[]) => Promise<R[]>;
  format: (input: I, result: R) => unknown;
}): Promise<void> {
  const { source, options } = args;
  const writer = new LineWriter(process.stdout);
  let progress: Progress | undefined;
  let done = 0;
  try {
    progress = progressFor(args.task, source, options);
    for await (const lines of inputChunks(source, options.batchSize)) {
      const inputs = lines.map(args.parse);
      const results = await args.run(inputs);
      let text = '';
      for (const [index, input] of inputs.entries()) text += jsonLine(args.format(input, results[index]!));
      await writer.write(text);
      done += inputs.length;
      progress?.update(done);
    }
  } finally {
    progress?.stop();
  }
}

/** Loads the pipeline lazily, so --help and usage errors do not load libtorch. */
export async function loadPipeline() {
  return (await import('../pipeline')).pipeline;
}
