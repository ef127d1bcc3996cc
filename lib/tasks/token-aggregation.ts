/**
 * Token-classification (NER) post-processing with the semantics of Hugging Face transformers'
 * TokenClassificationPipeline.postprocess (v4.40–v4.5x, src/transformers/pipelines/token_classification.py:
 * gather_pre_entities, aggregate, aggregate_word(s), group_sub_entities, get_tag, group_entities,
 * aggregate_overlapping_entities). Pure and synchronous: the caller runs the model, applies
 * `softmax` (lib/math) to each token's logits and drops special tokens.
 *
 * Deliberate differences from HF, all documented where they occur:
 * - `word` lengths are compared in code points (HF compares Python str lengths, which are code points),
 *   while `start`/`end` stay JS string (UTF-16) indices into `text`.
 * - HF refuses `stride` with aggregation 'none'; `aggregateWindowedTokens` instead de-duplicates the
 *   overlapping tokens with `mergeWindowPredictions` (not an HF rule) and then applies 'none'.
 * - Scores are averaged in float64, where numpy averages float32 values: results agree to float32 rounding.
 */
import { TorchEncodersError } from '../errors';
import { argmax } from '../math';

export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max';

const STRATEGIES: ReadonlySet<string> = new Set<AggregationStrategy>([
  'none',
  'simple',
  'first',
  'average',
  'max',
]);

/** One non-special token of one input text, with its label probabilities. */
export interface TokenPrediction {
  /** Token position in the encoding (HF's "index"). */
  index: number;
  /** The token string, e.g. "##ing" or "Ġworld". */
  token: string;
  /** Character offsets into the text (JS string indices). */
  start: number;
  end: number;
  /** Softmax over labels, one per entry of id2label. */
  scores: Float32Array;
  /**
   * The tokenizer's word id. Carried for callers; HF's v4.4x aggregation does not use word ids (it
   * decides subwords from offsets, see `isSubword` below), so neither does this module.
   */
  wordId: number | null;
}

/** One token and its best label (strategy 'none'). */
export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  word: string;
  start: number;
  end: number;
}

/** Adjacent tokens or words merged into one entity (every strategy but 'none'). */
export interface EntityGroup {
  /** The label without its "B-"/"I-" prefix (HF strips everything up to the first "-"). */
  entityGroup: string;
  /** Mean of the member scores. */
  score: number;
  /** tokensToString of the member tokens. */
  word: string;
  /** Start of the first member, end of the last one. */
  start: number;
  end: number;
}

export interface AggregateTokensArgs {
  text: string;
  /** The non-special tokens of `text`, in encoding order. */
  tokens: readonly TokenPrediction[];
  id2label: readonly string[];
  strategy: AggregationStrategy;
  /**
   * Labels whose tokens ('none') or groups (other strategies, compared with the prefix-stripped group
   * label, as HF) are dropped from the result. The caller applies the default ['O'].
   */
  ignoreLabels: readonly string[];
  /**
   * The tokenizer model's continuing_subword_prefix ("##" for WordPiece), or null (byte-level BPE,
   * Unigram). With a prefix a token is a subword when its string and its text span differ in length;
   * without one HF falls back to a whitespace heuristic.
   */
  continuingSubwordPrefix: string | null;
  /** The tokenizer's convert_tokens_to_string, used to build each word and group. */
  tokensToString: (tokens: string[]) => string;
  /**
   * The tokenizer's unknown token ("[UNK]", "<unk>"). HF reports an unknown token with its text span
   * as its word and never treats it as a subword. Default: null (no token is treated as unknown).
   */
  unkToken?: string | null;
}

/** HF's "pre_entity": a token with the facts aggregation needs. */
interface PreEntity {
  word: string;
  scores: Float32Array;
  start: number;
  end: number;
  index: number;
  isSubword: boolean;
}

/** An entity before grouping: a token ('simple') or a word ('first' | 'average' | 'max'). */
interface ScoredEntity {
  entity: string;
  score: number;
  word: string;
  /**
   * The tokens behind `word`. Groups decode these, not the words: HF decodes the already-decoded words
   * again, which turns non-ASCII text from byte-level BPE into mojibake ("Zoë" -> "Zo\uFFFD").
   */
  tokens: string[];
  start: number;
  end: number;
}

/**
 * Aggregates token predictions into entities, as TokenClassificationPipeline.postprocess does for one
 * window. Throws E_BAD_INPUT on an unknown strategy or scores whose length is not id2label's.
 */
export function aggregateTokens(args: AggregateTokensArgs & { strategy: 'none' }): TokenEntity[];
export function aggregateTokens(
  args: AggregateTokensArgs & { strategy: Exclude<AggregationStrategy, 'none'> },
): EntityGroup[];
export function aggregateTokens(args: AggregateTokensArgs): TokenEntity[] | EntityGroup[];
export function aggregateTokens(args: AggregateTokensArgs): TokenEntity[] | EntityGroup[] {
  const { strategy, id2label, ignoreLabels, tokensToString } = args;
  if (!STRATEGIES.has(strategy)) {
    throw new TorchEncodersError(
      'E_BAD_INPUT',
      `aggregateTokens: strategy must be one of ${[...STRATEGIES].join(', ')}; got ${String(strategy)}`,
    );
  }
  const preEntities = gatherPreEntities(args);
  const ignored = new Set(ignoreLabels);

  if (strategy === 'none') {
    // HF's aggregate() returns the per-token entities untouched; postprocess then filters them.
    return preEntities
      .map((pre) => {
        const best = argmax(pre.scores);
        return {
          entity: labelOf(id2label, best),
          score: pre.scores[best] as number,
          index: pre.index,
          word: pre.word,
          start: pre.start,
          end: pre.end,
        };
      })
      .filter((entity) => !ignored.has(entity.entity));
  }

  const entities: ScoredEntity[] =
    strategy === 'simple'
      ? preEntities.map((pre) => {
          const best = argmax(pre.scores);
          return {
            entity: labelOf(id2label, best),
            score: pre.scores[best] as number,
            word: pre.word,
            tokens: [pre.word],
            start: pre.start,
            end: pre.end,
          };
        })
      : aggregateWords(preEntities, strategy, id2label, tokensToString);
  // Ignore labels are matched against the group label, after grouping, as in HF: with ['O'] the
  // "O" groups go; a prefixed label such as 'B-PER' never matches a group ('PER').
  return groupEntities(entities, tokensToString).filter((group) => !ignored.has(group.entityGroup));
}

/** HF gather_pre_entities, minus the special-token filter the caller already applied. */
function gatherPreEntities(args: AggregateTokensArgs): PreEntity[] {
  const { text, tokens, id2label, continuingSubwordPrefix } = args;
  const unkToken = args.unkToken ?? null;
  return tokens.map((token, position) => {
    if (token.scores.length !== id2label.length) {
      throw new TorchEncodersError(
        'E_BAD_INPUT',
        `aggregateTokens: tokens[${position}].scores must have one entry per label (${id2label.length}); ` +
          `got ${token.scores.length}`,
      );
    }
    const wordRef = text.slice(token.start, token.end);
    let word = token.token;
    let isSubword: boolean;
    // HF tests the prefix for truthiness (getattr(model, "continuing_subword_prefix", None)), so an
    // empty prefix also means "no prefix".
    if (continuingSubwordPrefix) {
      // A word-aware tokenizer: "##ing" spans "ing", so its string is longer than its span.
      isSubword = codePointLength(word) !== codePointLength(wordRef);
    } else {
      // HF's fallback heuristic: a token continues a word when no space touches its start. Python
      // slices code points and JS slices UTF-16 units; either way a surrogate half is not a space.
      isSubword = token.start > 0 && !text.slice(token.start - 1, token.start + 1).includes(' ');
    }
    if (unkToken !== null && token.token === unkToken) {
      word = wordRef;
      isSubword = false;
    }
    return { word, scores: token.scores, start: token.start, end: token.end, index: token.index, isSubword };
  });
}

/**
 * HF aggregate_words: a token flagged as subword joins the current word (the first token always
 * opens one), and each word gets one label from aggregate_word.
 */
function aggregateWords(
  preEntities: readonly PreEntity[],
  strategy: 'first' | 'average' | 'max',
  id2label: readonly string[],
  tokensToString: (tokens: string[]) => string,
): ScoredEntity[] {
  const words: ScoredEntity[] = [];
  let group: PreEntity[] = [];
  for (const pre of preEntities) {
    if (group.length > 0 && !pre.isSubword) {
      words.push(aggregateWord(group, strategy, id2label, tokensToString));
      group = [];
    }
    group.push(pre);
  }
  if (group.length > 0) words.push(aggregateWord(group, strategy, id2label, tokensToString));
  return words;
}

/** HF aggregate_word: one label and score for the tokens of one word. */
function aggregateWord(
  group: readonly PreEntity[],
  strategy: 'first' | 'average' | 'max',
  id2label: readonly string[],
  tokensToString: (tokens: string[]) => string,
): ScoredEntity {
  const first = group[0] as PreEntity;
  const last = group[group.length - 1] as PreEntity;
  let scores: ArrayLike<number>;
  if (strategy === 'first') {
    scores = first.scores;
  } else if (strategy === 'max') {
    // max(entities, key=scores.max()): the token holding the highest probability, first on ties.
    let best = first;
    let bestMax = maxOf(first.scores);
    for (const pre of group) {
      const m = maxOf(pre.scores);
      if (m > bestMax) {
        best = pre;
        bestMax = m;
      }
    }
    scores = best.scores;
  } else {
    // np.nanmean over the stacked token scores, label by label.
    scores = nanMeanColumns(group.map((pre) => pre.scores));
  }
  const best = argmax(scores);
  return {
    entity: labelOf(id2label, best),
    score: scores[best] as number,
    word: tokensToString(group.map((pre) => pre.word)),
    tokens: group.map((pre) => pre.word),
    start: first.start,
    end: last.end,
  };
}

/**
 * HF get_tag: ("B", tag) for "B-tag", ("I", tag) for "I-tag", and ("I", label) for a label without
 * either prefix, so such labels (including "O") continue a run of the same label.
 */
function getTag(label: string): { bi: 'B' | 'I'; tag: string } {
  if (label.startsWith('B-')) return { bi: 'B', tag: label.slice(2) };
  if (label.startsWith('I-')) return { bi: 'I', tag: label.slice(2) };
  return { bi: 'I', tag: label };
}

/**
 * HF group_entities: consecutive entities with the same tag merge unless the newcomer is a "B-",
 * so two adjacent B-PER words stay two entities.
 */
function groupEntities(
  entities: readonly ScoredEntity[],
  tokensToString: (t: string[]) => string,
): EntityGroup[] {
  const groups: EntityGroup[] = [];
  let run: ScoredEntity[] = [];
  for (const entity of entities) {
    const previous = run[run.length - 1];
    if (previous !== undefined) {
      const { bi, tag } = getTag(entity.entity);
      if (tag !== getTag(previous.entity).tag || bi === 'B') {
        groups.push(groupSubEntities(run, tokensToString));
        run = [];
      }
    }
    run.push(entity);
  }
  if (run.length > 0) groups.push(groupSubEntities(run, tokensToString));
  return groups;
}

/** HF group_sub_entities: label of the first member without its prefix, mean score, joined words. */
function groupSubEntities(
  run: readonly ScoredEntity[],
  tokensToString: (t: string[]) => string,
): EntityGroup {
  const first = run[0] as ScoredEntity;
  const last = run[run.length - 1] as ScoredEntity;
  // entity.split("-", 1)[-1]: everything after the first "-", or the whole label.
  const dash = first.entity.indexOf('-');
  return {
    entityGroup: dash === -1 ? first.entity : first.entity.slice(dash + 1),
    score: nanMean(run.map((entity) => entity.score)),
    word: tokensToString(run.flatMap((entity) => entity.tokens)),
    start: first.start,
    end: last.end,
  };
}

/**
 * HF aggregate_overlapping_entities, applied when a long text was split into overlapping windows:
 * entities sorted by start (stable); an entity starting inside the kept one replaces it when it is
 * longer, or as long with a higher score; otherwise the kept one is emitted.
 */
export function aggregateOverlappingEntities<T extends { start: number; end: number; score: number }>(
  entities: readonly T[],
): T[] {
  if (entities.length === 0) return [];
  const sorted = [...entities].sort((a, b) => a.start - b.start);
  const out: T[] = [];
  let kept = sorted[0] as T;
  for (const entity of sorted) {
    if (kept.start <= entity.start && entity.start < kept.end) {
      const length = entity.end - entity.start;
      const keptLength = kept.end - kept.start;
      if (length > keptLength || (length === keptLength && entity.score > kept.score)) kept = entity;
    } else {
      out.push(kept);
      kept = entity;
    }
  }
  out.push(kept);
  return out;
}

/**
 * Token de-duplication across overlapping windows, for callers that want one prediction per token
 * (strategy 'none'). This is NOT what HF does: HF's stride support aggregates each window on its own
 * and then resolves overlapping *entities* (`aggregateOverlappingEntities`), and refuses 'none'.
 *
 * Rule: tokens are identified by their character span; of the windows that hold a token, the one
 * where it has the most context wins, context being its distance in tokens to the nearer end of the
 * window's token list (the "max context" rule of HF's SQuAD feature code, since a token at a window
 * edge was predicted with one-sided context). Ties go to the earlier window. The result is ordered
 * by start then end; `index` stays the token's position in the window it was taken from.
 */
export function mergeWindowPredictions(windows: readonly (readonly TokenPrediction[])[]): TokenPrediction[] {
  const best = new Map<string, { token: TokenPrediction; context: number }>();
  for (const window of windows) {
    const count = window.length;
    window.forEach((token, position) => {
      const context = Math.min(position, count - 1 - position);
      const key = `${token.start}:${token.end}`;
      const current = best.get(key);
      if (current === undefined || context > current.context) best.set(key, { token, context });
    });
  }
  return [...best.values()].map((entry) => entry.token).sort((a, b) => a.start - b.start || a.end - b.end);
}

/** Arguments of `aggregateWindowedTokens`: those of `aggregateTokens` with one token list per window. */
export type AggregateWindowedTokensArgs = Omit<AggregateTokensArgs, 'tokens'> & {
  /** Each window's non-special tokens, offsets into the whole `text`. */
  windows: readonly (readonly TokenPrediction[])[];
};

/**
 * HF TokenClassificationPipeline.postprocess over all chunks of one text (the `stride` option):
 * each window is aggregated and filtered on its own, and with more than one window the entities are
 * resolved with `aggregateOverlappingEntities`. For 'none', which HF refuses with a stride, tokens
 * are de-duplicated with `mergeWindowPredictions` first.
 */
export function aggregateWindowedTokens(args: AggregateWindowedTokensArgs): TokenEntity[] | EntityGroup[] {
  const { windows, ...rest } = args;
  if (windows.length <= 1) return aggregateTokens({ ...rest, tokens: windows[0] ?? [] });
  if (rest.strategy === 'none') return aggregateTokens({ ...rest, tokens: mergeWindowPredictions(windows) });
  const all: EntityGroup[] = [];
  for (const tokens of windows) all.push(...(aggregateTokens({ ...rest, tokens }) as EntityGroup[]));
  return aggregateOverlappingEntities(all);
}

function labelOf(id2label: readonly string[], index: number): string {
  const label = id2label[index];
  if (label === undefined) {
    throw new TorchEncodersError('E_BAD_INPUT', `aggregateTokens: id2label has no label ${index}`);
  }
  return label;
}

function codePointLength(s: string): number {
  // String iteration yields code points, as Python's str indexes them.
  return [...s].length;
}

function maxOf(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i] as number);
  return max;
}

/** Mean ignoring NaN (numpy.nanmean); NaN when every value is NaN. */
function nanMean(values: readonly number[]): number {
  let sum = 0;
  let count = 0;
  for (const v of values) {
    if (!Number.isNaN(v)) {
      sum += v;
      count++;
    }
  }
  return count === 0 ? NaN : sum / count;
}

/** numpy.nanmean(stack(rows), axis=0). */
function nanMeanColumns(rowsOfScores: readonly Float32Array[]): Float64Array {
  const width = (rowsOfScores[0] as Float32Array).length;
  const out = new Float64Array(width);
  for (let j = 0; j < width; j++) out[j] = nanMean(rowsOfScores.map((row) => row[j] as number));
  return out;
}
