// Synthetic data at memory speed for storage benchmarks: controllable dedup and compression
// ratios, reproducible from a seed, generated on native threads.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace s3dlio {

struct DataGenSpec {
  uint64_t seed = 0;
  double dedup = 1.0;        // total blocks / unique blocks
  double compress = 1.0;     // target compression ratio (1 = incompressible)
  uint64_t total_size = 0;   // size of the whole logical stream (for the dedup pattern)
  uint64_t start_offset = 0; // where this buffer starts in that stream (multiple of the block)
  unsigned threads = 1;
};

constexpr size_t kDataGenBlock = 4096;

// Fills `length` bytes at `out` as the bytes [start_offset, start_offset + length) of the stream.
void GenerateInto(const DataGenSpec& spec, uint8_t* out, size_t length);

// generateData(size, options) -> Promise<ArrayBuffer>
Napi::Value GenerateData(const Napi::CallbackInfo& info);
// fillData(target: Uint8Array, options) -> Promise<undefined>
Napi::Value FillData(const Napi::CallbackInfo& info);

}  // namespace s3dlio
