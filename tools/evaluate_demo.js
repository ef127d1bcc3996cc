#!/usr/bin/env node
// Measures the demo models in models/ on their held-out data through the library's PIPELINES (exactly what a
// user gets) and writes models/metrics.json and the "Held-out evaluation" section of each model card
// (tools/demo_cards.js).
//
//   node tools/evaluate_demo.js [--only sentiment,ner,qa,rerank,embeddings]     (npm run evaluate:demo)
//
// Held-out data is recomputed from tools/data with the split code of tools/prepare_demo_data.js (fixed seed), so
// no build directory is needed:
//   sentiment   300 UCI sentences (50 per source x label), never used for training or model selection: accuracy
//   ner         WNUT-17 test (emerging.test.annotated, 1,287 sentences): entity-level P/R/F1, exact span + type
//               (seqeval's default, conlleval rules), on the data set's own words
//   qa          SQuAD v1.1 dev articles 40-47 (8 articles, 1,589 questions): exact match and F1 with the official
//               SQuAD v1.1 normalization, best over the gold answers
//   rerank      20 questions per held-out article (160, seeded), each against every sentence of its article
//               (153-279): MRR@10 and accuracy@1 of the sentence holding the answer
//   embeddings  the same task by cosine similarity alone (question and sentence embeddings), on all 1,589
//               held-out questions and on the reranker's 160, so the two are comparable
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { pipeline, libtorchVersion } = require('../dist/lib');
const { SETTINGS, loadSplits, qaHeldOutRecords, rerankRecords } = require('./prepare_demo_data');
const { updateMetricsSection } = require('./demo_cards');
const { rng } = require('./seeded_random');

const ROOT = path.resolve(__dirname, '..');
const MODELS = path.join(ROOT, 'models');
const THREADS = 2;

const MODEL_NAMES = ['sentiment', 'ner', 'qa', 'rerank', 'embeddings'];
const RERANK_QUESTIONS_PER_ARTICLE = 20;

function parseArgs(argv) {
  const args = { only: MODEL_NAMES };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') args.only = argv[++i].split(',');
    else
      throw new Error(
        `unknown argument ${argv[i]}; usage: evaluate_demo.js [--only ${MODEL_NAMES.join(',')}]`,
      );
  }
  for (const name of args.only) {
    if (!MODEL_NAMES.includes(name))
      throw new Error(`--only: unknown model ${JSON.stringify(name)} (expected ${MODEL_NAMES.join(', ')})`);
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
      options: 'pipeline defaults, topK 1',
    };
  } finally {
    await qa.dispose();
  }
}

// ------------------------------------------------------------------------------------------------------------
// Reranking and embedding retrieval
// ------------------------------------------------------------------------------------------------------------

/** The reranking sample: RERANK_QUESTIONS_PER_ARTICLE questions of each held-out article, seeded. */
function rerankSample(records) {
  const random = rng(SETTINGS.seed);
  const byTitle = new Map();
  for (const record of records) {
    if (!byTitle.has(record.title)) byTitle.set(record.title, []);
    byTitle.get(record.title).push(record);
  }
  const sample = [];
  for (const group of byTitle.values()) {
    const order = group.map((record) => ({ record, key: random() })).sort((a, b) => a.key - b.key);
    sample.push(...order.slice(0, RERANK_QUESTIONS_PER_ARTICLE).map(({ record }) => record));
  }
  return sample;
}

/** MRR@10 and accuracy@1 from the 0-based rank of each positive. */
function rankMetrics(ranks) {
  const reciprocal = ranks.map((rank) => (rank < 10 ? 1 / (rank + 1) : 0));
  return {
    mrrAt10: round(reciprocal.reduce((a, b) => a + b, 0) / ranks.length),
    accuracyAt1: round(ranks.filter((rank) => rank === 0).length / ranks.length),
    questions: ranks.length,
  };
}

async function evaluateRerank(sample) {
  const rerank = await pipeline('rerank', path.join(MODELS, 'rerank'), { threads: THREADS });
  try {
    const ranks = [];
    for (const record of sample) {
      const ranked = await rerank(record.question, record.sentences);
      ranks.push(ranked.findIndex((result) => result.index === record.positive));
    }
    const pairs = sample.reduce((n, record) => n + record.sentences.length, 0);
    return { ...rankMetrics(ranks), pairs, candidates: "every sentence of the question's article" };
  } finally {
    await rerank.dispose();
  }
}

async function evaluateEmbeddings(records, sample) {
  const embed = await pipeline('feature-extraction', path.join(MODELS, 'embeddings'), { threads: THREADS });
  try {
    const vectorsOf = new Map();
    const texts = [...new Set(records.flatMap((record) => [record.question, ...record.sentences]))];
    for (const part of chunks(texts, 256)) {
      const vectors = await embed(part);
      part.forEach((text, i) => vectorsOf.set(text, vectors[i].data));
    }
    const rankOf = (record) => {
      const question = vectorsOf.get(record.question);
      const scores = record.sentences.map((sentence) => {
        const v = vectorsOf.get(sentence);
        let dot = 0;
        for (let k = 0; k < v.length; k++) dot += v[k] * question[k];
        return dot;
      });
      const positive = scores[record.positive];
      // Ties as the rerank pipeline orders them (the lower index first), so both rankings count alike.
      return scores.filter((score, i) => score > positive || (score === positive && i < record.positive))
        .length;
    };
    return {
      all: rankMetrics(records.map(rankOf)),
      rerankSample: rankMetrics(sample.map(rankOf)),
      dimensions: vectorsOf.get(texts[0]).length,
      scoring: "cosine of the pipeline's default embeddings (mean pooling, normalized)",
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

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const splits = loadSplits();
  const file = path.join(MODELS, 'metrics.json');
  // Models left out of --only keep their previous figures.
  const previous = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  const metrics = previous.metrics ?? {};
  const timings = previous.evaluationSeconds ?? {};
  const timed = async (name, fn) => {
    if (!args.only.includes(name)) return;
    const t0 = Date.now();
    metrics[name] = await fn();
    timings[name] = round((Date.now() - t0) / 1000, 1);
    const { byType, articles, ...shown } = metrics[name]; // eslint-disable-line @typescript-eslint/no-unused-vars
    console.log(`evaluate_demo: ${name} ${JSON.stringify(shown)} (${timings[name]} s)`);
  };
  const rerankHeldOut = rerankRecords(splits.qa.heldOut);
  const sample = rerankSample(rerankHeldOut);
  await timed('sentiment', () => evaluateSentiment(splits.sentiment.heldOut));
  await timed('ner', async () => ({
    ...(await evaluateNer(splits.ner.heldOut)),
    dev: await evaluateNer(splits.ner.validation, false),
  }));
  await timed('qa', () => evaluateQa(qaHeldOutRecords(splits.qa.heldOut)));
  await timed('rerank', () => evaluateRerank(sample));
  await timed('embeddings', () => evaluateEmbeddings(rerankHeldOut, sample));

  const meta = { date: new Date().toISOString().slice(0, 10), libtorch: libtorchVersion(), threads: THREADS };
  await writeJson(file, {
    measured: meta.date,
    libtorch: meta.libtorch,
    threads: THREADS,
    splitSeed: SETTINGS.seed,
    metrics,
    evaluationSeconds: timings,
  });
  for (const name of args.only) updateMetricsSection(name, metrics[name], meta);
  console.log(`evaluate_demo: wrote models/metrics.json in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

module.exports = { normalizeAnswer, tokenF1, entitySpans, wordTags };

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
