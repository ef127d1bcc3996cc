// The serve command: options (TEI's names and defaults), the models to serve, and the process's
// lifecycle (SIGTERM and SIGINT drain, dispose and exit 0).
import * as fs from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Device } from '../model';
import type { Task } from '../pipeline';
import type { ServerLimits } from '../server/context';
import { DEFAULT_LIMITS } from '../server/context';
import type { ModelSpec } from '../server/models';
import { demoModelDir } from './demo-models';
import { CliError } from './errors';
import { device, positiveInteger, threadCount } from './options';

/** The limits' options are named as ServerLimits' fields (commander camel-cases --max-batch-tokens). */
interface ServeCliOptions extends ServerLimits {
  port: number;
  host: string;
  model?: ModelSpec[];
  config?: string;
  apiKey?: string;
  device?: Device;
  threads?: number;
  workers?: number;
  logLevel: string;
  requestTimeout: number;
  shutdownGrace: number;
}

/** The demo models `serve` loads without --model or --config, by the names clients use. */
const DEMO_MODELS = ['embeddings', 'sentiment', 'rerank', 'ner', 'qa'];

const TASKS: readonly Task[] = [
  'feature-extraction',
  'text-classification',
  'token-classification',
  'question-answering',
  'rerank',
];

function port(value: string): number {
  const parsed = /^[0-9]+$/.test(value) ? Number(value) : NaN;
  if (!(parsed >= 0 && parsed <= 65535)) throw new InvalidArgumentError('Expected a port from 0 to 65535.');
  return parsed;
}

function booleanFlag(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError("Expected 'true' or 'false'.");
}

/** `name=DIR` or `name:task=DIR`, repeatable. */
function modelSpec(value: string, previous: ModelSpec[] | undefined): ModelSpec[] {
  const match = /^([^=:]+)(?::([a-z-]+))?=(.+)$/.exec(value);
  if (match === null) {
    throw new InvalidArgumentError("Expected NAME=DIR or NAME:TASK=DIR (e.g. 'minilm=./models/embeddings').");
  }
  const [, name, task, dir] = match;
  if (task !== undefined && !TASKS.includes(task as Task)) {
    throw new InvalidArgumentError(`Unknown task '${task}'; expected one of ${TASKS.join(', ')}.`);
  }
  return [
    ...(previous ?? []),
    { name: name!, dir: dir!, ...(task === undefined ? {} : { task: task as Task }) },
  ];
}

/** --config FILE: { "models": [{ "name", "path", "task"? }] }. */
function readConfigModels(file: string): ModelSpec[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`--config: cannot read ${file} as JSON: ${(error as Error).message}`, 2);
  }
  const models = (parsed as { models?: unknown } | null)?.models;
  if (!Array.isArray(models) || models.length === 0) {
    throw new CliError(`--config: ${file} must hold { "models": [{ "name": ..., "path": ... }, ...] }`, 2);
  }
  return models.map((entry: unknown, index) => {
    const { name, path, task } = (entry ?? {}) as { name?: unknown; path?: unknown; task?: unknown };
    if (typeof name !== 'string' || typeof path !== 'string') {
      throw new CliError(
        `--config: models[${index}] needs "name" and "path" strings; got ${JSON.stringify(entry)}`,
        2,
      );
    }
    if (task !== undefined && !TASKS.includes(task as Task)) {
      throw new CliError(
        `--config: models[${index}].task must be one of ${TASKS.join(', ')}; got ${JSON.stringify(task)}`,
        2,
      );
    }
    return { name, dir: path, ...(task === undefined ? {} : { task: task as Task }) };
  });
}

function modelsToServe(options: ServeCliOptions): ModelSpec[] {
  const models = [
    ...(options.config === undefined ? [] : readConfigModels(options.config)),
    ...(options.model ?? []),
  ];
  // Refused before the port is taken and any model loads.
  const seen = new Set<string>();
  for (const { name } of models) {
    if (seen.has(name)) throw new CliError(`--model: the name '${name}' is given twice`, 2);
    seen.add(name);
  }
  if (models.length > 0) return models;
  return DEMO_MODELS.map((name) => ({ name, dir: demoModelDir(name) }));
}

export function addServeCommand(program: Command, version: () => string): void {
  const limit = (flag: string, description: string, fallback: number) =>
    new Option(flag, description).argParser(positiveInteger).default(fallback);
  program
    .command('serve')
    .description(
      "an HTTP server: text-embeddings-inference's API (/embed, /predict, /rerank, /tokenize, /metrics, ...), OpenAI's /v1/embeddings, and /ner and /qa",
    )
    .addOption(new Option('--port <port>', 'port to listen on').argParser(port).default(8080))
    .option(
      '--host <address>',
      "address to listen on ('0.0.0.0' for every interface, as in a container)",
      '127.0.0.1',
    )
    .addOption(
      new Option(
        '--model <name=dir>',
        'a model to serve, by the name requests use: NAME=DIR or NAME:TASK=DIR (repeatable; the task is read from config.json when not given). Default: the demo models embeddings, sentiment, rerank, ner and qa',
      ).argParser(modelSpec),
    )
    .option('--config <file>', 'a JSON file listing the models: { "models": [{ "name", "path", "task"? }] }')
    .option(
      '--api-key <key>',
      'require Authorization: Bearer <key> on every route but /health and /metrics (default: $TORCH_ENCODERS_API_KEY, else none)',
    )
    .addOption(
      new Option('--device <device>', "'cpu', 'cuda', 'cuda:N' or 'auto' (default: cpu)").argParser(device),
    )
    .addOption(
      new Option('--threads <n>', 'intra-op threads of each model (default: all cores)').argParser(
        threadCount,
      ),
    )
    .addOption(
      new Option('--workers <n>', 'forwards each model runs at the same time').argParser(threadCount),
    )
    .addOption(
      limit(
        '--max-concurrent-requests <n>',
        'inputs in flight before requests are refused with 429',
        DEFAULT_LIMITS.maxConcurrentRequests,
      ),
    )
    .addOption(
      limit('--max-batch-tokens <n>', 'padded tokens of one shared forward', DEFAULT_LIMITS.maxBatchTokens),
    )
    .addOption(
      limit('--max-batch-requests <n>', 'rows of one shared forward', DEFAULT_LIMITS.maxBatchRequests),
    )
    .addOption(
      limit('--max-client-batch-size <n>', 'inputs of one request', DEFAULT_LIMITS.maxClientBatchSize),
    )
    .addOption(limit('--payload-limit <bytes>', 'bytes of a request body', DEFAULT_LIMITS.payloadLimit))
    .addOption(
      new Option(
        '--auto-truncate <bool>',
        "cut inputs longer than the model takes when a request does not say (TEI's truncate)",
      )
        .argParser(booleanFlag)
        .default(DEFAULT_LIMITS.autoTruncate),
    )
    .addOption(
      limit('--request-timeout <ms>', 'milliseconds a client has to send a whole request (then 408)', 30_000),
    )
    .addOption(
      limit(
        '--shutdown-grace <ms>',
        'milliseconds a shutdown waits for requests in flight before closing their connections',
        30_000,
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'log level of the JSON log on stdout')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'silent'])
        .default('info'),
    )
    .action((options: ServeCliOptions) => serveCommand(options, version()));
}

async function serveCommand(options: ServeCliOptions, version: string): Promise<void> {
  const models = modelsToServe(options);
  const limits = Object.fromEntries(
    (Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]).map((key) => [key, options[key]]),
  ) as unknown as ServerLimits;
  const apiKey = options.apiKey ?? process.env.TORCH_ENCODERS_API_KEY;
  if (apiKey === '') throw new CliError('--api-key: the key is empty', 2);
  // Loaded here, not at the top: the other commands do not pay for the server's dependencies.
  const { startServer } = await import('../server/serve');
  const { default: pino } = await import('pino');
  const logger = pino({ level: options.logLevel, base: { service: 'torch-encoders' } });
  const server = await startServer({
    port: options.port,
    host: options.host,
    models,
    limits,
    version,
    logger,
    requestTimeoutMs: options.requestTimeout,
    shutdownGraceMs: options.shutdownGrace,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...(options.device === undefined ? {} : { device: options.device }),
    ...(options.threads === undefined ? {} : { threads: options.threads }),
    ...(options.workers === undefined ? {} : { workers: options.workers }),
  });
  logger.info(
    { url: server.url, models: models.map((model) => model.name) },
    'listening; loading the models',
  );
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  const loaded = server.ready.then(
    () => logger.info({ url: server.url }, 'ready'),
    (error: unknown) => {
      throw error;
    },
  );
  const first = await Promise.race([loaded.then(() => undefined), stopped]);
  const signal = first ?? (await stopped);
  logger.info({ signal }, 'shutting down: answering the requests in flight');
  await server.close();
  logger.info('stopped');
}
