#include "napi/env_registry.h"

#include <utility>

#include "napi/pending_call.h"

namespace te::napi {

std::shared_ptr<EnvRegistry> EnvRegistry::Create(Napi::Env env) {
  auto registry = std::make_shared<EnvRegistry>();
  // Cleanup hooks run last-registered first: this one, registered at module init, runs after the
  // threadsafe functions' own cleanup has orphaned the calls still queued on them.
  env.AddCleanupHook([registry] { registry->TearDown(); });
  return registry;
}

void EnvRegistry::AddCall(PendingCall* call) {
  std::lock_guard<std::mutex> lock(mutex_);
  calls_.insert(call);
}

void EnvRegistry::ForgetCall(PendingCall* call) {
  std::lock_guard<std::mutex> lock(mutex_);
  calls_.erase(call);
}

void EnvRegistry::OrphanCall(PendingCall* call) {
  std::lock_guard<std::mutex> lock(mutex_);
  const bool registered = calls_.erase(call) == 1;
  for (auto& reference : call->keep_alive) {
    if (torn_down_ || !registered) {
      // Too late to delete; TearDown only misses calls orphaned after it, which hold none (it
      // reset the references of every call registered then).
      reference.SuppressDestruct();
    } else {
      orphans_.push_back(std::move(reference));
    }
  }
  call->keep_alive.clear();
}

OutputOwner* EnvRegistry::AddOutput(at::Tensor tensor) {
  auto* owner = new OutputOwner{shared_from_this(), std::move(tensor)};
  std::lock_guard<std::mutex> lock(mutex_);
  outputs_.insert(owner);
  return owner;
}

void EnvRegistry::FinalizeOutput(Napi::Env, void*, OutputOwner* owner) {
  // Kept alive past the unlock: the owner may hold the last reference to the registry.
  std::shared_ptr<EnvRegistry> registry = owner->registry;
  bool owned = false;
  {
    std::lock_guard<std::mutex> lock(registry->mutex_);
    owned = registry->outputs_.erase(owner) == 1;
  }
  // Not owned: TearDown freed it already.
  if (owned) delete owner;
}

void EnvRegistry::TearDown() {
  std::unordered_set<OutputOwner*> outputs;
  std::vector<Napi::ObjectReference> orphans;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    torn_down_ = true;
    for (PendingCall* call : calls_) {
      for (auto& reference : call->keep_alive) reference.Reset();
    }
    orphans = std::move(orphans_);
    outputs = std::move(outputs_);
    outputs_.clear();
  }
  orphans.clear();  // napi_delete_reference, on this (the JS) thread
  for (OutputOwner* owner : outputs) delete owner;
}

}  // namespace te::napi
