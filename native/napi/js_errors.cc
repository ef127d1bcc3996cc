#include "napi/js_errors.h"

namespace te::napi {

Napi::Error ToJsError(Napi::Env env, const te::Error& error) {
  Napi::Error js_error = Napi::Error::New(env, error.what());
  js_error.Set("code", Napi::String::New(env, ErrorCodeName(error.code())));
  return js_error;
}

std::string DescribeJsValue(Napi::Value value) {
  if (value.IsTypedArray()) {
    switch (value.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array:
        return "Int8Array";
      case napi_uint8_array:
        return "Uint8Array";
      case napi_uint8_clamped_array:
        return "Uint8ClampedArray";
      case napi_int16_array:
        return "Int16Array";
      case napi_uint16_array:
        return "Uint16Array";
      case napi_int32_array:
        return "Int32Array";
      case napi_uint32_array:
        return "Uint32Array";
      case napi_float32_array:
        return "Float32Array";
      case napi_float64_array:
        return "Float64Array";
      case napi_bigint64_array:
        return "BigInt64Array";
      case napi_biguint64_array:
        return "BigUint64Array";
      default:
        return "a typed array";
    }
  }
  if (value.IsArray()) return "an Array";
  if (value.IsNull()) return "null";
  if (value.IsUndefined()) return "undefined";
  if (value.IsNumber()) return "the number " + value.ToString().Utf8Value();
  if (value.IsString()) return "the string '" + value.ToString().Utf8Value() + "'";
  if (value.IsBigInt()) return "a bigint";
  if (value.IsBoolean()) return "a boolean";
  if (value.IsFunction()) return "a function";
  return "an object";
}

Napi::Promise RejectedPromise(Napi::Env env, const te::Error& error) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(ToJsError(env, error).Value());
  return deferred.Promise();
}

}  // namespace te::napi
