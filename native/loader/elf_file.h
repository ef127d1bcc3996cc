// Reading a shared object's dynamic section without loading it (loading runs its initializers,
// and a libtorch's cannot run beside another libtorch's: a bus error, measured).
#pragma once

#include <string>
#include <vector>

namespace te::loader {

// Takes the path of an ELF64 shared object and a symbol name. Returns whether its dynamic symbol
// table defines that symbol (an undefined reference does not count). Throws std::runtime_error
// naming the path when the file cannot be read or is not an ELF64 object.
bool ExportsSymbol(const std::string& path, const std::string& symbol);

struct DynamicInfo {
  std::string soname;               // DT_SONAME, "" when absent
  std::vector<std::string> needed;  // DT_NEEDED: the sonames it links, in order
};

// Takes the path of an ELF64 shared object. Returns its soname and the sonames it links. Throws
// as ExportsSymbol does.
DynamicInfo ReadDynamicInfo(const std::string& path);

}  // namespace te::loader
