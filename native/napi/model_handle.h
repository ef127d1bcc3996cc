// The JS object of a loaded model: forward, dispose and metadata. Created only by loadModel.
#pragma once

#include <napi.h>

#include <memory>

#include "core/encoder_model.h"
#include "core/inference_workers.h"

namespace te::napi {

class ModelHandle : public Napi::ObjectWrap<ModelHandle> {
 public:
  static Napi::Function DefineClass(Napi::Env env);
  // loadModel(path: string, options?: { device, threads, workers, optimize, outputNames }).
  static Napi::Value LoadModel(const Napi::CallbackInfo& info);

  explicit ModelHandle(const Napi::CallbackInfo& info);
  ~ModelHandle() override;

 private:
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Device(const Napi::CallbackInfo& info);
  Napi::Value InputNames(const Napi::CallbackInfo& info);
  Napi::Value Threads(const Napi::CallbackInfo& info);
  Napi::Value Workers(const Napi::CallbackInfo& info);
  Napi::Value Disposed(const Napi::CallbackInfo& info);

  std::unique_ptr<te::InferenceWorkers> workers_;
  // Shared with queued forwards, whose work closures release it on the model's threads as each
  // forward ends; dispose() moves it into a job that runs after them, so the model is freed on its
  // own thread. A handle collected without dispose() cancels its queued calls first (destructor)
  // and releases the model on the JS thread.
  std::shared_ptr<te::EncoderModel> model_;
  std::string device_;
  std::vector<std::string> input_names_;
  Napi::ObjectReference dispose_promise_;
};

}  // namespace te::napi
