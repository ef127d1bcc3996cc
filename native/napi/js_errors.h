// Core errors as JS errors: an Error whose `code` is the stable code string.
#pragma once

#include <napi.h>

#include <string>

#include "core/errors.h"

namespace te::napi {

Napi::Error ToJsError(Napi::Env env, const te::Error& error);

// A promise already rejected with `error`, for argument checks of async functions.
Napi::Promise RejectedPromise(Napi::Env env, const te::Error& error);

// A short description of a JS value for error messages: "Float32Array", "the number 1.5", "null".
std::string DescribeJsValue(Napi::Value value);

}  // namespace te::napi
