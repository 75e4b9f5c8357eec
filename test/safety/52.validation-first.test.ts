/**
 * Every operation checks all its arguments and options before any shortcut: an empty batch, a
 * zero-length range, an option a backend does not use, a listing to do first, or an
 * already-aborted signal never lets a bad value through. The CLI refuses a number that would make a
 * command do nothing (or mean nothing) as a usage error: exit 2, one line, nothing done.
 */
import { existsSync, readdirSync } from 'fs';
import * as path from 'path';

import * as s3dlio from '../../lib';
import { cloudTargets, gsTarget, newBucketName, s3Target } from '../cloud/targets';
import { type Api, SCHEMES } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { runCli } from '../cli/cli';

const tmp = useTempDir('s3dlio-validation-');
const aborted = AbortSignal.abort(new Error('already aborted'));

/** A RangeError or TypeError with an argument code (sync throw or rejection). */
async function expectArgumentError(call: () => unknown, code: string, name: RegExp): Promise<void> {
  let error: unknown;
  try {
    await call();
  } catch (caught) {
    error = caught;
  }
  expect(error).toBeDefined();
  expect(error).toMatchObject({ code });
  expect((error as Error).message).toMatch(name);
  expect(['RangeError', 'TypeError']).toContain((error as Error).name);
}

describe('batches: an empty batch is checked like any other', () => {
  const apis: Array<[string, () => Api]> = [
    ['module functions', () => s3dlio as Api],
    ...SCHEMES.map((scheme): [string, () => Api] => [`${scheme}:// store`, () => s3dlio.storeFor(`${scheme}:///`)]),
    ...cloudTargets().map((target): [string, () => Api] => [target.name, () => target.store()]),
  ];

  describe.each(apis)('%s', (_name, api) => {
    test.each([0, -1, 1.5, '4'])('concurrency %p is refused with [] too', async (concurrency) => {
      const options = { concurrency } as never;
      const name = /options\.concurrency/;
      const code = typeof concurrency === 'number' ? 'ERR_OUT_OF_RANGE' : 'ERR_INVALID_ARG_TYPE';
      await expectArgumentError(() => api().deleteMany([], options), code, name);
      await expectArgumentError(() => api().getMany([], options), code, name);
      await expectArgumentError(() => api().putMany([], options), code, name);
    });

    test('an already-aborted signal rejects an empty batch with ERR_ABORTED', async () => {
      for (const call of [
        () => api().deleteMany([], { signal: aborted }),
        () => api().getMany([], { signal: aborted }),
        () => api().putMany([], { signal: aborted }),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      }
    });

    test('a non-array is refused', async () => {
      await expectArgumentError(() => api().deleteMany('a' as never), 'ERR_INVALID_ARG_TYPE', /`uris`/);
    });
  });
});

describe.each(SCHEMES)('%s://: options a local store does not use are still checked', (scheme) => {
  const uri = (): string => `${scheme}://${tmp.path}/${scheme}-obj`;
  beforeAll(async () => {
    await s3dlio.put(uri(), 'data');
  });

  test.each<[string, () => Promise<unknown>, string, RegExp]>([
    ['get chunkSize (engine off)', () => s3dlio.get(uri(), { chunkSize: 0 }), 'ERR_OUT_OF_RANGE', /options\.chunkSize/],
    ['get concurrency', () => s3dlio.get(uri(), { concurrency: -2 }), 'ERR_OUT_OF_RANGE', /options\.concurrency/],
    ['get verify', () => s3dlio.get(uri(), { verify: 'yes' as never }), 'ERR_INVALID_ARG_TYPE', /options\.verify/],
    [
      'getRange chunkSize',
      () => s3dlio.getRange(uri(), 0, 0, { chunkSize: 0 }),
      'ERR_OUT_OF_RANGE',
      /options\.chunkSize/,
    ],
    [
      'getRange rangeThreshold',
      () => s3dlio.getRange(uri(), 0, 1, { rangeThreshold: -1 }),
      'ERR_OUT_OF_RANGE',
      /rangeThreshold/,
    ],
    [
      'getInto verify',
      () => s3dlio.getInto(uri(), new Uint8Array(8), 0, { verify: 1 as never }),
      'ERR_INVALID_ARG_TYPE',
      /options\.verify/,
    ],
    [
      'getInto concurrency',
      () => s3dlio.getInto(uri(), new Uint8Array(8), 0, { concurrency: 0 }),
      'ERR_OUT_OF_RANGE',
      /concurrency/,
    ],
    ['put partSize', () => s3dlio.put(uri(), 'x', { partSize: 0 }), 'ERR_OUT_OF_RANGE', /options\.partSize/],
    [
      'put multipartThreshold',
      () => s3dlio.put(uri(), 'x', { multipartThreshold: -5 }),
      'ERR_OUT_OF_RANGE',
      /multipartThreshold/,
    ],
    [
      'createWriter verify',
      async () => s3dlio.createWriter(`${uri()}-w`, { verify: 'no' as never }),
      'ERR_INVALID_ARG_TYPE',
      /options\.verify/,
    ],
  ])('%s', async (_name, call, code, name) => {
    await expectArgumentError(call, code, name);
    expect(await s3dlio.get(uri())).toEqual(Buffer.from('data')); // nothing was written
    expect(existsSync(`${tmp.path}/${scheme}-obj-w`)).toBe(false);
  });
});

describe('cloud: checks before the shortcut', () => {
  const s3 = s3Target();
  const bucket = s3.bucketUri(newBucketName('valid'));
  beforeAll(async () => {
    await s3.store().createBucket(bucket);
  });
  afterAll(async () => {
    await s3.store().deleteBucket(bucket, { force: true });
  });

  test('a small put checks the multipart options it does not need', async () => {
    await expectArgumentError(
      () => s3.store().put(`${bucket}small`, 'x', { partSize: 0 }),
      'ERR_OUT_OF_RANGE',
      /options\.partSize/,
    );
    await expectArgumentError(
      () => s3.store().put(`${bucket}small`, 'x', { concurrency: 0 }),
      'ERR_OUT_OF_RANGE',
      /options\.concurrency/,
    );
    expect(await s3.store().exists(`${bucket}small`)).toBe(false);
  });

  test('store-level settings are checked by storeFor, not by the first get', async () => {
    const base = { endpoint: process.env.S3DLIO_TEST_S3_ENDPOINT, region: 'us-east-1' };
    for (const [options, name] of [
      [{ chunkSize: 0 }, /options\.chunkSize/],
      [{ concurrency: -1 }, /options\.concurrency/],
      [{ rangeThreshold: 1.5 }, /options\.rangeThreshold/],
      [{ multipartThreshold: 0 }, /options\.multipartThreshold/],
      [{ pageSize: 0 }, /options\.pageSize/],
    ] as const) {
      await expectArgumentError(() => s3dlio.storeFor('s3://', { ...base, ...options }), 'ERR_OUT_OF_RANGE', name);
    }
    await expectArgumentError(
      () => s3dlio.storeFor('gs://', { endpoint: 'http://127.0.0.1:1', pageSize: -3 }),
      'ERR_OUT_OF_RANGE',
      /options\.pageSize/,
    );
  });

  test('a sequential writer (GCS) still checks its concurrency', async () => {
    const gs = gsTarget();
    await expectArgumentError(
      () => gs.store().createWriter(`${gs.bucketUri('some-bucket')}x`, { concurrency: 0 }),
      'ERR_OUT_OF_RANGE',
      /options\.concurrency/,
    );
  });

  test('Dataset.fromPrefix checks its options before listing (a missing bucket is not the first error)', async () => {
    const missing = s3.bucketUri(newBucketName('nolist'));
    const store = s3.store();
    await expectArgumentError(
      () => s3dlio.Dataset.fromPrefix(missing, { store, format: 'parquet' } as never),
      'ERR_INVALID_ARG_VALUE',
      /options\.format/,
    );
    await expectArgumentError(
      () => s3dlio.Dataset.fromPrefix(missing, { store, verify: 'no' } as never),
      'ERR_INVALID_ARG_TYPE',
      /options\.verify/,
    );
  });
});

describe('other entry points', () => {
  const file = (rel = ''): string => `file://${tmp.path}/other/${rel}`;

  test('upload and download check their options even with nothing to transfer', async () => {
    await expectArgumentError(
      () => s3dlio.upload([`${tmp.path}/nothing-here/*`], file('up/'), { partSize: 0 }),
      'ERR_OUT_OF_RANGE',
      /options\.partSize/,
    );
    await expectArgumentError(
      () => s3dlio.upload([`${tmp.path}/nothing-here/*`], file('up/'), { onProgress: 'yes' as never }),
      'ERR_INVALID_ARG_TYPE',
      /options\.onProgress/,
    );
    await expectArgumentError(
      () => s3dlio.download(file('empty/'), `${tmp.path}/down`, { onObject: 5 as never }),
      'ERR_INVALID_ARG_TYPE',
      /options\.onObject/,
    );
    await expectArgumentError(
      () => s3dlio.download(file('empty/'), `${tmp.path}/down`, { partSize: -1 }),
      'ERR_OUT_OF_RANGE',
      /options\.partSize/,
    );
  });

  test('copy: recursive must be a boolean (a string does not mean a single-object copy)', async () => {
    await expectArgumentError(
      () => s3dlio.copy(file('a/'), file('b/'), { recursive: 'yes' as never }),
      'ERR_INVALID_ARG_TYPE',
      /options\.recursive/,
    );
    await expectArgumentError(
      () => s3dlio.copy(file('a'), file('b'), { concurrency: 0 }),
      'ERR_OUT_OF_RANGE',
      /options\.concurrency/,
    );
  });

  test('datasets: every option is checked whatever the format, and fetch options on get', async () => {
    await expectArgumentError(
      () => s3dlio.Dataset.fromUris([], { verify: 'no' } as never),
      'ERR_INVALID_ARG_TYPE',
      /options\.verify/,
    );
    await expectArgumentError(
      () => s3dlio.Dataset.fromUris([], { requireIndex: 1 } as never),
      'ERR_INVALID_ARG_TYPE',
      /options\.requireIndex/,
    );
    await expectArgumentError(
      () => s3dlio.Dataset.fromUris([], { signal: 'stop' as never }),
      'ERR_INVALID_ARG_TYPE',
      /options\.signal/,
    );
    await s3dlio.put(file('item.bin'), 'x');
    const dataset = await s3dlio.Dataset.fromUris([file('item.bin')]);
    await expectArgumentError(
      () => dataset.get(0, { rangeThreshold: 'sometimes' as never }),
      'ERR_INVALID_ARG_TYPE',
      /options\.rangeThreshold/,
    );
    await expectArgumentError(() => dataset.get(0, { chunkSize: 0 }), 'ERR_OUT_OF_RANGE', /options\.chunkSize/);
  });

  test('generateObject checks the generator options before an already-aborted signal', async () => {
    await expectArgumentError(
      () => s3dlio.generateObject('raw', 16, { dedup: 0, signal: aborted }),
      'ERR_OUT_OF_RANGE',
      /options\.dedup/,
    );
  });
});

describe('CLI: numbers that would make a command do nothing, or mean nothing, are usage errors', () => {
  const target = (): string => `file://${tmp.path}/cli/`;

  async function expectUsageError(args: string[], message: RegExp): Promise<void> {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^s3dlio: /);
    expect(lines[0]).toMatch(message);
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }

  test.each<[string[], RegExp]>([
    [['-n', '0', '-s', '10'], /invalid --objects '0'/],
    [['-n', '0k', '-s', '10'], /invalid --objects '0k'/],
    [['-n', '-2', '-s', '10'], /invalid --objects '-2'/],
    [['-n', '1.5', '-s', '10'], /invalid --objects '1\.5'/],
    [['-n', '2', '-s', '10', '-j', '0'], /invalid --jobs '0'/],
    [['-n', '2', '-s', '10', '-j', '-1'], /invalid --jobs '-1'/],
    [['-n', '2', '-s', '10', '-j', '2.5'], /invalid --jobs '2\.5'/],
    [['-n', '2', '-s', '-10'], /invalid --size '-10'/],
    [['-n', '2', '-s', '10.5'], /invalid --size '10\.5'/],
    [['-n', '2', '-s', '10', '-d', '0'], /invalid --dedup '0'/],
    [['-n', '2', '-s', '10', '-x', '0.5'], /invalid --compress '0\.5'/],
    [['-n', '2', '-s', '10', '--format', 'tfrecord', '--records', '0'], /invalid --records '0'/],
    [['-n', '2', '-s', '10', '--records', '2'], /--records applies to --format tfrecord/],
    [
      ['-n', '2', '-s', '10', '--format', 'tfrecord', '--records', '11'],
      /--records 11 is more than the 10 payload bytes/,
    ],
  ])('put %j', async (args, message) => {
    await expectUsageError(['put', target(), '-c', ...args], message);
    expect(existsSync(path.join(tmp.path, 'cli'))).toBe(false); // not even the bucket (-c)
  });

  test.each<[string[], RegExp]>([
    [['get', '__OBJ__', '--length', '0'], /invalid --length '0'/],
    [['get', '__OBJ__', '--offset', '-1'], /invalid --offset '-1'/],
    [['get', '__DIR__', '-r', '-j', '0'], /invalid --jobs '0'/],
    [['cp', '-r', '__DIR__', '__DIR__copy/', '-j', '0'], /invalid --jobs '0'/],
    [['rm', '-r', '__DIR__', '-j', '0'], /invalid --jobs '0'/],
    [['upload', '__FILE__', '__DIR__up/', '-j', '0'], /invalid --jobs '0'/],
    [['download', '__DIR__', '__LOCAL__', '-j', '0'], /invalid --jobs '0'/],
  ])('%j', async (args, message) => {
    const dir = path.join(tmp.path, 'cli-other');
    await s3dlio.put(`file://${dir}/obj`, 'data');
    const before = readdirSync(dir);
    const substitute = (arg: string): string =>
      arg
        .replace('__OBJ__', `file://${dir}/obj`)
        .replace('__DIR__', `file://${dir}/`)
        .replace('__FILE__', path.join(dir, 'obj'))
        .replace('__LOCAL__', path.join(tmp.path, 'cli-local'));
    await expectUsageError(args.map(substitute), message);
    expect(readdirSync(dir)).toEqual(before);
    expect(existsSync(path.join(tmp.path, 'cli-local'))).toBe(false);
  });
});

test('the CLI still accepts the smallest meaningful numbers', async () => {
  const result = await runCli(['put', `file://${tmp.path}/cli-ok/`, '-n', '1', '-s', '0', '-j', '1']);
  expect(result.code).toBe(0);
  expect(readdirSync(path.join(tmp.path, 'cli-ok'))).toEqual(['object_0_of_1.bin']);
  const tf = await runCli([
    'put',
    `file://${tmp.path}/cli-tf/`,
    '-n',
    '1',
    '-s',
    '3',
    '--format',
    'tfrecord',
    '--records',
    '3',
  ]);
  expect(tf.code).toBe(0);
});
