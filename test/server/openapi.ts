// Validation of server responses against text-embeddings-inference's own OpenAPI document
// (fixtures/tei-openapi.json, TEI v1.9.3), with ajv 8.
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const DOCUMENT_ID = 'https://text-embeddings-inference.local/openapi.json';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

interface AjvValidator {
  (value: unknown): boolean;
  errors?: AjvError[] | null;
}

interface Ajv {
  addSchema(schema: object, key: string): Ajv;
  addFormat(name: string, format: true): Ajv;
  getSchema(ref: string): AjvValidator | undefined;
}

type AjvConstructor = new (options: Record<string, unknown>) => Ajv;

/**
 * Ajv 8, which speaks OpenAPI 3.0's `nullable`. The top-level `ajv` in node_modules can be ajv 6
 * (ESLint's); Fastify validates requests with ajv 8 through @fastify/ajv-compiler, so that copy is
 * taken when the top-level one is older.
 */
function loadAjv(): AjvConstructor {
  const here = createRequire(__filename);
  const fastify = createRequire(here.resolve('fastify'));
  const compiler = createRequire(fastify.resolve('@fastify/ajv-compiler'));
  for (const load of [here, compiler]) {
    let version: string;
    try {
      ({ version } = load('ajv/package.json') as { version: string });
    } catch {
      continue;
    }
    if (version.startsWith('8.')) {
      const loaded = load('ajv') as { default?: AjvConstructor } & AjvConstructor;
      return loaded.default ?? loaded;
    }
  }
  throw new Error('ajv 8 not found (neither top-level nor through fastify → @fastify/ajv-compiler)');
}

/** Every `format` the document uses (int32, float, ...): OpenAPI's, which ajv does not know. */
function formatsIn(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) formatsIn(item, found);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      if (key === 'format' && typeof item === 'string') found.add(item);
      else formatsIn(item, found);
    }
  }
  return found;
}

let ajv: Ajv | undefined;
const SCHEMA_NAMES = new Set<string>();

function instance(): Ajv {
  if (ajv !== undefined) return ajv;
  const file = path.join(__dirname, 'fixtures', 'tei-openapi.json');
  const document = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    components: { schemas: Record<string, unknown> };
  };
  for (const name of Object.keys(document.components.schemas)) SCHEMA_NAMES.add(name);
  const Ajv = loadAjv();
  // strict: false, as the document has OpenAPI keywords (example) and string-typed examples and
  // defaults ("default": "null"); allErrors, so a failure names every field that is wrong.
  const created = new Ajv({ strict: false, allErrors: true, useDefaults: false, coerceTypes: false });
  // OpenAPI's numeric formats (float, int32) describe widths, not something JSON can break.
  for (const format of formatsIn(document)) created.addFormat(format, true);
  // The whole document under an $id, so '#/components/schemas/X' refs inside it resolve.
  created.addSchema(document, DOCUMENT_ID);
  ajv = created;
  return created;
}

function describe(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/** Ajv's errors as lines that name the field: `/0/score: must be number (got "0.5")`. */
function readable(errors: readonly AjvError[], value: unknown): string {
  return errors
    .map((error) => {
      let at: unknown = value;
      for (const part of error.instancePath.split('/').slice(1)) {
        const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
        at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[key] : undefined;
      }
      const params = Object.keys(error.params).length > 0 ? ` ${JSON.stringify(error.params)}` : '';
      return `${error.instancePath || '(root)'}: ${error.message ?? error.keyword}${params} (got ${describe(at)})`;
    })
    .join('\n');
}

/** The problems of `value` against TEI's `components.schemas[name]`; [] when it conforms. */
export function schemaErrors(name: string, value: unknown): string[] {
  const validator = instance().getSchema(`${DOCUMENT_ID}#/components/schemas/${name}`);
  if (!SCHEMA_NAMES.has(name) || validator === undefined) {
    throw new Error(`TEI's OpenAPI document has no schema ${name}`);
  }
  if (validator(value)) return [];
  return readable(validator.errors ?? [], value).split('\n');
}

/** Throws, naming each field that is wrong, unless `value` conforms to TEI's schema `name`. */
export function assertTeiSchema(name: string, value: unknown): void {
  const errors = schemaErrors(name, value);
  if (errors.length > 0) {
    throw new Error(`not a TEI ${name}:\n${errors.join('\n')}\nvalue: ${describe(value)}`);
  }
}
