// One async call: work on a model's inference thread, then its promise settled on the JS thread.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/errors.h"
#include "core/inference_thread.h"

namespace te::napi {

struct PendingCall {
  explicit PendingCall(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise::Deferred deferred;
  // Runs on the inference thread. Must not touch any Napi value.
  std::function<void()> work;
  // Runs on the JS thread after `work` succeeded; returns the value the promise resolves to.
  std::function<Napi::Value(Napi::Env)> resolve;
  // JS objects that must outlive the work: the typed arrays whose memory it reads, the model.
  std::vector<Napi::ObjectReference> keep_alive;
  // Owned here, not by the lambdas, so that it is released on the JS thread.
  std::optional<te::Error> error;
};

// Queues `call` on `thread` and returns its promise. Every error the work raises (te::Error,
// c10::Error, std::exception or anything else) rejects the promise with a coded JS error; a call
// the thread cancels rejects with E_DISPOSED. Must be called on the JS thread.
Napi::Promise Schedule(Napi::Env env, te::InferenceThread& thread,
                       std::unique_ptr<PendingCall> call);

}  // namespace te::napi
