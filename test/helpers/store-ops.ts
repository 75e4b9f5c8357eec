/**
 * Every kind of request a cloud store makes, run once in a fresh bucket: for tests that watch
 * where (and how) each operation's requests go on the wire.
 */
import type { ObjectStore } from '../../lib';
import { expectSameBytes, testBytes } from './local';

/** The operations `runEveryOperation` performs, in order. */
export const EVERY_OPERATION = [
  'createBucket',
  'put',
  'get',
  'getRange',
  'getMany',
  'stat',
  'exists',
  'list',
  'copy',
  'rename',
  'createWriter (multipart)',
  'delete',
  'deleteMany',
  'listBuckets',
  'deletePrefix',
  'deleteBucket',
] as const;

export type OperationName = (typeof EVERY_OPERATION)[number];

export interface EveryOperationPlan {
  /** URI of a bucket that does not exist yet (`s3://b/`, `az://acct/c/`, `gs://b/`). */
  bucketUri: string;
  /** What `listBuckets` is called with. */
  schemeUri: string;
  /** Part size of the multipart writer (the backend's minimum is fine); two parts are written. */
  partSize: number;
  /** Called after each operation (e.g. to count the requests it made). */
  after?: (operation: OperationName) => void;
}

/** Runs every operation against `store`, checking each result. */
export async function runEveryOperation(store: ObjectStore, plan: EveryOperationPlan): Promise<void> {
  const { bucketUri: base, after = () => undefined } = plan;
  const bytes = testBytes(4096, 7);
  const step = async (operation: OperationName, run: () => Promise<void>): Promise<void> => {
    await run();
    after(operation);
  };
  await step('createBucket', () => store.createBucket(base));
  await step('put', () => store.put(`${base}dir/a.bin`, bytes));
  await step('get', async () => expectSameBytes(await store.get(`${base}dir/a.bin`), bytes));
  await step('getRange', async () =>
    expectSameBytes(await store.getRange(`${base}dir/a.bin`, 10, 100), bytes.subarray(10, 110)),
  );
  await step('getMany', async () => expect(await store.getMany([`${base}dir/a.bin`])).toHaveLength(1));
  await step('stat', async () => expect((await store.stat(`${base}dir/a.bin`)).size).toBe(bytes.byteLength));
  await step('exists', async () => expect(await store.exists(`${base}dir/a.bin`)).toBe(true));
  await step('list', async () => expect(await store.list(`${base}dir/`)).toEqual([`${base}dir/a.bin`]));
  await step('copy', () => store.copy(`${base}dir/a.bin`, `${base}dir/b.bin`));
  await step('rename', () => store.rename(`${base}dir/b.bin`, `${base}dir/c.bin`));
  await step('createWriter (multipart)', async () => {
    const writer = store.createWriter(`${base}dir/big.bin`, { partSize: plan.partSize });
    await writer.write(testBytes(plan.partSize + 1000, 3));
    expect((await writer.close()).parts).toBe(2);
  });
  await step('delete', () => store.delete(`${base}dir/c.bin`));
  await step('deleteMany', async () => expect(await store.deleteMany([`${base}dir/big.bin`])).toBe(1));
  await step('listBuckets', async () => expect(await store.listBuckets(plan.schemeUri)).toContain(base));
  await step('deletePrefix', async () => expect(await store.deletePrefix(base)).toBe(1));
  await step('deleteBucket', () => store.deleteBucket(base));
}
