// Broken model directories for fuzz-files.test.ts: a copy of a fixture directory with one file replaced
// by random bytes, a truncated or bit-flipped copy, a file of another format, or JSON with a field
// changed to a wrong value.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import fc from 'fast-check';

export const DIRECTORY_FILES = [
  'model.pt',
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
] as const;
export type DirectoryFile = (typeof DIRECTORY_FILES)[number];

/** A zip archive of stored (uncompressed) entries: a valid zip that is not a TorchScript archive. */
export function storedZip(entries: Record<string, Buffer>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of Object.entries(entries)) {
    const fileName = Buffer.from(name);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, data);
    centrals.push(central, fileName);
    offset += local.length + fileName.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(centrals.length / 2, 8);
  end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** What replaces one file of the directory. Fractions place cuts and flips in files of any size. */
export type Mutation =
  | { kind: 'randomBytes'; bytes: Uint8Array }
  | { kind: 'truncate'; at: number }
  | { kind: 'flipBytes'; at: number[]; xor: number }
  | { kind: 'foreign'; format: ForeignFormat }
  | { kind: 'jsonField'; path: string[]; value: unknown }
  | { kind: 'jsonDelete'; path: string[] }
  | { kind: 'missing' };

const FOREIGN_FORMATS = [
  'empty',
  'json',
  'zipNotTorchScript',
  'zipWithFakeConstants',
  'onnx',
  'gitLfsPointer',
  'otherFixtureModel',
  'directory',
  'deeplyNestedJson',
  'nulBytes',
] as const;
type ForeignFormat = (typeof FOREIGN_FORMATS)[number];

/** Values that are valid JSON and wrong where they go. */
const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    -1,
    0,
    1,
    2,
    3,
    1.5,
    1e9,
    2 ** 53,
    -(2 ** 31),
    '',
    '128',
    'bert',
    [],
    {},
    [1, 2],
    { '0': 5 },
    { '-1': 'x' },
    { '1': 'a' },
    { '99999999': 'x' },
    { '1e3': 'x' },
    { '0x1': 'a' },
    { '': 'a' },
    { ' 0': 'a' },
    { '0': 'a', '1': 'a' },
    { __proto__: 'x' },
  ),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Fields each file is read for, and fields of the tokenizer whose shape the Rust side relies on. */
const FIELDS: Record<Exclude<DirectoryFile, 'model.pt'>, string[][]> = {
  'config.json': [
    ['id2label'],
    ['label2id'],
    ['num_labels'],
    ['max_position_embeddings'],
    ['model_type'],
    ['problem_type'],
    ['pad_token_id'],
    ['hidden_size'],
    ['vocab_size'],
    ['id2label', '0'],
  ],
  'tokenizer.json': [
    ['model'],
    ['model', 'type'],
    ['model', 'vocab'],
    ['model', 'unk_token'],
    ['model', 'continuing_subword_prefix'],
    ['model', 'max_input_chars_per_word'],
    ['model', 'vocab', '[UNK]'],
    ['model', 'vocab', '[CLS]'],
    ['normalizer'],
    ['normalizer', 'type'],
    ['pre_tokenizer'],
    ['post_processor'],
    ['post_processor', 'type'],
    ['post_processor', 'special_tokens'],
    ['post_processor', 'single'],
    ['post_processor', 'pair'],
    ['decoder'],
    ['added_tokens'],
    ['added_tokens', '0'],
    ['added_tokens', '0', 'id'],
    ['padding'],
    ['truncation'],
    ['version'],
  ],
  'tokenizer_config.json': [
    ['model_max_length'],
    ['pad_token'],
    ['cls_token'],
    ['sep_token'],
    ['unk_token'],
    ['do_lower_case'],
    ['tokenizer_class'],
    ['added_tokens_decoder'],
  ],
};

/** A mutation fitting `file`: JSON field edits only for JSON files. */
export function mutationOf(file: DirectoryFile): fc.Arbitrary<Mutation> {
  const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
  const common: fc.Arbitrary<Mutation>[] = [
    fc.record({ kind: fc.constant('randomBytes' as const), bytes: fc.uint8Array({ maxLength: 4096 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fraction }),
    fc.record({
      kind: fc.constant('flipBytes' as const),
      at: fc.array(fraction, { minLength: 1, maxLength: 8 }),
      xor: fc.integer({ min: 1, max: 255 }),
    }),
    fc.record({ kind: fc.constant('foreign' as const), format: fc.constantFrom(...FOREIGN_FORMATS) }),
  ];
  if (file === 'model.pt') return fc.oneof(...common);
  const field = fc.constantFrom(...FIELDS[file]);
  return fc.oneof(
    ...common,
    fc.record({ kind: fc.constant('jsonField' as const), path: field, value: jsonValue }),
    fc.record({ kind: fc.constant('jsonField' as const), path: field, value: jsonValue }),
    fc.record({ kind: fc.constant('jsonDelete' as const), path: field }),
    ...(file === 'tokenizer_config.json' ? [fc.constant<Mutation>({ kind: 'missing' })] : []),
  );
}

function setPath(root: unknown, keys: readonly string[], value: unknown, remove: boolean): void {
  let node = root as Record<string, unknown> | undefined;
  for (const key of keys.slice(0, -1)) {
    const next = node?.[key];
    if (typeof next !== 'object' || next === null) return;
    node = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1]!;
  if (node === undefined) return;
  if (remove) delete node[last];
  else Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Writes `fixtureDir`'s files into `dir` (created), with `file` replaced per `mutation`. Unchanged files
 * are hard links where the file system allows, so a case costs little more than the file it breaks.
 */
export function writeBrokenDirectory(
  fixtureDir: string,
  dir: string,
  file: DirectoryFile,
  mutation: Mutation,
  otherModel: string,
): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const name of DIRECTORY_FILES) {
    if (name === file) continue;
    const source = path.join(fixtureDir, name);
    try {
      fs.linkSync(source, path.join(dir, name));
    } catch {
      fs.copyFileSync(source, path.join(dir, name));
    }
  }
  const target = path.join(dir, file);
  const original = fs.readFileSync(path.join(fixtureDir, file));
  switch (mutation.kind) {
    case 'randomBytes':
      return fs.writeFileSync(target, mutation.bytes);
    case 'truncate':
      return fs.writeFileSync(target, original.subarray(0, Math.floor(mutation.at * original.length)));
    case 'flipBytes': {
      const copy = Buffer.from(original);
      for (const at of mutation.at) {
        const index = Math.floor(at * copy.length);
        copy[index] = copy[index]! ^ mutation.xor;
      }
      return fs.writeFileSync(target, copy);
    }
    case 'missing':
      return;
    case 'jsonField':
    case 'jsonDelete': {
      const json: unknown = JSON.parse(original.toString('utf8'));
      setPath(
        json,
        mutation.path,
        mutation.kind === 'jsonField' ? mutation.value : undefined,
        mutation.kind === 'jsonDelete',
      );
      return fs.writeFileSync(target, JSON.stringify(json));
    }
    case 'foreign':
      switch (mutation.format) {
        case 'empty':
          return fs.writeFileSync(target, '');
        case 'json':
          return fs.writeFileSync(target, '{"model_type": "bert", "weights": [1, 2, 3]}');
        case 'zipNotTorchScript':
          return fs.writeFileSync(target, storedZip({ 'archive/hello.txt': Buffer.from('not a module') }));
        case 'zipWithFakeConstants':
          // The names a TorchScript archive has, with contents that are not what they claim.
          return fs.writeFileSync(
            target,
            storedZip({
              'archive/data.pkl': Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00, 0x2e]),
              'archive/constants.pkl': Buffer.from('garbage'),
              'archive/version': Buffer.from('10\n'),
              'archive/code/__torch__.py': Buffer.from('def forward(self):\n  return None\n'),
            }),
          );
        case 'onnx':
          return fs.copyFileSync(path.join(fixtureDir, 'onnx', 'model.onnx'), target);
        case 'gitLfsPointer':
          return fs.writeFileSync(
            target,
            'version https://git-lfs.github.com/spec/v1\noid sha256:0000000000000000000000000000000000000000000000000000000000000000\nsize 4073288\n',
          );
        case 'otherFixtureModel':
          return fs.copyFileSync(otherModel, target);
        case 'directory':
          return fs.mkdirSync(target);
        case 'deeplyNestedJson':
          return fs.writeFileSync(target, `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
        case 'nulBytes':
          return fs.writeFileSync(target, Buffer.alloc(65536));
      }
  }
}
