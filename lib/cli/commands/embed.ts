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

interface EmbedOptions extends CommonOptions {
  // Undefined unless given, so a sentence-transformers directory's own pooling and normalization apply.
  pooling?: 'mean' | 'cls' | 'max' | 'none';
  normalize?: boolean;
}

export const embed: TaskCommand<EmbedOptions> = {
  name: 'embed',
  demoModel: 'embeddings',
  description: 'sentence embeddings: {"text", "embedding": [numbers]} per input',
  texts: { name: '[texts...]', description: 'texts to embed' },
  fileHolds: 'one text per line',
  addOptions: (command: Command) =>
    command
      .addOption(
        new Option(
          '-p, --pooling <strategy>',
          "'mean' over the real tokens, the first token ('cls'), the per-dimension 'max', or 'none': one vector per token ([[...], ...]); default: the model directory's sentence-transformers pooling, else 'mean'",
        ).choices(['mean', 'cls', 'max', 'none']),
      )
      .option(
        '-n, --normalize',
        "L2-normalize each vector (cosine similarity by dot product); default: as the model directory's sentence-transformers modules say, else off",
      )
      .option('--no-normalize', 'do not normalize, even where the model directory would'),
  inputHelp: INPUT_HELP,
  async run(texts, options) {
    const modelDir = resolveModelDir(embed.demoModel, options.model);
    const source = await inputSource(texts, options.file);
    const pipeline = await loadPipeline();
    await using embedder = await pipeline('feature-extraction', modelDir, {
      ...loadOptions(options),
      ...(options.pooling !== undefined && { pooling: options.pooling }),
      ...(options.normalize !== undefined && { normalize: options.normalize }),
    });
    await processInputs({
      task: embed.name,
      source,
      options,
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
  },
};
