/**
 * crc32c(): known vectors, chaining, the hardware and portable paths agreeing (on short inputs and
 * around the blocks the hardware path splits into three streams), the background form on every
 * kind of memory, argument checks.
 */
import { createHash, randomBytes } from 'crypto';

import { buildInfo, crc32c, generateData } from '../../lib';
import { crc32cInBackground } from '../../lib/checksum';
import { crc32cPortable, memoryKind } from '../../lib/native';

test('known vectors (RFC 3720 and the classic check value)', () => {
  expect(crc32c('123456789')).toBe(0xe3069283);
  expect(crc32c(new Uint8Array(0))).toBe(0);
  expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i))).toBe(0x46dd794e);
  expect(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i))).toBe(0x113fdb5c);
});

test('chaining: crc32c(b, crc32c(a)) === crc32c(a + b), for any split', () => {
  const data = randomBytes(10_000);
  const whole = crc32c(data);
  for (const split of [0, 1, 7, 8, 9, 4095, 4096, 9999, 10_000]) {
    expect(crc32c(data.subarray(split), crc32c(data.subarray(0, split)))).toBe(whole);
  }
});

test('the hardware and portable paths agree on every length and alignment 0–300', () => {
  const data = randomBytes(400);
  for (let offset = 0; offset < 9; offset++) {
    for (let length = 0; length <= 300; length++) {
      const view = data.subarray(offset, offset + length);
      expect(crc32c(view, 12345)).toBe(crc32cPortable(view, 12345));
    }
  }
  expect(typeof buildInfo().crc32cHardware).toBe('boolean');
});

test('the hardware and portable paths agree around the three-stream blocks (24 KiB) and chain across them', () => {
  const block = 3 * 8192;
  const data = randomBytes(4 * block + 64);
  for (const length of [block - 1, block, block + 1, block + 8, 2 * block - 3, 2 * block, 3 * block + 17, 4 * block]) {
    for (const offset of [0, 1, 5]) {
      const view = data.subarray(offset, offset + length);
      expect(crc32c(view, 7)).toBe(crc32cPortable(view, 7));
      const split = Math.floor(length / 3);
      expect(crc32c(view.subarray(split), crc32c(view.subarray(0, split), 7))).toBe(crc32c(view, 7));
    }
  }
});

test('crc32cInBackground gives crc32c of addon, shared and ordinary memory, large and small', async () => {
  const addon = await generateData(3 << 20, { seed: 9 });
  expect(memoryKind(addon)).toBe('addon');
  const shared = new Uint8Array(new SharedArrayBuffer(addon.byteLength));
  shared.set(addon);
  const ordinary = Uint8Array.from(addon);
  const expected = crc32cPortable(addon, 0);
  for (const view of [addon, shared, ordinary]) await expect(crc32cInBackground(view)).resolves.toBe(expected);
  const odd = addon.subarray(3, addon.byteLength - 5);
  await expect(crc32cInBackground(odd)).resolves.toBe(crc32cPortable(odd, 0));
  await expect(crc32cInBackground(addon.subarray(0, 100))).resolves.toBe(crc32cPortable(addon.subarray(0, 100), 0));
});

test('crc32cInBackground refuses a detached buffer', async () => {
  const bytes = new Uint8Array(2 << 20);
  structuredClone(bytes.buffer, { transfer: [bytes.buffer] });
  await expect(crc32cInBackground(bytes)).rejects.toMatchObject({ code: 'ERR_BUFFER_DETACHED' });
});

test('accepts strings, ArrayBuffers and any view, and is not a hash of something else', () => {
  const bytes = Buffer.from('héllo');
  expect(crc32c('héllo')).toBe(crc32c(bytes));
  expect(crc32c(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))).toBe(crc32c(bytes));
  expect(crc32c(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength))).toBe(crc32c(bytes));
  expect(crc32c('héllo')).not.toBe(parseInt(createHash('md5').update('héllo').digest('hex').slice(0, 8), 16));
});

test('bad arguments are precise TypeErrors/RangeErrors', () => {
  expect(() => crc32c(42 as unknown as string)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
  expect(() => crc32c('x', -1)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  expect(() => crc32c('x', 2 ** 32)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
  expect(() => crc32c('x', '1' as unknown as number)).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
  );
});
