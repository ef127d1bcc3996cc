#!/usr/bin/env node
// Measures the demo models in models/ on their held-out data through the library's PIPELINES (exactly what a
// user gets), writes models/metrics.json and the "Held-out evaluation" section of each model card.
//
//   node tools/evaluate_demo.js                       (npm run evaluate:demo: re-measure, update the cards)
//   node tools/evaluate_demo.js --cards TRAINING_JSON  (tools/train_demo.sh: write the whole cards first, from the
//                                                       training report tools/train_demo.py wrote)
//
// Held-out data is recomputed from tools/data with the split code of tools/prepare_demo_data.js (fixed seed), so
// no build directory is needed:
//   sentiment   300 UCI sentences (50 per source x label), never used for training or model selection: accuracy
//   ner         WNUT-17 test (emerging.test.annotated, 1,287 sentences): entity-level P/R/F1, exact span + type
//               (seqeval's default, conlleval rules), on the data set's own words
//   qa          SQuAD v1.1 dev articles 40-47 (8 articles, 1,589 questions): exact match and F1 with the official
//               SQuAD v1.1 normalization, best over the gold answers
//   embeddings  no task metric; a probe: leave-one-out 1-nearest-neighbour sentiment accuracy of the mean-pooled
//               embeddings on the 300 held-out sentiment sentences
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { pipeline, libtorchVersion } = require('../dist/lib');
const { SETTINGS, loadSplits, qaHeldOutRecords } = require('./prepare_demo_data');

const ROOT = path.resolve(__dirname, '..');
const MODELS = path.join(ROOT, 'models');
const METRICS_START = '<!-- metrics:start (written by tools/evaluate_demo.js) -->';
const METRICS_END = '<!-- metrics:end -->';
const THREADS = 2;

function parseArgs(argv) {
  const args = { cards: null, data: path.join(ROOT, 'build/demo-data') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--cards') args.cards = path.resolve(argv[++i]);
    else if (argv[i] === '--data') args.data = path.resolve(argv[++i]);
    else
      throw new Error(
        `unknown argument ${argv[i]}; usage: evaluate_demo.js [--cards TRAINING_JSON [--data DIR]]`,
      );
  }
  return args;
}

function chunks(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const round = (x, digits = 4) => Number(x.toFixed(digits));

// ------------------------------------------------------------------------------------------------------------
// Sentiment
// ------------------------------------------------------------------------------------------------------------

async function evaluateSentiment(heldOut) {
  const classify = await pipeline('text-classification', path.join(MODELS, 'sentiment'), {
    threads: THREADS,
  });
  try {
    const predictions = (await classify(heldOut.map((row) => row.text))).map((result) => result[0].label);
    const bySource = {};
    let correct = 0;
    heldOut.forEach((row, i) => {
      const gold = row.label === 1 ? 'positive' : 'negative';
      const ok = predictions[i] === gold;
      correct += ok;
      bySource[row.source] ??= { correct: 0, total: 0 };
      bySource[row.source].correct += ok;
      bySource[row.source].total++;
    });
    return {
      accuracy: round(correct / heldOut.length),
      correct,
      total: heldOut.length,
      bySource: Object.fromEntries(
        Object.entries(bySource).map(([source, s]) => [source, round(s.correct / s.total)]),
      ),
    };
  } finally {
    await classify.dispose();
  }
}

// ------------------------------------------------------------------------------------------------------------
// NER
// ------------------------------------------------------------------------------------------------------------

/** Entity spans "type:first:last" of a BIO sequence, seqeval default mode (an I- that continues nothing starts). */
function entitySpans(tags) {
  const spans = new Set();
  let start = null;
  let kind = null;
  [...tags, 'O'].forEach((tag, i) => {
    const dash = tag.indexOf('-');
    const prefix = dash < 0 ? tag : tag.slice(0, dash);
    const label = dash < 0 ? '' : tag.slice(dash + 1);
    if (start !== null && !(prefix === 'I' && label === kind)) {
      spans.add(`${kind}:${start}:${i - 1}`);
      start = null;
      kind = null;
    }
    if (prefix === 'B' || (prefix === 'I' && start === null)) {
      start = i;
      kind = label;
    }
  });
  return spans;
}

function prf(tp, predicted, gold) {
  const precision = predicted ? tp / predicted : 0;
  const recall = gold ? tp / gold : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision: round(precision), recall: round(recall), f1: round(f1) };
}

/**
 * Word-level tags from the pipeline's entity groups (aggregationStrategy 'first'). The sentence is given to the
 * pipeline as its words joined by single spaces. Each data-set word is anchored at its FIRST token (the token the
 * model was trained to label); the word takes the type of the entity group that holds that anchor, as B- when the
 * group starts there and as I- when the previous word's anchor is in the same group; words outside every group,
 * or with no token at all, are O. 'first' is the strategy that matches the training labels (first subword of each
 * word); the pipeline's own word split is BERT's (punctuation splits "@user" into "@" + "user"), hence the mapping.
 */
function wordTags(words, groups, encoding) {
  const starts = [];
  let position = 0;
  for (const word of words) {
    starts.push(position);
    position += word.length + 1;
  }
  const anchors = words.map(() => null);
  encoding.offsets.forEach(([start], t) => {
    if (encoding.specialTokensMask[t] === 1) return;
    let w = starts.length - 1;
    while (w > 0 && starts[w] > start) w--;
    if (anchors[w] === null) anchors[w] = start;
  });
  const groupOf = (anchor) =>
    anchor === null ? -1 : groups.findIndex((g) => g.start <= anchor && anchor < g.end);
  let previousGroup = -1;
  return anchors.map((anchor) => {
    const g = groupOf(anchor);
    const tag = g < 0 ? 'O' : `${g === previousGroup ? 'I' : 'B'}-${groups[g].entityGroup}`;
    previousGroup = g;
    return tag;
  });
}

async function evaluateNer(sentences, perType = true) {
  const ner = await pipeline('token-classification', path.join(MODELS, 'ner'), { threads: THREADS });
  try {
    const tokenizer = ner.model.tokenizer;
    let tp = 0;
    let nPredicted = 0;
    let nGold = 0;
    const byType = {};
    for (const part of chunks(sentences, 64)) {
      const texts = part.map((s) => s.words.join(' '));
      const [groups, encodings] = await Promise.all([
        ner(texts, { aggregationStrategy: 'first' }),
        tokenizer.encodeBatch(texts),
      ]);
      part.forEach((sentence, i) => {
        const predicted = entitySpans(wordTags(sentence.words, groups[i], encodings[i]));
        const gold = entitySpans(sentence.tags);
        for (const span of predicted) {
          const type = span.split(':')[0];
          byType[type] ??= { tp: 0, predicted: 0, gold: 0 };
          byType[type].predicted++;
          if (gold.has(span)) {
            tp++;
            byType[type].tp++;
          }
        }
        for (const span of gold) {
          const type = span.split(':')[0];
          byType[type] ??= { tp: 0, predicted: 0, gold: 0 };
          byType[type].gold++;
        }
        nPredicted += predicted.size;
        nGold += gold.size;
      });
    }
    return {
      ...prf(tp, nPredicted, nGold),
      truePositives: tp,
      predictedEntities: nPredicted,
      goldEntities: nGold,
      sentences: sentences.length,
      ...(perType && {
        byType: Object.fromEntries(
          Object.entries(byType)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([type, c]) => [type, { ...prf(c.tp, c.predicted, c.gold), gold: c.gold }]),
        ),
        aggregationStrategy: 'first',
      }),
    };
  } finally {
    await ner.dispose();
  }
}

// ------------------------------------------------------------------------------------------------------------
// QA
// ------------------------------------------------------------------------------------------------------------

/** SQuAD v1.1's normalize_answer: lower case, drop punctuation (Python's string.punctuation), articles, extra spaces. */
function normalizeAnswer(text) {
  return text
    .toLowerCase()
    .replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '')
    .replace(/(?<![\p{L}\p{N}_])(a|an|the)(?![\p{L}\p{N}_])/gu, ' ')
    .split(/\s+/)
    .filter((t) => t !== '')
    .join(' ');
}

function tokenF1(prediction, gold) {
  const p = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const g = normalizeAnswer(gold).split(' ').filter(Boolean);
  const counts = new Map();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

async function evaluateQa(records) {
  const qa = await pipeline('question-answering', path.join(MODELS, 'qa'), { threads: THREADS });
  try {
    let em = 0;
    let f1 = 0;
    for (const part of chunks(records, 64)) {
      const answers = await qa(part.map(({ question, context }) => ({ question, context })));
      part.forEach((record, i) => {
        const prediction = answers[i][0]?.answer ?? '';
        em += Math.max(
          ...record.answers.map((g) => Number(normalizeAnswer(prediction) === normalizeAnswer(g))),
        );
        f1 += Math.max(...record.answers.map((g) => tokenF1(prediction, g)));
      });
    }
    return {
      exactMatch: round((100 * em) / records.length, 2),
      f1: round((100 * f1) / records.length, 2),
      questions: records.length,
      articles: [...new Set(records.map((r) => r.title))],
      options: 'pipeline defaults (maxSeqLen 256 = the model maximum, docStride 85, maxAnswerLen 15, topK 1)',
    };
  } finally {
    await qa.dispose();
  }
}

// ------------------------------------------------------------------------------------------------------------
// Embeddings
// ------------------------------------------------------------------------------------------------------------

async function evaluateEmbeddings(heldOut) {
  const embed = await pipeline('feature-extraction', path.join(MODELS, 'embeddings'), { threads: THREADS });
  try {
    const vectors = await embed(
      heldOut.map((row) => row.text),
      { pooling: 'mean', normalize: true },
    );
    let correct = 0;
    vectors.forEach((v, i) => {
      let best = -Infinity;
      let bestIndex = -1;
      vectors.forEach((u, j) => {
        if (i === j) return;
        let dot = 0;
        for (let k = 0; k < v.data.length; k++) dot += v.data[k] * u.data[k];
        if (dot > best) {
          best = dot;
          bestIndex = j;
        }
      });
      correct += heldOut[bestIndex].label === heldOut[i].label;
    });
    return {
      dimensions: vectors[0].dims[0],
      sentimentNearestNeighbourAccuracy: round(correct / heldOut.length),
      sentences: heldOut.length,
      probe:
        'leave-one-out 1-NN (cosine, mean pooling) sentiment accuracy on the held-out sentiment sentences',
    };
  } finally {
    await embed.dispose();
  }
}

/** JSON in the repository's Prettier style when Prettier (a devDependency) is installed, so `npm run lint` passes. */
async function writeJson(file, data) {
  let text = JSON.stringify(data, null, 2) + '\n';
  try {
    const prettier = require('prettier');
    text = await prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
  } catch (error) {
    if (error.code !== 'MODULE_NOT_FOUND') throw error;
  }
  fs.writeFileSync(file, text);
}

// ------------------------------------------------------------------------------------------------------------
// Model cards
// ------------------------------------------------------------------------------------------------------------

function fileSize(file) {
  return fs.statSync(file).size;
}

function folderSize(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .reduce(
      (n, e) => n + (e.isDirectory() ? folderSize(path.join(dir, e.name)) : fileSize(path.join(dir, e.name))),
      0,
    );
}

const mb = (bytes) => `${(bytes / 1e6).toFixed(2)} MB`;
const thousands = (n) => n.toLocaleString('en-US');

function metricsSection(name, metrics, meta) {
  const m = metrics[name];
  const lines = [METRICS_START, '## Held-out evaluation', ''];
  const how =
    `Measured ${meta.date} by \`tools/evaluate_demo.js\` through the library's pipelines (libtorch ` +
    `${meta.libtorch}, ${THREADS} threads). Re-measure with \`npm run evaluate:demo\` (rewrites this section and ` +
    '`models/metrics.json`).';
  if (name === 'sentiment') {
    lines.push(
      `| data | metric | value |`,
      `| --- | --- | --- |`,
      `| ${m.total} held-out UCI sentences (50 per source x label) | accuracy | **${m.accuracy.toFixed(4)}** (${m.correct}/${m.total}) |`,
      ...Object.entries(m.bySource).map(([s, a]) => `| ${s} part (100) | accuracy | ${a.toFixed(2)} |`),
      '',
      'The held-out sentences were never used for training, vocabulary building or model selection.',
      '`test/demo/sentiment-accuracy.test.ts` re-checks accuracy >= 0.75 on 200 of them',
      '(`tools/data/sentiment-heldout-200.tsv`).',
    );
  } else if (name === 'ner') {
    const dev = m.dev;
    lines.push(
      '| data | metric | value |',
      '| --- | --- | --- |',
      `| WNUT-17 test (held out), ${thousands(m.sentences)} sentences, ${thousands(m.goldEntities)} entities | entity F1 | **${m.f1.toFixed(4)}** |`,
      `| | precision | ${m.precision.toFixed(4)} (${m.truePositives}/${m.predictedEntities}) |`,
      `| | recall | ${m.recall.toFixed(4)} (${m.truePositives}/${m.goldEntities}) |`,
      `| WNUT-17 dev (used for model selection, so not held out) | entity F1 | ${dev.f1.toFixed(4)} (P ${dev.precision.toFixed(4)}, R ${dev.recall.toFixed(4)}) |`,
      '',
      'Test F1 per type (F1, gold entities): ' +
        Object.entries(m.byType)
          .map(([t, s]) => `${t} ${s.f1.toFixed(2)} (${s.gold})`)
          .join(', ') +
        '.',
      '',
      "Entity-level, exact span and type (seqeval default / conlleval rules), on the data set's own words. Each",
      "sentence goes through `pipeline('token-classification', ...)` with `aggregationStrategy: 'first'` as its",
      'words joined by single spaces; every word takes the entity group that holds its first token (B- where the',
      "group starts, I- where it continues from the previous word): 'first' matches the training labels (first",
      'token of each word), and the mapping is needed because the pipeline splits words as BERT does ("@user" is',
      '"@" + "user"). On dev this path gives the same F1 as the training script\'s own word-level count.',
      'Expect little: WNUT-17 is hard even for pretrained models (its entities are rare and emerging: only 2% of',
      "the test set's entity strings and 4% of dev's occur as entities in the training data), and this uncased",
      'model never sees capital letters.',
    );
  } else if (name === 'qa') {
    lines.push(
      '| data | metric | value |',
      '| --- | --- | --- |',
      `| SQuAD v1.1 dev, held-out articles 40-47, ${thousands(m.questions)} questions | exact match | **${m.exactMatch.toFixed(2)}** |`,
      `| | F1 | **${m.f1.toFixed(2)}** |`,
      '',
      `Held-out articles: ${m.articles.join(', ')}. Official SQuAD v1.1 normalization (lower case, no punctuation,`,
      `no articles), best over the gold answers. Pipeline settings: ${m.options}.`,
      'For scale: BERT-base (pretrained) scores about 81 EM / 88 F1; a tiny model trained from scratch on under',
      '9,000 questions mostly learns answer types and word overlap with the question.',
    );
  } else if (name === 'embeddings') {
    lines.push(
      '| probe | value |',
      '| --- | --- |',
      `| ${m.probe} | ${m.sentimentNearestNeighbourAccuracy.toFixed(4)} |`,
      '',
      `Vectors have ${m.dimensions} dimensions. This is not a semantic-similarity model: it was trained only to`,
      'tell positive from negative review sentences, so its geometry mostly encodes that.',
    );
  }
  lines.push('', how, METRICS_END);
  return lines.join('\n');
}

const DATA_NOTES = {
  sentiment: [
    '"Sentiment Labelled Sentences" (UCI): 3,000 review sentences from yelp.com, amazon.com and imdb.com, 1,000',
    'each, half positive and half negative. Licence: CC BY 4.0. Cite: D. Kotzias, M. Denil, N. de Freitas,',
    'P. Smyth, "From Group to Individual Labels using Deep Features", KDD 2015. Copied, with its readme, to',
    '`tools/data/sentiment-uci/`.',
  ],
  ner: [
    'WNUT-17 Emerging and Rare Entities (train 3,394 sentences, dev 1,009, test 1,287; 6 types: person, location,',
    'corporation, product, creative-work, group; BIO tags). Licence: CC BY 4.0. Cite: Leon Derczynski, Eric',
    'Nichols, Marieke van Erp, Nut Limsopatham, "Results of the WNUT2017 Shared Task on Novel and Emerging Entity',
    'Recognition", Workshop on Noisy User-generated Text (W-NUT) at EMNLP 2017. Copied, with its README, to',
    '`tools/data/wnut17/`.',
  ],
  qa: [
    'SQuAD v1.1, development set (48 Wikipedia articles, 10,570 questions). Licence: CC BY-SA 4.0. Cite: Pranav',
    'Rajpurkar, Jian Zhang, Konstantin Lopyrev, Percy Liang, "SQuAD: 100,000+ Questions for Machine',
    'Comprehension of Text", EMNLP 2016. Copied to `tools/data/squad-v1.1/`. Only the dev set is available here;',
    'articles 0-39 train this model, articles 40-47 are held out (split by article, so no context is shared).',
  ],
};

function writeCard(name, training, manifest) {
  const dir = path.join(MODELS, name);
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const source = name === 'embeddings' ? 'sentiment' : name;
  const t = training[source];
  const r = t.recipe;
  const parameters = name === 'embeddings' ? training.embeddings.parameters : t.parameters;
  const splits = manifest.splits;
  const licence = name === 'qa' ? 'cc-by-sa-4.0' : 'cc-by-4.0';
  const what = {
    sentiment: 'Text classification (sentiment): `negative` / `positive` for English review sentences.',
    ner: 'Token classification (NER): WNUT-17 entity types person, location, corporation, product, creative-work, group (BIO, 13 labels).',
    qa: 'Extractive question answering: finds the answer span to a question in an English context.',
    embeddings:
      "Feature extraction: the sentiment model's encoder (and pooler) exported as a base model, outputs `last_hidden_state` and `pooler_output`. No extra training.",
  }[name];
  const usage = {
    sentiment: [
      "const classify = await pipeline('text-classification', 'node_modules/torch-encoders/models/sentiment');",
      "await classify('The food was great and the staff friendly.');  // [{ label: 'positive', score: ... }]",
    ],
    ner: [
      "const ner = await pipeline('token-classification', 'node_modules/torch-encoders/models/ner');",
      "await ner('I flew to London with British Airways', { aggregationStrategy: 'first' });",
    ],
    qa: [
      "const qa = await pipeline('question-answering', 'node_modules/torch-encoders/models/qa');",
      "await qa({ question: 'Who designed the tower?', context: 'The tower was designed by Gustave Eiffel in 1887.' });",
    ],
    embeddings: [
      "const embed = await pipeline('feature-extraction', 'node_modules/torch-encoders/models/embeddings');",
      "await embed('The food was great.', { pooling: 'mean', normalize: true });  // { data: Float32Array(128), dims: [128] }",
    ],
  }[name];
  const trainingLines =
    name === 'embeddings'
      ? [
          'None of its own: these are the weights of `models/sentiment` without the classification head (see that',
          'card for the recipe), saved by `tools/train_demo.py` as a `BertModel` checkpoint and exported with',
          '`tools/export.py --task base`.',
        ]
      : [
          `- Data: ${
            {
              sentiment: `${splits.sentiment.train} training sentences; model selection on ${splits.sentiment.validation} validation sentences carved from the training side (stratified, seed ${manifest.settings.seed}); ${splits.sentiment.heldOut} held out (50 per source x label, duplicates kept in one part).`,
              ner: `WNUT-17 train (${thousands(splits.ner.train.sentences)} sentences); model selection (best epoch) by entity F1 on WNUT-17 dev; test held out.`,
              qa: `${thousands(splits.qa.trainQuestions)} questions of articles ${splits.qa.trainArticles} as ${thousands(splits.qa.trainWindows)} windows of up to ${manifest.settings.maxLength} tokens (stride ${manifest.settings.qa.stride}; ${thousands(splits.qa.trainWindows - splits.qa.trainWindowsWithAnswer)} windows without the answer point at [CLS]); first gold answer as target; no model selection (fixed schedule).`,
            }[name]
          }`,
          `- Labels: ${
            {
              sentiment: 'cross-entropy on the [CLS] pooler output (BertForSequenceClassification).',
              ner: 'the first token of each word carries its BIO tag, other tokens are ignored (-100), as Hugging Face examples do.',
              qa: 'cross-entropy on start and end positions (BertForQuestionAnswering).',
            }[name]
          }`,
          `- Optimiser: AdamW, lr ${r.lr}, weight decay ${r.weight_decay} (not on biases and LayerNorm), linear warmup (${Math.round(r.warmup * 100)}% of steps) and decay, batch ${r.batch_size}, gradient clipping 1.0.`,
          `- Regularisation: dropout ${r.dropout} (hidden and attention)${r.token_dropout ? `, ${r.token_dropout * 100}% of input tokens replaced by [MASK] during training` : ''}.`,
          `- Epochs: ${r.epochs}${t.best_epoch ? `; kept epoch ${t.best_epoch} (validation ${t.metric} ${t.best_validation})` : ''}.`,
          `- Time: ${Math.round(t.seconds)} s on ${training.threads} CPU threads (torch ${training.torch}, seed ${training.seed}).`,
        ];
  const card = [
    '---',
    `license: ${licence}`,
    'language: en',
    'library_name: torch-encoders',
    `pipeline_tag: ${{ sentiment: 'text-classification', ner: 'token-classification', qa: 'question-answering', embeddings: 'feature-extraction' }[name]}`,
    '---',
    '',
    `# torch-encoders demo model: ${name}`,
    '',
    what,
    '',
    '**A tiny BERT trained from scratch in this repository, for demos and tests only.** It is NOT a pretrained',
    'BERT and not fine-tuned from one: no pretrained weights were used, only the small data set below. Expect',
    'toy quality; use a real pretrained model (exported with `tools/export.py`) for anything that matters.',
    '',
    '```js',
    "const { pipeline } = require('torch-encoders');",
    ...usage,
    '```',
    '',
    '## Data and licence',
    '',
    ...(name === 'embeddings' ? DATA_NOTES.sentiment : DATA_NOTES[name]),
    '',
    name === 'qa'
      ? 'The weights are derived from CC BY-SA 4.0 data; this folder is offered under CC BY-SA 4.0 with the attribution above.'
      : 'The weights are derived from CC BY 4.0 data; this folder is offered under CC BY 4.0 with the attribution above.',
    "The vocabulary (`vocab.txt`) is a subset of Google's bert-base-uncased WordPiece vocabulary (Apache-2.0).",
    '',
    '## Architecture and size',
    '',
    '| | |',
    '| --- | --- |',
    `| model | BERT (\`${config.architectures?.[0] ?? 'BertModel'}\`), post-LayerNorm, GELU |`,
    `| layers / hidden / heads / intermediate | ${config.num_hidden_layers} / ${config.hidden_size} / ${config.num_attention_heads} / ${config.intermediate_size} |`,
    `| vocabulary | ${thousands(config.vocab_size)} uncased WordPiece tokens |`,
    `| max sequence length | ${config.max_position_embeddings} tokens |`,
    `| parameters | ${thousands(parameters)} |`,
    `| model.pt (TorchScript, float32) | ${mb(fileSize(path.join(dir, 'model.pt')))} |`,
    `| folder | ${mb(folderSize(dir))} |`,
    '',
    'Vocabulary: the special tokens, every single character (and "##" + character) of the training texts and',
    'printable ASCII, then the bert-base-uncased tokens most frequent in the training texts of the three demo',
    'tasks (each task weighted equally), renumbered densely; the same `vocab.txt` for all demo models.',
    '',
    '## Training',
    '',
    ...trainingLines,
    '',
    'Reproduce every demo model (prepare data, train, export, evaluate, write these cards) with one command:',
    '`npm run train:demo` (tools/train_demo.sh; about 12 minutes on the 2-core machine it was developed on).',
    '',
    METRICS_START,
    METRICS_END,
    '',
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'README.md'), card);
}

function updateMetricsSection(name, metrics, meta) {
  const file = path.join(MODELS, name, 'README.md');
  if (!fs.existsSync(file)) {
    console.warn(`evaluate_demo: ${file} missing; run npm run train:demo to write the cards`);
    return;
  }
  const text = fs.readFileSync(file, 'utf8');
  const start = text.indexOf(METRICS_START);
  const end = text.indexOf(METRICS_END);
  if (start < 0 || end < start) throw new Error(`${file}: no metrics markers`);
  fs.writeFileSync(
    file,
    text.slice(0, start) + metricsSection(name, metrics, meta) + text.slice(end + METRICS_END.length),
  );
}

// ------------------------------------------------------------------------------------------------------------

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const splits = loadSplits();
  const metrics = {};
  const timings = {};
  const timed = async (name, fn) => {
    const t0 = Date.now();
    metrics[name] = await fn();
    timings[name] = round((Date.now() - t0) / 1000, 1);
    const { byType, articles, ...shown } = metrics[name]; // eslint-disable-line @typescript-eslint/no-unused-vars
    console.log(`evaluate_demo: ${name} ${JSON.stringify(shown)} (${timings[name]} s)`);
  };
  await timed('sentiment', () => evaluateSentiment(splits.sentiment.heldOut));
  await timed('ner', async () => ({
    ...(await evaluateNer(splits.ner.heldOut)),
    dev: await evaluateNer(splits.ner.validation, false),
  }));
  await timed('qa', () => evaluateQa(qaHeldOutRecords(splits.qa.heldOut)));
  await timed('embeddings', () => evaluateEmbeddings(splits.sentiment.heldOut));

  const meta = { date: new Date().toISOString().slice(0, 10), libtorch: libtorchVersion() };
  const sizes = Object.fromEntries(
    ['sentiment', 'ner', 'qa', 'embeddings'].map((n) => [n, folderSize(path.join(MODELS, n))]),
  );
  const report = {
    measured: meta.date,
    libtorch: meta.libtorch,
    threads: THREADS,
    splitSeed: SETTINGS.seed,
    metrics,
    evaluationSeconds: timings,
    folderBytes: sizes,
  };
  await writeJson(path.join(MODELS, 'metrics.json'), report);

  if (args.cards !== null) {
    const training = JSON.parse(fs.readFileSync(args.cards, 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(args.data, 'manifest.json'), 'utf8'));
    for (const name of Object.keys(sizes)) writeCard(name, training, manifest);
  }
  for (const name of Object.keys(sizes)) updateMetricsSection(name, metrics, meta);
  const total = folderSize(MODELS);
  console.log(
    `evaluate_demo: models/ totals ${mb(total)}; wrote models/metrics.json in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
}

module.exports = { normalizeAnswer, tokenF1, entitySpans, wordTags };

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
