// Typed arrays <-> tensors: token inputs are copied in, outputs are lent out without copying.
#pragma once

#include <napi.h>

#include <vector>

#include "core/encoder_model.h"

namespace te::napi {

// Takes `inputs`, an object of BigInt64Array or Int32Array keyed by input name, and `dims`,
// [batch, seq]. Returns int64 tensors that own copies of the arrays' contents: the caller may
// change, transfer or drop its arrays while the forward runs, and the forward still reads what
// was passed. The copy, on the JS thread, is a few KB to 1.5 MB: 8-16 us per input up to 64 KiB,
// 40 us for 256 KiB (measured: README "Copies"), against forwards of milliseconds to seconds.
// Throws Error kBadInput naming the argument, what was expected and what arrived.
std::vector<te::NamedTensor> CopyInputs(Napi::Value inputs, Napi::Value dims);

// Returns { name: { data: Float32Array, dims: number[] } } whose Float32Arrays view the tensors'
// memory through external ArrayBuffers that own the tensors.
Napi::Object ExposeOutputs(Napi::Env env, const std::vector<te::NamedTensor>& outputs);

}  // namespace te::napi
