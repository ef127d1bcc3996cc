// JSON schemas of the request bodies, checked by Fastify (ajv) before a route runs; a mismatch is a
// 422 naming the field. Unknown fields are allowed, as TEI (serde) and OpenAI ignore them: clients
// send fields of their own. The field names follow each protocol: TEI's and OpenAI's snake_case,
// and the library's own option names on /ner and /qa, which are its routes.

const text = { type: 'string' } as const;
const model = { type: 'string', maxLength: 256 } as const;
const nullableBoolean = { type: ['boolean', 'null'] } as const;
const truncationDirection = { type: 'string', enum: ['left', 'right', 'Left', 'Right'] } as const;
/** TEI's Input: a text, an array of texts, token ids, or an array of those. */
const teiInput = {
  anyOf: [
    text,
    {
      type: 'array',
      items: { anyOf: [text, { type: 'integer' }, { type: 'array', items: { type: 'integer' } }] },
    },
  ],
} as const;

export const EMBED_BODY = {
  type: 'object',
  required: ['inputs'],
  properties: {
    inputs: teiInput,
    normalize: { type: 'boolean' },
    truncate: nullableBoolean,
    truncation_direction: truncationDirection,
    prompt_name: { type: ['string', 'null'] },
    dimensions: { type: ['integer', 'null'] },
    model,
  },
} as const;

export const EMBED_ALL_BODY = {
  type: 'object',
  required: ['inputs'],
  properties: {
    inputs: teiInput,
    truncate: nullableBoolean,
    truncation_direction: truncationDirection,
    prompt_name: { type: ['string', 'null'] },
    model,
  },
} as const;

export const PREDICT_BODY = {
  type: 'object',
  required: ['inputs'],
  properties: {
    inputs: {
      anyOf: [text, { type: 'array', items: { anyOf: [text, { type: 'array', items: text }] } }],
    },
    raw_scores: { type: 'boolean' },
    truncate: nullableBoolean,
    truncation_direction: truncationDirection,
    model,
  },
} as const;

export const RERANK_BODY = {
  type: 'object',
  required: ['query', 'texts'],
  properties: {
    query: text,
    texts: { type: 'array', items: text },
    raw_scores: { type: 'boolean' },
    return_text: { type: 'boolean' },
    truncate: nullableBoolean,
    truncation_direction: truncationDirection,
    model,
  },
} as const;

export const SIMILARITY_BODY = {
  type: 'object',
  required: ['inputs'],
  properties: {
    inputs: {
      type: 'object',
      required: ['source_sentence', 'sentences'],
      properties: { source_sentence: text, sentences: { type: 'array', items: text } },
    },
    parameters: {
      type: ['object', 'null'],
      properties: {
        truncate: nullableBoolean,
        truncation_direction: truncationDirection,
        prompt_name: { type: ['string', 'null'] },
      },
    },
    model,
  },
} as const;

export const TOKENIZE_BODY = {
  type: 'object',
  required: ['inputs'],
  properties: {
    inputs: { anyOf: [text, { type: 'array', items: text }] },
    add_special_tokens: { type: 'boolean' },
    prompt_name: { type: ['string', 'null'] },
    model,
  },
} as const;

export const DECODE_BODY = {
  type: 'object',
  required: ['ids'],
  properties: {
    ids: {
      anyOf: [
        { type: 'array', items: { type: 'integer', minimum: 0 } },
        { type: 'array', items: { type: 'array', items: { type: 'integer', minimum: 0 } } },
      ],
    },
    skip_special_tokens: { type: 'boolean' },
    model,
  },
} as const;

export const OPENAI_EMBEDDINGS_BODY = {
  type: 'object',
  required: ['input'],
  properties: {
    input: teiInput,
    model: { type: ['string', 'null'], maxLength: 256 },
    encoding_format: { type: 'string', enum: ['float', 'base64'] },
    dimensions: { type: ['integer', 'null'] },
    user: { type: ['string', 'null'] },
  },
} as const;

export const NER_BODY = {
  type: 'object',
  required: ['inputs'],
  properties: {
    inputs: { anyOf: [text, { type: 'array', items: text }] },
    aggregationStrategy: { type: 'string', enum: ['none', 'simple', 'first', 'average', 'max'] },
    ignoreLabels: { type: 'array', items: text },
    stride: { type: 'integer' },
    model,
  },
} as const;

export const QA_BODY = {
  type: 'object',
  required: ['question', 'context'],
  properties: {
    question: text,
    context: text,
    topK: { type: 'integer' },
    docStride: { type: 'integer' },
    maxSeqLen: { type: 'integer' },
    maxQuestionLen: { type: 'integer' },
    maxAnswerLen: { type: 'integer' },
    handleImpossibleAnswer: { type: 'boolean' },
    alignToWords: { type: 'boolean' },
    model,
  },
} as const;
