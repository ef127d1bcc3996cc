// Writes the "Held-out evaluation" section of each demo model card (models/<name>/README.md) from the figures
// tools/evaluate_demo.js measured. The rest of a card is written by hand; only the text between the markers is
// replaced, so a card cannot drift from models/metrics.json.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const MODELS = path.resolve(__dirname, '..', 'models');
const METRICS_START = '<!-- metrics:start (written by tools/evaluate_demo.js) -->';
const METRICS_END = '<!-- metrics:end -->';

const thousands = (n) => n.toLocaleString('en-US');
const fixed = (x, digits = 4) => x.toFixed(digits);

function rows(name, m) {
  switch (name) {
    case 'sentiment':
      return [
        '| data | metric | value |',
        '| --- | --- | --- |',
        `| ${m.total} held-out UCI sentences (50 per source x label) | accuracy | **${fixed(m.accuracy)}** (${m.correct}/${m.total}) |`,
        ...Object.entries(m.bySource).map(([s, a]) => `| ${s} part (100) | accuracy | ${fixed(a, 2)} |`),
      ];
    case 'ner':
      return [
        '| data | metric | value |',
        '| --- | --- | --- |',
        `| WNUT-17 test (held out), ${thousands(m.sentences)} sentences, ${thousands(m.goldEntities)} entities | entity F1 | **${fixed(m.f1)}** |`,
        `| | precision | ${fixed(m.precision)} (${m.truePositives}/${m.predictedEntities}) |`,
        `| | recall | ${fixed(m.recall)} (${m.truePositives}/${m.goldEntities}) |`,
        `| WNUT-17 dev (not used for training or selection) | entity F1 | ${fixed(m.dev.f1)} (P ${fixed(m.dev.precision)}, R ${fixed(m.dev.recall)}) |`,
        '',
        'Test F1 per type (F1, gold entities): ' +
          Object.entries(m.byType)
            .map(([t, s]) => `${t} ${fixed(s.f1, 2)} (${s.gold})`)
            .join(', ') +
          '.',
        '',
        "Entity-level, exact span and type (seqeval default / conlleval rules), on the data set's own words, through",
        "`pipeline('token-classification', ...)` with `aggregationStrategy: 'first'`.",
      ];
    case 'qa':
      return [
        '| data | metric | value |',
        '| --- | --- | --- |',
        `| SQuAD v1.1 dev, held-out articles 40-47, ${thousands(m.questions)} questions | exact match | **${fixed(m.exactMatch, 2)}** |`,
        `| | F1 | **${fixed(m.f1, 2)}** |`,
        '',
        `Held-out articles: ${m.articles.join(', ')}. Official SQuAD v1.1 normalization, best over the gold`,
        `answers. Pipeline settings: ${m.options}.`,
      ];
    case 'rerank':
      return [
        '| data | metric | value |',
        '| --- | --- | --- |',
        `| ${m.questions} questions of the held-out SQuAD articles (20 per article), each against every sentence of its article (${thousands(m.pairs)} pairs) | MRR@10 | **${fixed(m.mrrAt10)}** |`,
        `| | accuracy@1 | ${fixed(m.accuracyAt1)} |`,
      ];
    case 'embeddings':
      return [
        '| data | metric | value |',
        '| --- | --- | --- |',
        `| all ${thousands(m.all.questions)} held-out SQuAD questions, each against every sentence of its article | MRR@10 | **${fixed(m.all.mrrAt10)}** |`,
        `| | accuracy@1 | ${fixed(m.all.accuracyAt1)} |`,
        `| the reranker's ${m.rerankSample.questions} questions (the same candidates) | MRR@10 | ${fixed(m.rerankSample.mrrAt10)} |`,
        '',
        `Scoring: ${m.scoring}; ${m.dimensions} dimensions.`,
      ];
    default:
      throw new Error(`demo_cards: unknown model ${JSON.stringify(name)}`);
  }
}

/** Replaces the metrics section of models/<name>/README.md. */
function updateMetricsSection(name, metrics, meta) {
  const file = path.join(MODELS, name, 'README.md');
  const text = fs.readFileSync(file, 'utf8');
  const start = text.indexOf(METRICS_START);
  const end = text.indexOf(METRICS_END);
  if (start < 0 || end < start)
    throw new Error(`${file}: no metrics markers (${METRICS_START} ... ${METRICS_END})`);
  const section = [
    METRICS_START,
    ...rows(name, metrics),
    '',
    `Measured ${meta.date} by \`tools/evaluate_demo.js\` through the library's pipelines (libtorch ${meta.libtorch},`,
    `${meta.threads} threads). Re-measure with \`npm run evaluate:demo\` (rewrites this section and \`models/metrics.json\`).`,
    METRICS_END,
  ].join('\n');
  fs.writeFileSync(file, text.slice(0, start) + section + text.slice(end + METRICS_END.length));
}

module.exports = { updateMetricsSection };
