#include "crc32c.h"

#include <array>
#include <cstring>

#include "args.h"
#include "job_memory.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <nmmintrin.h>
#define S3DLIO_CRC32C_X86 1
#endif
#if defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>
#define S3DLIO_CRC32C_ARM 1
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

#if defined(S3DLIO_CRC32C_X86)
__attribute__((target("sse4.2"))) uint32_t Hardware(uint32_t crc, const uint8_t* data, size_t length) {
  uint64_t crc64 = crc;
  while (length >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    crc64 = _mm_crc32_u64(crc64, word);
    data += 8;
    length -= 8;
  }
  uint32_t crc32 = static_cast<uint32_t>(crc64);
  while (length-- > 0) crc32 = _mm_crc32_u8(crc32, *data++);
  return crc32;
}

bool DetectHardware() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & bit_SSE4_2) != 0;
}
#elif defined(S3DLIO_CRC32C_ARM)
uint32_t Hardware(uint32_t crc, const uint8_t* data, size_t length) {
  while (length >= 8) {
    uint64_t word;
    std::memcpy(&word, data, 8);
    crc = __crc32cd(crc, word);
    data += 8;
    length -= 8;
  }
  while (length-- > 0) crc = __crc32cb(crc, *data++);
  return crc;
}

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

}  // namespace

Napi::Value Crc32cJs(const Napi::CallbackInfo& info) { return Crc32cCall(info, "crc32c", Crc32c); }

Napi::Value Crc32cPortableJs(const Napi::CallbackInfo& info) {
  return Crc32cCall(info, "crc32cPortable", Portable);
}

}  // namespace s3dlio
