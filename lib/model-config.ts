import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchEncodersError } from './errors';

export type ProblemType = 'single_label_classification' | 'multi_label_classification' | 'regression';

/** What the library reads from a model directory's Hugging Face config.json. */
export interface ModelConfig {
  /** "bert", "roberta", "distilbert", ... */
  modelType: string;
  /** Label names by id; HF's LABEL_i where config.json names none. Empty for models without a head. */
  id2label: string[];
  problemType: ProblemType | undefined;
  /** Position embeddings, which bound the sequence length the model accepts. */
  maxPositionEmbeddings: number | undefined;
  padTokenId: number | undefined;
  /** The whole config.json, for what the library does not interpret. */
  raw: Readonly<Record<string, unknown>>;
}

// RoBERTa-family models number positions from padding_idx + 1, so two positions are never usable.
const POSITION_OFFSET_FAMILIES = new Set(['roberta', 'xlm-roberta', 'camembert', 'longformer']);

function configError(file: string, message: string): TorchEncodersError {
  return new TorchEncodersError('E_MODEL_LOAD', `config.json: ${message} (${file})`);
}

function readId2Label(raw: Record<string, unknown>, file: string): string[] {
  const id2label = raw.id2label;
  if (id2label !== undefined) {
    if (typeof id2label !== 'object' || id2label === null || Array.isArray(id2label)) {
      throw configError(file, `id2label must be an object of id -> label; got ${JSON.stringify(id2label)}`);
    }
    const labels: string[] = [];
    for (const [key, label] of Object.entries(id2label)) {
      const id = Number(key);
      if (!Number.isInteger(id) || id < 0 || typeof label !== 'string') {
        throw configError(
          file,
          `id2label entry ${JSON.stringify(key)}: ${JSON.stringify(label)} is not id -> label`,
        );
      }
      labels[id] = label;
    }
    for (let id = 0; id < labels.length; id++) {
      if (labels[id] === undefined) throw configError(file, `id2label has no label for id ${id}`);
    }
    return labels;
  }
  const numLabels = raw.num_labels;
  if (typeof numLabels === 'number' && Number.isInteger(numLabels) && numLabels > 0) {
    return Array.from({ length: numLabels }, (_, id) => `LABEL_${id}`);
  }
  return [];
}

/** Reads `dir`/config.json. Throws E_MODEL_NOT_FOUND when it is missing, E_MODEL_LOAD when malformed. */
export function readModelConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new TorchEncodersError(
      'E_MODEL_NOT_FOUND',
      `model directory '${dir}' has no readable config.json (a Hugging Face config with at least model_type)`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw configError(file, `not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw configError(file, 'expected a JSON object');
  const config = raw as Record<string, unknown>;
  if (typeof config.model_type !== 'string' || config.model_type === '') {
    throw configError(file, 'missing key model_type (for example "bert", "roberta" or "distilbert")');
  }
  const problemType = config.problem_type;
  if (
    problemType !== undefined &&
    problemType !== null &&
    problemType !== 'single_label_classification' &&
    problemType !== 'multi_label_classification' &&
    problemType !== 'regression'
  ) {
    throw configError(file, `unknown problem_type ${JSON.stringify(problemType)}`);
  }
  const integer = (key: string): number | undefined =>
    typeof config[key] === 'number' && Number.isInteger(config[key]) ? (config[key] as number) : undefined;
  return {
    modelType: config.model_type,
    id2label: readId2Label(config, file),
    problemType: (problemType ?? undefined) as ProblemType | undefined,
    maxPositionEmbeddings: integer('max_position_embeddings'),
    padTokenId: integer('pad_token_id'),
    raw: config,
  };
}

/** The longest token sequence the model's position embeddings allow, if the config says. */
export function maxSequenceLength(config: ModelConfig): number | undefined {
  if (config.maxPositionEmbeddings === undefined) return undefined;
  const offset = POSITION_OFFSET_FAMILIES.has(config.modelType) ? (config.padTokenId ?? 1) + 1 : 0;
  return config.maxPositionEmbeddings - offset;
}
