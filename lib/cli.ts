#!/usr/bin/env node
// The torch-encoders command: runs the task pipelines over texts given as arguments, a file or
// stdin, and writes one JSON line per input, in input order. It only parses, reads, batches,
// writes and reports errors; the pipelines do the work.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CliError, usageError } from './cli/errors';
import { info } from './cli/info';
import { packageRoot } from './native';
import {
  argumentSource,
  chunked,
  fileSource,
  parseQaLine,
  stdinSource,
  type InputSource,
  type Line,
} from './cli/inputs';
import { LineWriter, createProgress, jsonLine, type Progress } from './cli/output';
import type { Device } from './model';

const COMMANDS = ['classify', 'ner', 'qa', 'embed', 'info'] as const;
type TaskCommand = 'classify' | 'ner' | 'qa' | 'embed';

/** The demo model each command uses without --model, under <package root>/models/. */
const DEMO_MODELS: Record<TaskCommand, string> = {
  classify: 'sentiment',
  ner: 'ner',
  qa: 'qa',
  embed: 'embeddings',
};

/** Inputs per pipeline call for file and stdin inputs: results are written as each chunk completes. */
const CHUNK_SIZE = 256;

function packageVersion(): string {
  try {
    const json = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof json.version === 'string' ? json.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Option parsers: a bad value is a usage error (exit 2) naming the option, from commander.

function positiveInteger(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('Expected an integer >= 1.');
  }
  return Number(value);
}

function threadCount(value: string): number {
  const threads = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(threads >= 1 && threads <= 1024))
    throw new InvalidArgumentError('Expected an integer from 1 to 1024.');
  return threads;
}

/** 'all' stays a string: commander turns a parser's null into ''. */
function topKOrAll(value: string): number | 'all' {
  if (value === 'all') return value;
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError("Expected an integer >= 1 or 'all'.");
  }
  return Number(value);
}

function device(value: string): Device {
  if (!/^(cpu|cuda|auto|cuda:[0-9]+)$/.test(value)) {
    throw new InvalidArgumentError("Expected 'cpu', 'cuda', 'cuda:N' or 'auto'.");
  }
  return value as Device;
}

// ---------------------------------------------------------------------------------------------
// Shared options and steps of the task commands.

interface CommonOptions {
  model?: string;
  file?: string;
  device?: Device;
  batchSize?: number;
  threads?: number;
  workers?: number;
  progress: boolean;
}

function addCommonOptions(command: Command, task: TaskCommand, inputs: string): Command {
  return command
    .option(
      '-m, --model <dir>',
      `model directory (model.pt, config.json, tokenizer.json); default: the package's demo model models/${DEMO_MODELS[task]}`,
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
        'forwards run at the same time, sharing the threads (default: one per thread for models as small as the demo ones, else 1)',
      ).argParser(threadCount),
    )
    .option('--no-progress', 'no progress bar on stderr (shown for --file inputs)');
}

/** The model directory: --model, or the demo model of the task inside the package. */
function resolveModelDir(task: TaskCommand, given: string | undefined): string {
  const dir = given ?? path.join(packageRoot(), 'models', DEMO_MODELS[task]);
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (stat === undefined) {
    throw new CliError(
      given === undefined
        ? `model directory '${dir}' is missing: the demo model of '${task}' is not installed; pass --model DIR`
        : `model directory '${dir}' (--model) is missing: no such directory`,
      1,
    );
  }
  if (!stat.isDirectory()) {
    throw new CliError(
      `model directory '${dir}' is not a directory; expected a directory with model.pt, config.json and tokenizer.json`,
      1,
    );
  }
  return dir;
}

/** Arguments, else --file, else stdin (which must not be a terminal). */
async function inputSource(texts: readonly string[], file: string | undefined): Promise<InputSource> {
  if (texts.length > 0 && file !== undefined) throw usageError('give texts as arguments or --file, not both');
  if (texts.length > 0) return argumentSource(texts);
  if (file !== undefined) return fileSource(file);
  if (process.stdin.isTTY) {
    throw usageError('no input: give texts as arguments, --file PATH, or pipe lines to stdin');
  }
  return stdinSource(process.stdin);
}

function loadOptions(options: CommonOptions): {
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

/**
 * Runs `run` over the inputs in chunks and writes one line per input as each chunk completes,
 * in input order; memory stays bounded however long the input. Progress shows for --file inputs.
 */
async function processInputs<I, R>(args: {
  task: TaskCommand;
  source: InputSource;
  progress: boolean;
  file: string | undefined;
  /** --batch-size: a chunk is never smaller than one forward's batch. */
  batchSize: number | undefined;
  parse: (line: Line) => I;
  run: (batch: I[]) => Promise<R[]>;
  format: (input: I, result: R) => unknown;
}): Promise<void> {
  const { source } = args;
  const writer = new LineWriter(process.stdout);
  // A bar redrawn on the terminal would mix with results printed on the same terminal.
  const showProgress =
    args.progress &&
    args.file !== undefined &&
    source.total !== undefined &&
    !(process.stderr.isTTY && process.stdout.isTTY);
  let progress: Progress | undefined;
  let done = 0;
  try {
    if (showProgress) progress = createProgress(args.task, source.total!, process.stderr);
    for await (const lines of chunked(source.lines, Math.max(CHUNK_SIZE, args.batchSize ?? 0))) {
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
async function loadPipeline() {
  return (await import('./pipeline')).pipeline;
}

// ---------------------------------------------------------------------------------------------
// Commands.

interface ClassifyOptions extends CommonOptions {
  topK?: number | 'all';
}

async function classify(texts: string[], options: ClassifyOptions): Promise<void> {
  const modelDir = resolveModelDir('classify', options.model);
  const source = await inputSource(texts, options.file);
  const pipeline = await loadPipeline();
  const classifier = await pipeline('text-classification', modelDir, {
    ...loadOptions(options),
    ...(options.topK === undefined ? {} : { topK: options.topK === 'all' ? null : options.topK }),
  });
  try {
    await processInputs({
      task: 'classify',
      source,
      progress: options.progress,
      file: options.file,
      batchSize: options.batchSize,
      parse: (line) => line.text,
      run: (batch) => classifier(batch),
      format: (text, labels) => ({ text, labels }),
    });
  } finally {
    await classifier.dispose();
  }
}

interface NerOptions extends CommonOptions {
  aggregation: 'none' | 'simple' | 'first' | 'average' | 'max';
}

async function ner(texts: string[], options: NerOptions): Promise<void> {
  const modelDir = resolveModelDir('ner', options.model);
  const source = await inputSource(texts, options.file);
  const pipeline = await loadPipeline();
  const recognizer = await pipeline('token-classification', modelDir, {
    ...loadOptions(options),
    aggregationStrategy: options.aggregation,
  });
  try {
    await processInputs({
      task: 'ner',
      source,
      progress: options.progress,
      file: options.file,
      batchSize: options.batchSize,
      parse: (line) => line.text,
      // The strategy was given to pipeline(); results are entities or entity groups accordingly.
      run: (batch): Promise<unknown[]> => recognizer(batch),
      format: (text, entities) => ({ text, entities }),
    });
  } finally {
    await recognizer.dispose();
  }
}

interface QaOptions extends CommonOptions {
  question?: string;
  context?: string;
  topK?: number;
  maxAnswerLen?: number;
  echoContext?: boolean;
}

async function qa(options: QaOptions): Promise<void> {
  const single = options.question !== undefined || options.context !== undefined;
  if (single && (options.question === undefined || options.context === undefined)) {
    throw usageError(
      `qa: --question and --context go together; got only --${options.question === undefined ? 'context' : 'question'}`,
    );
  }
  if (single && options.file !== undefined) {
    throw usageError('qa: give --question and --context, or --file, not both');
  }
  const modelDir = resolveModelDir('qa', options.model);
  const source = single
    ? argumentSource([JSON.stringify({ question: options.question, context: options.context })])
    : await inputSource([], options.file);
  const pipeline = await loadPipeline();
  const answerer = await pipeline('question-answering', modelDir, {
    ...loadOptions(options),
    ...(options.topK === undefined ? {} : { topK: options.topK }),
    ...(options.maxAnswerLen === undefined ? {} : { maxAnswerLen: options.maxAnswerLen }),
  });
  try {
    await processInputs({
      task: 'qa',
      source,
      progress: options.progress,
      file: options.file,
      batchSize: options.batchSize,
      parse: (line) => parseQaLine(line, source.where),
      run: (batch) => answerer(batch),
      format: ({ question, context }, answers) =>
        options.echoContext ? { question, context, answers } : { question, answers },
    });
  } finally {
    await answerer.dispose();
  }
}

interface EmbedOptions extends CommonOptions {
  pooling: 'mean' | 'cls' | 'max' | 'none';
  normalize: boolean;
}

async function embed(texts: string[], options: EmbedOptions): Promise<void> {
  const modelDir = resolveModelDir('embed', options.model);
  const source = await inputSource(texts, options.file);
  const pipeline = await loadPipeline();
  const embedder = await pipeline('feature-extraction', modelDir, {
    ...loadOptions(options),
    pooling: options.pooling,
    normalize: options.normalize,
  });
  try {
    await processInputs({
      task: 'embed',
      source,
      progress: options.progress,
      file: options.file,
      batchSize: options.batchSize,
      parse: (line) => line.text,
      run: (batch) => embedder(batch),
      format: (text, { data, dims }) => {
        if (dims.length === 1) return { text, embedding: data };
        // pooling 'none': one vector per token.
        const width = dims[1]!;
        const embedding: Float32Array[] = [];
        for (let start = 0; start < data.length; start += width) {
          embedding.push(data.subarray(start, start + width));
        }
        return { text, embedding };
      },
    });
  } finally {
    await embedder.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// The program.

const INPUT_HELP = `
Input: texts as arguments; else --file (one text per line); else stdin (one text per line).
Every line is an input, empty ones too; a final newline does not add an empty input.
File and stdin inputs are processed ${CHUNK_SIZE} at a time and written as they complete.
Put -- before texts that start with '-'.`;

function buildProgram(): Command {
  const program = new Command('torch-encoders');
  program
    .description(
      'Run encoder transformers (BERT, RoBERTa, DistilBERT) with libtorch; writes JSON lines to stdout.',
    )
    .version(packageVersion(), '-V, --version')
    .option('--verbose', 'on errors, print the stack trace')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, outputError: () => undefined })
    .showSuggestionAfterError(false)
    .configureHelp({ showGlobalOptions: true })
    .helpCommand(true)
    .addHelpText(
      'after',
      `
Examples:
  torch-encoders classify "I loved this film!" --top-k all
  torch-encoders ner --file news.txt > entities.jsonl
  torch-encoders qa --question "Who designed it?" --context "The tower was designed by Eiffel."
  cat sentences.txt | torch-encoders embed --normalize > vectors.jsonl
  torch-encoders info

Without --model, each command uses the package's demo model in models/ (sentiment, ner, qa,
embeddings). Exit codes: 0 success, 1 runtime error (model, file, device), 2 usage error.`,
    );

  addCommonOptions(
    program
      .command('classify')
      .description('text classification: {"text", "labels": [{"label", "score"}, ...]} per input')
      .argument('[texts...]', 'texts to classify'),
    'classify',
    'one text per line',
  )
    .addOption(
      new Option(
        '-k, --top-k <n>',
        "labels per text, best first; 'all' for every label (default: 1)",
      ).argParser(topKOrAll),
    )
    .addHelpText('after', INPUT_HELP)
    .action(classify);

  addCommonOptions(
    program
      .command('ner')
      .description('token classification: {"text", "entities": [...]} per input')
      .argument('[texts...]', 'texts to tag'),
    'ner',
    'one text per line',
  )
    .addOption(
      new Option(
        '-a, --aggregation <strategy>',
        "how tokens become entities: 'simple' groups adjacent tokens of one entity; 'first', 'average' and 'max' " +
          "first decide each word's label from its subwords; 'none' gives one result per token. The CLI's default " +
          "is 'first': whole words, never a fragment such as 'fl' of 'flew'",
      )
        .choices(['none', 'simple', 'first', 'average', 'max'])
        .default('first'),
    )
    .addHelpText('after', INPUT_HELP)
    .action(ner);

  addCommonOptions(
    program
      .command('qa')
      .description(
        'extractive question answering: {"question", "answers": [{"answer", "score", "start", "end"}]}',
      ),
    'qa',
    'one JSON object {"question", "context"} per line (JSONL)',
  )
    .option('-q, --question <text>', 'the question (with --context)')
    .option('-c, --context <text>', 'the text to find the answer in (with --question)')
    .addOption(
      new Option('-k, --top-k <n>', 'answers per question, best first (default: 1)').argParser(
        positiveInteger,
      ),
    )
    .addOption(
      new Option('--max-answer-len <n>', 'longest answer, in tokens (default: 15)').argParser(
        positiveInteger,
      ),
    )
    .option('--echo-context', 'also write each input\'s "context" (start/end index into it)')
    .addHelpText(
      'after',
      `
Input: --question with --context; else --file, else stdin, each one JSON object
{"question": "...", "context": "..."} per line (JSONL). "start" and "end" are character
offsets into the context; output lines follow input order.`,
    )
    .action((options: QaOptions) => qa(options));

  addCommonOptions(
    program
      .command('embed')
      .description('sentence embeddings: {"text", "embedding": [numbers]} per input')
      .argument('[texts...]', 'texts to embed'),
    'embed',
    'one text per line',
  )
    .addOption(
      new Option(
        '-p, --pooling <strategy>',
        "'mean' over the real tokens, the first token ('cls'), the per-dimension 'max', or 'none': one vector per token ([[...], ...])",
      )
        .choices(['mean', 'cls', 'max', 'none'])
        .default('mean'),
    )
    .option('-n, --normalize', 'L2-normalize each vector (cosine similarity by dot product)', false)
    .addHelpText('after', INPUT_HELP)
    .action(embed);

  program
    .command('info')
    .description(
      'the libtorch in use and the rule that found it, the binary loaded, CUDA, BLAS, threads, package version',
    )
    .option('--json', 'as one JSON object')
    .action((options: { json?: boolean }) => info(options, packageVersion()));

  return program;
}

// ---------------------------------------------------------------------------------------------
// Errors: one line on stderr, "torch-encoders: <message>"; the stack only with --verbose.

function commanderMessage(error: CommanderError): string {
  if (error.code === 'commander.unknownCommand') {
    const name = /'([^']*)'/.exec(error.message)?.[1] ?? '';
    return `unknown command '${name}' (commands: ${COMMANDS.join(', ')})`;
  }
  if (error.code === 'commander.help') {
    return `missing command (commands: ${COMMANDS.join(', ')}); see 'torch-encoders --help'`;
  }
  return error.message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

function report(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return 0; // --help, --version
    process.stderr.write(`torch-encoders: ${commanderMessage(error)}\n`);
    return 2;
  }
  // The native-load message starts with the package's name, which the prefix already says.
  const message = (error instanceof Error ? error.message : String(error)).replace(/^torch-encoders:? /, '');
  const exitCode = error instanceof CliError ? error.exitCode : 1;
  if (!verbose) {
    // Multi-line messages (a failed load of the native binary lists causes) keep their first line.
    const [first, ...rest] = message.split('\n');
    const more = rest.some((line) => line.trim() !== '') ? ' (run with --verbose for details)' : '';
    process.stderr.write(`torch-encoders: ${first}${more}\n`);
    return exitCode;
  }
  process.stderr.write(`torch-encoders: ${message}\n`);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') process.stderr.write(`code: ${code}\n`);
  if (error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
  const cause = error instanceof Error ? (error.cause as { stack?: unknown } | undefined) : undefined;
  // Native errors carry no JS frames; their message is the one above.
  if (typeof cause?.stack === 'string' && /\n\s+at /.test(cause.stack)) {
    process.stderr.write(`caused by: ${cause.stack}\n`);
  }
  return exitCode;
}

export async function main(argv: readonly string[]): Promise<number> {
  // Library warnings (such as the reference-BLAS one) as one prefixed line, like errors.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => process.stderr.write(`torch-encoders: warning: ${warning.message}\n`));
  // A closed pipe (`| head`) ends the output, not in an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE')
      process.stderr.write(`torch-encoders: cannot write to stdout: ${error.message}\n`);
    process.exit(error.code === 'EPIPE' ? 0 : 1);
  });

  const program = buildProgram();
  const beforeDashes = argv.slice(2, argv.includes('--') ? argv.indexOf('--') : undefined);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    const verbose = program.opts().verbose === true || beforeDashes.includes('--verbose');
    return report(error, verbose);
  }
}

if (require.main === module) {
  void main(process.argv).then((exitCode) => {
    process.exitCode = exitCode;
    if (exitCode !== 0) {
      // Stop reading stdin after a failure, and do not let anything else keep the process alive.
      process.stdin.destroy();
      setTimeout(() => process.exit(exitCode), 2000).unref();
    }
  });
}
