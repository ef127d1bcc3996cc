// The contract of the raw addon (native/napi). Hand-written: keep it in step with the C++.
// Public types live in lib/; only lib/native.ts and lib/model.ts see these.

/** Codes carried by errors the addon rejects with (`error.code`). */
export type NativeErrorCode =
  | 'E_BAD_INPUT'
  | 'E_MODEL_NOT_FOUND'
  | 'E_MODEL_LOAD'
  | 'E_DEVICE_UNAVAILABLE'
  | 'E_FORWARD'
  | 'E_DISPOSED'
  | 'E_ABORTED'
  | 'E_INTERNAL';

export interface NativeLoadOptions {
  /** 'cpu' | 'cuda' | 'cuda:N' | 'auto' (CUDA when usable, else CPU). Default: 'cpu'. */
  device?: string;
  /** Intra-op threads of the model, shared out among its workers, 1..1024. Default: hardware concurrency. */
  threads?: number;
  /** Threads that each run one forward at a time, 1..threads. Default: 1. */
  workers?: number;
  /** torch.jit.freeze + optimize_for_inference at load. Default: false. */
  optimize?: boolean;
  /** Names for the outputs in the order the module returns them. */
  outputNames?: string[];
}

/** Token inputs, each of `dims[0] * dims[1]` elements; int32 is widened to int64 once. */
export type NativeInputs = Record<string, BigInt64Array | Int32Array>;

export interface NativeTensor {
  /** Views the result tensor's own memory (an external ArrayBuffer that owns the tensor). */
  data: Float32Array;
  dims: number[];
}

export interface NativeModel {
  /**
   * Runs the module on the model's own thread. Dict outputs are named by key, tuples
   * output_0..n (nested: output_i_j), a lone tensor output_0, unless outputNames was given.
   * An absent token_type_ids that the module takes is zeros. The inputs are copied (as int64)
   * before this returns; the abort flag is read in place. `abortFlag`: an Int32Array of one
   * element; a call whose flag is non-zero (Atomics.store) when a worker reaches it does not run
   * and rejects with E_ABORTED. A call already running finishes.
   */
  forward(
    inputs: NativeInputs,
    dims: [number, number],
    abortFlag?: Int32Array,
  ): Promise<Record<string, NativeTensor>>;
  /**
   * Refuses new calls at once, lets accepted ones finish, frees the module on its thread.
   * Idempotent: a second call returns the first call's promise.
   */
  dispose(): Promise<void>;
  /** The device the module lives on, as libtorch names it: 'cpu', 'cuda:0'. */
  readonly device: string;
  /** The forward arguments, from the TorchScript schema. */
  readonly inputNames: string[];
  readonly threads: number;
  readonly workers: number;
  readonly disposed: boolean;
}

export interface NativeBuildInfo {
  /** The libtorch version compiled against. */
  libtorch: string;
  /** Whether CUDA support was compiled in. */
  cuda: boolean;
  /** Whether CUDA is usable now (driver and device present). */
  cudaAvailable: boolean;
  /** The BLAS libtorch multiplies through; 'reference' is the slow netlib one. */
  blas: { name: 'openblas' | 'mkl' | 'blis' | 'reference' | 'unknown'; path: string };
  cxx11Abi: boolean;
  napiVersion: number;
}

export interface Binding {
  loadModel(path: string, options?: NativeLoadOptions): Promise<NativeModel>;
  libtorchVersion(): string;
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  buildInfo(): NativeBuildInfo;
}
