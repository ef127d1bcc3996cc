import type { AggregationStrategy, EntityGroup, TokenEntity } from '../../lib';
import { runVenvPythonJson } from './venv-python';

// Expected token-classification results from outside lib/: transformers' own TokenClassificationPipeline
// (preprocess with its stride windows, postprocess with gather_pre_entities, aggregate and
// aggregate_overlapping_entities) over transformers' tokenizer read from the fixture's tokenizer files, with
// Python torch running the fixture's model.pt. The pipeline cannot load a TorchScript file, so a small
// nn.Module hands it the scripted model's logits, in float64 so that the softmax and the means are too.
// Hugging Face refuses a stride with 'none'; for a text longer than one window the script then runs
// each window through the pipeline's 'none' postprocess and keeps each token from the window where it
// has the most tokens on its nearer side (torch-encoders' documented rule, written here independently).
// Offsets come back as JS string (UTF-16) indices: Python counts code points.
const REFERENCE_SCRIPT = `
import json, sys
import torch
from transformers import AutoConfig, AutoTokenizer, TokenClassificationPipeline
from transformers.pipelines.token_classification import AggregationStrategy

torch.set_num_threads(1)


class TorchScriptForTokenClassification(torch.nn.Module):
    def __init__(self, folder):
        super().__init__()
        self.scripted = torch.jit.load(folder + "/model.pt")
        self.names = [argument.name for argument in self.scripted.forward.schema.arguments[1:]]
        self.config = AutoConfig.from_pretrained(folder)
        self.device = torch.device("cpu")

    def forward(self, **inputs):
        with torch.inference_mode():
            return (self.scripted(*[inputs[name] for name in self.names]).double(),)


def utf16(text, index):
    return len(text[:index].encode("utf-16-le")) // 2


def plain(text, entity):
    out = {("entityGroup" if key == "entity_group" else key): value for key, value in entity.items()}
    out["score"] = float(out["score"])
    out["start"], out["end"] = utf16(text, int(out["start"])), utf16(text, int(out["end"]))
    if "index" in out:
        out["index"] = int(out["index"])
    return out


def none_over_windows(pipe, chunks, text, ignore):
    best = {}
    for chunk in chunks:
        output = pipe._forward(chunk)
        output["sentence"] = text
        tokens = pipe.postprocess([output], AggregationStrategy.NONE, ignore_labels=[])
        for position, token in enumerate(tokens):
            context = min(position, len(tokens) - 1 - position)
            key = (token["start"], token["end"])
            if key not in best or context > best[key][0]:
                best[key] = (context, token)
    merged = sorted((token for _, token in best.values()), key=lambda t: (t["start"], t["end"]))
    return [token for token in merged if token["entity"] not in ignore]


answers = {}
for folder, requests in json.load(sys.stdin).items():
    tokenizer = AutoTokenizer.from_pretrained(folder)
    pipe = TokenClassificationPipeline(
        model=TorchScriptForTokenClassification(folder), tokenizer=tokenizer, framework="pt", device=-1
    )
    results = []
    tokens = {}
    for request in requests:
        text, strategy, ignore, stride = request["text"], request["strategy"], request["ignoreLabels"], request["stride"]
        options = {} if ignore is None else {"ignore_labels": ignore}
        if strategy == "none":
            windowing = {"return_overflowing_tokens": True, "padding": True, "stride": stride}
            chunks = list(pipe.preprocess(text, is_split_into_words=False, tokenizer_params=windowing))
            if len(chunks) == 1:
                entities = pipe(text, **options)
            else:
                entities = none_over_windows(pipe, chunks, text, ["O"] if ignore is None else ignore)
        else:
            entities = pipe(text, aggregation_strategy=strategy, stride=stride, **options)
        results.append([plain(text, entity) for entity in entities])
        if text not in tokens:
            encoded = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True, verbose=False)
            kept = [i for i, special in enumerate(encoded["special_tokens_mask"]) if not special]
            tokens[text] = {
                "tokens": [encoded.tokens()[i] for i in kept],
                "offsets": [[utf16(text, encoded["offset_mapping"][i][k]) for k in (0, 1)] for i in kept],
            }
    answers[folder] = {"results": results, "tokens": tokens}
json.dump(answers, sys.stdout)
`;

export interface ReferenceOptions {
  aggregationStrategy?: AggregationStrategy;
  ignoreLabels?: string[];
  stride: number;
}

interface Request {
  text: string;
  strategy: AggregationStrategy;
  ignoreLabels: string[] | null;
  stride: number;
}

function requestOf(text: string, options: ReferenceOptions): Request {
  return {
    text,
    strategy: options.aggregationStrategy ?? 'none',
    ignoreLabels: options.ignoreLabels ?? null,
    stride: options.stride,
  };
}

const keyOf = (request: Request): string => JSON.stringify(request);

/** Hugging Face's answers for one fixture, looked up by the text and options they were computed for. */
export class HfTokenClassification {
  constructor(
    private readonly results: Map<string, (TokenEntity | EntityGroup)[]>,
    private readonly encodings: Record<string, { tokens: string[]; offsets: [number, number][] }>,
  ) {}

  /** The pipeline's result ('none': one entity per token; otherwise the groups). */
  entities(text: string, options: ReferenceOptions): (TokenEntity | EntityGroup)[] {
    const result = this.results.get(keyOf(requestOf(text, options)));
    if (result === undefined) throw new Error(`no Python reference for ${JSON.stringify([text, options])}`);
    return result;
  }

  /** transformers' tokenization of the whole text (no truncation), special tokens left out. */
  tokens(text: string): { tokens: string[]; offsets: [number, number][] } {
    const encoding = this.encodings[text];
    if (encoding === undefined) throw new Error(`no Python tokenization of ${JSON.stringify(text)}`);
    return encoding;
  }
}

/**
 * Runs the reference once for every fixture folder and its requested (text, options) pairs, in one
 * process of the project venv's Python.
 */
export function hfTokenClassification(
  requests: Record<string, { text: string; options: ReferenceOptions }[]>,
): Record<string, HfTokenClassification> {
  const payload = Object.fromEntries(
    Object.entries(requests).map(([folder, list]) => [
      folder,
      list.map(({ text, options }) => requestOf(text, options)),
    ]),
  );
  const answers = runVenvPythonJson<
    Record<
      string,
      {
        results: (TokenEntity | EntityGroup)[][];
        tokens: Record<string, { tokens: string[]; offsets: [number, number][] }>;
      }
    >
  >(REFERENCE_SCRIPT, payload, 64);
  return Object.fromEntries(
    Object.entries(payload).map(([folder, list]) => {
      const answer = answers[folder]!;
      const results = new Map(list.map((request, i) => [keyOf(request), answer.results[i]!]));
      return [folder, new HfTokenClassification(results, answer.tokens)];
    }),
  );
}
