#include "core/device.h"

#include <torch/cuda.h>

#include <cstdlib>

#include "core/errors.h"

namespace te {
namespace {

constexpr const char* kAccepted = "'cpu', 'cuda', 'cuda:N' or 'auto'";

Error UnknownDevice(const std::string& spec) {
  return Error(ErrorCode::kBadInput,
               "device: expected " + std::string(kAccepted) + ", got '" + spec + "'");
}

}  // namespace

c10::Device ResolveDevice(const std::string& spec) {
  const bool cuda_usable = torch::cuda::is_available();
  if (spec == "cpu") return c10::Device(c10::kCPU);
  if (spec == "auto") return cuda_usable ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);

  int index = 0;
  if (spec == "cuda") {
    index = 0;
  } else if (spec.rfind("cuda:", 0) == 0 && spec.size() > 5 && spec.size() <= 8) {
    const std::string digits = spec.substr(5);
    for (char c : digits) {
      if (c < '0' || c > '9') throw UnknownDevice(spec);
    }
    index = std::atoi(digits.c_str());
  } else {
    throw UnknownDevice(spec);
  }

  if (!cuda_usable) {
    throw Error(ErrorCode::kDeviceUnavailable,
                "device: '" + spec +
                    "' was requested but CUDA is not available (no CUDA-enabled libtorch, no "
                    "driver or no GPU); use 'cpu' or 'auto'");
  }
  const int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    throw Error(ErrorCode::kDeviceUnavailable, "device: '" + spec +
                                                   "' was requested but this machine has " +
                                                   std::to_string(count) + " CUDA device(s)");
  }
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

}  // namespace te
