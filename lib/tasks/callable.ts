import type { Model } from '../model';

/** What every pipeline object has besides being callable. */
export interface PipelineHandle<Task extends string> {
  readonly task: Task;
  /** The underlying model, for manual calls (encode, forward). */
  readonly model: Model;
  /** Frees the model; calls already made finish first. */
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Makes `run` a pipeline object: callable, with task, model and dispose. */
export function makePipeline<Task extends string, Fn extends (...args: never[]) => unknown>(
  task: Task,
  model: Model,
  run: Fn,
  extra: object = {},
): Fn & PipelineHandle<Task> {
  const handle: PipelineHandle<Task> = {
    task,
    model,
    dispose: () => model.dispose(),
    [Symbol.asyncDispose]: () => model.dispose(),
  };
  return Object.assign(run, handle, extra) as Fn & PipelineHandle<Task>;
}
