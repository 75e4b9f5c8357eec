// Registers the native functions. Every symbol here is declared, typed and documented in
// lib/native.ts, the only TypeScript module that loads this addon.
#include <napi.h>

#include "aligned_memory.h"
#include "args.h"
#include "async_job.h"
#include "crc32c.h"
#include "datagen.h"
#include "direct_io.h"
#include "file_io.h"
#include "io_pool.h"
#include "job_memory.h"
#include "test_hooks.h"

#ifndef S3DLIO_SOURCE_HASH
#define S3DLIO_SOURCE_HASH "unknown"
#endif

namespace {

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!s3dlio::Args(info, "buildInfo").Count(0, 0)) return {};
  Napi::Object object = Napi::Object::New(env);
  object.Set("sourceHash", S3DLIO_SOURCE_HASH);
  object.Set("directIo", s3dlio::kHaveODirect);
  object.Set("crc32cHardware", s3dlio::Crc32cHardware());
  object.Set("externalBufferFallbacks",
             static_cast<double>(s3dlio::ExternalBufferFallbackCount()));
  // The I/O pool: the most threads it may start, and how many it has started.
  object.Set("ioThreadsMax", static_cast<double>(s3dlio::IoPoolMaxThreads()));
  object.Set("ioThreads", static_cast<double>(s3dlio::IoPoolThreads()));
  return object;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  s3dlio::InitTestHooks();
  exports.Set("buildInfo", Napi::Function::New(env, s3dlio::Guarded<BuildInfo>, "buildInfo"));
  exports.Set("allocAligned", Napi::Function::New(env, s3dlio::Guarded<s3dlio::AllocAligned>, "allocAligned"));
  exports.Set("readFile", Napi::Function::New(env, s3dlio::Guarded<s3dlio::ReadFile>, "readFile"));
  exports.Set("readFiles", Napi::Function::New(env, s3dlio::Guarded<s3dlio::ReadFiles>, "readFiles"));
  exports.Set("writeFile", Napi::Function::New(env, s3dlio::Guarded<s3dlio::WriteFile>, "writeFile"));
  exports.Set("copyFile", Napi::Function::New(env, s3dlio::Guarded<s3dlio::CopyFile>, "copyFile"));
  exports.Set("memoryKind", Napi::Function::New(env, s3dlio::Guarded<s3dlio::MemoryKindJs>, "memoryKind"));
  exports.Set("directIoInfo", Napi::Function::New(env, s3dlio::Guarded<s3dlio::DirectIoInfo>, "directIoInfo"));
  exports.Set("crc32c", Napi::Function::New(env, s3dlio::Guarded<s3dlio::Crc32cJs>, "crc32c"));
  exports.Set("crc32cAsync", Napi::Function::New(env, s3dlio::Guarded<s3dlio::Crc32cAsyncJs>, "crc32cAsync"));
  exports.Set("generateData", Napi::Function::New(env, s3dlio::Guarded<s3dlio::GenerateData>, "generateData"));
  exports.Set("fillData", Napi::Function::New(env, s3dlio::Guarded<s3dlio::FillData>, "fillData"));
  exports.Set("crc32cPortable", Napi::Function::New(env, s3dlio::Guarded<s3dlio::Crc32cPortableJs>, "crc32cPortable"));
  return exports;
}

}  // namespace

NODE_API_MODULE(s3dlio, Init)
