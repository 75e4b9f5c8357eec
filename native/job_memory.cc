#include "job_memory.h"

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

#include "args.h"

namespace s3dlio {

namespace {

// Live addon allocations by start address. Entries are added when an external ArrayBuffer is
// created and removed by its finalizer; jobs copy the shared_ptr, so an allocation a job uses is
// freed by whichever of the two lets go last.
struct Registry {
  std::mutex mutex;
  std::map<uintptr_t, std::shared_ptr<const AlignedMemory>> live;
};

Registry& registry() {
  static Registry* instance = new Registry();  // never destroyed: finalizers may run at exit
  return *instance;
}

}  // namespace

bool ThrowOutOfMemory(Napi::Env env, size_t bytes) {
  Napi::Error error = Napi::Error::New(env, "cannot allocate " + std::to_string(bytes) + " bytes");
  error.Set("code", "ENOMEM");
  error.Set("errno", static_cast<double>(ENOMEM));
  error.Set("syscall", "posix_memalign");
  error.ThrowAsJavaScriptException();
  return false;
}

void RegisterAllocation(std::shared_ptr<AlignedMemory> memory) {
  Registry& r = registry();
  const auto key = reinterpret_cast<uintptr_t>(memory->data());
  std::lock_guard<std::mutex> lock(r.mutex);
  r.live[key] = std::move(memory);
}

void ReleaseAllocation(void* data) {
  std::shared_ptr<const AlignedMemory> last;  // freed outside the lock
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto found = r.live.find(reinterpret_cast<uintptr_t>(data));
  if (found == r.live.end()) return;
  last = std::move(found->second);
  r.live.erase(found);
}

std::shared_ptr<const AlignedMemory> PinAllocation(const void* data, size_t length) {
  const auto address = reinterpret_cast<uintptr_t>(data);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto next = r.live.upper_bound(address);
  if (next == r.live.begin()) return nullptr;
  const auto& [start, memory] = *std::prev(next);
  if (address - start > memory->size() || length > memory->size() - (address - start)) return nullptr;
  return memory;
}

bool InspectView(Napi::Env env, napi_value view, ViewInfo* out) {
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value buffer;
  bool plain = true;
  if (napi_get_typedarray_info(env, view, &type, &length, &data, &buffer, nullptr) != napi_ok ||
      napi_is_arraybuffer(env, buffer, &plain) != napi_ok) {
    Napi::Error::New(env, "cannot inspect a typed array").ThrowAsJavaScriptException();
    return false;
  }
  bool detached = false;
  if (plain && napi_is_detached_arraybuffer(env, buffer, &detached) != napi_ok) {
    Napi::Error::New(env, "cannot inspect an ArrayBuffer").ThrowAsJavaScriptException();
    return false;
  }
  out->data = static_cast<uint8_t*>(data);
  out->length = detached ? 0 : length;  // Uint8Array: elements are bytes
  out->shared = !plain;
  out->detached = detached;
  return true;
}

bool ThrowDetached(Napi::Env env, const char* name) {
  Napi::Error error = Napi::Error::New(
      env, std::string("the ArrayBuffer of `") + name + "` is detached (it was transferred)");
  error.Set("code", "ERR_BUFFER_DETACHED");
  error.ThrowAsJavaScriptException();
  return false;
}

namespace {

// The shared part of PrepareInput/PrepareOutput; false when the caller must handle foreign memory.
bool ResolveInPlace(Napi::Env env, const Napi::Uint8Array& view, const char* name, JobBytes* out,
                    bool* ok) {
  ViewInfo info;
  *ok = InspectView(env, view, &info) && (!info.detached || ThrowDetached(env, name));
  if (!*ok) return true;
  out->data = info.data;
  out->length = info.length;
  out->owner.reset();
  if (info.shared) {
    out->kind = MemoryKind::kShared;
    return true;
  }
  if (info.length == 0) {
    out->kind = MemoryKind::kForeign;  // nothing to touch
    out->data = nullptr;
    return true;
  }
  out->owner = PinAllocation(info.data, info.length);
  out->kind = out->owner ? MemoryKind::kAddon : MemoryKind::kForeign;
  return out->owner != nullptr;
}

}  // namespace

bool PrepareInput(Napi::Env env, const Napi::Uint8Array& view, const char* name, JobBytes* out) {
  bool ok = true;
  if (ResolveInPlace(env, view, name, out, &ok)) return ok;
  // Foreign memory: copied now, on the main thread, into memory only this job owns (aligned, so
  // an O_DIRECT write needs no bounce buffer).
  auto copy = std::make_shared<AlignedMemory>(AlignedMemory::Allocate(out->length, 4096));
  if (!*copy) return ThrowOutOfMemory(env, out->length);
  std::memcpy(copy->data(), out->data, out->length);
  out->data = copy->data();
  out->owner = std::move(copy);
  return true;
}

bool PrepareOutput(Napi::Env env, const Napi::Uint8Array& view, const char* name, JobBytes* out) {
  bool ok = true;
  ResolveInPlace(env, view, name, out, &ok);
  return ok;
}

Napi::Value MemoryKindJs(const Napi::CallbackInfo& info) {
  Args args(info, "memoryKind");
  Napi::Uint8Array view;
  if (!args.Count(1, 1) || !args.Bytes(0, "view", &view)) return {};
  ViewInfo inspected;
  if (!InspectView(info.Env(), view, &inspected)) return {};
  const char* kind = "foreign";
  if (inspected.shared) kind = "shared";
  else if (!inspected.detached && inspected.length > 0 && PinAllocation(inspected.data, inspected.length)) kind = "addon";
  return Napi::String::New(info.Env(), kind);
}

}  // namespace s3dlio
