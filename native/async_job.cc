#include "async_job.h"

namespace s3dlio {

CancelFlag CancelFlag::From(const Napi::Value& value) {
  CancelFlag flag;
  if (!value.IsTypedArray()) return flag;
  // napi_get_typedarray_info (unlike ArrayBuffer::Data) accepts views of a SharedArrayBuffer.
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(value.Env(), value, &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array || length < 1 || data == nullptr) {
    return flag;
  }
  flag.flag_ = reinterpret_cast<std::atomic<int32_t>*>(data);
  return flag;
}

}  // namespace s3dlio
