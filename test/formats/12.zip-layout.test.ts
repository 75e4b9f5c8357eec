/**
 * The ZIP container byte by byte: what encodeZip writes, read back field by field as APPNOTE 6.3
 * lays it out (little-endian), and what readZip makes of archives other tools write: extra fields
 * and comments, the longest archive comment, other disks, sizes that disagree, a deflate stream
 * longer than it claims.
 */
import { crc32, deflateRawSync } from 'zlib';

import { encodeZip, readZip } from '../../lib/formats/zip';
import { thrownBy } from '../helpers/local';
import { CENTRAL, END, extraField, handMadeZip, LOCAL } from '../helpers/zip';

function le(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

describe('what encodeZip writes, field by field', () => {
  const data = Uint8Array.from({ length: 100 }, (_, i) => (i * 7 + 3) & 0xff);

  test('local header, central header and end record are little-endian, with the CRC-32 in both headers', () => {
    const archive = encodeZip([{ name: 'a.bin', data }], { align: 64 });
    const v = le(archive);
    expect(v.getUint32(0, true)).toBe(LOCAL);
    expect(v.getUint16(4, true)).toBe(20); // version needed: 2.0
    expect(v.getUint16(6, true)).toBe(0); // flags: ASCII name
    expect(v.getUint16(8, true)).toBe(0); // stored
    expect(v.getUint16(10, true)).toBe(0); // time 00:00
    expect(v.getUint16(12, true)).toBe((1 << 5) | 1); // date 1980-01-01
    expect(v.getUint32(14, true)).toBe(crc32(data));
    expect(v.getUint32(18, true)).toBe(100);
    expect(v.getUint32(22, true)).toBe(100);
    expect(v.getUint16(26, true)).toBe(5);
    const padding = v.getUint16(28, true);
    const dataStart = 30 + 5 + padding;
    expect(dataStart % 64).toBe(0);
    expect(archive.subarray(dataStart, dataStart + 100)).toEqual(data);

    const centralAt = dataStart + 100;
    expect(v.getUint32(centralAt, true)).toBe(CENTRAL);
    expect(v.getUint16(centralAt + 4, true)).toBe(20);
    expect(v.getUint16(centralAt + 6, true)).toBe(20);
    expect(v.getUint16(centralAt + 8, true)).toBe(0);
    expect(v.getUint16(centralAt + 10, true)).toBe(0);
    expect(v.getUint16(centralAt + 12, true)).toBe(0);
    expect(v.getUint16(centralAt + 14, true)).toBe((1 << 5) | 1);
    expect(v.getUint32(centralAt + 16, true)).toBe(crc32(data));
    expect(v.getUint32(centralAt + 20, true)).toBe(100);
    expect(v.getUint32(centralAt + 24, true)).toBe(100);
    expect(v.getUint16(centralAt + 28, true)).toBe(5);
    expect(v.getUint32(centralAt + 42, true)).toBe(0);
    expect(Buffer.from(archive.subarray(centralAt + 46, centralAt + 51)).toString()).toBe('a.bin');

    const endAt = centralAt + 46 + 5;
    expect(archive.byteLength).toBe(endAt + 22);
    expect(v.getUint32(endAt, true)).toBe(END);
    expect(v.getUint16(endAt + 8, true)).toBe(1);
    expect(v.getUint16(endAt + 10, true)).toBe(1);
    expect(v.getUint32(endAt + 12, true)).toBe(51);
    expect(v.getUint32(endAt + 16, true)).toBe(centralAt);
  });

  test('the alignment padding is an extra field 0xD935 holding the alignment, which readers skip', () => {
    const archive = encodeZip([{ name: 'n', data }], { align: 4096 });
    const v = le(archive);
    const padding = v.getUint16(28, true);
    expect((30 + 1 + padding) % 4096).toBe(0);
    expect(v.getUint16(31, true)).toBe(0xd935);
    expect(v.getUint16(33, true)).toBe(padding - 4);
    expect(v.getUint16(35, true)).toBe(4096);
    expect(readZip(archive)[0].data).toEqual(data);
  });

  test('a chunked entry has the CRC-32 of all its chunks, empty chunks included', () => {
    const archive = encodeZip([{ name: 'c', data: [data.subarray(0, 10), new Uint8Array(0), data.subarray(10)] }]);
    expect(le(archive).getUint32(14, true)).toBe(crc32(data));
    expect(readZip(archive)[0]).toMatchObject({ crc32: crc32(data), data });
  });

  test('non-ASCII names set the UTF-8 flag (bit 11) in both headers', () => {
    const archive = encodeZip([{ name: 'données é', data }], { align: 1 });
    const v = le(archive);
    const nameLength = v.getUint16(26, true);
    expect(v.getUint16(6, true)).toBe(0x0800);
    expect(v.getUint16(30 + nameLength + 100 + 8, true)).toBe(0x0800);
    expect(readZip(archive)[0].name).toBe('données é');
  });

  test('align: 1 and 4096 are accepted, 0, 8192, 3, 1.5 and "64" are not', () => {
    expect(readZip(encodeZip([{ name: 'x', data }], { align: 1 }))[0].data).toEqual(data);
    expect(le(encodeZip([{ name: 'x', data }], { align: 1 })).getUint16(28, true)).toBe(0);
    for (const align of [0, 8192, 3, 1.5, '64']) {
      expect(thrownBy(() => encodeZip([{ name: 'x', data }], { align: align as number }))).toMatchObject({
        code: 'ERR_INVALID_ARG_VALUE',
        message: expect.stringContaining('options.align'),
      });
    }
  });

  test('a name of 65,535 UTF-8 bytes is accepted, 65,536 bytes is not', () => {
    const longest = 'n'.repeat(0xffff);
    expect(readZip(encodeZip([{ name: longest, data }]))[0].name).toBe(longest);
    expect(thrownBy(() => encodeZip([{ name: `${longest}n`, data }]))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringContaining('entries[0].name'),
    });
    // Bytes, not characters: 32,768 two-byte characters are 65,536 bytes.
    expect(thrownBy(() => encodeZip([{ name: 'é'.repeat(0x8000), data }]))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
  });

  test('data under 4 GiB whose central directory takes the archive past 4 GiB is refused before copying', () => {
    // Views of one lazily zeroed buffer: nothing is touched unless the archive is built.
    const chunk = new Uint8Array(1024 ** 3);
    const name = 'x'.repeat(1000);
    // Local header + name + data end 500 bytes before the limit; the central entry needs 1,046.
    const size = 0xfffffffe - 500 - 30 - 1000;
    const data4 = [chunk, chunk, chunk, chunk.subarray(0, size - 3 * 1024 ** 3)];
    expect(thrownBy(() => encodeZip([{ name, data: data4 }], { align: 1 }))).toMatchObject({
      code: 'ERR_OBJECT_TOO_LARGE',
      operation: 'encodeZip',
    });
  });

  test('data given in chunks must all be byte views: one that is not is named', () => {
    for (const chunks of [
      [data, 'text'],
      ['text', data],
      [data, [data]],
    ]) {
      expect(thrownBy(() => encodeZip([{ name: 'x', data: chunks as never }]))).toMatchObject({
        code: 'ERR_INVALID_ARG_TYPE',
        message: expect.stringContaining('entries[0].data'),
      });
    }
    expect(
      readZip(encodeZip([{ name: 'x', data: [data, new DataView(data.buffer, 0, 4)] as never }]))[0].data.byteLength,
    ).toBe(104);
  });

  test('readZip options are checked by name', () => {
    expect(thrownBy(() => readZip(encodeZip([]), { verify: 'no' as never }))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('options.verify'),
    });
  });

  test('errors name the operation and the argument', () => {
    expect(thrownBy(() => encodeZip([], { algin: 64 } as never))).toMatchObject({
      message: expect.stringContaining('encodeZip'),
    });
    expect(thrownBy(() => readZip(new Uint8Array(30)))).toMatchObject({ code: 'ERR_BAD_FORMAT', operation: 'readZip' });
    expect(thrownBy(() => readZip(42 as never))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('bytes'),
    });
  });
});

describe('what readZip takes from other writers', () => {
  const text = new TextEncoder().encode('hello, archive');

  test('central extra fields and entry comments are skipped to reach the next entry', () => {
    const archive = handMadeZip([
      {
        name: 'first.txt',
        stored: text,
        localExtra: extraField(0x5455, Uint8Array.of(1, 0, 0, 0, 0)),
        centralExtra: extraField(0x5455, Uint8Array.of(1, 0, 0, 0, 0)),
        comment: new TextEncoder().encode('a comment'),
      },
      { name: 'second.txt', stored: text.subarray(0, 5), comment: Uint8Array.of(0x41) },
      {
        name: 'third.txt',
        stored: text.subarray(7),
        centralExtra: extraField(0x7875, Uint8Array.of(1, 4, 0, 0, 0, 0)),
      },
    ]);
    expect(readZip(archive).map((e) => [e.name, Buffer.from(e.data).toString()])).toEqual([
      ['first.txt', 'hello, archive'],
      ['second.txt', 'hello'],
      ['third.txt', 'archive'],
    ]);
  });

  test('the end record is found at offset 0 (an empty archive) and behind the longest comment', () => {
    expect(readZip(encodeZip([]))).toEqual([]);
    expect(encodeZip([]).byteLength).toBe(22);
    const longest = handMadeZip([{ name: 'a', stored: text }], new Uint8Array(0xffff).fill(0x2e));
    expect(readZip(longest).map((e) => e.name)).toEqual(['a']);
    const almost = handMadeZip([{ name: 'a', stored: text }], new Uint8Array(0xffff - 40).fill(0x2e));
    expect(readZip(almost).map((e) => e.name)).toEqual(['a']);
  });

  test('no end record is ERR_BAD_FORMAT, never a RangeError, whatever the length', () => {
    for (const length of [0, 21, 22, 23, 100, 70_000]) {
      expect(thrownBy(() => readZip(new Uint8Array(length).fill(0x50)))).toMatchObject({ code: 'ERR_BAD_FORMAT' });
    }
  });

  test('an archive on another disk, in either disk field, is refused', () => {
    for (const field of [4, 6]) {
      const archive = handMadeZip([{ name: 'a', stored: text }]);
      le(archive).setUint16(archive.byteLength - 22 + field, 1, true);
      expect(thrownBy(() => readZip(archive))).toMatchObject({
        code: 'ERR_BAD_FORMAT',
        message: expect.stringContaining('multi-disk'),
      });
    }
  });

  test('a stored entry whose two sizes differ is refused, even without verification', () => {
    const archive = handMadeZip([{ name: 'a', stored: text, size: text.length - 1 }]);
    expect(thrownBy(() => readZip(archive, { verify: false }))).toMatchObject({
      code: 'ERR_BAD_FORMAT',
      message: expect.stringContaining('sizes differ'),
    });
  });

  test('a deflate stream longer than its declared size stops inflating at that size', () => {
    const raw = new Uint8Array(1 << 20).fill(7);
    const archive = handMadeZip([
      { name: 'bomb', stored: deflateRawSync(raw), method: 8, size: 1000, crc: crc32(raw) },
    ]);
    const error = thrownBy(() => readZip(archive)) as Error & { code?: string; cause?: { code?: string } };
    expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT' });
    expect(error.cause?.code).toBe('ERR_BUFFER_TOO_LARGE');
  });

  test('a deflated entry reads back, and its CRC-32 is checked unless verify is false', () => {
    const archive = handMadeZip([
      { name: 'd', stored: deflateRawSync(text), method: 8, size: text.length, crc: crc32(text) },
    ]);
    expect(readZip(archive)[0]).toMatchObject({ method: 'deflated', data: new Uint8Array(text) });
    const wrong = handMadeZip([{ name: 'd', stored: deflateRawSync(text), method: 8, size: text.length, crc: 1 }]);
    expect(thrownBy(() => readZip(wrong))).toMatchObject({ code: 'ERR_CHECKSUM_MISMATCH' });
    expect(readZip(wrong, { verify: false })[0].crc32).toBe(1);
  });
});
