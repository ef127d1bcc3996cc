#include "napi/tensor_marshal.h"

#include <torch/torch.h>

#include <cmath>
#include <string>

#include "core/errors.h"
#include "napi/env_registry.h"
#include "napi/instance_data.h"
#include "napi/js_errors.h"

namespace te::napi {
namespace {

Error BadInput(const std::string& message) { return Error(ErrorCode::kBadInput, message); }

std::vector<int64_t> ReadDims(Napi::Value dims) {
  if (!dims.IsArray() || dims.As<Napi::Array>().Length() != 2) {
    throw BadInput("forward: dims must be [batch, seq], an array of 2 positive integers; got " +
                   (dims.IsArray()
                        ? "an array of length " + std::to_string(dims.As<Napi::Array>().Length())
                        : DescribeJsValue(dims)));
  }
  std::vector<int64_t> result;
  auto array = dims.As<Napi::Array>();
  for (uint32_t i = 0; i < 2; ++i) {
    Napi::Value element = array.Get(i);
    const double value = element.IsNumber() ? element.As<Napi::Number>().DoubleValue() : NAN;
    if (!(value >= 1) || std::floor(value) != value || value > 9007199254740991.0) {
      throw BadInput(std::string("forward: dims[") + std::to_string(i) +
                     "] must be a positive integer; got " + DescribeJsValue(element));
    }
    result.push_back(static_cast<int64_t>(value));
  }
  return result;
}

}  // namespace

std::vector<te::NamedTensor> CopyInputs(Napi::Value inputs, Napi::Value dims) {
  if (!inputs.IsObject() || inputs.IsArray() || inputs.IsTypedArray() || inputs.IsFunction()) {
    throw BadInput(
        "forward: inputs must be an object of typed arrays keyed by input name "
        "({ input_ids, attention_mask }); got " +
        DescribeJsValue(inputs));
  }
  const std::vector<int64_t> shape = ReadDims(dims);
  const int64_t expected_length = shape[0] * shape[1];

  std::vector<te::NamedTensor> result;
  Napi::Object object = inputs.As<Napi::Object>();
  Napi::Array names = object.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    const std::string name = names.Get(i).ToString().Utf8Value();
    Napi::Value value = object.Get(name);
    if (value.IsUndefined()) continue;
    const bool is_typed = value.IsTypedArray();
    const napi_typedarray_type type =
        is_typed ? value.As<Napi::TypedArray>().TypedArrayType() : napi_int8_array;
    if (!is_typed || (type != napi_bigint64_array && type != napi_int32_array)) {
      throw BadInput("forward: inputs." + name + " must be a BigInt64Array or Int32Array; got " +
                     DescribeJsValue(value));
    }
    auto array = value.As<Napi::TypedArray>();
    if (static_cast<int64_t>(array.ElementLength()) != expected_length) {
      throw BadInput("forward: inputs." + name + " has " + std::to_string(array.ElementLength()) +
                     " elements but dims [" + std::to_string(shape[0]) + ", " +
                     std::to_string(shape[1]) + "] need " + std::to_string(expected_length));
    }
    void* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    const auto dtype = type == napi_bigint64_array ? torch::kInt64 : torch::kInt32;
    at::Tensor borrowed = torch::from_blob(data, shape, torch::dtype(dtype));
    result.push_back({name, borrowed.to(torch::kInt64, /*non_blocking=*/false, /*copy=*/true)});
  }
  if (result.empty()) {
    throw BadInput("forward: inputs has no typed arrays; expected at least input_ids");
  }
  return result;
}

Napi::Object ExposeOutputs(Napi::Env env, const std::vector<te::NamedTensor>& outputs) {
  EnvRegistry& registry = *GetInstanceData(env).registry;
  Napi::Object result = Napi::Object::New(env);
  for (const auto& output : outputs) {
    const at::Tensor& tensor = output.tensor;
    const size_t bytes = static_cast<size_t>(tensor.numel()) * sizeof(float);
    // The owner is freed by the ArrayBuffer's finalizer, or by the environment's teardown when a
    // terminated Worker's finalizers never run.
    Napi::ArrayBuffer buffer =
        bytes == 0
            ? Napi::ArrayBuffer::New(env, 0)
            : Napi::ArrayBuffer::New(env, tensor.data_ptr<float>(), bytes,
                                     EnvRegistry::FinalizeOutput, registry.AddOutput(tensor));
    Napi::Array dims = Napi::Array::New(env, tensor.dim());
    for (int64_t d = 0; d < tensor.dim(); ++d) {
      dims.Set(static_cast<uint32_t>(d),
               Napi::Number::New(env, static_cast<double>(tensor.size(d))));
    }
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("data", Napi::Float32Array::New(env, static_cast<size_t>(tensor.numel()), buffer, 0));
    entry.Set("dims", dims);
    result.Set(output.name, entry);
  }
  return result;
}

}  // namespace te::napi
