import type { DynamicBatchingOptions } from '../dynamic-batcher';
import type { Device, Model } from '../model';
import { readModelConfig, type ModelConfig } from '../model-config';
import { pipeline, type Task } from '../pipeline';
import type { FeatureExtractionPipeline } from '../tasks/feature-extraction';
import type { QuestionAnsweringPipeline } from '../tasks/question-answering';
import type { RerankPipeline } from '../tasks/rerank';
import type { TextClassificationPipeline } from '../tasks/text-classification';
import type { TokenClassificationPipeline } from '../tasks/token-classification';
import { ApiError } from './errors';

/** A model the server is asked to serve: a name clients use, its directory, and its task. */
export interface ModelSpec {
  name: string;
  dir: string;
  /** Default: read from config.json (see inferTask). */
  task?: Task;
}

export interface ModelLoadSettings {
  device?: Device;
  threads?: number;
  workers?: number;
  batching: Omit<DynamicBatchingOptions, 'onForward'>;
  /** Called as each model's batcher starts a forward (for the batch metrics). */
  onForward?: (model: string, rows: number, paddedTokens: number) => void;
}

interface PipelineByTask {
  'feature-extraction': FeatureExtractionPipeline;
  'text-classification': TextClassificationPipeline;
  'token-classification': TokenClassificationPipeline;
  'question-answering': QuestionAnsweringPipeline;
  rerank: RerankPipeline;
}

/** One loaded model: its pipeline, which owns the model and its dynamic batcher. */
export interface ServedModel<T extends Task = Task> {
  name: string;
  task: T;
  pipeline: PipelineByTask[T];
  /** The pipeline's model. */
  model: Model;
}

/** Names clients may use: they are keys of a map, never parts of a path. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function checkModelName(name: string, where: string): void {
  if (!MODEL_NAME.test(name)) {
    throw new ApiError(
      400,
      'Validation',
      `${where}: model name ${JSON.stringify(name)} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}

/**
 * The task a model directory was trained for, from config.json's architectures as transformers
 * names them: *ForTokenClassification, *ForQuestionAnswering, *ForSequenceClassification (a
 * one-label one is a cross-encoder: rerank), anything else (a bare encoder, sentence-transformers)
 * feature extraction.
 */
export function inferTask(dir: string): Task {
  let config: ModelConfig;
  try {
    config = readModelConfig(dir);
  } catch {
    // The pipeline's load names what is missing or malformed.
    return 'feature-extraction';
  }
  const { architectures } = config.raw;
  const architecture = Array.isArray(architectures) ? String(architectures[0] ?? '') : '';
  if (architecture.endsWith('ForTokenClassification')) return 'token-classification';
  if (architecture.endsWith('ForQuestionAnswering')) return 'question-answering';
  if (architecture.endsWith('ForSequenceClassification')) {
    return config.id2label.length === 1 ? 'rerank' : 'text-classification';
  }
  return 'feature-extraction';
}

/** The routes' tasks, for error messages. */
const ROUTE_TASKS: Record<Task, string> = {
  'feature-extraction': 'an embedding (feature-extraction) model',
  'text-classification': 'a text-classification model',
  'token-classification': 'a token-classification (NER) model',
  'question-answering': 'a question-answering model',
  rerank: 'a rerank (cross-encoder) model',
};

/**
 * The server's models, loaded once each and looked up by name. A route takes the model a request
 * names, or the first model of the route's task.
 */
export class ModelRegistry {
  readonly #models = new Map<string, ServedModel>();

  get models(): readonly ServedModel[] {
    return [...this.#models.values()];
  }

  /** Loads each spec in turn (models load one at a time so their warm-up forwards do not compete). */
  static async load(specs: readonly ModelSpec[], settings: ModelLoadSettings): Promise<ModelRegistry> {
    const registry = new ModelRegistry();
    try {
      for (const spec of specs) {
        checkModelName(spec.name, '--model');
        if (registry.#models.has(spec.name)) {
          throw new ApiError(400, 'Validation', `--model: the name '${spec.name}' is given twice`);
        }
        const task = spec.task ?? inferTask(spec.dir);
        const loaded = await pipeline(task, spec.dir, {
          ...(settings.device === undefined ? {} : { device: settings.device }),
          ...(settings.threads === undefined ? {} : { threads: settings.threads }),
          ...(settings.workers === undefined ? {} : { workers: settings.workers }),
          dynamicBatching: {
            ...settings.batching,
            onForward: (rows, paddedTokens) => settings.onForward?.(spec.name, rows, paddedTokens),
          },
        });
        registry.#models.set(spec.name, {
          name: spec.name,
          task,
          pipeline: loaded,
          model: loaded.model,
        } as ServedModel);
      }
    } catch (error) {
      await registry.dispose();
      throw error;
    }
    return registry;
  }

  /** Runs one short input through each model, so the first request does not pay for the first forwards. */
  async warm(): Promise<void> {
    const text = 'Warm-up text for the first forward.';
    for (const served of this.#models.values()) {
      if (served.task === 'question-answering') {
        await (served as ServedModel<'question-answering'>).pipeline({ question: 'What?', context: text });
      } else if (served.task === 'rerank') {
        await (served as ServedModel<'rerank'>).pipeline(text, [text, `${text} ${text}`]);
      } else {
        // The three tasks that take a list of texts.
        await (served as ServedModel<'feature-extraction'>).pipeline([text, `${text} ${text}`]);
      }
    }
  }

  /**
   * The model `name` names, which must be of `task`; without a name, the first model of `task`.
   * Throws 404 for an unknown name and 400 for a model of another task.
   */
  resolve<T extends Task>(task: T, name: unknown, route: string): ServedModel<T> {
    if (name === undefined || name === null) {
      const first = this.models.find((served) => served.task === task);
      if (first === undefined) {
        throw new ApiError(
          400,
          'Validation',
          `${route} needs ${ROUTE_TASKS[task]}, and this server has none (models: ${this.#describe()})`,
        );
      }
      return first as ServedModel<T>;
    }
    const served = this.find(name, route);
    if (served.task !== task) {
      throw new ApiError(
        400,
        'Validation',
        `${route} needs ${ROUTE_TASKS[task]}; model '${served.name}' is ${ROUTE_TASKS[served.task]} (models: ${this.#describe()})`,
        'model',
      );
    }
    return served as ServedModel<T>;
  }

  /** The model `name` names, of any task; `param` is the request field that named it. */
  find(name: unknown, route: string, param = 'model'): ServedModel {
    const served = typeof name === 'string' ? this.#models.get(name) : undefined;
    if (served === undefined) {
      const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 64)) : typeof name;
      throw new ApiError(
        404,
        'NotFound',
        `${route}: no model named ${shown} (models: ${this.#describe()})`,
        param,
      );
    }
    return served;
  }

  /** The model `name` names, of any task; without a name, the first one served. */
  any(name: string | undefined, route: string): ServedModel {
    return name === undefined ? this.models[0]! : this.find(name, route);
  }

  #describe(): string {
    return this.models.map((served) => `${served.name} (${served.task})`).join(', ');
  }

  /** Frees every model; calls already made finish first. */
  async dispose(): Promise<void> {
    const models = [...this.#models.values()];
    this.#models.clear();
    await Promise.allSettled(models.map((served) => served.pipeline.dispose()));
  }
}
