// One async call: work on a model's inference thread, then its promise settled on the JS thread.
#pragma once

#include <napi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/errors.h"
#include "core/inference_workers.h"
#include "napi/env_registry.h"

namespace te::napi {

struct PendingCall {
  explicit PendingCall(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise::Deferred deferred;
  // Runs on the inference thread, which also destroys it right after (its captures, such as the
  // model, are released there, never on the JS thread). Must not touch any Napi value.
  std::function<void()> work;
  // Runs on the JS thread after `work` succeeded; returns the value the promise resolves to.
  std::function<Napi::Value(Napi::Env)> resolve;
  // JS objects that must outlive the work: the model's handle, the abort flag it reads. Deleted
  // with the call when it settles; for a call that never settles, by its environment's teardown
  // (EnvRegistry), the only other time Node-API lets them be deleted.
  std::vector<Napi::ObjectReference> keep_alive;
  // The environment's registry, which holds the call from Schedule until it settles or is orphaned.
  std::shared_ptr<EnvRegistry> registry;
  // Owned here, not by the lambdas, so that it is released on the JS thread.
  std::optional<te::Error> error;
  // The caller's abort flag (an Int32Array of one element, kept alive in keep_alive): a call
  // whose flag is set when a worker reaches it does not run (E_ABORTED). Null when none was given.
  const int32_t* abort_flag = nullptr;
};

// How a call waits for the others on the model's workers.
enum class Turn {
  kAny,    // runs as soon as a worker is free
  kAlone,  // runs after every call queued before it, and before any queued after it starts
};

// Queues `call` on `workers` and returns its promise. Every error the work raises (te::Error,
// c10::Error, std::exception or anything else) rejects the promise with a coded JS error; a call
// the workers cancel rejects with E_DISPOSED. Must be called on the JS thread. A call whose
// environment is torn down before it settles (a Worker terminated) is freed without settling, and
// nothing thrown while settling reaches Node.
//
// Ownership: the call is owned by its job until the job hands it to the threadsafe function,
// which owns it until Settle (on the JS thread) or the environment's teardown frees it; a call
// that can no longer be handed over is freed by the job (see Abandon).
Napi::Promise Schedule(Napi::Env env, te::InferenceWorkers& workers,
                       std::unique_ptr<PendingCall> call, Turn turn = Turn::kAny);

}  // namespace te::napi
