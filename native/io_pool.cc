// The addon's I/O thread pool (see io_pool.h).
#include "io_pool.h"

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include <uv.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace s3dlio {

namespace {

constexpr unsigned kDefaultThreads = 32;
constexpr unsigned kMostThreads = 256;

unsigned ThreadsFromEnvironment() {
  const char* text = std::getenv("S3DLIO_IO_THREADS");
  if (text == nullptr || *text == '\0') return kDefaultThreads;
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  // A value out of range is clamped, not ignored: the JS side validates and reports it first.
  if (end == text || *end != '\0') return kDefaultThreads;
  if (value < 1) return 1;
  return value > static_cast<long>(kMostThreads) ? kMostThreads : static_cast<unsigned>(value);
}

// Never destroyed: its threads are detached and may still wait on it while the process exits.
class Pool {
 public:
  Pool() : max_threads_(ThreadsFromEnvironment()) {}

  void Submit(std::function<void()> task) {
    std::unique_lock<std::mutex> lock(mutex_);
    queue_.push_back(std::move(task));
    // A new thread only when none is idle to take the task, up to the limit.
    if (idle_ < queue_.size() && threads_ < max_threads_) {
      threads_++;
      std::thread([this] { Run(); }).detach();
    }
    lock.unlock();
    ready_.notify_one();
  }

  unsigned max_threads() const { return max_threads_; }

  unsigned threads() {
    std::lock_guard<std::mutex> lock(mutex_);
    return threads_;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      idle_++;
      ready_.wait(lock, [this] { return !queue_.empty(); });
      idle_--;
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  const unsigned max_threads_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  unsigned threads_ = 0;
  size_t idle_ = 0;
};

// The pool's threads run this library's code for as long as the process lives, but an
// environment that loaded the addon unloads it when it goes (a worker thread ending): if it was
// the only one, the code would be unmapped under the threads. So the library pins itself in
// memory before the first thread starts.
void PinLibrary() {
#ifdef _WIN32
  HMODULE module = nullptr;
  GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                     reinterpret_cast<LPCWSTR>(&PinLibrary), &module);
#else
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&PinLibrary), &info) != 0 && info.dli_fname != nullptr) {
    // A second reference that is never released: RTLD_NODELETE keeps it mapped even so.
    dlopen(info.dli_fname, RTLD_LAZY | RTLD_NODELETE);
  }
#endif
}

Pool& ThePool() {
  static Pool* pool = [] {
    PinLibrary();
    return new Pool();
  }();
  return *pool;
}

}  // namespace

unsigned IoPoolMaxThreads() { return ThePool().max_threads(); }

unsigned IoPoolThreads() { return ThePool().threads(); }

void IoPoolSubmit(std::function<void()> task) { ThePool().Submit(std::move(task)); }

struct IoPort::State {
  napi_env env = nullptr;
  napi_async_context context = nullptr;
  // A function that does nothing: calling it tells whether JS can still run (not in teardown).
  napi_ref noop = nullptr;
  std::mutex mutex;
  uv_async_t* async = nullptr;
  std::vector<IoDone*> done;
  // Jobs queued and not completed (the loop stays alive while there are any).
  size_t pending = 0;
  // Jobs a pool thread has not finished: they may still touch this environment's memory (a
  // target, a cancel flag), so its teardown waits for them.
  size_t running = 0;
  // The environment is being torn down: results are dropped; the handle closes once none runs.
  bool closing = false;
  bool close_started = false;
};

namespace {

// Instance data whose memory Teardown frees (after the handle it refers to is closed).
void KeepHolder(Napi::Env, struct PortHolder*) {}

// What an environment keeps of its port: the port, and the hook that closes it at teardown.
struct PortHolder {
  std::shared_ptr<IoPort> port;
  std::shared_ptr<IoPort::State> state;
  napi_async_cleanup_hook_handle hook = nullptr;
};

// On the main thread: complete what pool threads have posted, microtasks running after them.
void CloseHandle(PortHolder* holder);

void Deliver(uv_async_t* async) {
  auto* holder = static_cast<PortHolder*>(async->data);
  IoPort::State& state = *holder->state;
  std::vector<IoDone*> done;
  {
    std::lock_guard<std::mutex> lock(state.mutex);
    done.swap(state.done);
    if (state.closing) {
      // Results nobody will take: their promises go with the environment.
      for (IoDone* item : done) delete item;
      // Teardown waits for the last running job: this is its signal.
      bool finish = state.running == 0 && !state.close_started;
      state.close_started = state.close_started || finish;
      if (finish) CloseHandle(holder);
      return;
    }
  }
  if (done.empty()) return;
  state.pending -= done.size();
  if (state.pending == 0) uv_unref(reinterpret_cast<uv_handle_t*>(async));
  Napi::Env env(state.env);
  Napi::HandleScope handles(env);
  // An environment being torn down (a worker terminated) still runs its handles once, but can no
  // longer run JS: its promises are gone with it, so the results are dropped.
  napi_value noop = nullptr;
  napi_value receiver = nullptr;
  napi_value ignored = nullptr;
  napi_get_reference_value(state.env, state.noop, &noop);
  napi_get_undefined(state.env, &receiver);
  if (noop == nullptr || napi_call_function(state.env, receiver, noop, 0, nullptr, &ignored) != napi_ok) {
    for (IoDone* item : done) delete item;
    return;
  }
  napi_value resource = nullptr;
  napi_create_object(state.env, &resource);
  napi_callback_scope scope = nullptr;
  napi_open_callback_scope(state.env, resource, state.context, &scope);
  for (IoDone* item : done) {
    item->Complete(env);
    delete item;
  }
  if (scope != nullptr) napi_close_callback_scope(state.env, scope);
}

// Closes the handle; once closed, teardown may go on (the hook is removed) and the holder goes.
void CloseHandle(PortHolder* holder) {
  uv_close(reinterpret_cast<uv_handle_t*>(holder->state->async), [](uv_handle_t* handle) {
    auto* closed = static_cast<PortHolder*>(handle->data);
    napi_remove_async_cleanup_hook(closed->hook);
    delete closed;
    delete reinterpret_cast<uv_async_t*>(handle);
  });
}

// Environment teardown (an async cleanup hook: the environment waits until it is removed). Jobs
// still running on pool threads may touch its memory: the handle closes once the last has ended.
void Teardown(napi_async_cleanup_hook_handle hook, void* data) {
  auto* holder = static_cast<PortHolder*>(data);
  IoPort::State& state = *holder->state;
  holder->hook = hook;
  if (state.context != nullptr) napi_async_destroy(state.env, state.context);
  if (state.noop != nullptr) napi_delete_reference(state.env, state.noop);
  std::lock_guard<std::mutex> lock(state.mutex);
  state.closing = true;
  // Finished jobs nobody will complete: their promises go with the environment.
  for (IoDone* item : state.done) delete item;
  state.done.clear();
  // Keep the loop waiting for the last running job's signal.
  uv_ref(reinterpret_cast<uv_handle_t*>(state.async));
  if (state.running == 0) {
    state.close_started = true;
    CloseHandle(holder);
  }
}

}  // namespace

std::shared_ptr<IoPort> IoPort::For(Napi::Env env) {
  auto* holder = env.GetInstanceData<PortHolder>();
  if (holder != nullptr) return holder->port;
  holder = new PortHolder();
  holder->port = std::shared_ptr<IoPort>(new IoPort());
  holder->state = std::make_shared<State>();
  holder->port->state_ = holder->state;
  State& state = *holder->state;
  state.env = env;
  napi_async_init(env, Napi::Object::New(env), Napi::String::New(env, "s3dlio-io"), &state.context);
  napi_create_reference(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}, "s3dlioIoProbe"), 1,
                        &state.noop);
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  state.async = new uv_async_t();
  uv_async_init(loop, state.async, Deliver);
  state.async->data = holder;
  // Idle, it must not keep the process alive; Started() refs it while jobs are pending.
  uv_unref(reinterpret_cast<uv_handle_t*>(state.async));
  napi_add_async_cleanup_hook(env, Teardown, holder, nullptr);
  // The holder is freed by Teardown (not as instance data: the handle must be closed first).
  env.SetInstanceData<PortHolder, KeepHolder>(holder);
  return holder->port;
}

bool IoPort::Closing() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->closing;
}

void IoPort::Started() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->running++;
  if (state_->pending++ == 0) uv_ref(reinterpret_cast<uv_handle_t*>(state_->async));
}

void IoPort::Post(IoDone* done) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->running--;
  // Also while the environment is going: its main thread frees the job (its references are
  // the environment's), and the last one tells the teardown it may close the handle.
  state_->done.push_back(done);
  uv_async_send(state_->async);
}

}  // namespace s3dlio
