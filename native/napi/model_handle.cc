#include "napi/model_handle.h"

#include <cmath>
#include <string>
#include <utility>

#include "core/errors.h"
#include "napi/instance_data.h"
#include "napi/js_errors.h"
#include "napi/pending_call.h"
#include "napi/tensor_marshal.h"

namespace te::napi {
namespace {

// What the load job hands to the ModelHandle constructor.
struct LoadedModel {
  std::unique_ptr<te::InferenceWorkers> workers;
  std::shared_ptr<te::EncoderModel> model;
};

Error BadOption(const std::string& name, const std::string& expected, Napi::Value got) {
  return Error(ErrorCode::kBadInput, "loadModel: options." + name + " must be " + expected +
                                         "; got " + DescribeJsValue(got));
}

struct ParsedLoadOptions {
  te::LoadOptions load;
  int threads = 1;
  int workers = 1;
};

ParsedLoadOptions ParseLoadOptions(const Napi::CallbackInfo& info) {
  ParsedLoadOptions parsed;
  if (!info[0].IsString() || info[0].As<Napi::String>().Utf8Value().empty()) {
    throw Error(ErrorCode::kBadInput, "loadModel: path must be a non-empty string");
  }
  parsed.load.path = info[0].As<Napi::String>().Utf8Value();
  parsed.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (info.Length() < 2 || info[1].IsUndefined()) return parsed;
  if (!info[1].IsObject() || info[1].IsArray()) {
    throw Error(ErrorCode::kBadInput, "loadModel: options must be an object");
  }
  Napi::Object options = info[1].As<Napi::Object>();

  Napi::Value device = options.Get("device");
  if (!device.IsUndefined()) {
    if (!device.IsString()) throw BadOption("device", "a string", device);
    parsed.load.device = device.As<Napi::String>().Utf8Value();
  }
  Napi::Value threads = options.Get("threads");
  if (!threads.IsUndefined()) {
    const double value = threads.IsNumber() ? threads.As<Napi::Number>().DoubleValue() : NAN;
    if (!(value >= 1 && value <= 1024) || std::floor(value) != value) {
      throw BadOption("threads", "an integer from 1 to 1024", threads);
    }
    parsed.threads = static_cast<int>(value);
  }
  Napi::Value workers = options.Get("workers");
  if (!workers.IsUndefined()) {
    const double value = workers.IsNumber() ? workers.As<Napi::Number>().DoubleValue() : NAN;
    if (!(value >= 1 && value <= parsed.threads) || std::floor(value) != value) {
      throw BadOption("workers",
                      "an integer from 1 to options.threads (" + std::to_string(parsed.threads) +
                          "), as each worker needs a thread of its own",
                      workers);
    }
    parsed.workers = static_cast<int>(value);
  }
  Napi::Value optimize = options.Get("optimize");
  if (!optimize.IsUndefined()) {
    if (!optimize.IsBoolean()) throw BadOption("optimize", "a boolean", optimize);
    parsed.load.optimize = optimize.As<Napi::Boolean>().Value();
  }
  Napi::Value output_names = options.Get("outputNames");
  if (!output_names.IsUndefined()) {
    if (!output_names.IsArray())
      throw BadOption("outputNames", "an array of strings", output_names);
    auto names = output_names.As<Napi::Array>();
    for (uint32_t i = 0; i < names.Length(); ++i) {
      Napi::Value name = names.Get(i);
      if (!name.IsString()) throw BadOption("outputNames", "an array of strings", name);
      parsed.load.output_names.push_back(name.As<Napi::String>().Utf8Value());
    }
  }
  return parsed;
}

}  // namespace

Napi::Function ModelHandle::DefineClass(Napi::Env env) {
  return ObjectWrap<ModelHandle>::DefineClass(
      env, "NativeModel",
      {
          InstanceMethod<&ModelHandle::Forward>("forward"),
          InstanceMethod<&ModelHandle::Dispose>("dispose"),
          InstanceAccessor<&ModelHandle::Device>("device"),
          InstanceAccessor<&ModelHandle::InputNames>("inputNames"),
          InstanceAccessor<&ModelHandle::Threads>("threads"),
          InstanceAccessor<&ModelHandle::Workers>("workers"),
          InstanceAccessor<&ModelHandle::Disposed>("disposed"),
      });
}

Napi::Value ModelHandle::LoadModel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ParsedLoadOptions options;
  try {
    options = ParseLoadOptions(info);
  } catch (const Error& e) {
    return RejectedPromise(env, e);
  }

  auto loaded = std::make_shared<LoadedModel>();
  loaded->workers = std::make_unique<te::InferenceWorkers>(options.workers, options.threads);
  te::InferenceWorkers& workers = *loaded->workers;

  auto call = std::make_unique<PendingCall>(env);
  call->work = [loaded, load = options.load] { loaded->model = te::EncoderModel::Load(load); };
  call->resolve = [loaded](Napi::Env env) -> Napi::Value {
    // The constructor moves the model out of the token; if anything before it fails (a Worker
    // being torn down), the token still holds the model and frees it here.
    auto token = std::make_unique<LoadedModel>(std::move(*loaded));
    Napi::Value external = Napi::External<LoadedModel>::New(env, token.get());
    return GetInstanceData(env).model_constructor.New({external});
  };
  return Schedule(env, workers, std::move(call));
}

ModelHandle::ModelHandle(const Napi::CallbackInfo& info) : ObjectWrap<ModelHandle>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw ToJsError(
        info.Env(),
        Error(ErrorCode::kBadInput, "NativeModel cannot be constructed directly; use loadModel()"));
  }
  LoadedModel* loaded = info[0].As<Napi::External<LoadedModel>>().Data();
  workers_ = std::move(loaded->workers);
  model_ = std::move(loaded->model);
  device_ = model_->device().str();
  for (const auto& spec : model_->inputs()) input_names_.push_back(spec.name);
}

ModelHandle::~ModelHandle() {
  // Reached when the JS object is collected (never while a call is queued: each call holds a
  // reference to it) or when the environment is torn down, where queued calls are cancelled.
  if (workers_) workers_->CancelAndJoin();
}

Napi::Value ModelHandle::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) {
    return RejectedPromise(env, Error(ErrorCode::kDisposed, "forward: the model is disposed"));
  }
  std::vector<te::NamedTensor> inputs;
  try {
    inputs = CopyInputs(info[0], info[1]);
  } catch (const Error& e) {
    return RejectedPromise(env, e);
  }

  const int32_t* abort_flag = nullptr;
  if (info.Length() > 2 && !info[2].IsUndefined()) {
    const bool is_flag = info[2].IsTypedArray() &&
                         info[2].As<Napi::TypedArray>().TypedArrayType() == napi_int32_array &&
                         info[2].As<Napi::TypedArray>().ElementLength() == 1;
    if (!is_flag) {
      return RejectedPromise(
          env,
          Error(ErrorCode::kBadInput, "forward: abortFlag must be an Int32Array of length 1; got " +
                                          DescribeJsValue(info[2])));
    }
    auto flag = info[2].As<Napi::Int32Array>();
    abort_flag = flag.Data();
  }
  auto outputs = std::make_shared<std::vector<te::NamedTensor>>();
  auto call = std::make_unique<PendingCall>(env);
  call->abort_flag = abort_flag;
  if (abort_flag != nullptr)
    call->keep_alive.push_back(Napi::Persistent(info[2].As<Napi::Object>()));
  call->keep_alive.push_back(Napi::Persistent(Value()));
  call->work = [model = model_, tensors = std::move(inputs), outputs] {
    *outputs = model->Forward(tensors);
  };
  call->resolve = [outputs](Napi::Env env) -> Napi::Value { return ExposeOutputs(env, *outputs); };
  return Schedule(env, *workers_, std::move(call));
}

Napi::Value ModelHandle::Dispose(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Disposing twice is a no-op that returns the first call's promise, as dispose methods should be
  // idempotent (TC39 explicit resource management).
  if (!dispose_promise_.IsEmpty()) return dispose_promise_.Value();

  auto call = std::make_unique<PendingCall>(env);
  call->keep_alive.push_back(Napi::Persistent(Value()));
  // Runs alone, after the forwards already accepted have finished, so the model is freed on one of
  // its workers when this drops the last reference.
  call->work = [model = std::move(model_)]() mutable { model.reset(); };
  call->resolve = [](Napi::Env env) -> Napi::Value { return env.Undefined(); };
  Napi::Promise promise = Schedule(env, *workers_, std::move(call), Turn::kAlone);
  workers_->FinishAndStop();
  dispose_promise_ = Napi::Persistent(promise.As<Napi::Object>());
  return promise;
}

Napi::Value ModelHandle::Device(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), device_);
}

Napi::Value ModelHandle::InputNames(const Napi::CallbackInfo& info) {
  Napi::Array names = Napi::Array::New(info.Env(), input_names_.size());
  for (size_t i = 0; i < input_names_.size(); ++i) {
    names.Set(static_cast<uint32_t>(i), Napi::String::New(info.Env(), input_names_[i]));
  }
  return names;
}

Napi::Value ModelHandle::Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), workers_->intra_op_threads());
}

Napi::Value ModelHandle::Workers(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), workers_->workers());
}

Napi::Value ModelHandle::Disposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !model_);
}

}  // namespace te::napi
