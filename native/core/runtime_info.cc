#include "core/runtime_info.h"

#include <ATen/Context.h>
#include <link.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

namespace te {
namespace {

int CollectLoadedObject(struct dl_phdr_info* info, size_t, void* data) {
  if (info->dlpi_name != nullptr && info->dlpi_name[0] != '\0') {
    static_cast<std::vector<std::string>*>(data)->emplace_back(info->dlpi_name);
  }
  return 0;
}

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) != nullptr ? std::string(resolved) : path;
}

bool Contains(const std::string& text, const char* part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

std::string LibtorchVersion() { return TORCH_VERSION; }

bool CudaAvailable() { return torch::cuda::is_available(); }

int CudaDeviceCount() { return static_cast<int>(torch::cuda::device_count()); }

BlasInfo DetectBlas() {
  std::vector<std::string> loaded;
  dl_iterate_phdr(CollectLoadedObject, &loaded);
  for (const auto& object : loaded) {
    const std::string real = RealPath(object);
    const std::string file = real.substr(real.find_last_of('/') + 1);
    if (Contains(file, "openblas") || Contains(real, "/openblas")) return {"openblas", real};
    if (Contains(file, "libmkl")) return {"mkl", real};
    if (Contains(file, "blis")) return {"blis", real};
    // Debian's alternatives: libblas.so.3 resolves into blas/ for the netlib reference BLAS.
    if (Contains(file, "libblas.so")) {
      return {Contains(real, "/blas/") ? "reference" : "unknown", real};
    }
  }
  if (at::hasMKL()) return {"mkl", ""};
  return {"unknown", ""};
}

}  // namespace te
