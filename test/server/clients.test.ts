// Real clients against `torch-encoders serve`: OpenAI's Node SDK on /v1/embeddings and Hugging
// Face's inference client on TEI's routes, as users point them at a server, with an API key.
import { InferenceClient, InferenceClientProviderOutputError } from '@huggingface/inference';
import OpenAI from 'openai';
import type { RunningServer } from '../../lib/server/serve';
import { DEMO_MODEL_SPECS, postJson, startDemoServer } from '../helpers/server';

const KEY = 'clients-test-key';
const AUTH = { authorization: `Bearer ${KEY}` };
const TEXTS = ['The cat sat on the mat.', 'Gradient descent minimises a loss function.', 'Café 😀'];
const POSITIVE = 'I absolutely loved this film: a wonderful, moving and beautifully acted masterpiece.';

let server: RunningServer;

async function post<T>(route: string, body: unknown): Promise<T> {
  const reply = await postJson(`${server.url}${route}`, body, AUTH);
  expect(reply.status).toBe(200);
  return reply.body as T;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  expect(worst).toBeLessThan(tolerance);
}

/** Request bodies the SDK sent, to see which encoding it asked for. */
const sent: unknown[] = [];

function openai(apiKey = KEY): OpenAI {
  return new OpenAI({
    baseURL: `${server.url}/v1`,
    apiKey,
    maxRetries: 0,
    fetch: async (url, init) => {
      if (typeof init?.body === 'string') sent.push(JSON.parse(init.body));
      return fetch(url, init);
    },
  });
}

/** What the client throws, to check its class and message. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  server = await startDemoServer({
    apiKey: KEY,
    models: DEMO_MODEL_SPECS.filter((spec) => ['embeddings', 'sentiment'].includes(spec.name)),
  });
}, 180_000);

afterAll(async () => {
  await server?.close();
});

describe("OpenAI's Node SDK (openai)", () => {
  it('embeddings.create with its default (base64, decoded by the SDK) and with float: the /embed vectors', async () => {
    const client = openai();
    sent.length = 0;
    const base64 = await client.embeddings.create({ model: 'embeddings', input: TEXTS });
    const float = await client.embeddings.create({
      model: 'embeddings',
      input: TEXTS,
      encoding_format: 'float',
    });
    expect(sent).toEqual([
      { model: 'embeddings', input: TEXTS, encoding_format: 'base64' },
      { model: 'embeddings', input: TEXTS, encoding_format: 'float' },
    ]);
    const embed = await post<number[][]>('/embed', { inputs: TEXTS });
    const tokens = await post<unknown[][]>('/tokenize', { inputs: TEXTS });
    for (const response of [base64, float]) {
      expect(response.object).toBe('list');
      expect(response.model).toBe('embeddings');
      expect(response.data.map((d) => d.index)).toEqual([0, 1, 2]);
      response.data.forEach((d, i) => {
        expect(Array.isArray(d.embedding)).toBe(true);
        expectClose(d.embedding, embed[i]!, 1e-6);
      });
      const count = tokens.reduce((sum, t) => sum + t.length, 0);
      expect(response.usage).toEqual({ prompt_tokens: count, total_tokens: count });
    }
    // Float32 on both paths: the decoded base64 is the floats sent as JSON, bit for bit.
    base64.data.forEach((d, i) => expect(d.embedding).toEqual(float.data[i]!.embedding));
  });

  it('a single string and dimensions', async () => {
    const response = await openai().embeddings.create({
      model: 'embeddings',
      input: TEXTS[0]!,
      dimensions: 64,
    });
    expect(response.data).toHaveLength(1);
    const [vector] = await post<number[][]>('/embed', { inputs: TEXTS[0], dimensions: 64 });
    expectClose(response.data[0]!.embedding, vector!, 1e-6);
  });

  it('an unknown model is a NotFoundError naming the served models', async () => {
    const error = await rejection(
      openai().embeddings.create({ model: 'text-embedding-3-small', input: 'x' }),
    );
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    const { status, message } = error as InstanceType<typeof OpenAI.NotFoundError>;
    expect(status).toBe(404);
    expect(message).toContain('text-embedding-3-small');
    expect(message).toContain('embeddings');
    // OpenAI's own code for it, which clients switch on.
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).param).toBe('model');
  });

  it('a model of another task is a BadRequestError', async () => {
    const error = await rejection(openai().embeddings.create({ model: 'sentiment', input: 'x' }));
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.APIError>).message).toContain('sentiment');
  });

  it('a wrong API key is an AuthenticationError (401)', async () => {
    const error = await rejection(openai('wrong-key').embeddings.create({ model: 'embeddings', input: 'x' }));
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
  });
});

describe("Hugging Face's inference client (@huggingface/inference)", () => {
  it('featureExtraction with endpointUrl at /embed: the /embed vectors', async () => {
    const client = new InferenceClient(KEY, { endpointUrl: `${server.url}/embed` });
    const vectors = (await client.featureExtraction({ inputs: TEXTS })) as number[][];
    const embed = await post<number[][]>('/embed', { inputs: TEXTS });
    expect(vectors).toHaveLength(TEXTS.length);
    vectors.forEach((vector, i) => expectClose(vector, embed[i]!, 1e-6));
    // TEI's options pass through as body fields.
    const raw = (await client.featureExtraction({ inputs: TEXTS[0]!, normalize: false })) as number[][];
    const [expected] = await post<number[][]>('/embed', { inputs: TEXTS[0], normalize: false });
    expect(raw).toHaveLength(1);
    expectClose(raw[0]!, expected!, 1e-6);
  });

  it('sentenceSimilarity with endpointUrl at /similarity: the /similarity scores', async () => {
    const client = new InferenceClient(KEY, { endpointUrl: `${server.url}/similarity` });
    const inputs = {
      source_sentence: 'A man is playing a guitar.',
      sentences: ['A man plays guitar.', 'It is cold.'],
    };
    const scores = await client.sentenceSimilarity({ inputs });
    expectClose(scores, await post<number[]>('/similarity', { inputs }), 1e-6);
    expect(scores[0]).toBeGreaterThan(scores[1]!);
  });

  it("textClassification rejects TEI's flat answer to one text, and takes a batch of one", async () => {
    const client = new InferenceClient(KEY, { endpointUrl: `${server.url}/predict` });
    // The client reads response[0] as the label list (HF Inference's [[{label, score}]]); TEI's
    // /predict answers a single text with the flat list, so response[0] is a label object.
    const error = await rejection(client.textClassification({ inputs: POSITIVE }));
    expect(error).toBeInstanceOf(InferenceClientProviderOutputError);
    expect((error as Error).message).toMatch(/malformed response/);
    // [[text]] is a batch of one in TEI's PredictInput: [[{label, score}, ...]], which it accepts.
    const labels = await client.textClassification({ inputs: [[POSITIVE]] as unknown as string });
    const expected = await post<{ label: string; score: number }[]>('/predict', { inputs: POSITIVE });
    expect(labels.map((l) => l.label)).toEqual(expected.map((l) => l.label));
    expectClose(
      labels.map((l) => l.score),
      expected.map((l) => l.score),
      1e-6,
    );
    expect(labels[0]!.label).toBe('positive');
  });

  it('without the token, the server refuses it', async () => {
    const client = new InferenceClient(undefined, { endpointUrl: `${server.url}/embed` });
    const error = await rejection(client.featureExtraction({ inputs: 'x' }));
    expect((error as Error).message).toMatch(/API key/);
  });
});
