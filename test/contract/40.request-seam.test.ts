/**
 * Every request a store makes passes through one method, `io`, the backends' fast paths included
 * (the native getMany, S3's DeleteObjects, a local rename(2)): the place where an operation log
 * records each request. A store that overrides `io` sees exactly the requests of each call, each
 * once: a compound call (a multipart put, a forced deleteBucket) as its requests, not also whole.
 */
import { DirectStore, FileStore, MemoryStore, type ObjectStore } from '../../lib';
import type { IoOp } from '../../lib/backends/base-store';
import { S3Store } from '../../lib/backends/cloud/s3';
import { GcsStore } from '../../lib/backends/cloud/gcs';
import { newBucketName, requiredEnv, s3StoreOptions } from '../cloud/targets';
import { toolsAvailable } from '../helpers/tools';
import { useTempDir } from '../helpers/temp';

type Seen = string[];
type StoreClass = new (...args: never[]) => ObjectStore;
type Recording = ObjectStore & { seen: Seen };

/** `Base` with `io` recording `OP objects` for each request. */
function recording(Base: StoreClass): new (...args: never[]) => ObjectStore & { seen: Seen } {
  return class extends (Base as unknown as new (...args: never[]) => ObjectStore & Record<string, unknown>) {
    seen: Seen = [];
    protected io<T>(op: IoOp, uri: string, request: () => Promise<T>, objects = 1): Promise<T> {
      this.seen.push(`${op} ${objects}`);
      return (super.io as (...args: unknown[]) => Promise<T>)(op, uri, request, objects);
    }
  } as never;
}

const tmp = useTempDir();

interface Case {
  name: string;
  make(): Recording;
  bucket(): string;
  /** getMany of two objects: one native call locally. */
  getMany: Seen;
  /** deleteMany of two objects: one DeleteObjects on S3. */
  deleteMany: Seen;
  /** rename: rename(2) locally, else copy + delete. */
  rename: Seen;
  /** A put above the multipart threshold: one write locally, its parts and completion on a cloud. */
  multipartPut: Seen;
  /** deleteBucket with force: one call locally, the listing, the deletes and the bucket on a cloud. */
  forcedDeleteBucket: Seen;
}

const ONE_CALL = { multipartPut: ['PUT 1'], forcedDeleteBucket: ['DELETE 1'] };
const IN_REQUESTS = {
  // Parts write no whole object (n_objects 0 in the op-log); the completion makes it.
  multipartPut: ['PUT 0', 'PUT 0', 'PUT 1'],
  forcedDeleteBucket: ['LIST 1', 'DELETE 1', 'DELETE 1'],
};

const cases: Case[] = [
  {
    name: 'mem://',
    make: () => new (recording(MemoryStore as StoreClass))(),
    bucket: () => `mem://${newBucketName('seam')}/`,
    getMany: ['GET 1', 'GET 1'],
    deleteMany: ['DELETE 1', 'DELETE 1'],
    rename: ['COPY 1', 'DELETE 1'],
    ...ONE_CALL,
  },
  ...(['file', 'direct'] as const).map((scheme): Case => ({
    name: `${scheme}://`,
    make: () => new (recording((scheme === 'file' ? FileStore : DirectStore) as StoreClass))(),
    bucket: () => tmp.uri(scheme, `${newBucketName('seam')}/`),
    getMany: ['GET 2'],
    deleteMany: ['DELETE 1', 'DELETE 1'],
    rename: ['MOVE 1'],
    ...ONE_CALL,
  })),
  {
    name: 'gs://',
    make: () =>
      new (recording(GcsStore as StoreClass))({
        endpoint: requiredEnv('S3DLIO_TEST_GCS_ENDPOINT'),
        projectId: 'test',
      } as never),
    bucket: () => `gs://${newBucketName('seam')}/`,
    getMany: ['GET 1', 'GET 1'],
    deleteMany: ['DELETE 1', 'DELETE 1'],
    rename: ['COPY 1', 'DELETE 1'],
    ...IN_REQUESTS,
  },
  ...(toolsAvailable(['moto'], 'the s3 (moto) case of the request seam')
    ? [
        {
          name: 's3://',
          make: () => new (recording(S3Store as StoreClass))(s3StoreOptions() as never),
          bucket: () => `s3://${newBucketName('seam')}/`,
          getMany: ['GET 1', 'GET 1'],
          deleteMany: ['DELETE 2'],
          rename: ['COPY 1', 'DELETE 1'],
          ...IN_REQUESTS,
        },
      ]
    : []),
];

describe.each(cases.map((c) => [c.name, c] as [string, Case]))('%s', (_name, c) => {
  test('each call passes its requests through io, fast paths included', async () => {
    const store = c.make();
    const base = c.bucket();
    const calls: Array<[string, () => Promise<unknown>, Seen]> = [
      ['createBucket', () => store.createBucket(base), ['PUT 1']],
      ['put', () => store.put(`${base}a`, 'alpha'), ['PUT 1']],
      ['put', () => store.put(`${base}b`, 'beta'), ['PUT 1']],
      ['get', () => store.get(`${base}a`), ['GET 1']],
      [
        'get in 3 ranges',
        () => store.get(`${base}a`, { rangeThreshold: 2, chunkSize: 2 }),
        ['GET 1', 'GET 1', 'GET 1'],
      ],
      ['stat', () => store.stat(`${base}a`), ['STAT 1']],
      ['exists', () => store.exists(`${base}none`), ['STAT 1']],
      ['list', () => store.list(base), ['LIST 1']],
      [
        'listDetailed: sizes from the page, no stat',
        async () => {
          for await (const entry of store.listDetailed(base)) expect(entry.isPrefix).toBe(false);
        },
        ['LIST 1'],
      ],
      ['getMany', () => store.getMany([`${base}a`, `${base}b`]), c.getMany],
      ['copy', () => store.copy(`${base}a`, `${base}c`), ['COPY 1']],
      ['rename', () => store.rename(`${base}c`, `${base}d`), c.rename],
      [
        'writer',
        async () => {
          const writer = store.createWriter(`${base}w`);
          await writer.write('written');
          await writer.close();
        },
        ['PUT 1'],
      ],
      ['deleteMany', () => store.deleteMany([`${base}a`, `${base}b`]), c.deleteMany],
      ['delete', () => store.delete(`${base}d`), ['DELETE 1']],
      ['deletePrefix', () => store.deletePrefix(base), ['LIST 1', 'DELETE 1']],
      [
        'multipart put',
        () => store.put(`${base}big`, new Uint8Array(6 << 20), { multipartThreshold: 5 << 20, partSize: 5 << 20 }),
        c.multipartPut,
      ],
      ['deleteBucket, forced', () => store.deleteBucket(base, { force: true }), c.forcedDeleteBucket],
      ['createBucket', () => store.createBucket(base), ['PUT 1']],
      ['deleteBucket', () => store.deleteBucket(base), ['DELETE 1']],
    ];
    for (const [name, call, expected] of calls) {
      store.seen = [];
      await call();
      expect({ name, seen: store.seen }).toEqual({ name, seen: expected });
    }
  });
});
