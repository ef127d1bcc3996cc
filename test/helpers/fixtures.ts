import * as fs from 'node:fs';
import * as path from 'node:path';
import { discoverLibtorch } from '../../lib/libtorch-discovery';

/** The fixtures of the runtime under test: made by its own Python torch (tools/fixtures.js). */
export const FIXTURES = path.resolve(
  __dirname,
  '../fixtures/generated',
  discoverLibtorch(path.resolve(__dirname, '../..')).tag,
);
export const FIXTURE_NAMES = [
  'base',
  'sequence-classification',
  'token-classification',
  'question-answering',
] as const;
export type FixtureName = (typeof FIXTURE_NAMES)[number];

export interface GoldenCase {
  name: string;
  dims: [number, number];
  input_ids: number[];
  attention_mask: number[];
  token_type_ids: number[];
  outputs: Record<string, { dims: number[]; data: number[] }>;
}

export interface Goldens {
  inputNames: string[];
  outputNames: string[];
  cases: GoldenCase[];
}

export function fixtureModel(name: FixtureName | string): string {
  return path.join(FIXTURES, name, 'model.pt');
}

export function readGoldens(name: FixtureName | string): Goldens {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'goldens.json'), 'utf8')) as Goldens;
}

export function maxAbsDiff(actual: Float32Array, expected: number[]): number {
  if (actual.length !== expected.length) return Infinity;
  let max = 0;
  for (let i = 0; i < expected.length; i++) max = Math.max(max, Math.abs(actual[i]! - expected[i]!));
  return max;
}
