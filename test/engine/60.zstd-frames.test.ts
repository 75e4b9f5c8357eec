/**
 * The multi-frame .zst the writers make is read back frame by frame; anything else a reader could
 * be handed (a cut file, junk, a frame that hides its size, skippable frames) is ERR_BAD_FORMAT or
 * read right, never a short or garbled buffer.
 */
import { execFileSync } from 'child_process';
import { writeFileSync } from 'fs';
import * as path from 'path';

import { storeFor } from '../../lib';
import { runNodeScript } from '../helpers/child';
import { decompressFrames } from '../../lib/engine/zstd';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { testWith } from '../helpers/tools';

const tmp = useTempDir('s3dlio-zstd-');
const store = storeFor('mem://');
beforeAll(() => store.createBucket('mem://zstd/'));

async function compressed(bytes: Uint8Array, partSize: number): Promise<Uint8Array> {
  const uri = `mem://zstd/${partSize}-${bytes.byteLength}`;
  const writer = store.createWriter(uri, { compression: 'zstd', partSize });
  await writer.write(bytes);
  const { uri: written } = await writer.close();
  return store.get(written);
}

test.each([
  ['empty', 0],
  ['one small frame', 100],
  ['several frames, the last one short', 3 * 65536 + 17],
])('%s: the bytes come back exactly', async (_label, size) => {
  const bytes = testBytes(size, 3);
  expectSameBytes(await decompressFrames(await compressed(bytes, 65536), 'mem://x', 'test'), bytes);
});

test('zeros (RLE blocks) and a skippable frame between frames', async () => {
  const zeros = new Uint8Array(200_000);
  const zst = await compressed(zeros, 65536);
  const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3]);
  expectSameBytes(await decompressFrames(Buffer.concat([skippable, zst, skippable]), 'mem://x', 'test'), zeros);
});

test.each([
  ['cut in the middle', (zst: Uint8Array) => zst.subarray(0, zst.byteLength - 7)],
  ['junk after the frames', (zst: Uint8Array) => Buffer.concat([zst, Buffer.from('junk')])],
  ['not zstd at all', () => Buffer.from('plain text, no frame here')],
  // Byte 5 is the first byte of the frame's declared size (a 4-byte FCS field for 64 KiB frames).
  ['a frame whose declared size is wrong', (zst: Uint8Array) => Buffer.from(zst).fill(0x01, 5, 6)],
])('%s: ERR_BAD_FORMAT naming the object', async (_label, damage) => {
  const zst = await compressed(testBytes(150_000, 4), 65536);
  const error = await rejectionOf(decompressFrames(damage(zst), 'mem://b/shard.bin.zst', 'readShard'));
  expect(error).toMatchObject({ code: 'ERR_BAD_FORMAT', uri: 'mem://b/shard.bin.zst', operation: 'readShard' });
});

testWith(['zstd'], 'zstd -d reads what the writer makes; what zstd makes of a file reads the same', async () => {
  const bytes = testBytes(300_000, 5);
  const zst = await compressed(bytes, 65536);
  expectSameBytes(execFileSync('zstd', ['-d', '-c'], { input: zst }), bytes);
  const file = path.join(tmp.path, 'input.bin');
  writeFileSync(file, bytes);
  expectSameBytes(await decompressFrames(execFileSync('zstd', ['-c', '-3', file]), 'mem://x', 'test'), bytes);
  // From a pipe zstd cannot know the size, so its frame does not declare one: its blocks bound it.
  for (const input of [bytes, testBytes(3_000_000, 6), Buffer.alloc(1_000_000, 'abc')]) {
    const piped = execFileSync('zstd', ['-c', '-3'], { input, maxBuffer: 64 << 20 });
    expectSameBytes(await decompressFrames(piped, 'mem://x', 'test'), input);
    expectSameBytes(
      await decompressFrames(Buffer.concat([piped, piped]), 'mem://x', 'test'),
      Buffer.concat([input, input]),
    );
  }
});

describe('compression runs on a thread of its own', () => {
  test("the caller's event loop turns while a part is compressed (level 19: half a second a part)", async () => {
    const partSize = 8 * 1024 * 1024;
    const bytes = testBytes(partSize, 5);
    // The codec loaded first (its start is asynchronous wherever it runs).
    await compressed(testBytes(1000, 6), 65536);
    const writer = store.createWriter('mem://zstd/off-thread', { compression: 'zstd', compressionLevel: 19, partSize });
    let done = false;
    const writing = (async () => {
      await writer.write(bytes);
      const result = await writer.close();
      done = true;
      return result;
    })();
    // On the caller's thread the compression would run between two turns: one turn, then done.
    let turns = 0;
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      turns++;
    }
    const { uri } = await writing;
    expect(turns).toBeGreaterThan(10);
    expectSameBytes(await decompressFrames(await store.get(uri), uri, 'test'), bytes);
  });

  test('a process that wrote compressed objects exits on its own: the idle thread holds nothing open', async () => {
    const child = await runNodeScript(
      `const s = require(LIB);
       (async () => {
         const writer = s.storeFor(ARGS.uri).createWriter(ARGS.uri, { compression: 'zstd', partSize: 1 << 20 });
         await writer.write(new Uint8Array(3 << 20).fill(7));
         console.log(JSON.stringify(await writer.close()));
       })();`,
      { uri: `file://${tmp.path}/exits.bin` },
      [],
      { killAfterMs: 60_000 },
    );
    expect(child).toMatchObject({ code: 0, signal: null });
    expect(JSON.parse(child.stdout)).toMatchObject({ uri: `file://${tmp.path}/exits.bin.zst` });
  });
});
