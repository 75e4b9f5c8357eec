// Argument checks for every exported function, in the spirit of zeromq.js `Arg::Validator` and
// better-sqlite3 `REQUIRE_ARGUMENT_*`: lib/native.ts passes valid input, but a mistake there (or a
// caller reaching the addon directly) must end in a JS TypeError/RangeError with a `code`, never in
// a crash, a hang or an empty write. Each check returns false with the JS exception pending, so an
// entry point reads `if (!args.Count(2, 3) || !args.Path(0, "path", &path)) return {};`.
//
// Checks that can run user code (option getters, proxies) come first at every entry point, and the
// byte buffers are resolved last: a getter cannot detach a buffer after it was inspected.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "async_job.h"

namespace s3dlio {

constexpr int64_t kMaxSafeInteger = 9007199254740991;  // Number.MAX_SAFE_INTEGER
// Native threads one call may start (readFiles `threads`, `directThreads`, datagen `threads`).
constexpr int64_t kMaxThreads = 256;
// Bytes per read/write syscall: Linux moves at most ~2 GiB per call anyway.
constexpr int64_t kMaxChunkSize = int64_t{1} << 30;
// Largest direct-I/O or allocation alignment.
constexpr int64_t kMaxAlignment = int64_t{1} << 20;

// TypeError with code ERR_INVALID_ARG_TYPE: "Expected <expected> for `<name>` but received …".
bool ThrowInvalidType(Napi::Env env, const std::string& name, const std::string& expected,
                      const Napi::Value& value);
// RangeError with `code` (ERR_OUT_OF_RANGE or ERR_INVALID_ARG_VALUE), same message form.
bool ThrowInvalidRange(Napi::Env env, const char* code, const std::string& name,
                       const std::string& expected, const Napi::Value& value);

// A safe integer within [min, max].
bool ExpectInteger(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t min,
                   int64_t max, int64_t* out);

// The positional arguments of one call.
class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* function) : info_(info), function_(function) {}

  Napi::Env Env() const { return info_.Env(); }
  const Napi::Value operator[](size_t index) const { return info_[index]; }

  // Between `min` and `max` arguments.
  bool Count(size_t min, size_t max) const;
  // A non-empty string without NUL characters.
  bool Path(size_t index, const char* name, std::string* out) const;
  // An array of such strings.
  bool Paths(size_t index, const char* name, std::vector<std::string>* out) const;
  // A plain object (not null, not an array, not a function).
  bool Object(size_t index, const char* name, Napi::Object* out) const;
  // A Uint8Array (a Buffer is one). Whether its buffer is usable is checked by PrepareInput.
  bool Bytes(size_t index, const char* name, Napi::Uint8Array* out) const;
  bool Integer(size_t index, const char* name, int64_t min, int64_t max, int64_t* out) const;
  // undefined (never cancelled) or an Int32Array of at least one element over a SharedArrayBuffer:
  // worker threads poll it, so it must be memory that cannot be detached.
  bool Cancel(size_t index, CancelFlag* out) const;

 private:
  const Napi::CallbackInfo& info_;
  const char* function_;
};

// The fields of an options object. A field that is absent or undefined keeps the caller's default;
// a field of the wrong type or out of range is an error (never silently the default).
class Options {
 public:
  Options(Napi::Object object, std::string name) : object_(object), name_(std::move(name)) {}

  bool Bool(const char* key, bool* value) const;
  bool Integer(const char* key, int64_t min, int64_t max, int64_t* value) const;
  // A finite number within [min, max].
  bool Number(const char* key, double min, double max, double* value) const;
  // 0 or a power of two up to kMaxAlignment.
  bool Alignment(const char* key, int64_t* value) const;

 private:
  // The field, or an empty value with the exception pending when reading it threw (a getter).
  bool Field(const char* key, Napi::Value* out) const;
  std::string NameOf(const char* key) const { return name_ + "." + key; }

  Napi::Object object_;
  std::string name_;
};

}  // namespace s3dlio
