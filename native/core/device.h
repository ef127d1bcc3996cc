// Turning a user's device string into a libtorch device that exists on this machine.
#pragma once

#include <c10/core/Device.h>

#include <string>

namespace te {

// Takes "cpu", "cuda", "cuda:N" or "auto" ("cuda" when CUDA is usable, else "cpu").
// Returns the device. Throws Error kBadInput for any other string, kDeviceUnavailable for a CUDA
// device this process cannot use.
c10::Device ResolveDevice(const std::string& spec);

}  // namespace te
