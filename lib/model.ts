import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NativeModel } from '../binding';
import { fromNativeError } from './errors';
import { native } from './native';

/** 'cpu', 'cuda', 'cuda:N', or 'auto': CUDA when usable, else CPU. */
export type Device = 'cpu' | 'cuda' | 'auto' | `cuda:${number}`;

export interface ModelLoadOptions {
  /** Default: 'cpu'. */
  device?: Device;
  /**
   * Intra-op threads of the model's own inference thread. Default: os.availableParallelism().
   * Models loaded side by side each get their own; keep their sum at the core count.
   */
  threads?: number;
  /** Applies torch.jit.freeze and optimize_for_inference at load. Default: false (see README). */
  optimize?: boolean;
  /**
   * Names for the module's outputs in the order it returns them. Default: dict keys for a dict,
   * output_0..n for a tuple or a single tensor.
   */
  outputNames?: string[];
}

/** Token ids, masks or type ids, row-major [batch, seq]. Int32 is widened to int64 once. */
export type TokenTensor = BigInt64Array | Int32Array;

export interface ForwardInputs {
  input_ids: TokenTensor;
  attention_mask?: TokenTensor;
  /** Zeros when absent and the model takes it, as in Hugging Face. */
  token_type_ids?: TokenTensor;
  [input: string]: TokenTensor | undefined;
}

/** A float32 tensor, row-major. `data` views native memory that lives as long as the array. */
export interface Tensor {
  data: Float32Array;
  dims: number[];
}

/** A TorchScript encoder on one device, with its own inference thread. */
export class Model {
  readonly #native: NativeModel;

  private constructor(handle: NativeModel) {
    this.#native = handle;
  }

  /**
   * Loads `modelPath`: a TorchScript file, or a model directory holding model.pt. Rejects with
   * E_MODEL_NOT_FOUND, E_MODEL_LOAD, E_BAD_INPUT or E_DEVICE_UNAVAILABLE.
   */
  static async load(modelPath: string, options: ModelLoadOptions = {}): Promise<Model> {
    const callSite: { stack?: string } = {};
    Error.captureStackTrace(callSite, Model.load);
    const file =
      typeof modelPath === 'string' && fs.statSync(modelPath, { throwIfNoEntry: false })?.isDirectory()
        ? path.join(modelPath, 'model.pt')
        : modelPath;
    const nativeOptions = { threads: os.availableParallelism(), ...options };
    try {
      return new Model(await native().loadModel(file, nativeOptions));
    } catch (error) {
      throw fromNativeError(error, callSite);
    }
  }

  /**
   * Runs the module on `inputs` of shape `dims` = [batch, seq], off the event loop; concurrent
   * calls queue on the model's thread. Rejects with E_BAD_INPUT, E_FORWARD or E_DISPOSED.
   */
  async forward(inputs: ForwardInputs, dims: readonly [number, number]): Promise<Record<string, Tensor>> {
    const callSite: { stack?: string } = {};
    Error.captureStackTrace(callSite, this.forward);
    try {
      return await this.#native.forward(inputs as Record<string, TokenTensor>, dims as [number, number]);
    } catch (error) {
      throw fromNativeError(error, callSite);
    }
  }

  /** The device the module lives on: 'cpu', 'cuda:0', ... */
  get device(): string {
    return this.#native.device;
  }

  /** The module's forward arguments, from its TorchScript schema. */
  get inputNames(): readonly string[] {
    return this.#native.inputNames;
  }

  get threads(): number {
    return this.#native.threads;
  }

  get disposed(): boolean {
    return this.#native.disposed;
  }

  /**
   * Frees the module now. Calls already accepted finish first; later ones reject with
   * E_DISPOSED. Calling it again returns the same promise.
   */
  dispose(): Promise<void> {
    return this.#native.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
