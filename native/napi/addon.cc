// Module entry: loadModel and the runtime facts.
#include <napi.h>

#include "core/runtime_info.h"
#include "napi/instance_data.h"
#include "napi/model_handle.h"

namespace te::napi {

InstanceData& GetInstanceData(Napi::Env env) { return *env.GetInstanceData<InstanceData>(); }

namespace {

Napi::Value LibtorchVersion(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), te::LibtorchVersion());
}

Napi::Value CudaAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), te::CudaAvailable());
}

Napi::Value CudaDeviceCount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), te::CudaDeviceCount());
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("libtorch", te::LibtorchVersion());
#ifdef TE_WITH_CUDA
  result.Set("cuda", true);
#else
  result.Set("cuda", false);
#endif
  result.Set("cudaAvailable", te::CudaAvailable());
  const te::BlasInfo blas = te::DetectBlas();
  Napi::Object blas_object = Napi::Object::New(env);
  blas_object.Set("name", blas.name);
  blas_object.Set("path", blas.path);
  result.Set("blas", blas_object);
  result.Set("cxx11Abi", static_cast<bool>(_GLIBCXX_USE_CXX11_ABI));
  result.Set("napiVersion", NAPI_VERSION);
  return result;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new InstanceData();
  data->model_constructor = Napi::Persistent(ModelHandle::DefineClass(env));
  data->registry = EnvRegistry::Create(env);
  env.SetInstanceData(data);

  exports.Set("loadModel", Napi::Function::New<ModelHandle::LoadModel>(env, "loadModel"));
  exports.Set("libtorchVersion", Napi::Function::New<LibtorchVersion>(env, "libtorchVersion"));
  exports.Set("cudaAvailable", Napi::Function::New<CudaAvailable>(env, "cudaAvailable"));
  exports.Set("cudaDeviceCount", Napi::Function::New<CudaDeviceCount>(env, "cudaDeviceCount"));
  exports.Set("buildInfo", Napi::Function::New<BuildInfo>(env, "buildInfo"));
  return exports;
}

}  // namespace te::napi

static Napi::Object InitTorchEncoders(Napi::Env env, Napi::Object exports) {
  return te::napi::Init(env, exports);
}

NODE_API_MODULE(torch_encoders, InitTorchEncoders)
