// Errors carried from worker threads to JavaScript as plain data, turned into a JS Error with
// `code`, `errno`, `syscall` and `path` on the main thread (never an exception across the boundary).
#pragma once

#include <napi.h>

#include <cerrno>
#include <exception>
#include <new>
#include <string>

namespace s3dlio {

struct NativeError {
  int errnum = 0;        // positive errno, or 0 for errors that have no errno
  std::string code;      // errno name ("ENOENT") or an ERR_* code; empty means success
  std::string syscall;   // the failing syscall, when there is one
  std::string path;      // the file the error is about
  std::string message;   // human readable, without the path (the JS side adds the URI)

  bool ok() const { return code.empty(); }

  static NativeError FromErrno(int errnum, const char* syscall, const std::string& path);
  static NativeError Custom(const char* code, std::string message, const std::string& path);
};

// Runs `body`; a C++ exception it throws becomes the returned error (ENOMEM for std::bad_alloc,
// ERR_NATIVE with its message otherwise) instead of escaping into libuv, V8 or node-addon-api
// (built without exception support: it would terminate the process).
template <typename Body>
NativeError CatchNative(Body&& body) {
  try {
    body();
    return {};
  } catch (const std::bad_alloc&) {
    NativeError error = NativeError::Custom("ENOMEM", "out of memory", "");
    error.errnum = ENOMEM;
    return error;
  } catch (const std::exception& exception) {
    return NativeError::Custom("ERR_NATIVE", exception.what(), "");
  }
}

// Builds the JS Error object for `error` (must be called on the main thread).
Napi::Error ToJsError(Napi::Env env, const NativeError& error);

}  // namespace s3dlio
