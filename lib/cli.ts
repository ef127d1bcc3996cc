#!/usr/bin/env node
// The torch-encoders command: the program (its commands from the table in ./cli/commands, plus
// info and serve) and its entry point; errors are reported by ./cli/report. The task commands run
// the pipelines over texts given as arguments, a file or stdin, and write JSON lines.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command } from 'commander';
import { TASK_COMMANDS } from './cli/commands';
import { BUILD_DEMO_MODELS } from './cli/demo-models';
import { info } from './cli/info';
import { addCommonOptions, type CommonOptions } from './cli/options';
import { report } from './cli/report';
import { addServeCommand } from './cli/serve';
import { packageRoot } from './native';

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
// The program.

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
  torch-encoders rerank --query "how tall is the tower" --file passages.txt --top-k 3
  torch-encoders serve --port 8080
  torch-encoders info

Without --model, each command uses the package's demo model in models/ (sentiment, ner, qa,
embeddings, rerank), built at setup by ${BUILD_DEMO_MODELS}. Exit codes: 0 success,
1 runtime error (model, file, device), 2 usage error.`,
    );

  for (const definition of TASK_COMMANDS) {
    const command = program.command(definition.name).description(definition.description);
    if (definition.texts !== undefined) command.argument(definition.texts.name, definition.texts.description);
    addCommonOptions(command, definition.demoModel, definition.fileHolds);
    definition
      .addOptions(command)
      .addHelpText('after', definition.inputHelp)
      .action((...args: unknown[]) =>
        definition.texts === undefined
          ? definition.run([], args[0] as CommonOptions)
          : definition.run(args[0] as string[], args[1] as CommonOptions),
      );
  }

  program
    .command('info')
    .description(
      'the libtorch in use and the rule that found it, the binary loaded, CUDA, BLAS, threads, package version',
    )
    .option('--json', 'as one JSON object')
    .action((options: { json?: boolean }) => info(options, packageVersion()));

  addServeCommand(program, packageVersion);

  return program;
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
  const commandNames = program.commands.map((command) => command.name()).filter((name) => name !== 'help');
  const beforeDashes = argv.slice(2, argv.includes('--') ? argv.indexOf('--') : undefined);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    const verbose = program.opts().verbose === true || beforeDashes.includes('--verbose');
    return report(error, verbose, commandNames);
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
