#include "napi/pending_call.h"

#include <c10/util/Exception.h>

#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include "napi/js_errors.h"

namespace te::napi {
namespace {

void Settle(Napi::Env env, Napi::Function, void*, PendingCall* raw_call) {
  std::unique_ptr<PendingCall> call(raw_call);
  if (env == nullptr) {
    // The environment is being torn down (worker exit): nothing to settle, and references can
    // no longer be deleted.
    for (auto& reference : call->keep_alive) reference.SuppressDestruct();
    return;
  }
  Napi::HandleScope scope(env);
  if (call->error) {
    call->deferred.Reject(ToJsError(env, *call->error).Value());
    return;
  }
  try {
    call->deferred.Resolve(call->resolve(env));
  } catch (const Napi::Error& e) {
    call->deferred.Reject(e.Value());
  } catch (const te::Error& e) {
    call->deferred.Reject(ToJsError(env, e).Value());
  }
}

using SettleFunction = Napi::TypedThreadSafeFunction<void, PendingCall, Settle>;

// Node frees a threadsafe function when its environment is torn down (a worker exiting), even if
// a thread still holds it. Its finalizer closes this gate first, and the inference thread calls
// it only through the open gate, so it never touches a freed function.
struct SettleGate {
  std::mutex mutex;
  bool open = true;
};

void CloseGate(Napi::Env, std::shared_ptr<SettleGate>* gate, void*) {
  {
    std::lock_guard<std::mutex> lock((*gate)->mutex);
    (*gate)->open = false;
  }
  delete gate;
}

void RunWork(PendingCall& call) {
  try {
    call.work();
  } catch (const te::Error& e) {
    call.error = e;
  } catch (const c10::Error& e) {
    call.error = te::Error(ErrorCode::kInternal, e.what_without_backtrace());
  } catch (const std::exception& e) {
    call.error = te::Error(ErrorCode::kInternal, e.what());
  } catch (...) {
    call.error = te::Error(ErrorCode::kInternal, "unknown native exception");
  }
}

}  // namespace

Napi::Promise Schedule(Napi::Env env, te::InferenceWorkers& workers,
                       std::unique_ptr<PendingCall> call, Turn turn) {
  Napi::Promise promise = call->deferred.Promise();
  auto gate = std::make_shared<SettleGate>();
  SettleFunction settle = SettleFunction::New(env, "torch-encoders", 0, 1, nullptr, CloseGate,
                                              new std::shared_ptr<SettleGate>(gate));
  PendingCall* raw_call = call.get();
  auto job = [raw_call, settle, gate](bool cancelled) mutable {
    if (cancelled) {
      raw_call->error =
          te::Error(ErrorCode::kDisposed, "the model was disposed before this call ran");
    } else {
      RunWork(*raw_call);
    }
    std::lock_guard<std::mutex> lock(gate->mutex);
    // A closed gate means the environment is gone: the call is dropped with it.
    if (!gate->open) return;
    settle.BlockingCall(raw_call);
    settle.Release();
  };
  const bool queued =
      turn == Turn::kAlone ? workers.PostExclusive(std::move(job)) : workers.Post(std::move(job));
  if (!queued) {
    settle.Release();
    call->deferred.Reject(
        ToJsError(env, te::Error(ErrorCode::kDisposed, "the model is disposed")).Value());
    return promise;
  }
  call.release();  // Settle owns it from here.
  return promise;
}

}  // namespace te::napi
