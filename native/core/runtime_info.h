// Facts about the libtorch this binary runs on, for buildInfo() and diagnostics.
#pragma once

#include <string>

namespace te {

struct BlasInfo {
  // "openblas", "mkl", "blis", "reference" (netlib: slow, see README) or "unknown".
  std::string name;
  // The resolved path of the loaded BLAS library ("" when linked statically, as MKL in official
  // libtorch builds).
  std::string path;
};

std::string LibtorchVersion();
bool CudaAvailable();
int CudaDeviceCount();
// Reads the shared objects loaded in this process to find the BLAS libtorch multiplies through.
BlasInfo DetectBlas();

}  // namespace te
