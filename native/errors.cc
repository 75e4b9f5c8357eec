#include "errors.h"

#include <uv.h>

namespace s3dlio {

NativeError NativeError::FromErrno(int errnum, const char* syscall, const std::string& path) {
  NativeError error;
  error.errnum = errnum;
  // libuv error codes are negated errno values on every POSIX system.
  error.code = uv_err_name(-errnum);
  error.syscall = syscall;
  error.path = path;
  error.message = std::string(uv_strerror(-errnum)) + " (" + syscall + ")";
  return error;
}

NativeError NativeError::Custom(const char* code, std::string message, const std::string& path) {
  NativeError error;
  error.code = code;
  error.path = path;
  error.message = std::move(message);
  return error;
}

Napi::Error ToJsError(Napi::Env env, const NativeError& error) {
  Napi::Error js = Napi::Error::New(env, error.message);
  Napi::Object object = js.Value();
  object.Set("code", error.code);
  if (error.errnum != 0) object.Set("errno", error.errnum);
  if (!error.syscall.empty()) object.Set("syscall", error.syscall);
  if (!error.path.empty()) object.Set("path", error.path);
  return js;
}

}  // namespace s3dlio
