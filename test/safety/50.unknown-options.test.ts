/**
 * Options objects are closed: every public function and constructor refuses a key it does not
 * take (RangeError ERR_INVALID_ARG_VALUE) with a "did you mean" hint, before it does anything, so
 * a misspelled `signal` can never silently disable an abort. Store options are checked per scheme.
 */
import { readdirSync } from 'fs';

import * as s3dlio from '../../lib';
import { expectKnownOptions, optionKeys } from '../../lib/internal/option-keys';
import { cloudTargets, newBucketName } from '../cloud/targets';
import { type Api, type LocalScheme, SCHEMES, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-options-');
const aborted = AbortSignal.abort(new Error('already aborted'));

/** The error of a call that must fail: thrown synchronously, rejected, or thrown at the first `next()`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function failureOf(call: () => unknown): Promise<any> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    return error;
  }
  try {
    if (typeof (result as { then?: unknown })?.then === 'function') await result;
    else if (typeof (result as AsyncIterable<unknown>)?.[Symbol.asyncIterator] === 'function') {
      await (result as AsyncIterable<unknown>)[Symbol.asyncIterator]().next();
    }
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** A refused key: RangeError ERR_INVALID_ARG_VALUE naming the key and, when given, the hint. */
async function expectRefused(call: () => unknown, key: string, hint?: string): Promise<void> {
  const error = await failureOf(call);
  expect(error).toBeInstanceOf(RangeError);
  expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
  expect(error.message).toContain(`\`${key}\``);
  if (hint === undefined) expect(error.message).not.toMatch(/did you mean/);
  else expect(error.message).toContain(`did you mean \`${hint}\`?`);
}

type OptionCall = [name: string, call: (options: Record<string, unknown>) => unknown];

/** Every ObjectStore method, called with `options` on URIs below `base` (a prefix ending in `/`). */
function objectStoreCalls(api: Api, base: string, schemeUri: string): OptionCall[] {
  const at = (key: string): string => `${base}${key}`;
  return [
    ['get', (o) => api.get(at('a'), o)],
    ['getRange', (o) => api.getRange(at('a'), 0, 1, o)],
    ['getInto', (o) => api.getInto(at('a'), new Uint8Array(8), 0, o)],
    ['getStream', (o) => api.getStream(at('a'), o)],
    ['getWebStream', (o) => api.getWebStream(at('a'), o)],
    ['createWriter', (o) => api.createWriter(at('w'), o)],
    ['put', (o) => api.put(at('p'), 'bytes', o)],
    ['list', (o) => api.list(base, o)],
    ['listStream', (o) => api.listStream(base, o)],
    ['listDetailed', (o) => api.listDetailed(base, o)],
    ['stat', (o) => api.stat(at('a'), o)],
    ['exists', (o) => api.exists(at('a'), o)],
    ['delete', (o) => api.delete(at('a'), o)],
    ['deletePrefix', (o) => api.deletePrefix(at('sub/'), o)],
    ['deleteMany', (o) => api.deleteMany([at('a')], o)],
    ['getMany', (o) => api.getMany([at('a')], o)],
    ['putMany', (o) => api.putMany([{ uri: at('m'), data: 'x' }], o)],
    ['copy', (o) => api.copy(at('a'), at('b'), o)],
    ['rename', (o) => api.rename(at('a'), at('c'), o)],
    ['createBucket', (o) => api.createBucket(at('bucket/'), o)],
    ['deleteBucket', (o) => api.deleteBucket(at('bucket/'), o)],
    ['listBuckets', (o) => api.listBuckets(schemeUri, o)],
  ];
}

describe.each(SCHEMES.map((scheme) => [scheme] as [LocalScheme]))('%s://', (scheme) => {
  const base = (): string => `${scheme}://${tmp.path}/${scheme}/`;
  beforeAll(async () => {
    await s3dlio.put(`${base()}a`, 'original');
  });

  describe.each([
    ['module functions', () => s3dlio as Api],
    ['storeFor() methods', () => s3dlio.storeFor(`${scheme}:///`) as Api],
  ])('%s', (_label, api) => {
    test('every method refuses a misspelled signal, suggests `signal`, and touches nothing', async () => {
      const before = treeOf(tmp.path);
      for (const [name, call] of objectStoreCalls(api(), base(), `${scheme}://${tmp.path}/`)) {
        // An aborted signal under the wrong key: if the key were ignored, the call would run.
        await expectRefused(() => call({ sigal: aborted }), 'sigal', 'signal').catch((error: Error) => {
          throw new Error(`${name}: ${error.message}`);
        });
      }
      expect(treeOf(tmp.path)).toEqual(before);
      expect(await s3dlio.get(`${base()}a`)).toEqual(Buffer.from('original'));
    });
  });

  test('a key of another method is refused too (getRange takes no verify: a range has no checksum)', async () => {
    await expectRefused(() => s3dlio.getRange(`${base()}a`, 0, 1, { verify: true } as never), 'verify');
    await expectRefused(() => s3dlio.stat(`${base()}a`, { recursive: true } as never), 'recursive');
    await expectRefused(() => s3dlio.deleteBucket(`${base()}x/`, { forse: true } as never), 'forse', 'force');
    await expectRefused(() => s3dlio.list(base(), { recursve: true } as never), 'recursve', 'recursive');
    expect((await failureOf(() => s3dlio.list(base(), { recursve: true } as never))).message).toMatch(/ of list /);
  });

  test('the keys each method documents are all accepted', async () => {
    const signal = new AbortController().signal;
    const uri = `${base()}a`;
    const ranges = { signal, rangeThreshold: 0, chunkSize: 4096, concurrency: 2 };
    expect(await s3dlio.get(uri, { ...ranges, verify: false })).toHaveLength(8);
    expect(await s3dlio.getRange(uri, 0, 4, ranges)).toHaveLength(4);
    expect(await s3dlio.getInto(uri, new Uint8Array(8), 0, { ...ranges, verify: false })).toBe(8);
    await s3dlio.put(`${base()}all-put`, 'x', {
      signal,
      multipartThreshold: 1 << 20,
      partSize: 1 << 20,
      concurrency: 1,
    });
    expect(await s3dlio.list(base(), { signal, recursive: false, pattern: /^a$/ })).toEqual([uri]);
    const writer = s3dlio.createWriter(`${base()}all-writer`, {
      signal,
      partSize: 1 << 20,
      concurrency: 1,
      contentType: 'text/plain',
      verify: true,
      compression: 'none',
      compressionLevel: 3,
    });
    await writer.write('w');
    await writer.close();
    const chunks: Buffer[] = [];
    for await (const chunk of s3dlio.getStream(uri, { signal, chunkSize: 4, prefetch: 1, start: 0, end: 7 })) {
      chunks.push(chunk as Buffer);
    }
    expect(Buffer.concat(chunks).toString()).toBe('original');
  });
});

describe('cloud stores', () => {
  describe.each(cloudTargets().map((target) => [target.name, target] as const))('%s', (_name, target) => {
    test('every method refuses a misspelled signal before any request', async () => {
      // The bucket does not exist: a call that got as far as a request would fail differently.
      const base = target.bucketUri(newBucketName('opts'));
      for (const [name, call] of objectStoreCalls(target.store(), base, target.schemeUri)) {
        await expectRefused(() => call({ sigal: aborted }), 'sigal', 'signal').catch((error: Error) => {
          throw new Error(`${name}: ${error.message}`);
        });
      }
    });
  });
});

describe('storeFor and the store constructors take the options of their own scheme only', () => {
  test.each([
    ['file:///', { region: 'us-east-1' }, 'region', undefined, 'a file:// store'],
    ['file:///', { alignment: 4096 }, 'alignment', undefined, 'a file:// store'],
    ['direct:///', { pageCache: 'dontneed' }, 'pageCache', undefined, 'a direct:// store'],
    ['direct:///', { Alignment: 4096 }, 'Alignment', 'alignment', 'a direct:// store'],
    ['s3://', { connectionString: 'x' }, 'connectionString', undefined, 'an s3:// store'],
    ['s3://', { max_attempts: 2 }, 'max_attempts', 'maxAttempts', 'an s3:// store'],
    ['az://devstoreaccount1/', { region: 'westeurope' }, 'region', undefined, 'an az:// store'],
    ['az://devstoreaccount1/', { sasTokn: 'sv=x' }, 'sasTokn', 'sasToken', 'an az:// store'],
    ['gs://', { region: 'eu' }, 'region', undefined, 'a gs:// store'],
    ['gs://', { projectID: 'p' }, 'projectID', 'projectId', 'a gs:// store'],
    ['gcs://', { forcePathStyle: true }, 'forcePathStyle', undefined, 'a gs:// store'],
  ])('storeFor(%s, %j)', async (uri, options, key, hint, owner) => {
    await expectRefused(() => s3dlio.storeFor(uri, options as s3dlio.StoreOptions), key, hint);
    expect((await failureOf(() => s3dlio.storeFor(uri, options as s3dlio.StoreOptions))).message).toContain(owner);
    await expectRefused(() => s3dlio.configureDefaultStore(uri, options as s3dlio.StoreOptions), key, hint);
  });

  test("another cloud's option that a scheme cannot honour says why and what to do instead", async () => {
    const error = await failureOf(() =>
      s3dlio.storeFor('gs://', { caBundle: '/etc/ssl/certs/ca-certificates.crt' } as never),
    );
    expect(error).toBeInstanceOf(RangeError);
    expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(error.message).toMatch(
      /^`options\.caBundle` is not supported by a gs:\/\/ store: .*NODE_EXTRA_CA_CERTS=<file>/,
    );
    expect(error.message).not.toMatch(/did you mean|Unknown option/);
    // A key outside the refused list is still an unknown option with its hint.
    await expectRefused(() => s3dlio.storeFor('gs://', { cabundle: 'x' } as never), 'cabundle');
  });

  test('the exported constructors check their options', async () => {
    await expectRefused(() => new s3dlio.FileStore({ page_cache: 'dontneed' } as never), 'page_cache', 'pageCache');
    await expectRefused(() => new s3dlio.DirectStore({ fsinc: true } as never), 'fsinc', 'fsync');
  });

  test('every documented key of each scheme is accepted', () => {
    const common = {
      maxAttempts: 2,
      attemptTimeoutMs: 1000,
      connectTimeoutMs: 1000,
      retryBaseDelayMs: 5,
      maxSockets: 4,
      rangeThreshold: 0,
      chunkSize: 4096,
      concurrency: 2,
      multipartThreshold: 1 << 20,
    };
    expect(s3dlio.storeFor('file:///', { pageCache: 'auto', fsync: false, chunkSize: 4096 }).scheme).toBe('file');
    const direct = { alignment: 4096, allowBufferedFallback: false, fsync: false, chunkSize: 4096 };
    expect(s3dlio.storeFor('direct:///', direct).scheme).toBe('direct');
    const s3Options = {
      ...common,
      region: 'us-east-1',
      endpoint: process.env.S3DLIO_TEST_S3_ENDPOINT,
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      caBundle: '/etc/ssl/certs/ca-certificates.crt',
      checksums: 'WHEN_REQUIRED' as const,
      pageSize: 100,
    };
    expect(s3dlio.storeFor('s3://', s3Options).scheme).toBe('s3');
    const azOptions = {
      ...common,
      connectionString: process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING,
      sasToken: 'sv=2020-01-01&sig=x',
      accountKey: 'a2V5',
      endpoint: 'http://127.0.0.1:10000',
      pageSize: 100,
    };
    expect(s3dlio.storeFor('az://devstoreaccount1/', azOptions).scheme).toBe('az');
    const gsOptions = {
      ...common,
      projectId: 'p',
      keyFilename: '/dev/null',
      endpoint: 'http://127.0.0.1:1',
      pageSize: 10,
    };
    expect(s3dlio.storeFor('gs://', gsOptions).scheme).toBe('gs');
  });
});

describe('every other entry point', () => {
  const file = (rel = ''): string => `file://${tmp.path}/other/${rel}`;
  const npy = (): Uint8Array => s3dlio.encodeNpy(new Float32Array(4));
  const tfrecord = (): Uint8Array => s3dlio.encodeTfRecords([new Uint8Array(3)]).data;

  beforeAll(async () => {
    await s3dlio.put(file('a.bin'), 'abc');
  });

  test.each<[string, () => unknown, string, string | undefined]>([
    [
      'copy (recursive)',
      () => s3dlio.copy(file(), file('../copied/'), { recursive: true, concurency: 2 } as never),
      'concurency',
      'concurrency',
    ],
    ['copy', () => s3dlio.copy(file('a.bin'), file('b.bin'), { sigal: aborted } as never), 'sigal', 'signal'],
    [
      'rename across schemes',
      () => s3dlio.rename(file('a.bin'), `direct://${tmp.path}/other/c.bin`, { requireAtomc: true } as never),
      'requireAtomc',
      'requireAtomic',
    ],
    [
      'upload',
      () => s3dlio.upload([`${tmp.path}/other/*`], file('up/'), { concurency: 2 } as never),
      'concurency',
      'concurrency',
    ],
    [
      'download',
      () => s3dlio.download(file(), `${tmp.path}/down`, { recursiv: false } as never),
      'recursiv',
      'recursive',
    ],
    [
      'download (onProgress)',
      () => s3dlio.download(file(), `${tmp.path}/down`, { on_progress: () => 0 } as never),
      'on_progress',
      'onProgress',
    ],
    ['generateData', () => s3dlio.generateData(16, { seeed: 1 } as never), 'seeed', 'seed'],
    ['fillRandom', () => s3dlio.fillRandom(new Uint8Array(16), { dedupe: 2 } as never), 'dedupe', 'dedup'],
    ['DataGenerator', () => new s3dlio.DataGenerator(16, { chunk_size: 4096 } as never), 'chunk_size', 'chunkSize'],
    ['generateObject', () => s3dlio.generateObject('tfrecord', 16, { record: 2 } as never), 'record', 'records'],
    ['encodeNpy', () => s3dlio.encodeNpy(new Float32Array(4), { shap: [2, 2] } as never), 'shap', 'shape'],
    [
      'encodeNpy raw input',
      () => s3dlio.encodeNpy({ dtype: '<f4', shape: [2, 2], data: new Float32Array(4), fortran_order: true } as never),
      'fortran_order',
      'fortranOrder',
    ],
    [
      'encodeNpz raw input',
      () => s3dlio.encodeNpz({ x: { dtype: '<f4', shape: [4], data: new Float32Array(4), order: 'F' } as never }),
      'order',
      undefined,
    ],
    [
      'readNpz',
      () => s3dlio.readNpz(s3dlio.encodeNpz({ x: new Float32Array(1) }), { verfy: false } as never),
      'verfy',
      'verify',
    ],
    ['readTfRecords', () => s3dlio.readTfRecords(tfrecord(), { Verify: false } as never), 'Verify', 'verify'],
    ['readTfRecordAt', () => s3dlio.readTfRecordAt(tfrecord(), 0, { check: false } as never), 'check', undefined],
    [
      'encodeHdf5',
      () => s3dlio.encodeHdf5({ name: 'd', data: new Uint8Array(4) }, { sigal: aborted } as never),
      'sigal',
      'signal',
    ],
    [
      'encodeHdf5 dataset',
      () => s3dlio.encodeHdf5({ name: 'd', data: new Uint8Array(4), shap: [2, 2] } as never),
      'shap',
      'shape',
    ],
    ['readHdf5', () => s3dlio.readHdf5(npy(), { dataset: ['d'] } as never), 'dataset', 'datasets'],
    ['Dataset.fromUris', () => s3dlio.Dataset.fromUris([file('a.bin')], { formt: 'raw' } as never), 'formt', 'format'],
    [
      'Dataset.fromPrefix',
      () => s3dlio.Dataset.fromPrefix(file(), { recursve: true } as never),
      'recursve',
      'recursive',
    ],
    ['directIoInfo', () => s3dlio.directIoInfo(file(), { sigal: aborted } as never), 'sigal', 'signal'],
  ])('%s', async (_name, call, key, hint) => {
    await expectRefused(call, key, hint);
  });

  test('dataset.get and the DataLoader (batch_size → batchSize, shufle → shuffle)', async () => {
    const dataset = await s3dlio.Dataset.fromUris([file('a.bin')]);
    await expectRefused(() => dataset.get(0, { range_threshold: 1 } as never), 'range_threshold', 'rangeThreshold');
    await expectRefused(() => dataset.map((item) => item).get(0, { sigal: aborted } as never), 'sigal', 'signal');
    await expectRefused(() => new s3dlio.DataLoader(dataset, { batch_size: 32 } as never), 'batch_size', 'batchSize');
    await expectRefused(() => new s3dlio.DataLoader(dataset, { shufle: true } as never), 'shufle', 'shuffle');
    await expectRefused(() => new s3dlio.DataLoader(dataset, { Signal: aborted } as never), 'Signal', 'signal');
  });

  test('nothing was written by the refused calls', () => {
    expect(readdirSync(`${tmp.path}/other`)).toEqual(['a.bin']);
  });
});

describe('did-you-mean hints', () => {
  test.each([
    ['sigal', 'signal'], // one letter missing
    ['singal', 'signal'], // two letters swapped
    ['SIGNAL', 'signal'], // case
    ['chunk-size', 'chunkSize'], // kebab-case
    ['chunk_size', 'chunkSize'], // snake_case
    ['concurency', 'concurrency'],
    ['rangeTreshold', 'rangeThreshold'],
  ])('%s → %s', async (key, hint) => {
    await expectRefused(() => s3dlio.get(`file://${tmp.path}/x`, { [key]: 1 } as never), key, hint);
  });

  test('no hint when nothing is close; the accepted keys are listed', async () => {
    const error = await failureOf(() => s3dlio.get(`file://${tmp.path}/x`, { timeout: 5 } as never));
    expect(error.message).toBe(
      'Unknown option `timeout` in `options` of get; accepted: signal, rangeThreshold, chunkSize, concurrency, verify',
    );
  });

  test('a very long key is shown cut at 60 characters, so the message stays readable', async () => {
    const key = `${'k'.repeat(59)}LMNOPQRSTUVWXYZ`;
    const error = await failureOf(() => s3dlio.get(`file://${tmp.path}/x`, { [key]: 1 } as never));
    expect(error.message).toMatch(/^Unknown option `k{59}L…` in `options` of get; accepted: signal, /);
    const exactly60 = 'k'.repeat(60);
    const whole = await failureOf(() => s3dlio.get(`file://${tmp.path}/x`, { [exactly60]: 1 } as never));
    expect(whole.message).toContain(`\`${exactly60}\` in`);
  });

  test('where no option is accepted, the message says so', () => {
    const none = optionKeys<Record<string, never>>()({});
    expect(() => expectKnownOptions({ any: 1 }, none, 'someCall')).toThrow(
      'Unknown option `any` in `options` of someCall; accepted: none',
    );
  });

  test('a key with an undefined value is still a misspelling', async () => {
    await expectRefused(() => s3dlio.get(`file://${tmp.path}/x`, { sigal: undefined } as never), 'sigal', 'signal');
  });
});

test('key lists are checked against their interfaces at compile time', () => {
  interface Two {
    alpha?: number;
    beta?: string;
  }
  expect(optionKeys<Two>()({ alpha: true, beta: true }).names).toEqual(['alpha', 'beta']);
  // @ts-expect-error a key of the interface is missing from the list
  optionKeys<Two>()({ alpha: true });
  // @ts-expect-error a key the interface does not have
  optionKeys<Two>()({ alpha: true, beta: true, gamma: true });
});
