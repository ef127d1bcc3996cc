#include "napi/pending_call.h"

#include <c10/util/Exception.h>

#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "napi/instance_data.h"
#include "napi/js_errors.h"

namespace te::napi {
namespace {

// Frees a call that can no longer be settled, because its environment is going (a Worker torn
// down). Its references go to the environment's registry, whose teardown deletes them; everything
// else (the outputs, and for a load the model and its threads) is freed here. Runs on a thread of
// its own: a load call owns the very workers that report it dropped, and a thread cannot join
// itself.
void Abandon(PendingCall* call) {
  call->registry->OrphanCall(call);
  std::thread([call] { delete call; }).detach();
}

// Settles the call's promise; throws if the environment refuses.
void SettlePromise(Napi::Env env, PendingCall& call) {
  Napi::HandleScope scope(env);
  if (call.error) {
    call.deferred.Reject(ToJsError(env, *call.error).Value());
    return;
  }
  Napi::Value result;
  try {
    result = call.resolve(env);
  } catch (const Napi::Error& e) {
    call.deferred.Reject(e.Value());
    return;
  } catch (const te::Error& e) {
    call.deferred.Reject(ToJsError(env, e).Value());
    return;
  }
  call.deferred.Resolve(result);
}

// Settles the promise. Nothing may escape: an exception thrown out of a threadsafe function's
// callback terminates the process, and during a Worker's teardown every N-API call may fail (a
// rejection that could not be made once made the second attempt throw again, then abort).
void Settle(Napi::Env env, Napi::Function, void*, PendingCall* raw_call) {
  std::unique_ptr<PendingCall> call(raw_call);
  if (env == nullptr) {
    // The environment is being torn down: nothing to settle.
    call->registry->OrphanCall(call.get());
    return;
  }
  try {
    SettlePromise(env, *call);
    call->registry->ForgetCall(call.get());
  } catch (...) {
    // The environment refused the settlement (it is shutting down): the promise can no longer be
    // observed by anyone, and the references wait for the environment's teardown.
    call->registry->OrphanCall(call.get());
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
  call->registry = GetInstanceData(env).registry;
  call->registry->AddCall(call.get());
  auto gate = std::make_shared<SettleGate>();
  SettleFunction settle = SettleFunction::New(env, "torch-encoders", 0, 1, nullptr, CloseGate,
                                              new std::shared_ptr<SettleGate>(gate));
  PendingCall* raw_call = call.get();
  auto job = [raw_call, settle, gate](bool cancelled) mutable {
    if (cancelled) {
      raw_call->error =
          te::Error(ErrorCode::kDisposed, "the model was disposed before this call ran");
    } else if (raw_call->abort_flag != nullptr &&
               __atomic_load_n(raw_call->abort_flag, __ATOMIC_ACQUIRE) != 0) {
      // Set by the JS thread (Atomics.store) when the caller's signal aborted: the call gives up
      // its turn without running.
      raw_call->error = te::Error(ErrorCode::kAborted, "forward: aborted before it ran");
    } else {
      RunWork(*raw_call);
    }
    // The work's closure holds the model: released here, on the model's thread, so the model is
    // never freed on the JS thread by a call settling after dispose.
    raw_call->work = nullptr;
    std::lock_guard<std::mutex> lock(gate->mutex);
    // A closed gate means the environment is gone, and a refused call that it is going.
    if (!gate->open || settle.BlockingCall(raw_call) != napi_ok) {
      Abandon(raw_call);
      return;
    }
    settle.Release();
  };
  const bool queued =
      turn == Turn::kAlone ? workers.PostExclusive(std::move(job)) : workers.Post(std::move(job));
  if (!queued) {
    call->registry->ForgetCall(call.get());
    settle.Release();
    call->deferred.Reject(
        ToJsError(env, te::Error(ErrorCode::kDisposed, "the model is disposed")).Value());
    return promise;
  }
  call.release();  // Settle owns it from here.
  return promise;
}

}  // namespace te::napi
