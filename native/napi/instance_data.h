// Per-environment state (one per main thread or worker), so worker_threads are safe.
#pragma once

#include <napi.h>

#include <memory>

#include "napi/env_registry.h"

namespace te::napi {

struct InstanceData {
  Napi::FunctionReference model_constructor;
  std::shared_ptr<EnvRegistry> registry;
};

InstanceData& GetInstanceData(Napi::Env env);

}  // namespace te::napi
