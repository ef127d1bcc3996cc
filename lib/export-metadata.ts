import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchEncodersError } from './errors';

/** The file tools/export.py writes beside model.pt. */
export const EXPORT_METADATA_FILE = 'torch-encoders.json';

const DTYPES = ['float32', 'bfloat16', 'float16', 'qint8'] as const;
const ATTENTIONS = ['sdpa', 'eager'] as const;

/** What the exporter recorded about model.pt. */
export interface ExportMetadata {
  /** Format version of this file. */
  format: 1;
  task: 'base' | 'sequence-classification' | 'token-classification' | 'question-answering';
  /** The torch version that traced model.pt: the runtime must be at least as new as the ops it recorded. */
  torchVersion: string;
  /**
   * The attention the exporter traced: 'sdpa' records aten::scaled_dot_product_attention (libtorch >= 2.0
   * only), 'eager' loads on libtorch 1.13 too. Absent in files written before the exporter recorded it.
   */
  attention?: 'sdpa' | 'eager';
  /** forward's arguments, in order. */
  inputNames: string[];
  /** The module's outputs in the order it returns them ("logits", "start_logits", ...). */
  outputNames: string[];
  /**
   * 'float32', 'bfloat16' (CPU or CUDA; outputs come back as float32), 'float16' (CUDA) or 'qint8'
   * (dynamically quantized Linear layers, CPU).
   */
  dtype: 'float32' | 'bfloat16' | 'float16' | 'qint8';
  /** Longest sequence the export was checked for. */
  maxLength: number;
}

/** Reads `dir`/torch-encoders.json when present; undefined when absent. Throws E_MODEL_LOAD when malformed. */
export function readExportMetadata(dir: string): ExportMetadata | undefined {
  const file = path.join(dir, EXPORT_METADATA_FILE);
  if (!fs.existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TorchEncodersError(
      'E_MODEL_LOAD',
      `${EXPORT_METADATA_FILE}: not valid JSON: ${(error as Error).message} (${file})`,
    );
  }
  const metadata = parsed as Partial<ExportMetadata> | null;
  const isStrings = (value: unknown) =>
    Array.isArray(value) && value.every((item) => typeof item === 'string');
  if (
    typeof metadata !== 'object' ||
    metadata === null ||
    metadata.format !== 1 ||
    !isStrings(metadata.inputNames) ||
    !isStrings(metadata.outputNames)
  ) {
    throw new TorchEncodersError(
      'E_MODEL_LOAD',
      `${EXPORT_METADATA_FILE}: expected { format: 1, inputNames: string[], outputNames: string[], ... } (${file})`,
    );
  }
  // The fields the library acts on: a value it does not know would be silently mishandled (a dtype decides
  // the devices the model may load on; attention and torchVersion go into load errors).
  const checks: [keyof ExportMetadata, readonly unknown[] | 'string', unknown][] = [
    ['dtype', DTYPES, metadata.dtype],
    ['attention', ATTENTIONS, metadata.attention],
    ['torchVersion', 'string', metadata.torchVersion],
  ];
  for (const [key, allowed, value] of checks) {
    if (value === undefined && key !== 'dtype') continue;
    const ok = allowed === 'string' ? typeof value === 'string' : allowed.includes(value);
    if (!ok) {
      const expected =
        allowed === 'string' ? 'a string' : `one of ${allowed.map((item) => `'${String(item)}'`).join(', ')}`;
      throw new TorchEncodersError(
        'E_MODEL_LOAD',
        `${EXPORT_METADATA_FILE}: ${key} must be ${expected}, got ${JSON.stringify(value)} (${file})`,
      );
    }
  }
  return metadata as ExportMetadata;
}
