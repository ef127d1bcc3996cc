import { Option, type Command } from 'commander';
import { type CommonOptions, loadOptions, topKOrAll } from '../options';
import {
  INPUT_HELP,
  inputSource,
  loadPipeline,
  processInputs,
  resolveModelDir,
  type TaskCommand,
} from '../task-command';

interface ClassifyOptions extends CommonOptions {
  topK?: number | 'all';
}

export const classify: TaskCommand<ClassifyOptions> = {
  name: 'classify',
  demoModel: 'sentiment',
  description: 'text classification: {"text", "labels": [{"label", "score"}, ...]} per input',
  texts: { name: '[texts...]', description: 'texts to classify' },
  fileHolds: 'one text per line',
  addOptions: (command: Command) =>
    command.addOption(
      new Option(
        '-k, --top-k <n>',
        "labels per text, best first; 'all' for every label (default: 1)",
      ).argParser(topKOrAll),
    ),
  inputHelp: INPUT_HELP,
  async run(texts, options) {
    const modelDir = resolveModelDir(classify.demoModel, options.model);
    const source = await inputSource(texts, options.file);
    const pipeline = await loadPipeline();
    await using classifier = await pipeline('text-classification', modelDir, {
      ...loadOptions(options),
      ...(options.topK === undefined ? {} : { topK: options.topK === 'all' ? null : options.topK }),
    });
    await processInputs({
      task: classify.name,
      source,
      options,
      parse: (line) => line.text,
      run: (batch) => classifier(batch),
      format: (text, labels) => ({ text, labels }),
    });
  },
};
