/**
 * The checkpoint layout, key for key as s3dlio writes it, and its documents: manifests and the
 * latest pointer of s3dlio (nulls and all) are read, and every malformed one is ERR_BAD_FORMAT
 * naming the manifest and the field.
 */
import {
  type CheckpointStrategy,
  LATEST_KEY,
  expectTimestamp,
  idOfKey,
  latestMarkerKey,
  manifestKey,
  parseLatest,
  parseManifest,
  shardKey,
  strategyFrom,
  timestampOf,
} from '../../lib/checkpoint/layout';

const id = { step: 1200, ts: '20261130-210509' };
const json = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value, null, 2));
const URI = 'file:///ck/manifests/ckpt-1200-20261130-210509.json';

describe('keys', () => {
  test('{ts} is UTC YYYYMMDD-HHMMSS, whatever the local zone', () => {
    expect(timestampOf(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 999)))).toBe('20260102-030405');
    expect(timestampOf(new Date('2026-11-30T23:59:59.001-05:00'))).toBe('20261201-045959');
  });

  test('manifest, latest pointer and marker', () => {
    expect(manifestKey(id)).toBe('manifests/ckpt-1200-20261130-210509.json');
    expect(LATEST_KEY).toBe('latest.json');
    expect(latestMarkerKey(id)).toBe('latest/ckpt-1200-20261130-210509.json');
  });

  test.each<[CheckpointStrategy, number, string]>([
    ['flat', 0, 'shards/ckpt-1200-20261130-210509/rank-0.bin'],
    ['flat', 7, 'shards/ckpt-1200-20261130-210509/rank-7.bin'],
    ['round-robin', 0, 'shards/rr/00/ckpt-1200-20261130-210509/rank-0.bin'],
    ['round-robin', 15, 'shards/rr/0f/ckpt-1200-20261130-210509/rank-15.bin'],
    ['round-robin', 16, 'shards/rr/00/ckpt-1200-20261130-210509/rank-16.bin'],
    ['round-robin', 43, 'shards/rr/0b/ckpt-1200-20261130-210509/rank-43.bin'],
    // format!("{:08b}", r)[0..4]: 5 = 00000101 → 0000, 200 = 11001000 → 1100.
    ['binary', 5, 'shards/bin/0000/ckpt-1200-20261130-210509/rank-5.bin'],
    ['binary', 200, 'shards/bin/1100/ckpt-1200-20261130-210509/rank-200.bin'],
    // Ranks of 256 and more have more than 8 binary digits: 300 = 100101100 → 1001.
    ['binary', 300, 'shards/bin/1001/ckpt-1200-20261130-210509/rank-300.bin'],
  ])('%s shard of rank %i', (strategy, rank, key) => {
    expect(shardKey(id, rank, strategy)).toBe(key);
  });

  test('a compressed shard ends in .bin.zst', () => {
    expect(shardKey(id, 3, 'flat', true)).toBe('shards/ckpt-1200-20261130-210509/rank-3.bin.zst');
  });

  test('strategies by our names and by s3dlio’s, any case; anything else is refused', () => {
    expect(['flat', 'round-robin', 'round_robin', 'RoundRobin', 'BINARY'].map((name) => strategyFrom(name))).toEqual([
      'flat',
      'round-robin',
      'round-robin',
      'round-robin',
      'binary',
    ]);
    for (const bad of ['rr', 'hash', '', 3, undefined]) {
      expect(() => strategyFrom(bad)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }) as Error);
    }
  });

  test.each([
    ['a negative step', () => manifestKey({ step: -1, ts: id.ts })],
    ['a fractional step', () => manifestKey({ step: 1.5, ts: id.ts })],
    ['a negative rank', () => shardKey(id, -1, 'flat')],
    ['a ts of another form', () => manifestKey({ step: 1, ts: '2026-11-30T21:05:09Z' })],
    ['a ts with a path in it', () => shardKey({ step: 1, ts: '../../etc' }, 0, 'flat')],
  ])('%s is refused', (_label, make) => {
    expect(make).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }) as Error);
  });

  test('expectTimestamp takes only the written form', () => {
    expect(expectTimestamp('20261130-210509')).toBe('20261130-210509');
    expect(() => expectTimestamp('20261130210509')).toThrow(/YYYYMMDD-HHMMSS/);
  });

  test('the checkpoint a manifest or marker key names; other keys name none', () => {
    expect(idOfKey('manifests/ckpt-1200-20261130-210509.json')).toEqual(id);
    expect(idOfKey('latest/ckpt-0-20260101-000000.json')).toEqual({ step: 0, ts: '20260101-000000' });
    for (const key of ['manifests/ckpt-x-20261130-210509.json', 'manifests/ckpt-1-2026.json', 'latest.json']) {
      expect(idOfKey(key)).toBeUndefined();
    }
  });
});

/** A manifest exactly as s3dlio writes one (serde_json::to_vec_pretty of its Manifest). */
const s3dlioManifest = {
  format_version: 1,
  framework: 'torch',
  global_step: 1200,
  epoch: 3,
  wall_time: '2026-11-30T21:05:09.123456789+00:00',
  world_size: 2,
  shards: [
    { rank: 1, key: 'shards/ckpt-1200-20261130-210509/rank-1.bin', size: 10, etag: null, checksum: null },
    { rank: 0, key: 'shards/ckpt-1200-20261130-210509/rank-0.bin', size: 12, etag: '"abc"', checksum: null },
  ],
  status: 'complete',
  user_meta: null,
};

describe('manifests', () => {
  test('s3dlio’s manifest is read, shards in rank order, nulls kept', () => {
    const manifest = parseManifest(json(s3dlioManifest), URI);
    expect(manifest).toMatchObject({ framework: 'torch', global_step: 1200, world_size: 2, status: 'complete' });
    expect(manifest.shards.map((shard) => [shard.rank, shard.etag, shard.checksum])).toEqual([
      [0, '"abc"', null],
      [1, null, null],
    ]);
    expect(manifest.user_meta).toBeNull();
    expect('compression' in manifest).toBe(false);
  });

  test('an incomplete manifest may lack shards; compression and checksums are read', () => {
    const manifest = parseManifest(
      json({
        ...s3dlioManifest,
        status: 'incomplete',
        compression: 'zstd',
        shards: [{ rank: 0, key: 'k', size: 1, etag: null, checksum: 'crc32c:0a1b2c3d' }],
        user_meta: { lr: 0.1 },
      }),
      URI,
    );
    expect(manifest).toMatchObject({ status: 'incomplete', compression: 'zstd', user_meta: { lr: 0.1 } });
    expect(manifest.shards[0].checksum).toBe('crc32c:0a1b2c3d');
  });

  const broken = (change: Record<string, unknown>): Uint8Array => json({ ...s3dlioManifest, ...change });
  test.each<[string, Uint8Array, RegExp]>([
    ['not JSON', Buffer.from('{"format_version": 1,'), /not JSON/],
    ['an array', json([1]), /not a JSON object/],
    ['another format version', broken({ format_version: 2 }), /format_version 2 is not 1/],
    ['a negative step', broken({ global_step: -1 }), /global_step is not a non-negative integer/],
    ['world_size 0', broken({ world_size: 0, shards: [] }), /world_size is 0/],
    ['an unknown status', broken({ status: 'done' }), /status "done"/],
    ['an unknown compression', broken({ compression: 'gzip' }), /compression "gzip"/],
    [
      'a rank at world_size',
      broken({ shards: [{ rank: 2, key: 'k', size: 1, etag: null, checksum: null }] }),
      /shards\[0\]\.rank is not a rank below world_size 2/,
    ],
    [
      'a rank twice',
      broken({
        shards: [0, 0].map((rank) => ({ rank, key: 'k', size: 1, etag: null, checksum: null })),
      }),
      /rank 0 has two shards/,
    ],
    [
      'a checksum of another kind',
      broken({ shards: [{ rank: 0, key: 'k', size: 1, etag: null, checksum: 'md5:abc' }] }),
      /checksum is not "crc32c:<8 hex digits>"/,
    ],
    [
      'complete with a rank missing',
      broken({ shards: [{ rank: 1, key: 'k', size: 1, etag: null, checksum: null }] }),
      /complete, but without the shards of ranks 0/,
    ],
  ])('%s: ERR_BAD_FORMAT naming the manifest', (_label, bytes, message) => {
    expect(() => parseManifest(bytes, URI)).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_FORMAT', uri: URI, message: expect.stringMatching(message) }) as Error,
    );
  });
});

describe('the latest pointer', () => {
  const pointer = { manifest_key: 'manifests/ckpt-1200-20261130-210509.json', global_step: 1200, ts: id.ts };

  test('s3dlio’s latest.json is read', () => {
    expect(parseLatest(json(pointer), 'file:///ck/latest.json')).toEqual(pointer);
  });

  test.each([
    ['a step that disagrees with the key', { ...pointer, global_step: 1300 }],
    ['a ts that disagrees with the key', { ...pointer, ts: '20261130-210510' }],
    ['a key outside manifests/', { ...pointer, manifest_key: '../ckpt-1200-20261130-210509.json' }],
    ['no key', { global_step: 1200, ts: id.ts }],
  ])('%s: ERR_BAD_FORMAT', (_label, doc) => {
    expect(() => parseLatest(json(doc), 'file:///ck/latest.json')).toThrow(
      expect.objectContaining({ code: 'ERR_BAD_FORMAT', uri: 'file:///ck/latest.json' }) as Error,
    );
  });
});
