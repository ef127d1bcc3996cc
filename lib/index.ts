export { TorchEncodersError } from './errors';
export type { ErrorCode } from './errors';
export { Model } from './model';
export type { Device, ForwardInputs, ModelLoadOptions, Tensor, TokenTensor } from './model';
export { buildInfo, cudaAvailable, cudaDeviceCount, libtorchVersion } from './runtime';
export type { BuildInfo } from './runtime';
