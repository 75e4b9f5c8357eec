// Reading fields of the plain option objects that lib/native.ts passes in. The TypeScript side has
// already validated them, so missing or mistyped fields simply take the default.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

namespace s3dlio {

inline bool OptionBool(const Napi::Object& options, const char* key, bool fallback) {
  Napi::Value value = options.Get(key);
  return value.IsBoolean() ? value.As<Napi::Boolean>().Value() : fallback;
}

inline int64_t OptionInt(const Napi::Object& options, const char* key, int64_t fallback) {
  Napi::Value value = options.Get(key);
  return value.IsNumber() ? value.As<Napi::Number>().Int64Value() : fallback;
}

inline std::string OptionString(const Napi::Object& options, const char* key) {
  Napi::Value value = options.Get(key);
  return value.IsString() ? value.As<Napi::String>().Utf8Value() : std::string();
}

}  // namespace s3dlio
