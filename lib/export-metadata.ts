import * as fs from 'node:fs';
import * as path from 'node:path';
import { TorchEncodersError } from './errors';

/** The file tools/export.py writes beside model.pt. */
export const EXPORT_METADATA_FILE = 'torch-encoders.json';

/** What the exporter recorded about model.pt. */
export interface ExportMetadata {
  /** Format version of this file. */
  format: 1;
  task: 'base' | 'sequence-classification' | 'token-classification' | 'question-answering';
  /** The torch version that traced model.pt. */
  torchVersion: string;
  /** forward's arguments, in order. */
  inputNames: string[];
  /** The module's outputs in the order it returns them ("logits", "start_logits", ...). */
  outputNames: string[];
  /** 'float32', 'float16' (CUDA) or 'qint8' (dynamically quantized Linear layers, CPU). */
  dtype: 'float32' | 'float16' | 'qint8';
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
  return metadata as ExportMetadata;
}
