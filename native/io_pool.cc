// The addon's I/O thread pool (see io_pool.h).
#include "io_pool.h"

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

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

Pool& ThePool() {
  static Pool* pool = new Pool();
  return *pool;
}

void Noop(const Napi::CallbackInfo&) {}

}  // namespace

unsigned IoPoolMaxThreads() { return ThePool().max_threads(); }

unsigned IoPoolThreads() { return ThePool().threads(); }

void IoPoolSubmit(std::function<void()> task) { ThePool().Submit(std::move(task)); }

IoCompletions& IoCompletions::For(Napi::Env env) {
  IoCompletions* completions = env.GetInstanceData<IoCompletions>();
  if (completions == nullptr) {
    completions = new IoCompletions();
    completions->function_ =
        Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, Noop, "s3dlioIoDone"), "s3dlio-io", 0, 1);
    // Idle, it must not keep the process alive; Started() refs it while jobs are pending.
    completions->function_.Unref(env);
    env.SetInstanceData<IoCompletions>(completions);
  }
  return *completions;
}

void IoCompletions::Started(Napi::Env env) {
  if (pending_++ == 0) function_.Ref(env);
}

void IoCompletions::Finished(Napi::Env env) {
  if (--pending_ == 0) function_.Unref(env);
}

}  // namespace s3dlio
