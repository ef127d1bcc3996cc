// Typed arrays <-> tensors without copying.
#pragma once

#include <napi.h>

#include <vector>

#include "core/encoder_model.h"

namespace te::napi {

struct MarshalledInputs {
  std::vector<te::NamedTensor> tensors;
  // The typed arrays the tensors point into; they must stay referenced until the forward ends.
  std::vector<Napi::ObjectReference> arrays;
};

// Takes `inputs`, an object of BigInt64Array or Int32Array keyed by input name, and `dims`,
// [batch, seq]. Returns tensors that wrap the arrays' memory (no copy). Throws Error kBadInput
// naming the argument, what was expected and what arrived.
MarshalledInputs WrapInputs(Napi::Value inputs, Napi::Value dims);

// Returns { name: { data: Float32Array, dims: number[] } } whose Float32Arrays view the tensors'
// memory through external ArrayBuffers that own the tensors.
Napi::Object ExposeOutputs(Napi::Env env, const std::vector<te::NamedTensor>& outputs);

}  // namespace te::napi
