#!/usr/bin/env node
// Prepares the training data of the demo models (models/sentiment, models/ner, models/qa) with the COMPILED
// library's tokenizer, so that training and inference tokenize identically.
//
//   node tools/prepare_demo_data.js [--out build/demo-data]
//
// 1. Splits the data (fixed seed) into training, validation (model selection) and held-out parts.
// 2. Builds one uncased WordPiece vocabulary for all demo models: a subset of bert-base-uncased's vocab.txt chosen
//    by frequency on the TRAINING texts of the three tasks (held-out texts never influence it).
// 3. Tokenizes everything with that vocabulary through TextTokenizer and writes JSONL for tools/train_demo.py,
//    plus the held-out raw examples for tools/evaluate_demo.js.
//
// Inputs are the copies in tools/data/ (see tools/data/README.md for their licences).
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const { TextTokenizer } = require('../dist/lib/tokenizer');
const { rng } = require('./seeded_random');

const ROOT = path.resolve(__dirname, '..');
const DATA = path.join(ROOT, 'tools/data');
const BERT_VOCAB = path.join(ROOT, 'test/fixtures/tokenizers/bert-base-uncased/vocab.txt');

/** Settings that define the splits and the vocabulary; recorded in the output's manifest.json. */
const SETTINGS = {
  seed: 20261122,
  vocabSize: 8000,
  maxLength: 256,
  sentiment: { heldOutPerStratum: 50, validationFraction: 0.1 },
  qa: { trainArticles: [0, 40], stride: 64 },
};
const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const WNUT_TYPES = ['person', 'location', 'corporation', 'product', 'creative-work', 'group'];
const NER_LABELS = ['O', ...WNUT_TYPES.flatMap((type) => [`B-${type}`, `I-${type}`])];

function parseArgs(argv) {
  const args = { out: path.join(ROOT, 'build/demo-data') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out') args.out = path.resolve(argv[++i]);
    else if (argv[i] === '--vocab-size')
      SETTINGS.vocabSize = Number(argv[++i]); // experiments only
    else
      throw new Error(
        `unknown argument ${argv[i]}; usage: prepare_demo_data.js [--out DIR] [--vocab-size N]`,
      );
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

// ------------------------------------------------------------------------------------------------------------
// Vocabulary
// ------------------------------------------------------------------------------------------------------------

async function tokenizerFromVocab(vocabLines, dir) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'vocab.txt'), vocabLines.join('\n') + '\n');
  fs.writeFileSync(
    path.join(dir, 'tokenizer_config.json'),
    JSON.stringify(tokenizerConfig(), null, 2) + '\n',
  );
  return TextTokenizer.fromDirectory(dir);
}

function tokenizerConfig() {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    strip_accents: null,
    tokenize_chinese_chars: true,
    model_max_length: SETTINGS.maxLength,
    cls_token: '[CLS]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    unk_token: '[UNK]',
    mask_token: '[MASK]',
  };
}

/**
 * The demo vocabulary: bert-base-uncased tokens ranked by their frequency in the training texts of the three
 * tasks, each task weighted equally (counts divided by the task's token total, so SQuAD's long contexts do not
 * crowd out the short reviews and tweets). Always kept: the special tokens, and every single character and
 * "##"+character of the training texts and of printable ASCII, so that almost any word still tokenizes (into
 * pieces) instead of becoming [UNK]. Ids are renumbered densely in bert-base-uncased's order.
 */
async function buildVocab(textsByTask, workDir) {
  const bertVocab = fs.readFileSync(BERT_VOCAB, 'utf8').split('\n');
  if (bertVocab[bertVocab.length - 1] === '') bertVocab.pop();
  const bertIndex = new Map(bertVocab.map((token, id) => [token, id]));
  const full = await tokenizerFromVocab(bertVocab, path.join(workDir, 'bert-base-uncased'));

  const score = new Map();
  const keep = new Set(SPECIAL_TOKENS);
  const addCharacter = (ch) => {
    for (const token of [ch, `##${ch}`]) if (bertIndex.has(token)) keep.add(token);
  };
  for (let code = 0x21; code < 0x7f; code++) addCharacter(String.fromCharCode(code).toLowerCase());
  const stats = {};
  for (const [task, texts] of Object.entries(textsByTask)) {
    const counts = new Map();
    let total = 0;
    for (let i = 0; i < texts.length; i += 512) {
      const encodings = await full.encodeBatch(texts.slice(i, i + 512), {
        addSpecialTokens: false,
        maxLength: 1_000_000,
      });
      for (const encoding of encodings) {
        for (const token of encoding.tokens) {
          counts.set(token, (counts.get(token) ?? 0) + 1);
          total++;
          for (const ch of token.startsWith('##') ? token.slice(2) : token) addCharacter(ch);
        }
      }
    }
    for (const [token, count] of counts) score.set(token, (score.get(token) ?? 0) + count / total);
    stats[task] = { texts: texts.length, tokens: total, distinct: counts.size };
  }
  const ranked = [...score.entries()]
    .filter(([token]) => !keep.has(token) && token !== '[UNK]')
    .sort((a, b) => b[1] - a[1] || bertIndex.get(a[0]) - bertIndex.get(b[0]));
  for (const [token] of ranked) {
    if (keep.size >= SETTINGS.vocabSize) break;
    keep.add(token);
  }
  const vocab = [...keep].sort((a, b) => bertIndex.get(a) - bertIndex.get(b));
  return { vocab, stats: { ...stats, distinctOverall: score.size, kept: vocab.length } };
}

// ------------------------------------------------------------------------------------------------------------
// Features
// ------------------------------------------------------------------------------------------------------------

async function sentimentFeatures(tokenizer, rows) {
  const encodings = await tokenizer.encodeBatch(rows.map((row) => row.text));
  return rows.map((row, i) => ({ input_ids: encodings[i].ids, label: row.label }));
}

/**
 * Token-classification features, HF style: the text is the words joined by single spaces; each token belongs to
 * the word whose character span holds its start; the FIRST token of each word carries the word's BIO label, the
 * other tokens -100 (ignored by the loss). A word that yields no token (a lone control character) has no label.
 */
async function nerFeatures(tokenizer, sentences) {
  const texts = sentences.map((s) => s.words.join(' '));
  const encodings = await tokenizer.encodeBatch(texts);
  let truncatedWords = 0;
  const rows = sentences.map((sentence, i) => {
    const encoding = encodings[i];
    const starts = [];
    let position = 0;
    for (const word of sentence.words) {
      starts.push(position);
      position += word.length + 1;
    }
    const wordOf = (charStart) => {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (starts[mid] <= charStart) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const labels = [];
    const labelled = new Set();
    encoding.ids.forEach((_, t) => {
      if (encoding.specialTokensMask[t] === 1) return labels.push(-100);
      const word = wordOf(encoding.offsets[t][0]);
      if (labelled.has(word)) return labels.push(-100);
      labelled.add(word);
      labels.push(NER_LABELS.indexOf(sentence.tags[word]));
    });
    truncatedWords += sentence.words.length - labelled.size;
    return { input_ids: encoding.ids, labels };
  });
  return { rows, unlabelledWords: truncatedWords };
}

/**
 * Question-answering features, HF run_qa style: [question, context] windows of maxLength tokens with `stride`
 * context tokens shared (truncation only_second); the answer's first and last tokens from its character span, or
 * [CLS] (0, 0) for a window that does not hold the whole answer. The first gold answer is the target.
 */
async function qaFeatures(tokenizer, articles) {
  const rows = [];
  let windows = 0;
  let withAnswer = 0;
  for (const article of articles) {
    for (const paragraph of article.paragraphs) {
      for (const qa of paragraph.qas) {
        const answer = qa.answers[0];
        const startChar = answer.answer_start;
        const endChar = startChar + answer.text.length;
        const encodings = await tokenizer.encodeWithOverflow([qa.question, paragraph.context], {
          maxLength: SETTINGS.maxLength,
          stride: SETTINGS.qa.stride,
          truncation: 'only_second',
        });
        for (const encoding of encodings) {
          windows++;
          const context = encoding.sequenceIds.map((id, t) => (id === 1 ? t : -1)).filter((t) => t >= 0);
          const first = context[0];
          const last = context[context.length - 1];
          let start = 0;
          let end = 0;
          if (encoding.offsets[first][0] <= startChar && encoding.offsets[last][1] >= endChar) {
            start = first;
            while (start <= last && encoding.offsets[start][0] <= startChar) start++;
            start--;
            end = last;
            while (end >= first && encoding.offsets[end][1] >= endChar) end--;
            end++;
            withAnswer++;
          }
          rows.push({
            input_ids: encoding.ids,
            token_type_ids: encoding.typeIds,
            start_position: start,
            end_position: end,
          });
        }
      }
    }
  }
  return { rows, windows, withAnswer };
}

// ------------------------------------------------------------------------------------------------------------

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

/** Held-out SQuAD questions as flat records. */
function qaHeldOutRecords(heldOutArticles) {
  return heldOutArticles.flatMap((article) =>
    article.paragraphs.flatMap((p) =>
      p.qas.map((q) => ({
        id: q.id,
        title: article.title,
        question: q.question,
        context: p.context,
        answers: q.answers.map((a) => a.text),
      })),
    ),
  );
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const started = Date.now();
  fs.rmSync(args.out, { recursive: true, force: true });
  for (const dir of ['sentiment', 'ner', 'qa', 'vocab'])
    fs.mkdirSync(path.join(args.out, dir), { recursive: true });

  const { sentiment, ner, qa, articles } = loadSplits();
  const [qaFrom, qaTo] = SETTINGS.qa.trainArticles;

  // Vocabulary from training texts only.
  const trainingTexts = {
    sentiment: sentiment.train.map((row) => row.text),
    ner: ner.train.map((s) => s.words.join(' ')),
    qa: qa.train.flatMap((a) => a.paragraphs.flatMap((p) => [p.context, ...p.qas.map((q) => q.question)])),
  };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'demo-vocab-'));
  let vocab;
  let vocabStats;
  try {
    ({ vocab, stats: vocabStats } = await buildVocab(trainingTexts, tmp));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const vocabDir = path.join(args.out, 'vocab');
  const tokenizer = await tokenizerFromVocab(vocab, vocabDir);

  // Training / validation features.
  for (const part of ['train', 'validation']) {
    writeJsonl(
      path.join(args.out, 'sentiment', `${part}.jsonl`),
      await sentimentFeatures(tokenizer, sentiment[part]),
    );
  }
  const nerStats = {};
  for (const part of ['train', 'validation']) {
    const { rows, unlabelledWords } = await nerFeatures(tokenizer, ner[part]);
    writeJsonl(path.join(args.out, 'ner', `${part}.jsonl`), rows);
    nerStats[part] = { sentences: rows.length, unlabelledWords };
  }
  const qaTrain = await qaFeatures(tokenizer, qa.train);
  writeJsonl(path.join(args.out, 'qa', 'train.jsonl'), qaTrain.rows);

  // Held-out raw examples, for tools/evaluate_demo.js only.
  writeJsonl(
    path.join(args.out, 'sentiment', 'heldout.jsonl'),
    sentiment.heldOut.map(({ text, label, source }) => ({
      text,
      label: label === 1 ? 'positive' : 'negative',
      source,
    })),
  );
  writeJsonl(path.join(args.out, 'ner', 'heldout.jsonl'), ner.heldOut);
  writeJsonl(path.join(args.out, 'qa', 'heldout.jsonl'), qaHeldOutRecords(qa.heldOut));
  // The committed sample the jest test re-measures: the first 200 held-out sentences (a fixed random order).
  const sample = sentiment.heldOut.slice(0, 200);
  fs.writeFileSync(
    path.join(DATA, 'sentiment-heldout-200.tsv'),
    sample
      .map((row) => `${row.text.replace(/[\t\n]/g, ' ')}\t${row.label === 1 ? 'positive' : 'negative'}`)
      .join('\n') + '\n',
  );

  const count = (rows) => rows.length;
  const manifest = {
    settings: SETTINGS,
    vocab: vocabStats,
    nerLabels: NER_LABELS,
    sentimentLabels: ['negative', 'positive'],
    splits: {
      sentiment: {
        train: count(sentiment.train),
        validation: count(sentiment.validation),
        heldOut: count(sentiment.heldOut),
        heldOutPositive: sentiment.heldOut.filter((r) => r.label === 1).length,
        heldOutSample: sample.length,
      },
      ner: {
        train: nerStats.train,
        validation: nerStats.validation,
        heldOut: { sentences: count(ner.heldOut), file: 'emerging.test.annotated' },
      },
      qa: {
        trainArticles: `${qaFrom}-${qaTo - 1}`,
        heldOutArticles: `${qaTo}-${articles.length - 1}`,
        trainQuestions: qa.train.reduce((n, a) => n + a.paragraphs.reduce((m, p) => m + p.qas.length, 0), 0),
        trainWindows: qaTrain.windows,
        trainWindowsWithAnswer: qaTrain.withAnswer,
        heldOutQuestions: qa.heldOut.reduce(
          (n, a) => n + a.paragraphs.reduce((m, p) => m + p.qas.length, 0),
          0,
        ),
        heldOutTitles: qa.heldOut.map((a) => a.title),
      },
    },
  };
  fs.writeFileSync(path.join(args.out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  console.log(JSON.stringify(manifest.vocab));
  console.log(JSON.stringify(manifest.splits));
  console.log(`prepare_demo_data: wrote ${args.out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

module.exports = { SETTINGS, NER_LABELS, loadSplits, qaHeldOutRecords };

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
