// Errors raised by the libtorch core. Each carries a stable code that the binding turns into the
// `code` of a JS error, and a message that names the failing step.
#pragma once

#include <stdexcept>
#include <string>

namespace te {

enum class ErrorCode {
  kBadInput,           // E_BAD_INPUT: an argument of the wrong type, shape or range.
  kModelNotFound,      // E_MODEL_NOT_FOUND: no file at the given path.
  kModelLoad,          // E_MODEL_LOAD: the file is not a loadable TorchScript module.
  kDeviceUnavailable,  // E_DEVICE_UNAVAILABLE: the requested device does not exist here.
  kForward,            // E_FORWARD: libtorch failed while running the module.
  kDisposed,           // E_DISPOSED: the model was disposed.
  kAborted,            // E_ABORTED: the caller aborted the call before it ran.
  kInternal,           // E_INTERNAL: anything else (a bug: please report it).
};

// Returns the JS-facing code string, e.g. "E_BAD_INPUT".
const char* ErrorCodeName(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace te
