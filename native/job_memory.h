// The rule of the native boundary: a job never touches memory that can vanish while it runs.
// A JS ArrayBuffer can be detached at any time (structuredClone/postMessage transfer,
// ArrayBuffer.prototype.transfer, WebAssembly.Memory.grow) and its memory freed when the new owner
// is collected; holding a reference to the old object does not prevent that. So a job may use:
//   - addon memory (external ArrayBuffers this addon created: reads, allocAligned, generateData):
//     every allocation is shared between a registry entry, dropped by the ArrayBuffer's finalizer
//     whatever object owns it by then, and each job using it: it lives until the last user ends;
//   - SharedArrayBuffer memory, which cannot be detached (the job keeps the view referenced);
//   - anything else only as a copy made on the main thread before the job is queued.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "aligned_memory.h"

namespace s3dlio {

enum class MemoryKind { kForeign, kAddon, kShared };

// Hands `memory` to the registry (one share) and returns the address it is known by.
void RegisterAllocation(std::shared_ptr<AlignedMemory> memory);
// Drops the registry's share of the allocation at `data` (the ArrayBuffer finalizer).
void ReleaseAllocation(void* data);
// A share of the addon allocation holding [data, data + length), or nullptr when none does.
std::shared_ptr<const AlignedMemory> PinAllocation(const void* data, size_t length);

// Where a Uint8Array's bytes are, at the moment of the call.
struct ViewInfo {
  uint8_t* data = nullptr;
  size_t length = 0;
  bool shared = false;    // over a SharedArrayBuffer
  bool detached = false;  // over a detached ArrayBuffer
};
bool InspectView(Napi::Env env, napi_value view, ViewInfo* out);

// Throws an Error with code ENOMEM (errno, syscall) for an allocation of `bytes` that failed.
bool ThrowOutOfMemory(Napi::Env env, size_t bytes);

// Throws the JS error for a view over a detached buffer (code ERR_BUFFER_DETACHED); returns false.
bool ThrowDetached(Napi::Env env, const char* name);

// Bytes a job reads off the main thread: pinned addon memory (no copy), SharedArrayBuffer memory
// (no copy; the caller keeps the view referenced), or a copy of anything else made right now.
struct JobBytes {
  uint8_t* data = nullptr;
  size_t length = 0;
  MemoryKind kind = MemoryKind::kForeign;
  std::shared_ptr<const AlignedMemory> owner;  // the pinned allocation or the copy
};
// False, with a JS exception pending, for a detached buffer or when the copy cannot be allocated.
bool PrepareInput(Napi::Env env, const Napi::Uint8Array& view, const char* name, JobBytes* out);
// Like PrepareInput for memory a job writes into: no copy is made for foreign memory
// (out->owner is empty; the job writes elsewhere and copies in on the main thread).
bool PrepareOutput(Napi::Env env, const Napi::Uint8Array& view, const char* name, JobBytes* out);

// memoryKind(view: Uint8Array) -> 'addon' | 'shared' | 'foreign' (lib/native.ts decides on it
// whether a large input is copied part by part).
Napi::Value MemoryKindJs(const Napi::CallbackInfo& info);

}  // namespace s3dlio
