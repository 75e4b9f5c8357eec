#include "args.h"

#include <cmath>
#include <sstream>

namespace s3dlio {

namespace {

// How a value is named in messages, like describe() in lib/validate.ts.
std::string Describe(const Napi::Value& value) {
  switch (value.Type()) {
    case napi_undefined: return "undefined";
    case napi_null: return "null";
    case napi_boolean: return std::string(value.As<Napi::Boolean>().Value() ? "true" : "false") + " of type boolean";
    case napi_number: {
      std::ostringstream text;
      text.precision(17);
      text << value.As<Napi::Number>().DoubleValue() << " of type number";
      return text.str();
    }
    case napi_string: return "a value of type string";
    case napi_symbol: return "a symbol";
    case napi_bigint: return "a value of type bigint";
    case napi_function: return "a function";
    case napi_object:
      if (value.IsArray()) return "an array";
      if (value.IsTypedArray()) return "a typed array";
      if (value.IsDataView()) return "a DataView";
      if (value.IsArrayBuffer()) return "an ArrayBuffer";
      return "an object";
    default: return "a value";
  }
}

bool Throw(Napi::Error error, const char* code) {
  error.Set("code", code);
  error.ThrowAsJavaScriptException();
  return false;
}

std::string Message(const std::string& name, const std::string& expected, const Napi::Value& value) {
  return "Expected " + expected + " for `" + name + "` but received " + Describe(value);
}

bool IsPlainObject(const Napi::Value& value) {
  return value.IsObject() && !value.IsArray() && !value.IsFunction();
}

bool ExpectPath(Napi::Env env, const Napi::Value& value, const std::string& name, std::string* out) {
  if (!value.IsString()) return ThrowInvalidType(env, name, "a path string", value);
  std::string path = value.As<Napi::String>().Utf8Value();
  if (path.empty() || path.find('\0') != std::string::npos) {
    return ThrowInvalidRange(env, "ERR_INVALID_ARG_VALUE", name, "a non-empty path without NUL characters", value);
  }
  *out = std::move(path);
  return true;
}

}  // namespace

bool ThrowInvalidType(Napi::Env env, const std::string& name, const std::string& expected,
                      const Napi::Value& value) {
  return Throw(Napi::TypeError::New(env, Message(name, expected, value)), "ERR_INVALID_ARG_TYPE");
}

bool ThrowInvalidRange(Napi::Env env, const char* code, const std::string& name,
                       const std::string& expected, const Napi::Value& value) {
  return Throw(Napi::RangeError::New(env, Message(name, expected, value)), code);
}

bool ExpectInteger(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t min,
                   int64_t max, int64_t* out) {
  const std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!value.IsNumber()) return ThrowInvalidType(env, name, expected, value);
  const double number = value.As<Napi::Number>().DoubleValue();
  // Checked as a double first: converting NaN, infinities or 2^63 to int64_t is undefined.
  if (!std::isfinite(number) || std::trunc(number) != number || number < static_cast<double>(min) ||
      number > static_cast<double>(max) || std::fabs(number) > static_cast<double>(kMaxSafeInteger)) {
    return ThrowInvalidRange(env, "ERR_OUT_OF_RANGE", name, expected, value);
  }
  *out = static_cast<int64_t>(number);
  return true;
}

bool Args::Count(size_t min, size_t max) const {
  const size_t count = info_.Length();
  if (count >= min && count <= max) return true;
  std::string expected = min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
  Napi::TypeError error = Napi::TypeError::New(Env(), std::string(function_) + " takes " + expected +
                                                          (max == 1 ? " argument" : " arguments") +
                                                          " but received " + std::to_string(count));
  return Throw(error, "ERR_INVALID_ARG_TYPE");
}

bool Args::Path(size_t index, const char* name, std::string* out) const {
  return ExpectPath(Env(), info_[index], name, out);
}

bool Args::Paths(size_t index, const char* name, std::vector<std::string>* out) const {
  Napi::Value value = info_[index];
  if (!value.IsArray()) return ThrowInvalidType(Env(), name, "an array of path strings", value);
  Napi::Array array = value.As<Napi::Array>();
  const uint32_t length = array.Length();
  out->clear();  // no reserve(length): a sparse array may claim 2^32 - 1 elements
  for (uint32_t i = 0; i < length; ++i) {
    Napi::Value item = array.Get(i);  // may run a getter
    if (Env().IsExceptionPending()) return false;
    std::string path;
    if (!ExpectPath(Env(), item, std::string(name) + "[" + std::to_string(i) + "]", &path)) return false;
    out->push_back(std::move(path));
  }
  return true;
}

bool Args::Object(size_t index, const char* name, Napi::Object* out) const {
  Napi::Value value = info_[index];
  if (!IsPlainObject(value)) return ThrowInvalidType(Env(), name, "an object", value);
  *out = value.As<Napi::Object>();
  return true;
}

bool Args::Bytes(size_t index, const char* name, Napi::Uint8Array* out) const {
  Napi::Value value = info_[index];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    return ThrowInvalidType(Env(), name, "a Uint8Array", value);
  }
  *out = value.As<Napi::Uint8Array>();
  return true;
}

bool Args::Integer(size_t index, const char* name, int64_t min, int64_t max, int64_t* out) const {
  return ExpectInteger(Env(), info_[index], name, min, max, out);
}

bool Args::Cancel(size_t index, CancelFlag* out) const {
  Napi::Value value = info_[index];
  *out = CancelFlag();
  if (value.IsUndefined()) return true;
  const char* expected = "undefined or an Int32Array over a SharedArrayBuffer";
  if (!value.IsTypedArray()) return ThrowInvalidType(Env(), "cancelFlag", expected, value);
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  bool plain = true;
  if (napi_get_typedarray_info(Env(), value, &type, &length, &data, &buffer, nullptr) != napi_ok ||
      napi_is_arraybuffer(Env(), buffer, &plain) != napi_ok) {
    return ThrowInvalidType(Env(), "cancelFlag", expected, value);
  }
  // A typed array's buffer is an ArrayBuffer or a SharedArrayBuffer: "not an ArrayBuffer" is shared.
  if (type != napi_int32_array || plain) return ThrowInvalidType(Env(), "cancelFlag", expected, value);
  if (length < 1 || data == nullptr) {
    return ThrowInvalidRange(Env(), "ERR_INVALID_ARG_VALUE", "cancelFlag", "at least one element", value);
  }
  *out = CancelFlag::Over(static_cast<int32_t*>(data));
  return true;
}

bool Options::Field(const char* key, Napi::Value* out) const {
  *out = object_.Get(key);
  return !object_.Env().IsExceptionPending();
}

bool Options::Bool(const char* key, bool* value) const {
  Napi::Value field;
  if (!Field(key, &field)) return false;
  if (field.IsUndefined()) return true;
  if (!field.IsBoolean()) return ThrowInvalidType(object_.Env(), NameOf(key), "a boolean", field);
  *value = field.As<Napi::Boolean>().Value();
  return true;
}

bool Options::Integer(const char* key, int64_t min, int64_t max, int64_t* value) const {
  Napi::Value field;
  if (!Field(key, &field)) return false;
  if (field.IsUndefined()) return true;
  return ExpectInteger(object_.Env(), field, NameOf(key), min, max, value);
}

bool Options::Number(const char* key, double min, double max, double* value) const {
  Napi::Value field;
  if (!Field(key, &field)) return false;
  if (field.IsUndefined()) return true;
  std::ostringstream expected;
  expected << "a number from " << min << " to " << max;
  if (!field.IsNumber()) return ThrowInvalidType(object_.Env(), NameOf(key), expected.str(), field);
  const double number = field.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || number < min || number > max) {
    return ThrowInvalidRange(object_.Env(), "ERR_OUT_OF_RANGE", NameOf(key), expected.str(), field);
  }
  *value = number;
  return true;
}

bool Options::Alignment(const char* key, int64_t* value) const {
  Napi::Value field;
  if (!Field(key, &field)) return false;
  if (field.IsUndefined()) return true;
  int64_t alignment = 0;
  if (!ExpectInteger(object_.Env(), field, NameOf(key), 0, kMaxAlignment, &alignment)) return false;
  if ((alignment & (alignment - 1)) != 0) {
    return ThrowInvalidRange(object_.Env(), "ERR_INVALID_ARG_VALUE", NameOf(key),
                             "0 or a power of two up to 1048576", field);
  }
  *value = alignment;
  return true;
}

}  // namespace s3dlio
