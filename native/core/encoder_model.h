// A TorchScript encoder loaded with libtorch: load once, then run forwards. No threading and no
// N-API here; callers decide where these run.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>
#include <torch/script.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace te {

struct LoadOptions {
  std::string path;
  std::string device = "cpu";  // see ResolveDevice
  // Applies torch::jit::freeze and optimize_for_inference after loading.
  bool optimize = false;
  // Names for the module's outputs in the order it returns them, overriding the defaults.
  std::vector<std::string> output_names;
};

struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};

// The schema of one argument of the module's forward.
struct InputSpec {
  std::string name;
  // Set when the schema declares a default (such as None for an Optional[Tensor]); it is passed
  // explicitly when a later argument is given, since forward's arguments are positional.
  std::optional<c10::IValue> default_value;
};

class EncoderModel {
 public:
  // Loads `options.path` onto the resolved device. Throws Error kModelNotFound when no file is
  // there, kModelLoad when it is not a TorchScript module with a forward method, kBadInput or
  // kDeviceUnavailable for the device (see ResolveDevice). Freeing the model gives its memory
  // back to the system (malloc_trim).
  static std::shared_ptr<EncoderModel> Load(const LoadOptions& options);

  // Takes int64 CPU tensors of equal shape [batch, seq], keyed by forward argument name; an
  // absent `token_type_ids` that the module takes is filled with zeros, as Hugging Face does.
  // Returns the module's outputs as contiguous float32 CPU tensors: a dict by key, a tuple or
  // list as output_0..n (nested ones as output_i_j), a single tensor as output_0, or by the
  // names given at load. Throws Error kBadInput for missing or unexpected inputs or when the names
  // given at load do not match the outputs' count, kForward when libtorch fails.
  std::vector<NamedTensor> Forward(const std::vector<NamedTensor>& inputs);

  const std::vector<InputSpec>& inputs() const { return inputs_; }
  const c10::Device& device() const { return device_; }

 private:
  EncoderModel(torch::jit::Module module, c10::Device device, std::vector<InputSpec> inputs,
               std::vector<std::string> output_names);

  std::vector<NamedTensor> NameOutputs(const c10::IValue& result) const;

  torch::jit::Module module_;
  c10::Device device_;
  std::vector<InputSpec> inputs_;
  std::vector<std::string> output_names_;
};

}  // namespace te
