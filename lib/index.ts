export { TorchEncodersError } from './errors';
export type { ErrorCode } from './errors';
export { Model } from './model';
export type {
  Device,
  EncodedBatch,
  ForwardInputs,
  ForwardOptions,
  ModelLoadOptions,
  Tensor,
  TextInput,
  TokenTensor,
} from './model';
export type { ModelConfig, ProblemType } from './model-config';
export { TextTokenizer } from './tokenizer';
export type { Encoding } from './tokenizer';
export { pipeline } from './pipeline';
export type { PipelineOptions, Task } from './pipeline';
export type { DynamicBatchingOptions } from './dynamic-batcher';
export type { MicroBatchOptions } from './batching';
export type { InputStream } from './tasks/entry-points';
export { argmax, sigmoid, softmax, topK } from './math';
export { cosineSimilarity, normalize } from './tasks/pooling';
export type {
  FunctionToApply,
  LabelScore,
  TextClassificationOptions,
  TextClassificationPipeline,
} from './tasks/text-classification';
export type {
  AggregationStrategy,
  EntityGroup,
  TokenClassificationOptions,
  TokenClassificationPipeline,
  TokenEntity,
} from './tasks/token-classification';
export type {
  QaAnswer,
  QuestionAnsweringInput,
  QuestionAnsweringOptions,
  QuestionAnsweringPipeline,
} from './tasks/question-answering';
export type {
  FeatureExtractionOptions,
  FeatureExtractionPipeline,
  SimilarityResult,
} from './tasks/feature-extraction';
export type { RerankOptions, RerankPipeline, RerankResult, RerankScores } from './tasks/rerank';
export { buildInfo, cudaAvailable, cudaDeviceCount, libtorchVersion } from './runtime';
export type { BuildInfo } from './runtime';
