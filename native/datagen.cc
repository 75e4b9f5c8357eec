#include "datagen.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <thread>
#include <vector>

#include "aligned_memory.h"
#include "args.h"
#include "async_job.h"
#include "job_memory.h"

namespace s3dlio {

namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// xoshiro256++: fast, statistically strong, 8 bytes per step.
struct Xoshiro256 {
  uint64_t s[4];
  explicit Xoshiro256(uint64_t seed) {
    for (uint64_t& word : s) word = SplitMix64(seed);
  }
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t Next() {
    const uint64_t result = Rotl(s[0] + s[3], 23) + s[0];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = Rotl(s[3], 45);
    return result;
  }
};

struct Layout {
  uint64_t unique_blocks;
  size_t random_bytes;  // per block: the rest of the block is zeros (what makes it compressible)
};

Layout LayoutOf(const DataGenSpec& spec) {
  const uint64_t total_blocks = std::max<uint64_t>(1, (spec.total_size + kDataGenBlock - 1) / kDataGenBlock);
  const double dedup = std::max(1.0, spec.dedup);
  const double compress = std::max(1.0, spec.compress);
  Layout layout;
  layout.unique_blocks = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(total_blocks / dedup)));
  layout.random_bytes = std::max<size_t>(8, static_cast<size_t>(std::llround(kDataGenBlock / compress)));
  layout.random_bytes = std::min(layout.random_bytes, kDataGenBlock);
  return layout;
}

// Writes stream block `block` (all of it) into `out` (kDataGenBlock bytes).
void FillBlock(const DataGenSpec& spec, const Layout& layout, uint64_t block, uint8_t* out) {
  // Blocks that share an index modulo unique_blocks are identical: that is the dedup ratio.
  const uint64_t unique = block % layout.unique_blocks;
  Xoshiro256 rng(spec.seed ^ (unique * 0xD1B54A32D192ED03ull));
  size_t done = 0;
  for (; done + 8 <= layout.random_bytes; done += 8) {
    const uint64_t word = rng.Next();
    std::memcpy(out + done, &word, 8);
  }
  if (done < layout.random_bytes) {
    const uint64_t word = rng.Next();
    std::memcpy(out + done, &word, layout.random_bytes - done);
  }
  std::memset(out + layout.random_bytes, 0, kDataGenBlock - layout.random_bytes);
}

}  // namespace

void GenerateInto(const DataGenSpec& spec, uint8_t* out, size_t length) {
  const Layout layout = LayoutOf(spec);
  const uint64_t first_block = spec.start_offset / kDataGenBlock;
  const uint64_t blocks = (length + kDataGenBlock - 1) / kDataGenBlock;
  auto work = [&](uint64_t from, uint64_t to) {
    uint8_t scratch[kDataGenBlock];
    for (uint64_t index = from; index < to; ++index) {
      const size_t offset = static_cast<size_t>(index * kDataGenBlock);
      const size_t size = std::min(kDataGenBlock, length - offset);
      if (size == kDataGenBlock) {
        FillBlock(spec, layout, first_block + index, out + offset);
      } else {
        FillBlock(spec, layout, first_block + index, scratch);  // the short last block
        std::memcpy(out + offset, scratch, size);
      }
    }
  };
  const unsigned threads = std::max(1u, std::min<unsigned>(spec.threads, static_cast<unsigned>(std::max<uint64_t>(1, blocks / 256))));
  std::vector<std::thread> pool;
  const uint64_t per_thread = (blocks + threads - 1) / threads;
  for (unsigned t = 1; t < threads; ++t) {
    const uint64_t from = t * per_thread;
    if (from >= blocks) break;
    try {
      pool.emplace_back(work, from, std::min(blocks, from + per_thread));
    } catch (const std::exception&) {
      work(from, std::min(blocks, from + per_thread));  // no thread: do it here
    }
  }
  work(0, std::min(blocks, per_thread));
  for (std::thread& thread : pool) thread.join();
}

namespace {

bool SpecFromJs(const Napi::Object& options, DataGenSpec* spec) {
  Options fields(options, "options");
  int64_t seed_high = 0;
  int64_t seed_low = 0;
  int64_t total_size = 0;
  int64_t start_offset = 0;
  int64_t threads = 1;
  if (!fields.Integer("seedHigh", 0, UINT32_MAX, &seed_high) || !fields.Integer("seedLow", 0, UINT32_MAX, &seed_low) ||
      !fields.Number("dedup", 1, 1e15, &spec->dedup) || !fields.Number("compress", 1, 1e15, &spec->compress) ||
      !fields.Integer("totalSize", 0, kMaxSafeInteger, &total_size) ||
      !fields.Integer("startOffset", 0, kMaxSafeInteger, &start_offset) ||
      !fields.Integer("threads", 1, kMaxThreads, &threads)) {
    return false;
  }
  if (start_offset % static_cast<int64_t>(kDataGenBlock) != 0) {
    return ThrowInvalidRange(options.Env(), "ERR_INVALID_ARG_VALUE", "options.startOffset",
                             "a multiple of 4096", Napi::Number::New(options.Env(), static_cast<double>(start_offset)));
  }
  spec->seed = static_cast<uint64_t>(seed_high) << 32 | static_cast<uint64_t>(seed_low);
  spec->total_size = static_cast<uint64_t>(total_size);
  spec->start_offset = static_cast<uint64_t>(start_offset);
  spec->threads = static_cast<unsigned>(threads);
  return true;
}

struct GenerateJob {
  DataGenSpec spec;
  size_t size = 0;
  AlignedMemory memory;
  NativeError error;

  void Execute() {
    memory = AlignedMemory::Allocate(size, 4096);
    if (!memory) {
      error = NativeError::FromErrno(ENOMEM, "posix_memalign", "");
      return;
    }
    GenerateInto(spec, memory.data(), size);
  }
  Napi::Value Result(Napi::Env env) { return ToArrayBuffer(env, std::move(memory), size); }
};

// Fills addon or SharedArrayBuffer memory in place. Any other target is generated into memory of
// the job's own and copied in on the main thread, if the target is still the same memory then.
struct FillJob {
  DataGenSpec spec;
  JobBytes target;
  Napi::ObjectReference view;  // the target view, to find its memory again on the main thread
  AlignedMemory scratch;       // foreign targets only
  NativeError error;

  bool in_place() const { return target.kind != MemoryKind::kForeign; }

  void Execute() {
    if (in_place()) {
      GenerateInto(spec, target.data, target.length);
      return;
    }
    scratch = AlignedMemory::Allocate(target.length, 4096);
    if (!scratch) {
      error = NativeError::FromErrno(ENOMEM, "posix_memalign", "");
      return;
    }
    GenerateInto(spec, scratch.data(), target.length);
  }

  Napi::Value Result(Napi::Env env) {
    if (in_place() || target.length == 0) return env.Undefined();
    ViewInfo now;
    if (!InspectView(env, view.Value(), &now)) return {};
    // Detached, or resized, while the job ran: its memory is not the memory that was filled.
    if (now.detached || now.data != target.data || now.length != target.length) {
      ThrowDetached(env, "target");
      return {};
    }
    std::memcpy(now.data, scratch.data(), target.length);
    return env.Undefined();
  }
};

}  // namespace

// generateData(size, options) -> Promise<ArrayBuffer>
Napi::Value GenerateData(const Napi::CallbackInfo& info) {
  Args args(info, "generateData");
  GenerateJob job;
  int64_t size = 0;
  Napi::Object options;
  if (!args.Count(2, 2) || !args.Integer(0, "size", 0, kMaxSafeInteger, &size) ||
      !args.Object(1, "options", &options) || !SpecFromJs(options, &job.spec)) {
    return {};
  }
  job.size = static_cast<size_t>(size);
  return QueueJob(info.Env(), std::move(job));
}

// fillData(target: Uint8Array, options) -> Promise<undefined>
Napi::Value FillData(const Napi::CallbackInfo& info) {
  Args args(info, "fillData");
  FillJob job;
  Napi::Uint8Array target;
  Napi::Object options;
  if (!args.Count(2, 2) || !args.Bytes(0, "target", &target) || !args.Object(1, "options", &options) ||
      !SpecFromJs(options, &job.spec) || !PrepareOutput(info.Env(), target, "target", &job.target)) {
    return {};
  }
  job.view = Napi::Persistent(target.As<Napi::Object>());
  // The target stays referenced until the job is done (SharedArrayBuffer memory is used in place).
  return QueueJob(info.Env(), std::move(job), {info[0]});
}

}  // namespace s3dlio
