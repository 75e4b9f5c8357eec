/**
 * Errors say what happened:
 * - `ERR_ABORTED` means the caller aborted. Work the library cancels itself (the other ranges of a
 *   split read, the other parts of an upload, a loader's fetches) never hides the real failure.
 * - A body cut short is `ERR_TRUNCATED_BODY` on every cloud and for every kind of read.
 * - Every error has a documented code; argument errors are TypeError/RangeError with theirs.
 * - Format errors give offsets in the file, also for a record a dataset read alone.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';

import * as s3dlio from '../../lib';
import { ERROR_CODES, toS3dlioError } from '../../lib/errors';
import { REPO_ROOT, runNodeJson } from '../helpers/child';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { type CloudTarget, azTarget, gsTarget, newBucketName, s3Target, sdkTransportRun } from '../cloud/targets';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../servers/azurite';
import { type FaultProxy, type FaultRule, startFaultProxy } from '../servers/fault-proxy';

const KiB = 1024;
const tmp = useTempDir('s3dlio-causes-');

/** Every error in a `cause` chain, the error itself first. */
function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let at = error; at !== undefined && out.length < 10; at = (at as { cause?: unknown }).cause) out.push(at);
  return out;
}

/** Reads a Node stream to its end (rejects with the stream's error). */
async function drain(stream: AsyncIterable<unknown>): Promise<number> {
  let bytes = 0;
  for await (const chunk of stream) bytes += (chunk as Uint8Array).byteLength;
  return bytes;
}

describe('ERR_ABORTED is the caller’s abort only (s3 behind a fault proxy)', () => {
  let proxy: FaultProxy;
  const direct = s3Target().store();
  const bucket = newBucketName('cause');
  const uri = `s3://${bucket}/obj.bin`;
  const bytes = testBytes(1024 * KiB + 17, 5);
  const objectPath = new RegExp(`^/${bucket}/obj\\.bin`);
  const ranges = { rangeThreshold: 128 * KiB, chunkSize: 128 * KiB, concurrency: 4 };
  const viaProxy = (options: Record<string, unknown> = {}): s3dlio.ObjectStore =>
    s3dlio.storeFor('s3://', {
      endpoint: proxy.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      retryBaseDelayMs: 5,
      maxAttempts: 2,
      ...options,
    });
  // The first range streams slowly; every other request dies (the server went away): the other
  // ranges fail for real while the first is still in flight, and cancelling it must not win. Two
  // slow answers: a first attempt that fails at once (on a connection the proxy cut in the
  // previous test) is retried slowly too.
  const slowStart: FaultRule = {
    method: 'GET',
    path: objectPath,
    times: 2,
    action: { type: 'throttle', bytesPerSecond: 128 * KiB },
  };
  const serverDiesAfterFirstRange: FaultRule[] = [
    slowStart,
    { method: 'GET', path: objectPath, action: { type: 'drop' } },
  ];

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: process.env.S3DLIO_TEST_S3_ENDPOINT as string });
    await direct.createBucket(`s3://${bucket}/`);
    await direct.put(uri, bytes);
  });
  afterAll(async () => {
    await direct.deleteBucket(`s3://${bucket}/`, { force: true });
    await proxy.stop();
  });
  beforeEach(() => {
    proxy.clearRules();
    proxy.resetStats();
  });

  test.each<[string, (store: s3dlio.ObjectStore) => Promise<unknown>]>([
    ['get', (store) => store.get(uri, ranges)],
    ['getRange', (store) => store.getRange(uri, 1000, 900 * KiB, ranges)],
    ['getInto', (store) => store.getInto(uri, new Uint8Array(bytes.byteLength), 0, ranges)],
  ])('%s: a dead server is ERR_CONNECTION, not the cancellation of the first range', async (operation, read) => {
    proxy.setRules(serverDiesAfterFirstRange);
    const error = await rejectionOf(read(viaProxy()));
    expect(error).toMatchObject({ code: 'ERR_CONNECTION', operation, uri });
    expect(chain(error).map((e) => (e as { code?: string }).code)).not.toContain('ERR_ABORTED');
  });

  test.each<[string, (store: s3dlio.ObjectStore) => Promise<unknown>]>([
    ['get', (store) => store.get(uri, ranges)],
    ['getRange', (store) => store.getRange(uri, 1000, 900 * KiB, ranges)],
    ['getInto', (store) => store.getInto(uri, new Uint8Array(bytes.byteLength), 0, ranges)],
  ])(
    '%s: a later range failing for good (500) is ERR_SERVER while the first still streams',
    async (operation, read) => {
      proxy.setRules([slowStart, { method: 'GET', path: objectPath, action: { type: 'status', status: 500 } }]);
      const error = await rejectionOf(read(viaProxy()));
      expect(error).toMatchObject({ code: 'ERR_SERVER', operation, uri });
    },
  );

  test('the caller aborting the same read is ERR_ABORTED, with the signal’s reason', async () => {
    proxy.setRules([{ method: 'GET', path: objectPath, action: { type: 'throttle', bytesPerSecond: 128 * KiB } }]);
    const controller = new AbortController();
    const reason = new Error('caller stops');
    setTimeout(() => controller.abort(reason), 300);
    const error = await rejectionOf(viaProxy().get(uri, { ...ranges, signal: controller.signal }));
    expect(error).toMatchObject({ code: 'ERR_ABORTED', operation: 'get', uri });
    expect(error.cause).toBe(reason);
  });

  test('getStream: a read ahead that fails is reported with its own code', async () => {
    proxy.setRules([
      { method: 'GET', path: objectPath, nth: 1, action: { type: 'throttle', bytesPerSecond: 256 * KiB } },
      { method: 'GET', path: objectPath, action: { type: 'drop' } },
    ]);
    const error = await rejectionOf(drain(viaProxy().getStream(uri, { chunkSize: 256 * KiB, prefetch: 2 })));
    expect(error).toMatchObject({ code: 'ERR_CONNECTION', operation: 'getStream' });
  });

  test('a multipart upload whose part fails: the part’s error, not the cancelled siblings’', async () => {
    proxy.setRules([
      { method: 'PUT', path: /[?&]partNumber=1(&|$)/, action: { type: 'delay', ms: 1500 } },
      { method: 'PUT', path: /[?&]partNumber=2(&|$)/, action: { type: 'status', status: 403 } },
    ]);
    const data = testBytes(11 * 1024 * KiB, 9);
    const error = await rejectionOf(
      viaProxy().put(`s3://${bucket}/multi.bin`, data, { multipartThreshold: 5 << 20, partSize: 5 << 20 }),
    );
    expect(error.code).not.toBe('ERR_ABORTED');
    expect(error).toMatchObject({ code: 'ERR_ACCESS_DENIED' });
    expect(await direct.exists(`s3://${bucket}/multi.bin`)).toBe(false);
  });
});

test('DataLoader: one failed item fails the epoch with its own error, not the fetches it cancelled', async () => {
  const uris = Array.from({ length: 40 }, (_, i) => `file://${tmp.path}/loader/${i}.bin`);
  await s3dlio.putMany(uris.filter((_, i) => i !== 7).map((uri) => ({ uri, data: testBytes(64 * KiB, 1) })));
  const loader = new s3dlio.DataLoader(await s3dlio.Dataset.fromUris(uris), { batchSize: 4, concurrency: 16 });
  const error = await rejectionOf(
    (async () => {
      for await (const batch of loader) void batch;
    })(),
  );
  expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', uri: uris[7] });
});

describe.each([s3Target(), azTarget(), gsTarget()].map((target) => [target.name, target] as [string, CloudTarget]))(
  '%s: a body cut short is ERR_TRUNCATED_BODY (after the retries)',
  (_name, target) => {
    let proxy: FaultProxy;
    const bucket = newBucketName('trunc');
    const base = target.bucketUri(bucket);
    const uri = `${base}obj.bin`;
    const bytes = testBytes(256 * KiB, 11);
    const key = target.scheme === 'gs' ? new RegExp(`/b/${bucket}/o/obj\\.bin\\?.*alt=media`) : /\/obj\.bin(\?|$)/;
    const upstream: Record<CloudTarget['scheme'], () => string> = {
      s3: () => process.env.S3DLIO_TEST_S3_ENDPOINT as string,
      gs: () => process.env.S3DLIO_TEST_GCS_ENDPOINT as string,
      az: () =>
        new URL(/BlobEndpoint=([^;]+)/.exec(process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING as string)![1]).origin,
    };
    const viaProxy = (): s3dlio.ObjectStore => {
      const common = { maxAttempts: 2, retryBaseDelayMs: 5, attemptTimeoutMs: 10_000 };
      if (target.scheme === 's3') {
        return s3dlio.storeFor('s3://', {
          ...common,
          endpoint: proxy.url,
          region: 'us-east-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        });
      }
      if (target.scheme === 'az') {
        return s3dlio.storeFor(base, {
          ...common,
          accountKey: AZURITE_KEY,
          endpoint: `${proxy.url}/${AZURITE_ACCOUNT}`,
        });
      }
      return s3dlio.storeFor('gs://', { ...common, endpoint: proxy.url, projectId: 'test' });
    };
    const split = { rangeThreshold: 64 * KiB, chunkSize: 64 * KiB };

    beforeAll(async () => {
      proxy = await startFaultProxy({ target: upstream[target.scheme]() });
      await target.store().createBucket(base);
      await target.store().put(uri, bytes);
    });
    afterAll(async () => {
      await target.store().deleteBucket(base, { force: true });
      await proxy.stop();
    });

    // GCS over the SDK's transport: a body the server closes cleanly (FIN) is not reported at all
    // (node-fetch drops the premature end of a Content-Length body): see the next test.
    const cuts: FaultRule['action'][] =
      target.scheme === 'gs' && sdkTransportRun()
        ? [{ type: 'reset-mid-body', bytes: 1000 }]
        : [
            { type: 'truncate', bytes: 1000 },
            { type: 'reset-mid-body', bytes: 1000 },
          ];

    test.each<[string, (store: s3dlio.ObjectStore) => Promise<unknown>]>([
      ['get', (store) => store.get(uri, { rangeThreshold: 0 })],
      ['get', (store) => store.get(uri, split)],
      ['getRange', (store) => store.getRange(uri, 100, 200 * KiB, { rangeThreshold: 0 })],
      ['getRange', (store) => store.getRange(uri, 100, 200 * KiB, split)],
      ['getInto', (store) => store.getInto(uri, new Uint8Array(bytes.byteLength))],
      ['getStream', (store) => drain(store.getStream(uri))],
    ])('%s (%#), cut mid-body', async (operation, read) => {
      for (const action of cuts) {
        proxy.setRules([{ method: 'GET', path: key, action }]);
        proxy.resetStats();
        const error = await rejectionOf(read(viaProxy()));
        expect(error).toMatchObject({ code: 'ERR_TRUNCATED_BODY', operation });
        expect(error.message).toMatch(/ended after \d+ of \d+ bytes/);
        expect(proxy.stats.faults).toBeGreaterThanOrEqual(2); // retried once, then reported
      }
      proxy.clearRules();
      expectSameBytes(await viaProxy().get(uri), bytes);
    });

    if (target.scheme === 'gs') {
      test('over the SDK transport, a body closed cleanly mid-body ends with the attempt timeout, never as short data', async () => {
        proxy.setRules([{ method: 'GET', path: key, action: { type: 'truncate', bytes: 1000 } }]);
        const store = s3dlio.storeFor('gs://', {
          endpoint: proxy.url,
          projectId: 'test',
          maxAttempts: 2,
          retryBaseDelayMs: 5,
          attemptTimeoutMs: 500,
          transport: 'sdk',
        });
        await expect(store.get(uri)).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
        proxy.clearRules();
      });
    }
  },
);

describe('every error has a documented code', () => {
  test('the README error table documents exactly the codes the library raises', () => {
    const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| code | meaning |'), readme.indexOf('## Command line'));
    const documented = new Set(
      table
        .split('\n')
        .filter((line) => line.startsWith('| `'))
        .flatMap((line) => [...line.split(' | ')[0].matchAll(/`(ERR_[A-Z_]+)`/g)].map((match) => match[1])),
    );
    expect([...documented].sort()).toEqual([...ERROR_CODES].sort());
  });

  test('codes from Node or dependencies the README does not list become ERR_UNEXPECTED; errno names are mapped', () => {
    const codeOf = (code: unknown): string => {
      const error = code === undefined ? new Error('no code') : Object.assign(new Error('boom'), { code });
      return (toS3dlioError(error, 'get', 'file:///x') as s3dlio.S3dlioError).code;
    };
    expect(codeOf('ERR_STREAM_PREMATURE_CLOSE')).toBe('ERR_UNEXPECTED');
    expect(codeOf('REQUEST_SEND_ERROR')).toBe('ERR_UNEXPECTED');
    expect(codeOf(500)).toBe('ERR_UNEXPECTED');
    expect(codeOf(undefined)).toBe('ERR_UNEXPECTED');
    // An errno without a meaning of its own is ERR_IO; the network ones are ERR_CONNECTION.
    for (const errno of ['EIO', 'EMFILE', 'ELOOP', 'EFBIG', 'ENAMETOOLONG', 'EBUSY', 'EINVAL']) {
      expect(codeOf(errno)).toBe('ERR_IO');
    }
    for (const errno of ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH']) {
      expect(codeOf(errno)).toBe('ERR_CONNECTION');
    }
    expect(codeOf('ENOSPC')).toBe('ERR_NO_SPACE');
    expect(codeOf('ERR_BAD_FORMAT')).toBe('ERR_BAD_FORMAT');
  });

  test('write or close after abort() is ERR_WRITER_CLOSED (cause: the abort’s reason)', async () => {
    const writer = s3dlio.createWriter(`file://${tmp.path}/aborted.bin`);
    await writer.write('some');
    const reason = new Error('changed my mind');
    await writer.abort(reason);
    for (const call of [() => writer.write('more'), () => writer.close()]) {
      const error = await rejectionOf(call());
      expect(error).toBeInstanceOf(s3dlio.S3dlioError);
      expect(error).toMatchObject({ code: 'ERR_WRITER_CLOSED', uri: `file://${tmp.path}/aborted.bin` });
      expect(error.cause).toBe(reason);
    }
  });

  test('a callback of yours that throws: ERR_UNEXPECTED, with your error as the cause', async () => {
    writeFileSync(path.join(tmp.path, 'cb.txt'), 'x');
    const mine = new Error('my callback broke');
    const error = await rejectionOf(
      s3dlio.upload([path.join(tmp.path, 'cb.txt')], `file://${tmp.path}/cb-up/`, {
        onObject: () => {
          throw mine;
        },
      }),
    );
    expect(error).toMatchObject({ code: 'ERR_BATCH_FAILED' });
    expect(error.errors[0]).toMatchObject({ code: 'ERR_UNEXPECTED' });
    expect(error.errors[0].cause).toBe(mine);
  });

  test('HDF5 with no usable temporary directory: an S3dlioError with the errno’s code', async () => {
    // A process of its own: the temporary directory comes from its environment.
    const result = await runNodeJson<Record<string, unknown>>(
      `process.env.TMPDIR = ARGS.dir;
       const s = require(LIB);
       const report = (e) => console.log('RESULT ' + JSON.stringify(
         { s3dlio: e instanceof s.S3dlioError, code: e.code, operation: e.operation }));
       s.readHdf5(new Uint8Array(16)).then(() => report({}), report);`,
      { dir: path.join(tmp.path, 'no-such-dir') },
    );
    expect(result).toEqual({ s3dlio: true, code: 'ERR_NOT_FOUND', operation: 'readHdf5' });
  });

  test('a size no buffer can hold is refused before allocating; an allocation that fails is ERR_OUT_OF_MEMORY', async () => {
    const tooLarge = await rejectionOf(s3dlio.generateData(2 ** 45));
    expect(tooLarge).toBeInstanceOf(RangeError);
    expect(tooLarge).toMatchObject({ code: 'ERR_OUT_OF_RANGE' });
    // A real allocation failure: 2 GiB (a legal size) in a process whose address space is capped.
    const result = await runNodeJson<Record<string, unknown>>(
      `const s = require(LIB);
       const report = (e) => console.log('RESULT ' + JSON.stringify(
         { s3dlio: e instanceof s.S3dlioError, code: e.code, operation: e.operation }));
       s.generateData(2 ** 31).then(() => report({}), report);`,
      null,
      [],
      { wrapper: ['sh', '-c', 'ulimit -v 3000000 && exec "$@"', 'sh'] },
    );
    expect(result).toEqual({ s3dlio: true, code: 'ERR_OUT_OF_MEMORY', operation: 'generateData' });
  });

  test.each<[string, () => unknown, 'TypeError' | 'RangeError', string]>([
    [
      'Dataset.map',
      () => (s3dlio.Dataset.prototype.map as (f: unknown) => unknown).call({}, 5),
      'TypeError',
      'ERR_INVALID_ARG_TYPE',
    ],
    ['new DataLoader', () => new s3dlio.DataLoader({} as never), 'TypeError', 'ERR_INVALID_ARG_TYPE'],
    [
      'Dataset options.store',
      () => s3dlio.Dataset.fromUris([], { store: {} as never }),
      'TypeError',
      'ERR_INVALID_ARG_TYPE',
    ],
    [
      's3 part below 5 MiB',
      () =>
        s3Target()
          .store()
          .createWriter('s3://bkt/x', { partSize: 1 << 20 }),
      'RangeError',
      'ERR_OUT_OF_RANGE',
    ],
    ['s3 endpoint', () => s3dlio.storeFor('s3://', { endpoint: 'ftp://host' }), 'RangeError', 'ERR_INVALID_ARG_VALUE'],
    [
      's3 CA bundle',
      () => s3dlio.storeFor('s3://', { caBundle: '/no/such/ca.pem' }),
      'RangeError',
      'ERR_INVALID_ARG_VALUE',
    ],
  ])('argument error: %s', async (_name, call, name, code) => {
    let error: unknown;
    try {
      await call();
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ name, code });
  });

  test('argument error: two files for one key in upload', async () => {
    for (const dir of ['a', 'b']) {
      mkdirSync(path.join(tmp.path, 'dup', dir), { recursive: true });
      writeFileSync(path.join(tmp.path, 'dup', dir, 'x.bin'), dir);
    }
    const patterns = ['a', 'b'].map((dir) => path.join(tmp.path, 'dup', dir, 'x.bin'));
    const error = await rejectionOf(s3dlio.upload(patterns, `file://${tmp.path}/dup-up/`));
    expect(error).toMatchObject({ name: 'RangeError', code: 'ERR_INVALID_ARG_VALUE' });
    expect(error.message).toMatch(/would both be written to/);
  });
});

describe('format errors give offsets in the file', () => {
  const records = [testBytes(100, 1), testBytes(3000, 2), testBytes(500, 3)];

  async function tfrecordDataset(name: string, damage: (data: Uint8Array, index: s3dlio.TfRecordIndexEntry[]) => void) {
    const encoded = s3dlio.encodeTfRecords(records);
    damage(encoded.data, encoded.index);
    await s3dlio.put(`file://${tmp.path}/${name}/f.tfrecord`, encoded.data);
    await s3dlio.put(`file://${tmp.path}/${name}/f.tfrecord.idx`, s3dlio.formatTfRecordIndex(encoded.index));
    return {
      dataset: await s3dlio.Dataset.fromPrefix(`file://${tmp.path}/${name}/`, { format: 'tfrecord' }),
      index: encoded.index,
    };
  }

  test('TFRecord data CRC, read through a dataset: where the CRC and the data are in the file', async () => {
    const { dataset, index } = await tfrecordDataset('crc', (data, entries) => {
      data[entries[1].offset + 12 + 500] ^= 1;
    });
    const error = await rejectionOf(dataset.get(1));
    const start = index[1].offset;
    expect(error.code).toBe('ERR_CHECKSUM_MISMATCH');
    expect(error.message).toContain(`record 1 at byte offset ${start}: data CRC mismatch`);
    expect(error.message).toContain(`the CRC at byte offset ${start + 12 + 3000}`);
    expect(error.message).toContain(`the 3000 data bytes at byte offset ${start + 12}`);
  });

  test('TFRecord length CRC, read through a dataset', async () => {
    const { dataset, index } = await tfrecordDataset('lcrc', (data, entries) => {
      data[entries[2].offset + 9] ^= 1; // the length's CRC
    });
    const error = await rejectionOf(dataset.get(2));
    const start = index[2].offset;
    expect(error.message).toContain(`record 2 at byte offset ${start}: length CRC mismatch`);
    expect(error.message).toContain(`the CRC at byte offset ${start + 8}`);
  });

  test('NPY header: the byte in the file, and in the archive for an .npz member', () => {
    const npy = Buffer.from(s3dlio.encodeNpy(new Float32Array(4)));
    const at = npy.indexOf("'shape'") + 10; // inside the shape tuple: "(4,)" becomes "(4@)"
    expect(String.fromCharCode(npy[at + 1])).toBe(',');
    npy[at + 1] = '@'.charCodeAt(0);
    expect(() => s3dlio.parseNpy(npy)).toThrow(new RegExp(`at byte ${at + 1}\\b`));
    const archive = Buffer.from(s3dlio.encodeNpz({ x: new Float32Array(4) }));
    const member = archive.indexOf(Buffer.from('\x93NUMPY', 'latin1'));
    archive[member + at + 1] = '@'.charCodeAt(0);
    expect(() => s3dlio.readNpz(archive, { verify: false })).toThrow(
      new RegExp(`at byte ${member + at + 1} of the archive`),
    );
  });
});
