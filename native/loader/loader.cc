// The loader addon: preloads a libtorch by absolute path into the global symbol scope before the
// main addon is loaded, and inspects shared objects without loading them. It links no libtorch:
// loading it must not bind whichever libtorch the system's search path would find.
#include <dlfcn.h>
#include <napi.h>

#include <exception>
#include <string>
#include <vector>

#include "loader/elf_file.h"

namespace te::loader {
namespace {

std::string PathArgument(const Napi::CallbackInfo& info, const char* function) {
  if (info.Length() < 1 || !info[0].IsString() || info[0].As<Napi::String>().Utf8Value().empty()) {
    throw Napi::TypeError::New(info.Env(),
                               std::string(function) + ": path must be a non-empty string");
  }
  return info[0].As<Napi::String>().Utf8Value();
}

// preloadGlobal(path: string): string | null. Loads the shared object RTLD_GLOBAL (its symbols
// serve every later load, as libtorch's must for the addon) and RTLD_NODELETE (never unloaded:
// libtorch registers operators and thread pools it cannot take back). Returns null on success or
// dlerror()'s text; never throws for a library that fails to load.
Napi::Value PreloadGlobal(const Napi::CallbackInfo& info) {
  const std::string path = PathArgument(info, "preloadGlobal");
  if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE) != nullptr) {
    return info.Env().Null();
  }
  const char* error = dlerror();
  return Napi::String::New(info.Env(), error != nullptr ? error : "dlopen failed");
}

// exportsSymbol(path: string, symbol: string): boolean. Throws a JS Error naming the path when
// the file is not a readable ELF64 object.
Napi::Value ExportsSymbolJs(const Napi::CallbackInfo& info) {
  const std::string path = PathArgument(info, "exportsSymbol");
  if (info.Length() < 2 || !info[1].IsString()) {
    throw Napi::TypeError::New(info.Env(), "exportsSymbol: symbol must be a string");
  }
  try {
    return Napi::Boolean::New(info.Env(),
                              ExportsSymbol(path, info[1].As<Napi::String>().Utf8Value()));
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("exportsSymbol: ") + e.what());
  }
}

// dynamicInfo(path: string): { soname: string, needed: string[] }. The shared object's soname (""
// if none) and the sonames it links, read without loading it. Throws a JS Error naming the path
// when it is not a readable ELF64 object.
Napi::Value DynamicInfoJs(const Napi::CallbackInfo& info) {
  const std::string path = PathArgument(info, "dynamicInfo");
  DynamicInfo dynamic;
  try {
    dynamic = ReadDynamicInfo(path);
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("dynamicInfo: ") + e.what());
  }
  Napi::Array needed = Napi::Array::New(info.Env(), dynamic.needed.size());
  for (size_t i = 0; i < dynamic.needed.size(); ++i) {
    needed.Set(static_cast<uint32_t>(i), Napi::String::New(info.Env(), dynamic.needed[i]));
  }
  Napi::Object result = Napi::Object::New(info.Env());
  result.Set("soname", dynamic.soname);
  result.Set("needed", needed);
  return result;
}

// loadedFrom(symbol: string): string | null. The file of the loaded object that global symbol
// lookup resolves `symbol` to, or null when no loaded object defines it.
Napi::Value LoadedFrom(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) {
    throw Napi::TypeError::New(info.Env(), "loadedFrom: symbol must be a string");
  }
  void* address = dlsym(RTLD_DEFAULT, info[0].As<Napi::String>().Utf8Value().c_str());
  Dl_info where{};
  if (address == nullptr || dladdr(address, &where) == 0 || where.dli_fname == nullptr) {
    return info.Env().Null();
  }
  return Napi::String::New(info.Env(), where.dli_fname);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("preloadGlobal", Napi::Function::New<PreloadGlobal>(env, "preloadGlobal"));
  exports.Set("exportsSymbol", Napi::Function::New<ExportsSymbolJs>(env, "exportsSymbol"));
  exports.Set("dynamicInfo", Napi::Function::New<DynamicInfoJs>(env, "dynamicInfo"));
  exports.Set("loadedFrom", Napi::Function::New<LoadedFrom>(env, "loadedFrom"));
  return exports;
}

}  // namespace
}  // namespace te::loader

static Napi::Object InitLoader(Napi::Env env, Napi::Object exports) {
  return te::loader::Init(env, exports);
}

NODE_API_MODULE(torch_encoders_loader, InitLoader)
