#!/usr/bin/env node
// Writes the data splits of the demo models as plain JSONL for tools/finetune_demo.py (training) and
// tools/evaluate_demo.js (held-out figures). The split code is the one the from-scratch demo models used
// (seed 20261122), so held-out parts are unchanged and earlier figures stay comparable.
//
//   node tools/prepare_demo_data.js [--out build/demo-data]
//
// Out: sentiment/{train,validation,heldout}.jsonl   { text, label: 0 | 1, source }
//      ner/{train,validation,heldout}.jsonl         { words, tags }            (WNUT-17 train / dev / test)
//      qa/{train,heldout}.jsonl                      { id, title, question, context, answers: [{ text, start }] }
//      rerank/{train,heldout}.jsonl                  { id, title, question, sentences, positive }
//      manifest.json                                 settings and counts
//
// Inputs are the copies in tools/data/ (see tools/data/README.md for their licences).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { rng } = require('./seeded_random');

const ROOT = path.resolve(__dirname, '..');
const DATA = path.join(ROOT, 'tools/data');

/** Settings that define the splits; recorded in the output's manifest.json. */
const SETTINGS = {
  seed: 20261122,
  sentiment: { heldOutPerStratum: 50, validationFraction: 0.1 },
  // SQuAD v1.1 dev has 48 articles: the first 40 train QA and the reranker, the last 8 are held out.
  qa: { trainArticles: [0, 40] },
};
const WNUT_TYPES = ['person', 'location', 'corporation', 'product', 'creative-work', 'group'];
const NER_LABELS = ['O', ...WNUT_TYPES.flatMap((type) => [`B-${type}`, `I-${type}`])];

function parseArgs(argv) {
  const args = { out: path.join(ROOT, 'build/demo-data') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') args.out = path.resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]}; usage: prepare_demo_data.js [--out DIR]`);
  }
  return args;
}

function shuffled(items, random) {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function writeJsonl(file, rows) {
  fs.writeFileSync(file, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
}

// ------------------------------------------------------------------------------------------------------------
// Data sets
// ------------------------------------------------------------------------------------------------------------

/** UCI sentiment sentences: { text, label, source }; text trimmed (the imdb file pads with spaces). */
function readSentiment() {
  const rows = [];
  for (const source of ['yelp', 'amazon_cells', 'imdb']) {
    const lines = fs
      .readFileSync(path.join(DATA, 'sentiment-uci', `${source}_labelled.txt`), 'utf8')
      .split('\n');
    for (const line of lines) {
      if (line.trim() === '') continue;
      const tab = line.lastIndexOf('\t');
      const label = Number(line.slice(tab + 1).trim());
      if (tab < 0 || (label !== 0 && label !== 1)) throw new Error(`sentiment ${source}: bad line ${line}`);
      rows.push({ text: line.slice(0, tab).trim(), label, source: source.replace('_cells', '') });
    }
  }
  return rows;
}

/**
 * Held-out / validation / training split of the sentiment sentences. Sentences that are equal after
 * lower-casing and collapsing spaces ("Great phone." appears several times) stay in one part, so no held-out
 * sentence is also a training sentence. The held-out part takes `heldOutPerStratum` groups from each
 * source x label stratum (6 strata: 300 groups, balanced); validation takes a stratified fraction of the rest.
 */
function splitSentiment(rows, random) {
  const groups = new Map();
  for (const row of rows) {
    const key = row.text.toLowerCase().replace(/\s+/g, ' ');
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(row);
  }
  const strata = new Map();
  for (const group of groups.values()) {
    const labels = new Set(group.map((row) => row.label));
    if (labels.size > 1) continue; // contradictory duplicates (none expected): used nowhere
    const stratum = `${group[0].source}/${group[0].label}`;
    if (!strata.has(stratum)) strata.set(stratum, []);
    strata.get(stratum).push(group);
  }
  const heldOut = [];
  const validation = [];
  const train = [];
  for (const stratum of [...strata.keys()].sort()) {
    const order = shuffled(strata.get(stratum), random);
    const { heldOutPerStratum, validationFraction } = SETTINGS.sentiment;
    const rest = order.slice(heldOutPerStratum);
    const validationCount = Math.round(rest.length * validationFraction);
    heldOut.push(...order.slice(0, heldOutPerStratum).flat());
    validation.push(...rest.slice(0, validationCount).flat());
    train.push(...rest.slice(validationCount).flat());
  }
  return { train: shuffled(train, random), validation, heldOut: shuffled(heldOut, random) };
}

/** A CoNLL file: sentences of { words, tags }; blank or whitespace-only lines separate sentences. */
function readConll(file) {
  const sentences = [];
  let words = [];
  let tags = [];
  for (const line of fs.readFileSync(path.join(DATA, 'wnut17', file), 'utf8').split('\n')) {
    if (line.trim() === '') {
      if (words.length > 0) sentences.push({ words, tags });
      words = [];
      tags = [];
      continue;
    }
    const [word, tag] = line.replace(/\r$/, '').split('\t');
    if (!NER_LABELS.includes(tag)) throw new Error(`${file}: unknown tag ${tag} in ${JSON.stringify(line)}`);
    words.push(word);
    tags.push(tag);
  }
  if (words.length > 0) sentences.push({ words, tags });
  return sentences;
}

/** SQuAD v1.1 dev as articles of { title, paragraphs: [{ context, qas: [{ id, question, answers }] }] }. */
function readSquad() {
  // Stored gzipped (byte-identical to the original once decompressed): 1 MB instead of 4.9 MB in the repository.
  const file = path.join(DATA, 'squad-v1.1/dev-v1.1.json.gz');
  return JSON.parse(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8')).data;
}

/**
 * The sentences of a SQuAD context with their character ranges: a cut after ., ! or ? followed by white space and
 * an upper-case letter, digit, quote or bracket. Crude on abbreviations ("U.S. Army"), which only makes some
 * candidates longer; the reranker's positive is the sentence holding the answer's first character.
 */
function splitSentences(context) {
  const out = [];
  const boundary = /[.!?]["')\]]*\s+(?=["'([A-Z0-9])/g;
  let from = 0;
  for (let match; (match = boundary.exec(context)) !== null;) {
    const end = match.index + match[0].trimEnd().length;
    out.push({ text: context.slice(from, end), start: from, end });
    from = match.index + match[0].length;
  }
  if (from < context.length)
    out.push({ text: context.slice(from).trimEnd(), start: from, end: context.length });
  return out.filter((sentence) => sentence.text.trim() !== '');
}

/**
 * Reranking records: each question against every distinct sentence of its article; `positive` indexes the
 * sentence that holds the first answer's start.
 */
function rerankRecords(articles) {
  const records = [];
  for (const article of articles) {
    const sentences = [];
    const indexOf = new Map();
    const located = article.paragraphs.map((p) =>
      splitSentences(p.context).map((sentence) => {
        if (!indexOf.has(sentence.text)) {
          indexOf.set(sentence.text, sentences.length);
          sentences.push(sentence.text);
        }
        return { ...sentence, index: indexOf.get(sentence.text) };
      }),
    );
    article.paragraphs.forEach((p, i) => {
      for (const q of p.qas) {
        const start = q.answers[0].answer_start;
        const holder = located[i].find((s) => start >= s.start && start < s.end);
        if (holder === undefined) continue; // an answer in the white space between sentences: none seen
        records.push({
          id: q.id,
          title: article.title,
          question: q.question,
          sentences,
          positive: holder.index,
        });
      }
    });
  }
  return records;
}

/**
 * Every split, recomputed from tools/data (deterministic): tools/evaluate_demo.js calls this too, so held-out
 * evaluation needs no build directory.
 */
function loadSplits() {
  const random = rng(SETTINGS.seed);
  const sentiment = splitSentiment(readSentiment(), random);
  const ner = {
    train: readConll('wnut17train.conll'),
    validation: readConll('emerging.dev.conll'),
    heldOut: readConll('emerging.test.annotated'),
  };
  const articles = readSquad();
  const [qaFrom, qaTo] = SETTINGS.qa.trainArticles;
  const qa = { train: articles.slice(qaFrom, qaTo), heldOut: articles.slice(qaTo) };
  return { sentiment, ner, qa, articles };
}

/** SQuAD questions as flat records with every answer's text and start. */
function qaRecords(articles) {
  return articles.flatMap((article) =>
    article.paragraphs.flatMap((p) =>
      p.qas.map((q) => ({
        id: q.id,
        title: article.title,
        question: q.question,
        context: p.context,
        answers: q.answers.map((a) => ({ text: a.text, start: a.answer_start })),
      })),
    ),
  );
}

/** Held-out SQuAD questions as flat records, answers as texts (what the evaluation scores against). */
function qaHeldOutRecords(heldOutArticles) {
  return qaRecords(heldOutArticles).map((record) => ({
    ...record,
    answers: record.answers.map((a) => a.text),
  }));
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  fs.rmSync(args.out, { recursive: true, force: true });
  for (const dir of ['sentiment', 'ner', 'qa', 'rerank'])
    fs.mkdirSync(path.join(args.out, dir), { recursive: true });

  const { sentiment, ner, qa } = loadSplits();
  for (const part of ['train', 'validation', 'heldOut'])
    writeJsonl(path.join(args.out, 'sentiment', `${part.toLowerCase()}.jsonl`), sentiment[part]);
  for (const part of ['train', 'validation', 'heldOut'])
    writeJsonl(path.join(args.out, 'ner', `${part.toLowerCase()}.jsonl`), ner[part]);
  const qaTrain = qaRecords(qa.train);
  const qaHeldOut = qaRecords(qa.heldOut);
  writeJsonl(path.join(args.out, 'qa', 'train.jsonl'), qaTrain);
  writeJsonl(path.join(args.out, 'qa', 'heldout.jsonl'), qaHeldOut);
  const rerankTrain = rerankRecords(qa.train);
  const rerankHeldOut = rerankRecords(qa.heldOut);
  writeJsonl(path.join(args.out, 'rerank', 'train.jsonl'), rerankTrain);
  writeJsonl(path.join(args.out, 'rerank', 'heldout.jsonl'), rerankHeldOut);
  // The committed sample the jest test re-measures: the first 200 held-out sentences (a fixed random order).
  const sample = sentiment.heldOut.slice(0, 200);
  fs.writeFileSync(
    path.join(DATA, 'sentiment-heldout-200.tsv'),
    sample
      .map((row) => `${row.text.replace(/[\t\n]/g, ' ')}\t${row.label === 1 ? 'positive' : 'negative'}`)
      .join('\n') + '\n',
  );

  const manifest = {
    settings: SETTINGS,
    nerLabels: NER_LABELS,
    sentimentLabels: ['negative', 'positive'],
    splits: {
      sentiment: {
        train: sentiment.train.length,
        validation: sentiment.validation.length,
        heldOut: sentiment.heldOut.length,
        heldOutSample: sample.length,
      },
      ner: { train: ner.train.length, validation: ner.validation.length, heldOut: ner.heldOut.length },
      qa: {
        trainArticles: qa.train.length,
        heldOutArticles: qa.heldOut.length,
        trainQuestions: qaTrain.length,
        heldOutQuestions: qaHeldOut.length,
        heldOutTitles: qa.heldOut.map((a) => a.title),
      },
      rerank: {
        trainQuestions: rerankTrain.length,
        heldOutQuestions: rerankHeldOut.length,
        heldOutSentencesPerArticle: qa.heldOut.map((a) => ({
          title: a.title,
          sentences: rerankHeldOut.find((r) => r.title === a.title)?.sentences.length ?? 0,
        })),
      },
    },
  };
  fs.writeFileSync(path.join(args.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(JSON.stringify(manifest.splits));
  console.log(`prepare_demo_data: wrote ${args.out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

module.exports = { SETTINGS, NER_LABELS, loadSplits, qaHeldOutRecords, rerankRecords, splitSentences };

if (require.main === module) main();
