#include "crc32c.h"

#include <array>
#include <cstring>

#include "args.h"
#include "async_job.h"
#include "job_memory.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <nmmintrin.h>
#define S3DLIO_CRC32C_X86 1
#define S3DLIO_CRC32C_TARGET __attribute__((target("sse4.2")))
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#define S3DLIO_CRC32C_ARM 1
#endif
#ifndef S3DLIO_CRC32C_TARGET
#define S3DLIO_CRC32C_TARGET
#endif

namespace s3dlio {

namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // reflected Castagnoli polynomial

// Slicing-by-8 tables for the portable path.
struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  Tables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t crc = i;
      for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (kPolynomial & (0u - (crc & 1u)));
      t[0][i] = crc;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
    }
  }
};

const Tables& tables() {
  static const Tables instance;
  return instance;
}

uint32_t Software(uint32_t crc, const uint8_t* data, size_t length) {
  const auto& t = tables().t;
  while (length >= 8) {
    uint32_t low;
    uint32_t high;
    std::memcpy(&low, data, 4);
    std::memcpy(&high, data + 4, 4);
    low ^= crc;  // little-endian hosts; big-endian ones take the byte loop below
    crc = t[7][low & 0xFF] ^ t[6][(low >> 8) & 0xFF] ^ t[5][(low >> 16) & 0xFF] ^ t[4][low >> 24] ^
          t[3][high & 0xFF] ^ t[2][(high >> 8) & 0xFF] ^ t[1][(high >> 16) & 0xFF] ^ t[0][high >> 24];
    data += 8;
    length -= 8;
  }
  while (length-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *data++) & 0xFF];
  return crc;
}

// Multiplication modulo the polynomial, in the reflected bit order the CRC register uses.
uint32_t MultiplyModP(uint32_t a, uint32_t b) {
  uint32_t product = 0;
  for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
    if ((a & bit) != 0) product ^= b;
    b = (b & 1u) != 0 ? (b >> 1) ^ kPolynomial : b >> 1;
  }
  return product;
}

// x^(8 * bytes) modulo the polynomial: the factor that moves a CRC register over `bytes` zero bytes.
uint32_t ShiftFactor(size_t bytes) {
  uint32_t power = 1u << 30;    // x^1
  uint32_t result = 1u << 31;   // x^0
  for (uint64_t exponent = static_cast<uint64_t>(bytes) * 8; exponent != 0; exponent >>= 1) {
    if ((exponent & 1u) != 0) result = MultiplyModP(power, result);
    power = MultiplyModP(power, power);
  }
  return result;
}

// The hardware instruction has a latency of three cycles and a throughput of one: three
// independent streams over adjacent blocks keep it busy, and the register algebra
// (crc(A || B) = crc(A) * x^(8|B|) + crc_0(B)) joins them.
constexpr size_t kStreamBlock = 8192;

template <typename Step>
S3DLIO_CRC32C_TARGET uint32_t ThreeStreams(uint32_t crc, const uint8_t* data, size_t length, Step step) {
  static const uint32_t shift = ShiftFactor(kStreamBlock);
  while (length >= 3 * kStreamBlock) {
    uint64_t c0 = crc, c1 = 0, c2 = 0;
    for (size_t at = 0; at < kStreamBlock; at += 8) {
      uint64_t w0, w1, w2;
      std::memcpy(&w0, data + at, 8);
      std::memcpy(&w1, data + kStreamBlock + at, 8);
      std::memcpy(&w2, data + 2 * kStreamBlock + at, 8);
      c0 = step(c0, w0);
      c1 = step(c1, w1);
      c2 = step(c2, w2);
    }
    crc = MultiplyModP(shift, static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
    crc = MultiplyModP(shift, crc) ^ static_cast<uint32_t>(c2);
    data += 3 * kStreamBlock;
    length -= 3 * kStreamBlock;
  }
  uint64_t c = crc;
  for (; length >= 8; data += 8, length -= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    c = step(c, word);
  }
  crc = static_cast<uint32_t>(c);
  while (length-- > 0) crc = step(crc, *data++, 1);
  return crc;
}

#if defined(S3DLIO_CRC32C_X86)
struct X86Step {
  __attribute__((target("sse4.2"))) uint64_t operator()(uint64_t crc, uint64_t word) const {
    return _mm_crc32_u64(crc, word);
  }
  __attribute__((target("sse4.2"))) uint32_t operator()(uint32_t crc, uint8_t byte, int) const {
    return _mm_crc32_u8(crc, byte);
  }
};

__attribute__((target("sse4.2"))) uint32_t Hardware(uint32_t crc, const uint8_t* data, size_t length) {
  return ThreeStreams(crc, data, length, X86Step{});
}

bool DetectHardware() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & bit_SSE4_2) != 0;
}
#elif defined(S3DLIO_CRC32C_ARM)
struct ArmStep {
  uint64_t operator()(uint64_t crc, uint64_t word) const { return __crc32cd(static_cast<uint32_t>(crc), word); }
  uint32_t operator()(uint32_t crc, uint8_t byte, int) const { return __crc32cb(crc, byte); }
};

uint32_t Hardware(uint32_t crc, const uint8_t* data, size_t length) { return ThreeStreams(crc, data, length, ArmStep{}); }

bool DetectHardware() { return true; }  // compiled only when the target has the CRC extension
#else
uint32_t Hardware(uint32_t crc, const uint8_t* data, size_t length) { return Software(crc, data, length); }
bool DetectHardware() { return false; }
#endif

bool LittleEndian() {
  const uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

uint32_t Portable(uint32_t crc, const uint8_t* data, size_t length) {
  crc = ~crc;
  if (LittleEndian()) {
    crc = Software(crc, data, length);
  } else {
    const auto& t = tables().t;
    while (length-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *data++) & 0xFF];
  }
  return ~crc;
}

}  // namespace

bool Crc32cHardware() {
  static const bool available = DetectHardware();
  return available;
}

uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t length) {
  if (!Crc32cHardware()) return Portable(crc, data, length);
  return ~Hardware(~crc, data, length);
}

namespace {

// crc32c(data, seed) and crc32cPortable(data, seed): synchronous, so the bytes cannot change
// owner during the call; a view over a detached buffer is refused rather than read as empty.
Napi::Value Crc32cCall(const Napi::CallbackInfo& info, const char* name,
                       uint32_t (*compute)(uint32_t, const uint8_t*, size_t)) {
  Args args(info, name);
  Napi::Uint8Array data;
  int64_t seed = 0;
  ViewInfo view;
  if (!args.Count(2, 2) || !args.Bytes(0, "data", &data) || !args.Integer(1, "seed", 0, UINT32_MAX, &seed) ||
      !InspectView(info.Env(), data, &view)) {
    return {};
  }
  if (view.detached) {
    ThrowDetached(info.Env(), "data");
    return {};
  }
  return Napi::Number::New(info.Env(), compute(static_cast<uint32_t>(seed), view.data, view.length));
}

// The checksum of bytes a job reads in place (addon or shared memory) or from a copy.
struct Crc32cJob {
  JobBytes bytes;
  uint32_t seed = 0;
  uint32_t crc = 0;
  NativeError error;

  void Execute() { crc = Crc32c(seed, bytes.data, bytes.length); }
  Napi::Value Result(Napi::Env env) { return Napi::Number::New(env, crc); }
};

}  // namespace

Napi::Value Crc32cJs(const Napi::CallbackInfo& info) { return Crc32cCall(info, "crc32c", Crc32c); }

Napi::Value Crc32cPortableJs(const Napi::CallbackInfo& info) {
  return Crc32cCall(info, "crc32cPortable", Portable);
}

Napi::Value Crc32cAsyncJs(const Napi::CallbackInfo& info) {
  Args args(info, "crc32cAsync");
  Napi::Uint8Array data;
  int64_t seed = 0;
  Crc32cJob job;
  if (!args.Count(2, 2) || !args.Bytes(0, "data", &data) || !args.Integer(1, "seed", 0, UINT32_MAX, &seed) ||
      !PrepareInput(info.Env(), data, "data", &job.bytes)) {
    return {};
  }
  job.seed = static_cast<uint32_t>(seed);
  return QueueJob(info.Env(), std::move(job), {info[0]});
}

}  // namespace s3dlio
