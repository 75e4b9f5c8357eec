// Blocking file I/O on threads of the addon's own, apart from libuv's pool (4 threads unless
// UV_THREADPOOL_SIZE says otherwise, shared with DNS, crypto and zlib): single reads then scale
// with what the device can take in parallel, not with an environment variable.
//
// One pool per process, shared by every Node environment (worker threads included): at most
// `IoPoolMaxThreads()` threads, started as work arrives and kept afterwards. Each job's result
// goes back to the environment that queued it through that environment's IoPort, which keeps the
// event loop alive while jobs are pending.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
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

// A finished job, waiting to be completed on its environment's main thread.
class IoDone {
 public:
  virtual ~IoDone() = default;
  virtual void Complete(Napi::Env env) = 0;
};

// The way back to one environment's main thread (a libuv async handle on its loop). Pool threads
// hold it by shared_ptr and post under its lock. The environment's teardown waits until no job of
// its own still runs (a job may touch its memory: a target, a cancel flag), then closes the handle;
// results that arrive after teardown began are dropped.
class IoPort {
 public:
  // The port of `env`, created at its first job.
  static std::shared_ptr<IoPort> For(Napi::Env env);
  // Main thread: a job of this environment is queued (the loop stays alive while any is).
  void Started();
  // Any thread: `done` is finished; its completion runs on the main thread (or is dropped).
  void Post(IoDone* done);
  // Any thread: the environment is being torn down (a worker thread ending). Its promises can no
  // longer be settled, so a job that has not started is not run: the teardown waits for it.
  bool Closing() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
  friend struct State;
};

// A job's state while it runs on the pool: the same contract as PromiseWorker (Execute off the
// main thread, Result on it), completed through the environment's IoPort.
template <typename Job>
class IoTask : public IoDone {
 public:
  IoTask(Napi::Env env, Job job) : deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)) {}

  void KeepAlive(const Napi::Value& value) {
    if (value.IsObject()) keep_alive_.push_back(Napi::Persistent(value.As<Napi::Object>()));
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() { ExecuteJob(job_); }

  void Complete(Napi::Env env) override { SettleJob(env, deferred_, job_); }

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
  std::shared_ptr<IoPort> port = IoPort::For(env);
  port->Started();
  IoPoolSubmit([task, port]() {
    if (!port->Closing()) task->Execute();
    port->Post(task);
  });
  return promise;
}

}  // namespace s3dlio
