import { Option, type Command } from 'commander';
import { type CommonOptions, loadOptions } from '../options';
import {
  INPUT_HELP,
  inputSource,
  loadPipeline,
  processInputs,
  resolveModelDir,
  type TaskCommand,
} from '../task-command';

interface NerOptions extends CommonOptions {
  aggregation: 'none' | 'simple' | 'first' | 'average' | 'max';
}

export const ner: TaskCommand<NerOptions> = {
  name: 'ner',
  demoModel: 'ner',
  description: 'token classification: {"text", "entities": [...]} per input',
  texts: { name: '[texts...]', description: 'texts to tag' },
  fileHolds: 'one text per line',
  addOptions: (command: Command) =>
    command.addOption(
      new Option(
        '-a, --aggregation <strategy>',
        "how tokens become entities: 'simple' groups adjacent tokens of one entity; 'first', 'average' and 'max' " +
          "first decide each word's label from its subwords; 'none' gives one result per token. The CLI's default " +
          "is 'first': whole words, never a fragment such as 'fl' of 'flew'",
      )
        .choices(['none', 'simple', 'first', 'average', 'max'])
        .default('first'),
    ),
  inputHelp: INPUT_HELP,
  async run(texts, options) {
    const modelDir = resolveModelDir(ner.demoModel, options.model);
    const source = await inputSource(texts, options.file);
    const pipeline = await loadPipeline();
    await using recognizer = await pipeline('token-classification', modelDir, {
      ...loadOptions(options),
      aggregationStrategy: options.aggregation,
    });
    await processInputs({
      task: ner.name,
      source,
      options,
      parse: (line) => line.text,
      // The strategy was given to pipeline(); results are entities or entity groups accordingly.
      run: (batch): Promise<unknown[]> => recognizer(batch),
      format: (text, entities) => ({ text, entities }),
    });
  },
};
