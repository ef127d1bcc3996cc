// What one environment (the main thread or a Worker) must free at its own teardown: the
// references of calls that will never settle, and the tensors behind output ArrayBuffers whose
// finalizers may never run once a Worker is terminated.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <memory>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace te::napi {

struct PendingCall;
class EnvRegistry;

// Owns one output tensor for the external ArrayBuffer that views it.
struct OutputOwner {
  std::shared_ptr<EnvRegistry> registry;
  at::Tensor tensor;
};

class EnvRegistry : public std::enable_shared_from_this<EnvRegistry> {
 public:
  // Registers the environment's cleanup hook (TearDown). Call once, at module init.
  static std::shared_ptr<EnvRegistry> Create(Napi::Env env);

  // JS thread: a call from Schedule until it settles.
  void AddCall(PendingCall* call);
  // JS thread: the call settled normally; it deletes its own references.
  void ForgetCall(PendingCall* call);
  // Any thread: the call will never settle (its environment is going). Its references move here,
  // to be deleted by TearDown, unless TearDown has already deleted them.
  void OrphanCall(PendingCall* call);

  // JS thread: a heap owner for `tensor`, freed by FinalizeOutput or, failing that, by TearDown.
  OutputOwner* AddOutput(at::Tensor tensor);
  // JS thread (the ArrayBuffer's finalizer).
  static void FinalizeOutput(Napi::Env env, void* data, OutputOwner* owner);

 private:
  // JS thread, from the environment's cleanup hook: Node-API calls are still allowed, JS no longer
  // runs. Deletes every reference still held and frees every output not yet finalized.
  void TearDown();

  std::mutex mutex_;
  bool torn_down_ = false;
  std::unordered_set<PendingCall*> calls_;
  std::vector<Napi::ObjectReference> orphans_;
  std::unordered_set<OutputOwner*> outputs_;
};

}  // namespace te::napi
