/**
 * Where a reader says the damage is: a record read through an index names its offset and the
 * argument at fault; a damaged array in an .npz names a byte of the archive when the member is
 * stored, and a byte of the inflated member when it is deflated (there is no archive byte to name).
 */
import { crc32, deflateRawSync } from 'zlib';

import { encodeNpy, encodeNpz, encodeTfRecords, formatTfRecordIndex, readNpz, readTfRecordAt } from '../../lib';
import { encodeZip, readZip } from '../../lib/formats/zip';
import { thrownBy } from '../helpers/local';
import { handMadeZip } from '../helpers/zip';

describe('readTfRecordAt', () => {
  const { data: bytes, index } = encodeTfRecords([Uint8Array.of(1, 2, 3), new Uint8Array(0), Uint8Array.of(4)]);

  test('reads each record of the index, the empty one included', () => {
    expect(index.map((entry) => [...readTfRecordAt(bytes, entry.offset)])).toEqual([[1, 2, 3], [], [4]]);
  });

  test('a header of exactly 12 bytes is complete: what is missing is the data CRC', () => {
    const emptyRecord = bytes.subarray(index[1]!.offset, index[1]!.offset + 12);
    const error = thrownBy(() => readTfRecordAt(emptyRecord, 0));
    expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT', operation: 'readTfRecordAt' });
    expect(error.message).not.toContain('record header');
    expect(thrownBy(() => readTfRecordAt(emptyRecord.subarray(0, 11), 0)).message).toContain('record header');
  });

  test('a damaged record names its offset; wrong arguments are named', () => {
    const damaged = Uint8Array.from(bytes);
    damaged[index[2]!.offset + 12] ^= 0xff;
    expect(thrownBy(() => readTfRecordAt(damaged, index[2]!.offset))).toMatchObject({
      code: 'ERR_CHECKSUM_MISMATCH',
      message: expect.stringContaining(`record at byte offset ${index[2]!.offset}`),
    });
    expect(thrownBy(() => readTfRecordAt(42 as never, 0))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('bytes'),
    });
    expect(thrownBy(() => readTfRecordAt(bytes, -1))).toMatchObject({ message: expect.stringContaining('offset') });
    expect(thrownBy(() => readTfRecordAt(bytes, 0, { verify: 'yes' as never }))).toMatchObject({
      message: expect.stringContaining('options.verify'),
    });
    expect(thrownBy(() => formatTfRecordIndex('0 16' as never))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('index'),
    });
  });
});

describe('readNpz', () => {
  const npy = encodeNpy(Float32Array.of(1, 2, 3, 4));
  // Damage inside the header dict: "'descr':" loses its colon, which the parser reports by position.
  const broken = Uint8Array.from(npy);
  broken[Buffer.from(broken).indexOf("'descr':") + 7] = '='.charCodeAt(0);

  test('a stored member: the error names a byte of the archive', () => {
    const archive = encodeZip([{ name: 'a.npy', data: broken }]);
    const memberAt = readZip(archive, { verify: false })[0]!.data.byteOffset;
    expect(thrownBy(() => readNpz(archive))).toMatchObject({
      code: 'ERR_BAD_FORMAT',
      message: expect.stringMatching(/^readNpz "a": .*byte \d+ of the archive/),
    });
    const message = thrownBy(() => readNpz(archive)).message;
    const offset = Number(/byte (\d+) of the archive/.exec(message)![1]);
    expect(offset).toBeGreaterThanOrEqual(memberAt);
    expect(offset).toBeLessThan(memberAt + 128);
    // The same archive inside a larger buffer: offsets still count from the archive's start.
    const larger = new Uint8Array(archive.byteLength + 100);
    larger.set(archive, 100);
    const inner = thrownBy(() => readNpz(larger.subarray(100))).message;
    expect(inner).toBe(message);
  });

  test('a deflated member: the error names a byte of the inflated member', () => {
    const archive = handMadeZip([
      { name: 'a.npy', stored: deflateRawSync(broken), method: 8, size: broken.length, crc: crc32(broken) },
    ]);
    expect(thrownBy(() => readNpz(archive))).toMatchObject({
      code: 'ERR_BAD_FORMAT',
      message: expect.stringMatching(/^readNpz "a": .*byte \d+ of the inflated member/),
    });
    // And the same array, undamaged, reads back from a deflated member.
    expect(readNpz(encodeNpz({ a: Float32Array.of(1, 2, 3, 4) })).get('a')!.data).toEqual(Float32Array.of(1, 2, 3, 4));
  });

  test('a member that is not an .npy is refused by readNpz', () => {
    expect(thrownBy(() => readNpz(encodeZip([{ name: 'notes.txt', data: Uint8Array.of(1) }])))).toMatchObject({
      code: 'ERR_BAD_FORMAT',
      operation: 'readNpz',
      message: expect.stringContaining('notes.txt'),
    });
  });
});
