/**
 * CheckpointStore on every backend, one process: save and load byte for byte, the layout on
 * storage, latest, list, retention, delete, corrupt and missing pieces, racing savers, bad input.
 */
import { Readable } from 'stream';

import { CheckpointStore, crc32c } from '../../lib';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { newBucketName } from '../cloud/targets';
import { storeTargets } from '../contract/targets';

const TS = /^\d{8}-\d{6}$/;

describe.each(storeTargets())('%s: checkpoints', (_name, target) => {
  const store = target.store();
  const bucket = target.bucketUri(newBucketName('ck'));
  let serial = 0;
  /** A fresh base for each test; ts given explicitly where a test saves twice in one second. */
  const freshBase = (): string => `${bucket}run-${++serial}/`;
  const options = { store, worldSize: 1, rank: 0, pollIntervalMs: 20 };

  beforeAll(() => store.createBucket(bucket));
  afterAll(() => store.deleteBucket(bucket, { force: true }));

  test('save then loadLatest: the same bytes, checked, in the layout s3dlio reads', async () => {
    const base = freshBase();
    const checkpoints = new CheckpointStore(base, options);
    const bytes = testBytes(300_000, 1);
    const result = await checkpoints.save(7, bytes, { epoch: 2, framework: 'torch', userMeta: { lr: 0.1 } });
    expect(result).toMatchObject({ step: 7, rank: 0, shard: { rank: 0, size: bytes.byteLength } });
    expect(result.ts).toMatch(TS);
    expect(result.checkpoint).toMatchObject({ step: 7, status: 'complete', epoch: 2, framework: 'torch' });

    const keys = (await store.list(base, { recursive: true })).map((uri) => uri.slice(base.length)).sort();
    const id = `ckpt-7-${result.ts}`;
    expect(keys).toEqual(
      [
        'latest.json',
        `latest/${id}.json`,
        `manifests/${id}.json`,
        `shards/${id}/rank-0.bin`,
        `shards/${id}/rank-0.json`,
      ].sort(),
    );
    const manifest = JSON.parse(Buffer.from(await store.get(`${base}manifests/${id}.json`)).toString());
    expect(manifest).toMatchObject({
      format_version: 1,
      framework: 'torch',
      global_step: 7,
      epoch: 2,
      world_size: 1,
      status: 'complete',
      user_meta: { lr: 0.1 },
      shards: [{ rank: 0, key: `shards/${id}/rank-0.bin`, size: bytes.byteLength }],
    });
    expect(manifest.shards[0].checksum).toMatch(/^crc32c:[0-9a-f]{8}$/);
    expect(JSON.parse(Buffer.from(await store.get(`${base}latest.json`)).toString())).toEqual({
      manifest_key: `manifests/${id}.json`,
      global_step: 7,
      ts: result.ts,
    });

    const loaded = await new CheckpointStore(base, options).loadLatest();
    expect(loaded).toMatchObject({ step: 7, ts: result.ts, epoch: 2, userMeta: { lr: 0.1 }, worldSize: 1 });
    expectSameBytes(await loaded.readShard(), bytes);
    expectSameBytes(await (await checkpoints.load(7)).readShard(0), bytes);
  });

  test('a stream of chunks is saved in parts with bounded memory, and loads whole', async () => {
    const base = freshBase();
    const chunks = [0, 1, 2, 3, 4].map((seed) => testBytes(1_500_000, 20 + seed));
    const checkpoints = new CheckpointStore(base, { ...options, partSize: 5 * 1024 * 1024, concurrency: 2 });
    await checkpoints.save(1, Readable.from(chunks));
    expectSameBytes(await (await checkpoints.loadLatest()).readShard(), Buffer.concat(chunks));
  });

  test.each(['round-robin', 'round_robin', 'binary'])(
    'strategy %s puts the shard where s3dlio does',
    async (strategy) => {
      const base = freshBase();
      const checkpoints = new CheckpointStore(base, { ...options, strategy: strategy as 'binary' });
      const { ts } = await checkpoints.save(3, 'shard bytes');
      const dir = strategy === 'binary' ? 'bin/0000' : 'rr/00';
      expect(await store.exists(`${base}shards/${dir}/ckpt-3-${ts}/rank-0.bin`)).toBe(true);
      expect(Buffer.from(await (await checkpoints.load(3)).readShard()).toString()).toBe('shard bytes');
    },
  );

  test('compression zstd: .bin.zst shards, the checksum of the stored bytes, the same bytes loaded', async () => {
    const base = freshBase();
    const checkpoints = new CheckpointStore(base, { ...options, compression: 'zstd', partSize: 5 * 1024 * 1024 });
    const bytes = Buffer.alloc(6 * 1024 * 1024 + 5, 'compressible weights ');
    const { shard, ts } = await checkpoints.save(2, bytes);
    expect(shard.key).toBe(`shards/ckpt-2-${ts}/rank-0.bin.zst`);
    const stored = await store.get(shard.uri);
    expect(stored.byteLength).toBe(shard.size);
    expect(shard.size).toBeLessThan(bytes.byteLength / 10);
    expect(shard.checksum).toBe(`crc32c:${(crc32c(stored) >>> 0).toString(16).padStart(8, '0')}`);
    const manifest = JSON.parse(Buffer.from(await store.get(`${base}manifests/ckpt-2-${ts}.json`)).toString());
    expect(manifest.compression).toBe('zstd');
    const loaded = await new CheckpointStore(base, options).loadLatest();
    expect(loaded.compression).toBe('zstd');
    expectSameBytes(await loaded.readShard(), bytes);
    // A corrupt compressed shard is caught by its checksum before it is decompressed.
    const flipped = new Uint8Array(stored);
    flipped[flipped.byteLength - 3] ^= 0xff;
    await store.put(shard.uri, flipped);
    expect(await rejectionOf(loaded.readShard())).toMatchObject({ code: 'ERR_CHECKSUM_MISMATCH', uri: shard.uri });
  });

  test('latest follows the newest save; list shows every save, newest first', async () => {
    const base = freshBase();
    const checkpoints = new CheckpointStore(base, options);
    await checkpoints.save(10, 'ten', { ts: '20261130-100000' });
    await checkpoints.save(20, 'twenty', { ts: '20261130-100100' });
    expect((await checkpoints.loadLatest()).step).toBe(20);
    const entries = await checkpoints.list();
    expect(entries.map(({ step, status, latest }) => ({ step, status, latest }))).toEqual([
      { step: 20, status: 'complete', latest: true },
      { step: 10, status: 'complete', latest: false },
    ]);
    expect(Buffer.from(await (await checkpoints.load(10)).readShard()).toString()).toBe('ten');
  });

  test('keepLast keeps the newest complete checkpoints and removes every piece of the others', async () => {
    const base = freshBase();
    const checkpoints = new CheckpointStore(base, { ...options, keepLast: 2 });
    for (const step of [1, 2, 3, 4]) await checkpoints.save(step, `step ${step}`, { ts: `20261130-10000${step}` });
    expect((await checkpoints.list()).map((entry) => entry.step)).toEqual([4, 3]);
    const left = (await store.list(base, { recursive: true })).filter((uri) => /ckpt-[12]-/.test(uri));
    expect(left).toEqual([]);
    expect(Buffer.from(await (await checkpoints.load(3)).readShard()).toString()).toBe('step 3');
  });

  test('delete removes a checkpoint, but never the one latest points to', async () => {
    const base = freshBase();
    const checkpoints = new CheckpointStore(base, options);
    await checkpoints.save(1, 'one', { ts: '20261130-110000' });
    await checkpoints.save(2, 'two', { ts: '20261130-110001' });
    const refused = await rejectionOf(checkpoints.delete(2));
    expect(refused).toMatchObject({ code: 'ERR_CHECKPOINT_IS_LATEST', operation: 'delete' });
    expect(await checkpoints.delete(1)).toBe(1);
    expect((await store.list(base, { recursive: true })).filter((uri) => uri.includes('ckpt-1-'))).toEqual([]);
    expect(await rejectionOf(checkpoints.load(1))).toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(await rejectionOf(checkpoints.delete(1))).toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  // 3 MiB: the CRC32C is computed on the thread pool (the small one on the main thread).
  test.each([4096, 3 * 1024 * 1024 + 7])(
    'a corrupt shard of %d bytes is ERR_CHECKSUM_MISMATCH naming it; a shorter one too',
    async (size) => {
      const base = freshBase();
      const checkpoints = new CheckpointStore(base, options);
      const { shard } = await checkpoints.save(5, testBytes(size, 5));
      const intact = await checkpoints.loadLatest();
      expect(Buffer.from(await intact.readShard()).equals(Buffer.from(testBytes(size, 5)))).toBe(true);
      const flipped = new Uint8Array(await store.get(shard.uri));
      flipped[size - 100] ^= 1;
      await store.put(shard.uri, flipped);
      const loaded = await checkpoints.loadLatest();
      expect(await rejectionOf(loaded.readShard())).toMatchObject({
        code: 'ERR_CHECKSUM_MISMATCH',
        uri: shard.uri,
        message: expect.stringContaining('CRC32C'),
      });
      await store.put(shard.uri, flipped.subarray(1));
      expect(await rejectionOf(loaded.readShard())).toMatchObject({ code: 'ERR_CHECKSUM_MISMATCH', uri: shard.uri });
    },
  );

  test('empty base, missing and incomplete manifests: clear errors', async () => {
    const base = freshBase();
    const checkpoints = new CheckpointStore(base, options);
    expect(await rejectionOf(checkpoints.loadLatest())).toMatchObject({ code: 'ERR_NOT_FOUND', uri: base });
    expect(await checkpoints.list()).toEqual([]);
    // A save whose finalize never came: its manifest stays incomplete, and is not loaded.
    const { ts } = await checkpoints.saveShard(4, 'partial');
    expect(await rejectionOf(checkpoints.load(4))).toMatchObject({ code: 'ERR_CHECKPOINT_INCOMPLETE' });
    expect(await rejectionOf(checkpoints.loadLatest())).toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect((await checkpoints.list())[0]).toMatchObject({ step: 4, ts, status: 'incomplete', latest: false });
    // latest.json naming a manifest that is gone.
    await store.put(
      `${base}latest.json`,
      JSON.stringify({ manifest_key: 'manifests/ckpt-9-20261130-000000.json', global_step: 9, ts: '20261130-000000' }),
    );
    expect(await rejectionOf(checkpoints.loadLatest())).toMatchObject({
      code: 'ERR_NOT_FOUND',
      message: expect.stringContaining('manifest of step 9'),
    });
    await store.put(`${base}latest.json`, '{ not json');
    expect(await rejectionOf(checkpoints.loadLatest())).toMatchObject({ code: 'ERR_BAD_FORMAT' });
  });

  test('two savers of one step in the same second: one wins, the other gets ERR_ALREADY_EXISTS, no mix', async () => {
    const base = freshBase();
    const a = new CheckpointStore(base, options);
    const b = new CheckpointStore(base, options);
    const ts = '20261130-120000';
    const outcomes = await Promise.allSettled([a.save(8, 'from a', { ts }), b.save(8, 'from b', { ts })]);
    const won = outcomes.findIndex((outcome) => outcome.status === 'fulfilled');
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect((outcomes[1 - won] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_ALREADY_EXISTS' });
    const loaded = await a.loadLatest();
    expect(Buffer.from(await loaded.readShard()).toString()).toBe(won === 0 ? 'from a' : 'from b');
  });

  test('bad input is refused before anything is written', async () => {
    const base = freshBase();
    const checkpoints = new CheckpointStore(base, options);
    expect(await rejectionOf(checkpoints.save(-1, 'x'))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(await rejectionOf(checkpoints.save(1.5, 'x'))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(await rejectionOf(checkpoints.save(1, 'x', { ts: '2026-11-30' }))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
    expect(await rejectionOf(checkpoints.save(1, 'x', { epoc: 1 } as never))).toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
    expect(await rejectionOf(checkpoints.save(1, 42 as never))).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    const loopy: Record<string, unknown> = {};
    loopy.self = loopy;
    expect(await rejectionOf(checkpoints.save(1, 'x', { userMeta: loopy }))).toBeInstanceOf(TypeError);
    expect(() => new CheckpointStore(base, { ...options, worldSize: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => new CheckpointStore(base, { ...options, rank: 1, worldSize: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => new CheckpointStore(base, { ...options, strategy: 'spiral' as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(await store.list(base, { recursive: true })).toEqual([]);
    await checkpoints.save(1, 'fine');
    const loaded = await checkpoints.loadLatest();
    expect(await rejectionOf(loaded.readShard(1))).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });
});
