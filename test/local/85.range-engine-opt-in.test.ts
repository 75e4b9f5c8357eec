/**
 * Local stores run the RangeEngine only when asked (rangeThreshold set): byte-identical results
 * for sizes around the threshold and chunk edges, on file:// and direct://.
 */
import { constants as bufferConstants } from 'buffer';
import { truncateSync, writeFileSync } from 'fs';

import { storeFor } from '../../lib';
import { SCHEMES, expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();
const KiB = 1024;

describe.each(SCHEMES)('%s://', (scheme) => {
  const store = storeFor(`${scheme}:///`);
  test.each([0, 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 300 * KiB + 7])(
    'get of %i bytes through the engine is byte-identical',
    async (size) => {
      const file = `${tmp.path}/${scheme}-${size}.bin`;
      writeFileSync(file, testBytes(size, size + 11));
      const bytes = await store.get(`${scheme}://${file}`, {
        rangeThreshold: 64 * KiB,
        chunkSize: 16 * KiB,
        concurrency: 4,
      });
      expectSameBytes(bytes, testBytes(size, size + 11));
    },
  );

  test('an object larger than one buffer can hold is ERR_OBJECT_TOO_LARGE, pointing at getStream, before allocating', async () => {
    // A sparse file: one byte past the largest buffer, with no disk space used.
    const file = `${tmp.path}/${scheme}-huge.bin`;
    writeFileSync(file, '');
    truncateSync(file, bufferConstants.MAX_LENGTH + 1);
    const error = await rejectionOf(store.get(`${scheme}://${file}`, { rangeThreshold: 64 * KiB }));
    expect(error).toMatchObject({ code: 'ERR_OBJECT_TOO_LARGE', operation: 'get', uri: `${scheme}://${file}` });
    expect(error.message).toContain(`${bufferConstants.MAX_LENGTH + 1} bytes do not fit in one buffer`);
    expect(error.message).toContain('getStream');
  });

  test('a missing object is ERR_NOT_FOUND through the engine too', async () => {
    await expect(store.get(`${scheme}://${tmp.path}/missing.bin`, { rangeThreshold: 1024 })).rejects.toMatchObject({
      code: 'ERR_NOT_FOUND',
    });
  });
});
