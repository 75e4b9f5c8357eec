// CRC32C (Castagnoli), the checksum of GCS, S3 (x-amz-checksum-crc32c), iSCSI and TFRecord.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>

namespace s3dlio {

// CRC32C of `data`, continuing from `crc` (the CRC of what came before; 0 to start).
uint32_t Crc32c(uint32_t crc, const uint8_t* data, size_t length);

// Whether the hardware instruction (SSE4.2 / ARMv8 CRC) is used on this CPU.
bool Crc32cHardware();

// crc32c(data: Uint8Array, seed: number) -> number
Napi::Value Crc32cJs(const Napi::CallbackInfo& info);
// crc32cAsync(data: Uint8Array, seed: number) -> Promise<number>, computed on the libuv pool: in
// place for addon and shared memory, from a copy made now for any other memory.
Napi::Value Crc32cAsyncJs(const Napi::CallbackInfo& info);
// The same on the portable (table) path, whatever the CPU: lets tests cross-check both paths.
Napi::Value Crc32cPortableJs(const Napi::CallbackInfo& info);

}  // namespace s3dlio
