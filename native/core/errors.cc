#include "core/errors.h"

namespace te {

const char* ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadInput:
      return "E_BAD_INPUT";
    case ErrorCode::kModelNotFound:
      return "E_MODEL_NOT_FOUND";
    case ErrorCode::kModelLoad:
      return "E_MODEL_LOAD";
    case ErrorCode::kDeviceUnavailable:
      return "E_DEVICE_UNAVAILABLE";
    case ErrorCode::kForward:
      return "E_FORWARD";
    case ErrorCode::kDisposed:
      return "E_DISPOSED";
    case ErrorCode::kAborted:
      return "E_ABORTED";
    case ErrorCode::kInternal:
      return "E_INTERNAL";
  }
  return "E_INTERNAL";
}

}  // namespace te
