// Blocking file I/O on threads of the addon's own, apart from libuv's pool (4 threads unless
// UV_THREADPOOL_SIZE says otherwise, shared with DNS, crypto and zlib): single reads then scale
// with what the device can take in parallel, not with an environment variable.
//
// One pool per process, shared by every Node environment (worker threads included): at most
// `MaxThreads()` threads, started as work arrives and kept afterwards. Each job's result goes back
// to the environment that queued it through that environment's thread-safe function, which keeps
// the event loop alive while jobs are pending.
#pragma once

#include <napi.h>

#include <functional>
#include <utility>
#include <vector>

#include "async_job.h"
#include "errors.h"

namespace s3dlio {

// Threads the pool may start: S3DLIO_IO_THREADS (1..256) when set, else 32.
unsigned IoPoolMaxThreads();
// Threads started so far (for tests and benchmarks).
unsigned IoPoolThreads();
// Runs `task` on a pool thread.
void IoPoolSubmit(std::function<void()> task);

// The per-environment way back to the main thread (defined in io_pool.cc).
class IoCompletions {
 public:
  static IoCompletions& For(Napi::Env env);
  // Called on the main thread before a job is submitted / when its completion has run.
  void Started(Napi::Env env);
  void Finished(Napi::Env env);
  Napi::ThreadSafeFunction& function() { return function_; }

 private:
  Napi::ThreadSafeFunction function_;
  size_t pending_ = 0;
};

// A job's state while it runs on the pool: the same contract as PromiseWorker (Execute off the
// main thread, Result on it), completed through the environment's IoCompletions.
template <typename Job>
class IoTask {
 public:
  IoTask(Napi::Env env, Job job) : deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)) {}

  void KeepAlive(const Napi::Value& value) {
    if (value.IsObject()) keep_alive_.push_back(Napi::Persistent(value.As<Napi::Object>()));
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() {
    NativeError thrown = CatchNative([&] { job_.Execute(); });
    if (!thrown.ok()) job_.error = std::move(thrown);
  }

  void Complete(Napi::Env env) {
    Napi::HandleScope scope(env);
    if (!job_.error.ok()) {
      deferred_.Reject(ToJsError(env, job_.error).Value());
      return;
    }
    Napi::Value result;
    NativeError thrown = CatchNative([&] { result = job_.Result(env); });
    if (!thrown.ok()) {
      deferred_.Reject(ToJsError(env, thrown).Value());
    } else if (env.IsExceptionPending()) {
      deferred_.Reject(env.GetAndClearPendingException().Value());
    } else {
      deferred_.Resolve(result);
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  Job job_;
  std::vector<Napi::ObjectReference> keep_alive_;
};

// Queues `job` on the I/O pool; `keep_alive` values stay referenced until it completes.
template <typename Job>
Napi::Promise QueueIoJob(Napi::Env env, Job job, std::initializer_list<Napi::Value> keep_alive = {}) {
  auto* task = new IoTask<Job>(env, std::move(job));
  for (const Napi::Value& value : keep_alive) task->KeepAlive(value);
  Napi::Promise promise = task->Promise();
  IoCompletions& completions = IoCompletions::For(env);
  completions.Started(env);
  // Each job holds the function until it has called it: it cannot be finalized under a job.
  Napi::ThreadSafeFunction function = completions.function();
  function.Acquire();
  IoPoolSubmit([task, function]() mutable {
    task->Execute();
    napi_status status = function.NonBlockingCall(task, [](Napi::Env env, Napi::Function, IoTask<Job>* done) {
      done->Complete(env);
      delete done;
      IoCompletions::For(env).Finished(env);
    });
    // The environment is gone (napi_closing): nothing is left to resolve. The task's references
    // belong to that environment and cannot be released from here; its memory is left behind.
    (void)status;
    function.Release();
  });
  return promise;
}

}  // namespace s3dlio
