#include "core/encoder_model.h"

#include <ATen/core/ivalue.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Exception.h>
#include <malloc.h>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "core/device.h"
#include "core/errors.h"

namespace te {
namespace {

std::string JoinNames(const std::vector<InputSpec>& specs) {
  std::string joined;
  for (const auto& spec : specs) joined += (joined.empty() ? "" : ", ") + spec.name;
  return joined;
}

std::vector<InputSpec> ReadForwardSchema(const torch::jit::Module& module) {
  const auto& arguments = module.get_method("forward").function().getSchema().arguments();
  std::vector<InputSpec> specs;
  for (const auto& argument : arguments) {
    if (argument.name() == "self") continue;
    specs.push_back({argument.name(), argument.default_value()});
  }
  return specs;
}

// Outputs are handed to JS as Float32Array views over the tensor's own memory.
at::Tensor AsHostFloat(const at::Tensor& tensor) {
  return tensor.to(at::kCPU, at::kFloat).contiguous();
}

void Flatten(const c10::IValue& value, const std::string& name, std::vector<NamedTensor>& out) {
  if (value.isTensor()) {
    out.push_back({name, AsHostFloat(value.toTensor())});
  } else if (value.isTuple() || value.isList()) {
    const std::vector<c10::IValue> elements =
        value.isTuple() ? value.toTupleRef().elements().vec() : value.toListRef().vec();
    for (size_t i = 0; i < elements.size(); ++i) {
      Flatten(elements[i], name + "_" + std::to_string(i), out);
    }
  } else if (value.isGenericDict()) {
    for (const auto& entry : value.toGenericDict()) {
      if (!entry.key().isString()) {
        throw Error(ErrorCode::kForward, "forward: the module returned a dict with a key of type " +
                                             entry.key().tagKind() +
                                             "; only string keys are supported");
      }
      Flatten(entry.value(), entry.key().toStringRef(), out);
    }
  } else if (!value.isNone()) {
    throw Error(ErrorCode::kForward, "forward: the module returned a " + value.tagKind() + " (" +
                                         name + "); expected tensors, tuples, lists or dicts");
  }
}

}  // namespace

std::shared_ptr<EncoderModel> EncoderModel::Load(const LoadOptions& options) {
  const c10::Device device = ResolveDevice(options.device);
  if (!std::ifstream(options.path).good()) {
    throw Error(ErrorCode::kModelNotFound, "load: no readable file at '" + options.path + "'");
  }

  torch::jit::Module module;
  try {
    module = torch::jit::load(options.path, device);
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::kModelLoad, "load: '" + options.path +
                                           "' is not a loadable TorchScript file (torch.jit.save "
                                           "output expected): " +
                                           e.what_without_backtrace());
  } catch (const std::exception& e) {
    // The TorchScript compiler reports what the runtime lacks ("Unknown builtin op: aten::...",
    // a file that needs a newer libtorch) as a plain std::exception, not a c10::Error.
    throw Error(ErrorCode::kModelLoad,
                "load: '" + options.path + "' cannot be loaded by this libtorch: " + e.what());
  }
  if (!module.find_method("forward")) {
    throw Error(ErrorCode::kModelLoad,
                "load: the TorchScript module in '" + options.path + "' has no forward method");
  }
  module.eval();

  if (options.optimize) {
    // Freezing inlines submodule calls only while executor optimization is on; the inference
    // thread turns it off for forwards, so it is switched on for the duration of this pass.
    const bool executor_optimize = torch::jit::getGraphExecutorOptimize();
    torch::jit::setGraphExecutorOptimize(true);
    struct RestoreExecutorOptimize {
      bool value;
      ~RestoreExecutorOptimize() { torch::jit::setGraphExecutorOptimize(value); }
    } restore{executor_optimize};
    try {
      module = torch::jit::freeze(module);
      module = torch::jit::optimize_for_inference(module);
    } catch (const c10::Error& e) {
      throw Error(ErrorCode::kModelLoad,
                  std::string("load: optimize (freeze + optimize_for_inference) failed: ") +
                      e.what_without_backtrace());
    }
  }

  std::vector<InputSpec> inputs = ReadForwardSchema(module);
  return std::shared_ptr<EncoderModel>(
      new EncoderModel(std::move(module), device, std::move(inputs), options.output_names),
      [](EncoderModel* model) {
        delete model;
        // glibc keeps the freed weights in its arenas: blocks under the mmap threshold, which
        // rises to 32 MiB as large blocks are freed, are not given back until trimmed. Without
        // this, RSS after dispose() of a BERT-base model held one to two models' worth
        // (test/reliability/load-dispose.test.ts: 183 MiB after the first cycle, ~870 by the 27th).
        malloc_trim(0);
      });
}

EncoderModel::EncoderModel(torch::jit::Module module, c10::Device device,
                           std::vector<InputSpec> inputs, std::vector<std::string> output_names)
    : module_(std::move(module)),
      device_(device),
      inputs_(std::move(inputs)),
      output_names_(std::move(output_names)) {}

std::vector<NamedTensor> EncoderModel::Forward(const std::vector<NamedTensor>& inputs) {
  for (const auto& given : inputs) {
    bool known = false;
    for (const auto& spec : inputs_) known = known || spec.name == given.name;
    if (!known) {
      throw Error(ErrorCode::kBadInput, "forward: this model takes (" + JoinNames(inputs_) +
                                            "), not '" + given.name + "'");
    }
  }

  // Positional arguments up to the last one given; a defaulted gap before it gets its default
  // explicitly (stopping at the gap dropped every input after it: { input_ids, token_type_ids }
  // reached a module with an Optional attention_mask as token_type_ids=None).
  std::vector<c10::IValue> arguments;
  arguments.reserve(inputs_.size());
  size_t passed = 0;  // arguments up to and including the last one that is not a default
  for (const auto& spec : inputs_) {
    const NamedTensor* given = nullptr;
    for (const auto& input : inputs) {
      if (input.name == spec.name) given = &input;
    }
    if (given != nullptr) {
      arguments.emplace_back(given->tensor.to(device_, at::kLong));
      passed = arguments.size();
    } else if (spec.name == "token_type_ids" && !inputs.empty()) {
      arguments.emplace_back(at::zeros_like(inputs.front().tensor, at::device(device_)));
      passed = arguments.size();
    } else if (spec.default_value.has_value()) {
      arguments.push_back(*spec.default_value);
    } else {
      throw Error(ErrorCode::kBadInput, "forward: missing input '" + spec.name +
                                            "'; this model takes (" + JoinNames(inputs_) + ")");
    }
  }
  // Trailing defaults are left to the schema, as a Python call would.
  arguments.resize(passed);

  c10::IValue result;
  try {
    c10::InferenceMode inference_mode;
    result = module_.forward(arguments);
  } catch (const c10::Error& e) {
    throw Error(ErrorCode::kForward, std::string("forward: ") + e.what_without_backtrace());
  } catch (const std::exception& e) {
    // The TorchScript interpreter reports failures of the module's own code this way.
    throw Error(ErrorCode::kForward, std::string("forward: ") + e.what());
  }

  std::vector<NamedTensor> outputs = NameOutputs(result);
  return outputs;
}

std::vector<NamedTensor> EncoderModel::NameOutputs(const c10::IValue& result) const {
  std::vector<NamedTensor> outputs;
  {
    c10::InferenceMode inference_mode;
    Flatten(result, "output", outputs);
  }
  // A single tensor, or a flat tuple, is named output_0..n.
  if (outputs.size() == 1 && outputs.front().name == "output") outputs.front().name = "output_0";

  if (!output_names_.empty()) {
    if (output_names_.size() != outputs.size()) {
      // The caller's option is wrong, not the module: only the first forward can tell.
      throw Error(ErrorCode::kBadInput, "forward: options.outputNames given at load has " +
                                            std::to_string(output_names_.size()) +
                                            " names but the module returned " +
                                            std::to_string(outputs.size()) + " tensors");
    }
    for (size_t i = 0; i < outputs.size(); ++i) outputs[i].name = output_names_[i];
  }
  return outputs;
}

}  // namespace te
