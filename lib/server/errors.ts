import { TorchEncodersError } from '../errors';

/**
 * TEI's error types (text-embeddings-inference router/src/http/types.rs), plus NotFound (an unknown
 * route or model) and Unauthorized (a missing or wrong API key), which TEI answers without a body.
 */
export type ErrorType =
  'Validation' | 'Tokenizer' | 'Overloaded' | 'Backend' | 'Unhealthy' | 'Empty' | 'NotFound' | 'Unauthorized';

/** An error a route answers with: its HTTP status, TEI error type and a message safe to show a client. */
export class ApiError extends Error {
  readonly status: number;
  readonly errorType: ErrorType;
  /** The request field it concerns, for OpenAI's error body. */
  readonly param: string | null;

  constructor(status: number, errorType: ErrorType, message: string, param: string | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.errorType = errorType;
    this.param = param;
  }
}

/** TEI's error body. */
export interface ErrorBody {
  error: string;
  error_type: ErrorType;
}

/** OpenAI's error body, which its SDKs parse into APIError. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  validation?: unknown;
  message?: string;
}

const INTERNAL = 'internal server error; the server logged the details';

/**
 * What a client is told of `error`. The library's own errors keep their messages, which name the
 * argument and what arrived; anything unexpected becomes a 500 with a fixed message, so no stack,
 * file path or native detail reaches a client (`internal` is set for those, to be logged).
 */
export function toApiError(error: unknown): { apiError: ApiError; internal: boolean } {
  if (error instanceof ApiError) return { apiError: error, internal: false };
  if (error instanceof TorchEncodersError) {
    switch (error.code) {
      case 'E_BAD_INPUT':
        return { apiError: new ApiError(422, 'Validation', error.message), internal: false };
      case 'E_INPUT_TOO_LONG':
        // TEI's Validation type: 422 since its PR #818 (its OpenAPI document still says 413).
        return { apiError: new ApiError(422, 'Validation', error.message), internal: false };
      case 'E_DISPOSED':
        return { apiError: new ApiError(503, 'Unhealthy', 'the server is shutting down'), internal: false };
      case 'E_FORWARD':
        return {
          apiError: new ApiError(424, 'Backend', 'the model failed to run this input'),
          internal: true,
        };
      default:
        return { apiError: new ApiError(500, 'Backend', INTERNAL), internal: true };
    }
  }
  const fastifyError = (typeof error === 'object' && error !== null ? error : {}) as FastifyLikeError;
  if (fastifyError.validation !== undefined) {
    return {
      apiError: new ApiError(422, 'Validation', fastifyError.message ?? 'invalid request'),
      internal: false,
    };
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        apiError: new ApiError(413, 'Validation', 'the request body is larger than the payload limit'),
        internal: false,
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        apiError: new ApiError(400, 'Empty', 'the request body is empty; expected JSON'),
        internal: false,
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        apiError: new ApiError(
          415,
          'Validation',
          'the request body must be JSON (content-type: application/json)',
        ),
        internal: false,
      };
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        apiError: new ApiError(400, 'Validation', 'the content-length does not match the body'),
        internal: false,
      };
  }
  if (error instanceof SyntaxError || fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return {
      apiError: new ApiError(400, 'Validation', `the request body is not valid JSON`),
      internal: false,
    };
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own client errors (bad headers, aborted bodies): their messages carry no internals.
    return {
      apiError: new ApiError(status, 'Validation', fastifyError.message ?? 'bad request'),
      internal: false,
    };
  }
  return { apiError: new ApiError(500, 'Backend', INTERNAL), internal: true };
}

export function teiErrorBody(error: ApiError): ErrorBody {
  return { error: error.message, error_type: error.errorType };
}

/** OpenAI's types: invalid_request_error for 4xx, rate_limit_error for 429, server_error for 5xx. */
export function openAiErrorBody(error: ApiError): OpenAiErrorBody {
  const type =
    error.status === 429
      ? 'rate_limit_error'
      : error.status === 401
        ? 'authentication_error'
        : error.status >= 500
          ? 'server_error'
          : 'invalid_request_error';
  const code =
    error.errorType === 'NotFound' && error.param === 'model'
      ? 'model_not_found'
      : error.status === 401
        ? 'invalid_api_key'
        : null;
  return { error: { message: error.message, type, param: error.param, code } };
}
