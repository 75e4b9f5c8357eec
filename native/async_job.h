// One unit of native work = one Napi::AsyncWorker resolving a Promise. A job is a plain struct:
//   void Execute();                          // runs on the libuv pool, no V8 access
//   Napi::Value Result(Napi::Env env);       // runs on the main thread
//   NativeError error;                       // set by Execute on failure
#pragma once

#include <napi.h>

#include <atomic>
#include <utility>
#include <vector>

#include "errors.h"

namespace s3dlio {

// Cooperative cancellation: JS owns an Int32Array over a SharedArrayBuffer and stores 1 into it
// when the AbortSignal fires; workers poll it between chunks.
class CancelFlag {
 public:
  CancelFlag() = default;
  // Over the first element of an Int32Array whose memory cannot go away while a job runs (a
  // SharedArrayBuffer the job keeps referenced): Args::Cancel checks that.
  static CancelFlag Over(int32_t* data) {
    CancelFlag flag;
    flag.flag_ = reinterpret_cast<std::atomic<int32_t>*>(data);
    return flag;
  }

  bool requested() const {
    return flag_ != nullptr && flag_->load(std::memory_order_relaxed) != 0;
  }

 private:
  std::atomic<int32_t>* flag_ = nullptr;
};

inline NativeError Cancelled(const std::string& path) {
  NativeError error = NativeError::Custom("ECANCELED", "operation cancelled", path);
  error.errnum = ECANCELED;
  return error;
}

// Runs a job's Execute off the main thread: a C++ exception becomes the job's error.
template <typename Job>
void ExecuteJob(Job& job) {
  NativeError thrown = CatchNative([&] { job.Execute(); });
  if (!thrown.ok()) job.error = std::move(thrown);
}

// On the main thread: settles `deferred` with the job's result, or rejects it with its error.
template <typename Job>
void SettleJob(Napi::Env env, Napi::Promise::Deferred& deferred, Job& job) {
  Napi::HandleScope scope(env);
  if (!job.error.ok()) {
    deferred.Reject(ToJsError(env, job.error).Value());
    return;
  }
  Napi::Value result;
  NativeError thrown = CatchNative([&] { result = job.Result(env); });
  if (!thrown.ok()) {
    deferred.Reject(ToJsError(env, thrown).Value());
  } else if (env.IsExceptionPending()) {
    deferred.Reject(env.GetAndClearPendingException().Value());
  } else if (result.IsEmpty()) {
    // No value could be made: V8 is out of memory, or the environment can no longer run JS (a
    // worker being terminated; there, every call below fails quietly and the promise goes with it).
    deferred.Reject(ToJsError(env, NativeError::Custom("ENOMEM", "the result could not be handed to JavaScript", "")).Value());
  } else {
    deferred.Resolve(result);
  }
}

template <typename Job>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, Job job)
      : Napi::AsyncWorker(env, "s3dlio"),
        deferred_(Napi::Promise::Deferred::New(env)),
        job_(std::move(job)) {}

  // Keeps a JS value (input buffer, cancel flag) alive until the job has finished.
  void KeepAlive(const Napi::Value& value) {
    if (value.IsObject()) keep_alive_.push_back(Napi::Persistent(value.As<Napi::Object>()));
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { ExecuteJob(job_); }

  void OnOK() override { SettleJob(Env(), deferred_, job_); }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Job job_;
  std::vector<Napi::ObjectReference> keep_alive_;
};

// Runs an exported function so that no C++ exception (std::bad_alloc from a huge input, ...)
// reaches node-addon-api, which is built without exception support and would terminate: it
// becomes a JS error (ENOMEM for bad_alloc, ERR_NATIVE otherwise).
template <Napi::Value (*Function)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  Napi::Value result;
  NativeError thrown = CatchNative([&] { result = Function(info); });
  if (thrown.ok()) return result;
  if (!info.Env().IsExceptionPending()) ToJsError(info.Env(), thrown).ThrowAsJavaScriptException();
  return {};
}

// Queues `job` on the libuv pool; `keep_alive` values stay referenced until it completes.
template <typename Job>
Napi::Promise QueueJob(Napi::Env env, Job job, std::initializer_list<Napi::Value> keep_alive = {}) {
  auto* worker = new PromiseWorker<Job>(env, std::move(job));
  for (const Napi::Value& value : keep_alive) worker->KeepAlive(value);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace s3dlio
