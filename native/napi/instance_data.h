// Per-environment state (one per main thread or worker), so worker_threads are safe.
#pragma once

#include <napi.h>

namespace te::napi {

struct InstanceData {
  Napi::FunctionReference model_constructor;
};

InstanceData& GetInstanceData(Napi::Env env);

}  // namespace te::napi
