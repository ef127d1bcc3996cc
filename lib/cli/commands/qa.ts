import { Option, type Command } from 'commander';
import { usageError } from '../errors';
import { argumentSource, parseQaLine } from '../inputs';
import { type CommonOptions, loadOptions, positiveInteger } from '../options';
import { inputSource, loadPipeline, processInputs, resolveModelDir, type TaskCommand } from '../task-command';

interface QaOptions extends CommonOptions {
  question?: string;
  context?: string;
  topK?: number;
  maxAnswerLen?: number;
  echoContext?: boolean;
}

export const qa: TaskCommand<QaOptions> = {
  name: 'qa',
  demoModel: 'qa',
  description:
    'extractive question answering: {"question", "answers": [{"answer", "score", "start", "end"}]}',
  fileHolds: 'one JSON object {"question", "context"} per line (JSONL)',
  addOptions: (command: Command) =>
    command
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
      .option('--echo-context', 'also write each input\'s "context" (start/end index into it)'),
  inputHelp: `
Input: --question with --context; else --file, else stdin, each one JSON object
{"question": "...", "context": "..."} per line (JSONL). "start" and "end" are character
offsets into the context; output lines follow input order.`,
  async run(_texts, options) {
    const single = options.question !== undefined || options.context !== undefined;
    if (single && (options.question === undefined || options.context === undefined)) {
      throw usageError(
        `qa: --question and --context go together; got only --${options.question === undefined ? 'context' : 'question'}`,
      );
    }
    if (single && options.file !== undefined) {
      throw usageError('qa: give --question and --context, or --file, not both');
    }
    const modelDir = resolveModelDir(qa.demoModel, options.model);
    const source = single
      ? argumentSource([JSON.stringify({ question: options.question, context: options.context })])
      : await inputSource([], options.file);
    const pipeline = await loadPipeline();
    await using answerer = await pipeline('question-answering', modelDir, {
      ...loadOptions(options),
      ...(options.topK === undefined ? {} : { topK: options.topK }),
      ...(options.maxAnswerLen === undefined ? {} : { maxAnswerLen: options.maxAnswerLen }),
    });
    await processInputs({
      task: qa.name,
      source,
      options,
      parse: (line) => parseQaLine(line, source.where),
      run: (batch) => answerer(batch),
      format: ({ question, context }, answers) =>
        options.echoContext ? { question, context, answers } : { question, answers },
    });
  },
};
