/**
 * upload / download between local trees and every backend: paths kept relative to the pattern
 * base / prefix, unicode and spaces, progress, every failure reported, and keys that try to
 * escape the destination directory refused with nothing written outside it.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { PutObjectCommand } from '@aws-sdk/client-s3';

import { BatchError, type TransferProgress, download, parseUri, storeFor, upload } from '../../lib';
import { cloudTargets, newBucketName, s3Client, s3Target } from '../cloud/targets';
import { type CloudCli, assertDistFresh, cloudClis, runCli } from '../cli/cli';
import { withTools } from '../helpers/tools';
import { expectSameBytes, rejectionOf, testBytes, treeOf } from '../helpers/local';

let scratch = '';
const tree: Record<string, Uint8Array> = {
  'a.bin': testBytes(1000, 1),
  'sub/b.bin': testBytes(70_000, 2),
  'sub/deeper/ünï côde.txt': testBytes(10, 3),
  'sub/skip.tmp': testBytes(5, 4),
};

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 's3dlio-transfer-'));
  for (const [rel, bytes] of Object.entries(tree)) {
    mkdirSync(path.dirname(path.join(scratch, 'src', rel)), { recursive: true });
    writeFileSync(path.join(scratch, 'src', rel), bytes);
  }
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const destinations = [
  {
    name: 'direct://',
    prefix: () => `direct://${scratch}/dest-direct/data/`,
    setUp: async () => undefined,
    tearDown: async () => undefined,
  },
  ...cloudTargets().map((target) => {
    const bucket = target.bucketUri(newBucketName('xfer'));
    return {
      name: target.name,
      prefix: () => `${bucket}data/`,
      setUp: async () => undefined,
      tearDown: () => target.store().deleteBucket(bucket, { force: true }),
      target,
    };
  }),
];

/** Module functions (upload/download) use each scheme's default store, configured from the env. */
function configure(): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: process.env.S3DLIO_TEST_S3_ENDPOINT,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    AZURE_STORAGE_CONNECTION_STRING: process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING,
    STORAGE_EMULATOR_HOST: process.env.S3DLIO_TEST_GCS_ENDPOINT,
    GOOGLE_CLOUD_PROJECT: 'test',
  });
}

describe.each(
  destinations.map((destination) => [destination.name, destination] as [string, (typeof destinations)[number]]),
)('%s', (_name, destination) => {
  afterAll(() => destination.tearDown());

  test('upload of glob patterns, then download, round-trips the tree with progress', async () => {
    configure();
    const progress: TransferProgress[] = [];
    const sent = await upload([`${scratch}/src/**/*.bin`, `${scratch}/src/sub/deeper/*`], destination.prefix(), {
      createBucket: true,
      concurrency: 3,
      onProgress: (p) => progress.push(p),
    });
    expect(sent).toMatchObject({ objects: 3, bytes: 71_010, failed: [] });
    expect(progress.at(-1)).toMatchObject({ objectsDone: 3, objectsTotal: 3, bytesDone: 71_010, bytesTotal: 71_010 });
    const store = storeFor(destination.prefix());
    expect(await store.list(destination.prefix(), { recursive: true })).toEqual(
      ['a.bin', 'sub/b.bin', 'ünï côde.txt'].map((rel) => `${destination.prefix()}${rel}`),
    );

    const into = path.join(scratch, `down-${destination.name.replace(/\W+/g, '')}`);
    const received = await download(destination.prefix(), into, { concurrency: 2 });
    expect(received).toMatchObject({ objects: 3, bytes: 71_010, failed: [] });
    expectSameBytes(readFileSync(path.join(into, 'sub/b.bin')), tree['sub/b.bin']);
    expectSameBytes(readFileSync(path.join(into, 'ünï côde.txt')), tree['sub/deeper/ünï côde.txt']);
    expect(treeOf(into)).toEqual(['a.bin', 'sub/', 'sub/b.bin', 'ünï côde.txt']);
  });
});

// These two groups read through the default s3:// store, configured from the environment.
test('upload of a pattern relative to the working directory, into a prefix written without its slash', async () => {
  const saved = process.cwd();
  process.chdir(path.join(scratch, 'src'));
  try {
    const result = await upload(['*.bin', 'sub/*.bin'], `file://${scratch}/relative-dest`);
    expect(result.failed).toEqual([]);
  } finally {
    process.chdir(saved);
  }
  // Keys are relative to each pattern's fixed directory: `.` for the first, `sub` for the second.
  expect(treeOf(path.join(scratch, 'relative-dest'))).toEqual(['a.bin', 'b.bin']);
  expectSameBytes(readFileSync(path.join(scratch, 'relative-dest', 'b.bin')), tree['sub/b.bin']);
});

const s3 = withTools(['moto'], 'download and recursive copy through the default s3:// store');

s3.describe('download never writes outside the directory it was given', () => {
  const target = s3Target();
  const bucket = target.bucketUri(newBucketName('evil'));
  const store = target.store();
  beforeAll(async () => {
    await store.createBucket(bucket);
    await store.put(`${bucket}evil/ok.txt`, 'fine');
    await store.put(`${bucket}evil/../../escape.txt`, 'escaped');
    await store.put(`${bucket}evil/a/../../../etc/passwd-ish`, 'escaped');
    await store.put(`${bucket}evil//abs.txt`, 'absolute');
  });
  afterAll(() => store.deleteBucket(bucket, { force: true }));

  test('unsafe keys are refused with ERR_UNSAFE_PATH; the safe ones are written; nothing lands outside', async () => {
    configure();
    const into = path.join(scratch, 'jail', 'inside');
    mkdirSync(into, { recursive: true });
    const error = await rejectionOf(download(`${bucket}evil/`, into));
    expect(error).toBeInstanceOf(BatchError);
    expect(error.errors.map((item: { code: string }) => item.code)).toEqual([
      'ERR_UNSAFE_PATH',
      'ERR_UNSAFE_PATH',
      'ERR_UNSAFE_PATH',
    ]);
    expect(treeOf(path.join(scratch, 'jail'))).toEqual(['inside/', 'inside/ok.txt']);
    expect(existsSync(path.join(scratch, 'escape.txt'))).toBe(false);

    const lenient = await download(`${bucket}evil/`, path.join(scratch, 'jail2'), { continueOnError: true });
    expect(lenient.objects).toBe(1);
    expect(lenient.failed.map((failure) => failure.error.code)).toEqual([
      'ERR_UNSAFE_PATH',
      'ERR_UNSAFE_PATH',
      'ERR_UNSAFE_PATH',
    ]);
  });
});

s3.describe('download of a prefix holding folder markers (the zero-byte `dir/` objects consoles create)', () => {
  const target = s3Target();
  const bucket = target.bucketUri(newBucketName('markers'));
  const store = target.store();
  beforeAll(async () => {
    await store.createBucket(bucket);
    // The library refuses such keys for writes; consoles and other tools make them.
    const s3 = s3Client();
    const name = parseUri(bucket).bucket;
    for (const key of ['p/', 'p/dir/']) await s3.send(new PutObjectCommand({ Bucket: name, Key: key, Body: '' }));
    await s3.send(new PutObjectCommand({ Bucket: name, Key: 'q/odd/', Body: 'bytes under a folder name' }));
    s3.destroy();
    await store.put(`${bucket}p/dir/f.txt`, 'inside');
    await store.put(`${bucket}q/odd/g.txt`, 'beside');
  });
  afterAll(() => store.deleteBucket(bucket, { force: true }));

  test('the markers are directories, not objects: the files below them arrive, nothing fails', async () => {
    configure();
    const into = path.join(scratch, 'markers');
    const result = await download(`${bucket}p/`, into);
    expect(result.objects).toBe(1);
    expect(result.failed).toEqual([]);
    expect(treeOf(into)).toEqual(['dir/', 'dir/f.txt']);
    expect(readFileSync(path.join(into, 'dir', 'f.txt'), 'utf8')).toBe('inside');
  });

  test('a key ending with / that holds bytes is a reported failure (ERR_IS_DIRECTORY), never dropped unseen', async () => {
    configure();
    const into = path.join(scratch, 'odd-marker');
    const error = await rejectionOf(download(`${bucket}q/`, into));
    expect(error).toBeInstanceOf(BatchError);
    expect(error.errors).toEqual([
      expect.objectContaining({ code: 'ERR_IS_DIRECTORY', uri: `${bucket}q/odd/`, operation: 'download' }),
    ]);
    expect(treeOf(into)).toEqual(['odd/', 'odd/g.txt']);
    // The CLI's dry run says the same before anything is written.
    assertDistFresh();
    const s3 = cloudClis().find((cli) => cli.scheme === 's3') as CloudCli;
    const dry = await runCli([...s3.args, 'download', '--dryrun', `${bucket}q/`, path.join(scratch, 'dry')], {
      env: s3.env,
    });
    expect(dry.stdout).toMatch(/^\(dryrun\) download: .*q\/odd\/g\.txt to /m);
    expect(dry.stderr).toContain(`${bucket}q/odd/: its key ends with '/'`);
    expect(dry.stderr).toContain('[ERR_IS_DIRECTORY]');
    expect(dry.code).toBe(1);
    const lenient = await download(`${bucket}q/`, path.join(scratch, 'odd-marker-2'), { continueOnError: true });
    expect(lenient.objects).toBe(1);
    expect(lenient.failed.map((failure) => [failure.uri, failure.error.code])).toEqual([
      [`${bucket}q/odd/`, 'ERR_IS_DIRECTORY'],
    ]);
  });
  test('recursive copies skip the markers and report the one holding bytes: copy, cp -r, sync', async () => {
    configure();
    const { copy } = await import('../../lib');
    await copy(`${bucket}p/`, `file://${scratch}/copied-markers/`, { recursive: true });
    expect(treeOf(path.join(scratch, 'copied-markers'))).toEqual(['dir/', 'dir/f.txt']);
    await copy(`${bucket}p/`, `${bucket}p-copy/`, { recursive: true });
    expect(await store.list(`${bucket}p-copy/`, { recursive: true })).toEqual([`${bucket}p-copy/dir/f.txt`]);
    const error = await rejectionOf(copy(`${bucket}q/`, `file://${scratch}/copied-odd/`, { recursive: true }));
    expect(error.errors).toEqual([expect.objectContaining({ code: 'ERR_IS_DIRECTORY', uri: `${bucket}q/odd/` })]);
    expect(treeOf(path.join(scratch, 'copied-odd'))).toEqual(['odd/', 'odd/g.txt']);

    assertDistFresh();
    const cli = cloudClis().find((one) => one.scheme === 's3') as CloudCli;
    for (const args of [
      ['cp', '-r', `${bucket}p/`, path.join(scratch, 'cli-cp')],
      ['sync', '--delete', `${bucket}p/`, `${bucket}p-copy/`],
    ]) {
      const run = await runCli([...cli.args, ...args], { env: cli.env });
      expect(run.stderr).not.toMatch(/failed/);
      expect(run.code).toBe(0);
    }
    expect(treeOf(path.join(scratch, 'cli-cp'))).toEqual(['dir/', 'dir/f.txt']);
    const odd = await runCli([...cli.args, 'cp', '-r', `${bucket}q/`, path.join(scratch, 'cli-odd')], { env: cli.env });
    expect(odd.stderr).toContain(`${bucket}q/odd/: its key ends with '/'`);
    expect(odd.stderr).toContain('[ERR_IS_DIRECTORY]');
    expect(odd.code).toBe(1);
  });
});

s3.describe('copy with { recursive: true } across backends', () => {
  const target = s3Target();
  const bucket = target.bucketUri(newBucketName('rcp'));
  const store = target.store();
  beforeAll(async () => {
    configure();
    await store.createBucket(bucket);
    await store.putMany(Object.entries(tree).map(([rel, data]) => ({ uri: `${bucket}tree/${rel}`, data })));
  });
  afterAll(() => store.deleteBucket(bucket, { force: true }));

  test('s3:// prefix → file:// directory → s3:// prefix keeps every relative key and byte', async () => {
    const { copy } = await import('../../lib');
    const local = `file://${scratch}/rcopy/`;
    await copy(`${bucket}tree/`, local, { recursive: true, concurrency: 3 });
    expect(treeOf(path.join(scratch, 'rcopy'))).toEqual([
      'a.bin',
      'sub/',
      'sub/b.bin',
      'sub/deeper/',
      'sub/deeper/ünï côde.txt',
      'sub/skip.tmp',
    ]);
    await copy(local, `${bucket}again/`, { recursive: true });
    for (const [rel, bytes] of Object.entries(tree)) expectSameBytes(await store.get(`${bucket}again/${rel}`), bytes);
  });

  test('a key that would climb out of a local destination fails (reported), nothing lands outside', async () => {
    const { copy } = await import('../../lib');
    await store.put(`${bucket}bad/../../outside.txt`, 'x');
    await store.put(`${bucket}bad/fine.txt`, 'y');
    const error = await rejectionOf(copy(`${bucket}bad/`, `file://${scratch}/rjail/in/`, { recursive: true }));
    expect(error).toBeInstanceOf(BatchError);
    expect(error.errors.map((item: { code: string }) => item.code)).toEqual(['ERR_UNSAFE_PATH']);
    expect(treeOf(path.join(scratch, 'rjail'))).toEqual(['in/', 'in/fine.txt']);
  });
});
