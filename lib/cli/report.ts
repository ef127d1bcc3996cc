// Errors of the torch-encoders command: one line on stderr, "torch-encoders: <message>"; the stack
// only with --verbose.
import { CommanderError } from 'commander';
import { CliError } from './errors';

function commanderMessage(error: CommanderError, commands: readonly string[]): string {
  if (error.code === 'commander.unknownCommand') {
    const name = /'([^']*)'/.exec(error.message)?.[1] ?? '';
    return `unknown command '${name}' (commands: ${commands.join(', ')})`;
  }
  if (error.code === 'commander.help') {
    return `missing command (commands: ${commands.join(', ')}); see 'torch-encoders --help'`;
  }
  return error.message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/** Writes `error` to stderr and returns the exit code: 2 for usage errors, else the error's or 1. */
export function report(error: unknown, verbose: boolean, commands: readonly string[]): number {
  if (error instanceof CommanderError) {
    if (error.exitCode === 0) return 0; // --help, --version
    process.stderr.write(`torch-encoders: ${commanderMessage(error, commands)}\n`);
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
