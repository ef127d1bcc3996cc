import { Option, type Command } from 'commander';
import { sigmoid } from '../../math';
import { jsonLine, LineWriter, type Progress } from '../output';
import { type CommonOptions, loadOptions, topKOrAll } from '../options';
import {
  CHUNK_SIZE,
  inputChunks,
  inputSource,
  loadPipeline,
  progressFor,
  resolveModelDir,
  type TaskCommand,
} from '../task-command';

interface RerankOptions extends CommonOptions {
  query: string;
  topK?: number | 'all';
  scores: 'sigmoid' | 'raw';
}

interface Scored {
  index: number;
  logit: number;
  document: string;
}

/** Best first, by the logit (which sigmoid preserves, where float32 sigmoids may tie); ties by index. */
const byRelevance = (a: Scored, b: Scored) => b.logit - a.logit || a.index - b.index;

export const rerank: TaskCommand<RerankOptions> = {
  name: 'rerank',
  demoModel: 'rerank',
  description:
    'rank documents by relevance to --query with a cross-encoder: {"index", "score", "document"} per document, best first',
  texts: { name: '[documents...]', description: 'documents to rank' },
  fileHolds: 'one document per line',
  addOptions: (command: Command) =>
    command
      .requiredOption('-q, --query <text>', 'the query the documents are ranked for (required)')
      .addOption(
        new Option(
          '-k, --top-k <n>',
          "documents written, best first; 'all' for every document (default: all)",
        ).argParser(topKOrAll),
      )
      .addOption(
        new Option(
          '--scores <kind>',
          "'sigmoid': the relevance logit through the logistic function, 0 to 1, as sentence-transformers' CrossEncoder gives; 'raw': the logit",
        )
          .choices(['sigmoid', 'raw'])
          .default('sigmoid'),
      ),
  inputHelp: `
Input: documents as arguments; else --file (one document per line); else stdin (one document per
line). Every line is a document, empty ones too; a final newline does not add an empty document.
Documents are scored ${CHUNK_SIZE} at a time; the ranking is written once all are scored, one line
per document, best first; "index" is the document's position in the input, from 0. Put -- before
documents that start with '-'.`,
  async run(documents, options) {
    const modelDir = resolveModelDir(rerank.demoModel, options.model);
    const source = await inputSource(documents, options.file);
    const pipeline = await loadPipeline();
    // Logits, ranked here across chunks; the sigmoid is applied to the documents written.
    const reranker = await pipeline('rerank', modelDir, { ...loadOptions(options), scores: 'raw' });
    const topK = options.topK === 'all' ? undefined : options.topK;
    let ranked: Scored[] = [];
    let progress: Progress | undefined;
    try {
      progress = progressFor(rerank.name, source, options);
      let done = 0;
      for await (const lines of inputChunks(source, options.batchSize)) {
        const chunk = lines.map((line) => line.text);
        // A chunk's best K are enough: the overall best K are among them.
        const results = await reranker(options.query, chunk, topK === undefined ? {} : { topK });
        for (const { index, score, document } of results) {
          ranked.push({ index: done + index, logit: score, document });
        }
        if (topK !== undefined && ranked.length > topK) ranked = ranked.sort(byRelevance).slice(0, topK);
        done += chunk.length;
        progress?.update(done);
      }
      progress?.stop();
      progress = undefined;
      const writer = new LineWriter(process.stdout);
      ranked.sort(byRelevance);
      for (let start = 0; start < ranked.length; start += CHUNK_SIZE) {
        let text = '';
        for (const { index, logit, document } of ranked.slice(start, start + CHUNK_SIZE)) {
          const score = options.scores === 'raw' ? logit : sigmoid([logit])[0]!;
          text += jsonLine({ index, score, document });
        }
        await writer.write(text);
      }
    } finally {
      progress?.stop();
      await reranker.dispose();
    }
  },
};
