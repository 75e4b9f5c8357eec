/**
 * AbortSignal: an already-aborted signal rejects every operation with ERR_ABORTED before it
 * touches the filesystem; aborting a large put leaves neither the object nor a temp file;
 * aborting a large get rejects without waiting for the read; bad signals are TypeErrors.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, writeFileSync, writeSync } from 'fs';

import * as s3dlio from '../../lib';
import { S3dlioError, listStream } from '../../lib';
import { SCHEMES, TEMP_FILE, nextTick, rejectionOf, sandbox, tempFilesIn, treeOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir();
const MiB = 1024 * 1024;

function expectAborted(error: unknown, reason: unknown, operation?: string): void {
  expect(error).toBeInstanceOf(S3dlioError);
  expect(error).toMatchObject({ code: 'ERR_ABORTED', ...(operation ? { operation } : {}) });
  expect((error as Error).message).toMatch(/aborted/);
  expect((error as Error).cause).toBe(reason);
}

describe.each(SCHEMES)('%s://: an already-aborted signal', (scheme) => {
  const reason = new Error('stop right there');
  const signal = AbortSignal.abort(reason);
  let b: ReturnType<typeof sandbox>;
  beforeEach(() => {
    b = sandbox(tmp.path, scheme, 'pre-aborted');
    mkdirSync(b.path('bucket'));
    writeFileSync(b.path('bucket/obj'), 'object');
    writeFileSync(b.path('src'), 'source');
  });

  test.each([
    ['get', () => s3dlio.get(b.uri('src'), { signal })],
    ['getRange', () => s3dlio.getRange(b.uri('src'), 0, 1, { signal })],
    ['stat', () => s3dlio.stat(b.uri('src'), { signal })],
    ['exists', () => s3dlio.exists(b.uri('src'), { signal })],
    ['getMany', () => s3dlio.getMany([b.uri('src')], { signal })],
  ])('%s rejects with ERR_ABORTED (cause = signal.reason)', async (operation, call) => {
    expectAborted(await rejectionOf(call()), reason, operation);
  });

  test('put creates nothing — not even the parent directories', async () => {
    expectAborted(await rejectionOf(s3dlio.put(b.uri('new/dir/obj'), 'data', { signal })), reason, 'put');
    expect(existsSync(b.path('new'))).toBe(false);
  });

  test('putMany creates nothing', async () => {
    const error = await rejectionOf(
      s3dlio.putMany(
        [
          { uri: b.uri('p1'), data: '1' },
          { uri: b.uri('p/2'), data: '2' },
        ],
        { signal },
      ),
    );
    expectAborted(error, reason);
    expect(treeOf(b.dir)).toEqual(['bucket/', 'bucket/obj', 'src']);
  });

  test('delete, deleteMany, deletePrefix and deleteBucket delete nothing', async () => {
    expectAborted(await rejectionOf(s3dlio.delete(b.uri('src'), { signal })), reason, 'delete');
    expectAborted(await rejectionOf(s3dlio.deleteMany([b.uri('src')], { signal })), reason);
    expectAborted(await rejectionOf(s3dlio.deletePrefix(b.uri(), { signal })), reason, 'deletePrefix');
    expectAborted(
      await rejectionOf(s3dlio.deleteBucket(b.uri('bucket'), { force: true, signal })),
      reason,
      'deleteBucket',
    );
    expect(treeOf(b.dir)).toEqual(['bucket/', 'bucket/obj', 'src']);
  });

  test('copy, rename (same and cross scheme) and createBucket change nothing', async () => {
    const other = scheme === 'file' ? 'direct' : 'file';
    expectAborted(await rejectionOf(s3dlio.copy(b.uri('src'), b.uri('dst'), { signal })), reason, 'copy');
    expectAborted(await rejectionOf(s3dlio.copy(b.uri('src'), b.uri('dst2', other), { signal })), reason, 'copy');
    expectAborted(await rejectionOf(s3dlio.rename(b.uri('src'), b.uri('dst'), { signal })), reason, 'rename');
    expectAborted(await rejectionOf(s3dlio.rename(b.uri('src'), b.uri('dst3', other), { signal })), reason, 'rename');
    expectAborted(await rejectionOf(s3dlio.createBucket(b.uri('nb'), { signal })), reason, 'createBucket');
    expect(treeOf(b.dir)).toEqual(['bucket/', 'bucket/obj', 'src']);
  });

  test('the store methods behave the same', async () => {
    const store = s3dlio.storeFor(b.uri());
    expectAborted(await rejectionOf(store.put(b.uri('s'), 'x', { signal })), reason, 'put');
    expectAborted(await rejectionOf(store.get(b.uri('src'), { signal })), reason, 'get');
    expect(existsSync(b.path('s'))).toBe(false);
  });

  test('list rejects with ERR_ABORTED, also for a prefix with nothing to list', async () => {
    expectAborted(await rejectionOf(s3dlio.list(b.uri(), { signal })), reason);
    expectAborted(await rejectionOf(s3dlio.list(b.uri('bucket/'), { recursive: true, signal })), reason);
    expectAborted(await rejectionOf(s3dlio.list(b.uri('missing/'), { signal })), reason);
  });

  test('listStream rejects on the first iteration, also for a prefix with nothing to list', async () => {
    const iterate = async (prefix: string): Promise<string[]> => {
      const out: string[] = [];
      for await (const uri of listStream(prefix, { signal })) out.push(uri);
      return out;
    };
    expectAborted(await rejectionOf(iterate(b.uri())), reason);
    expectAborted(await rejectionOf(iterate(b.uri('missing/'))), reason);
  });

  test('the default reason (controller.abort() without argument) becomes the cause', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await rejectionOf(s3dlio.get(b.uri('src'), { signal: controller.signal }));
    expectAborted(error, controller.signal.reason);
    expect((error.cause as Error).name).toBe('AbortError');
  });
});

describe('options.signal must be an AbortSignal', () => {
  test.each([
    ['a plain object', {}],
    ['an AbortController', new AbortController()],
    ['true', true],
    ['null', null],
  ])('%s → TypeError ERR_INVALID_ARG_TYPE (rejected, not thrown)', async (_what, signal) => {
    const uri = tmp.uri('file', 'sig-x');
    const options = { signal: signal as unknown as AbortSignal };
    for (const call of [
      () => s3dlio.get(uri, options),
      () => s3dlio.put(uri, 'x', options),
      () => s3dlio.stat(uri, options),
      () => s3dlio.list(tmp.uri('file'), options),
      () => s3dlio.getMany([uri], options),
      () => s3dlio.deletePrefix(tmp.uri('file', 'nothing/'), options),
    ]) {
      let promise: Promise<unknown> | undefined;
      expect(() => (promise = call())).not.toThrow();
      const error = await rejectionOf(promise as Promise<unknown>);
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
      expect(error.message).toMatch(/^Expected an AbortSignal for `options.signal` but received/);
    }
    expect(() => listStream(tmp.uri('file'), options)).toThrow(TypeError);
    expect(existsSync(tmp.path + '/sig-x')).toBe(false);
  });
});

describe.each(SCHEMES)('%s://: aborting while the operation runs', (scheme) => {
  const SIZE = 256 * MiB;

  /** Polls `dir` (every event-loop turn) until a temp file shows up; null if `settled()` first. */
  async function waitForTempFile(dir: string, settled: () => boolean): Promise<string | null> {
    for (;;) {
      const temp = readdirSync(dir).find((name) => TEMP_FILE.test(name));
      if (temp) return temp;
      if (settled()) return null;
      await nextTick();
    }
  }

  test('a 256 MiB put aborted mid-write rejects with ERR_ABORTED (cause = reason) and leaves no object and no temp file', async () => {
    const b = sandbox(tmp.path, scheme, 'abort-put');
    const data = new Uint8Array(SIZE);
    data[0] = 1;
    data[SIZE - 1] = 2;
    const controller = new AbortController();
    const reason = { why: 'user pressed cancel' };
    // 1 MiB chunks: the writer looks at the cancel flag between chunks
    const store = s3dlio.storeFor(b.uri(), { chunkSize: MiB });
    let settled = false;
    const promise = store.put(b.uri('big.bin'), data, { signal: controller.signal });
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    const temp = await waitForTempFile(b.dir, () => settled);
    expect(temp).not.toBeNull(); // the write was under way (its temp file existed) when we aborted
    controller.abort(reason);
    const error = await rejectionOf(promise);
    expectAborted(error, reason, 'put');
    expect(readdirSync(b.dir)).toEqual([]); // hidden files included: no object, no temp file
  });

  test('a 256 MiB put through the module function, aborted mid-write, leaves nothing either', async () => {
    const b = sandbox(tmp.path, scheme, 'abort-put');
    const controller = new AbortController();
    let settled = false;
    const promise = s3dlio.put(b.uri('nested/big.bin'), new Uint8Array(SIZE), { signal: controller.signal });
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    mkdirSync(b.path('nested'), { recursive: true });
    expect(await waitForTempFile(b.path('nested'), () => settled)).not.toBeNull();
    controller.abort();
    expectAborted(await rejectionOf(promise), controller.signal.reason, 'put');
    expect(tempFilesIn(b.dir)).toEqual([]);
    expect(existsSync(b.path('nested/big.bin'))).toBe(false);
  });

  test('overwriting an existing object and aborting keeps the old object intact', async () => {
    const b = sandbox(tmp.path, scheme, 'abort-put');
    writeFileSync(b.path('keep.bin'), 'previous version');
    const controller = new AbortController();
    let settled = false;
    const promise = s3dlio
      .storeFor(b.uri(), { chunkSize: MiB })
      .put(b.uri('keep.bin'), new Uint8Array(SIZE), { signal: controller.signal });
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    expect(await waitForTempFile(b.dir, () => settled)).not.toBeNull();
    controller.abort();
    await expect(promise).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(readdirSync(b.dir)).toEqual(['keep.bin']);
    expect(Buffer.from(await s3dlio.get(b.uri('keep.bin'))).toString()).toBe('previous version');
  });

  test('a large get rejects with ERR_ABORTED as soon as the signal fires, without waiting for the read', async () => {
    const b = sandbox(tmp.path, scheme, 'abort-get');
    const fd = openSync(b.path('big.bin'), 'w');
    const chunk = Buffer.alloc(16 * MiB, 0x5a);
    for (let i = 0; i < SIZE / chunk.length; i++) writeSync(fd, chunk);
    closeSync(fd);

    const controller = new AbortController();
    const reason = new Error('enough');
    let state: 'pending' | 'resolved' | 'rejected' = 'pending';
    const promise = s3dlio.get(b.uri('big.bin'), { signal: controller.signal });
    promise.then(
      () => (state = 'resolved'),
      () => (state = 'rejected'),
    );
    await nextTick(); // the native read is running now
    expect(state).toBe('pending');
    controller.abort(reason);
    await nextTick(); // one event-loop turn: no read of 256 MiB completes in that time, the abort must not wait for it
    expect(state).toBe('rejected');
    expectAborted(await rejectionOf(promise), reason, 'get');
  });

  test('aborting after an operation completed changes nothing', async () => {
    const b = sandbox(tmp.path, scheme, 'abort-late');
    const controller = new AbortController();
    await s3dlio.put(b.uri('done'), 'done', { signal: controller.signal });
    controller.abort();
    await nextTick();
    expect(Buffer.from(await s3dlio.get(b.uri('done'))).toString()).toBe('done');
  });

  test('aborting a putMany of many objects: rejects ERR_ABORTED, every object present is complete, no temp files', async () => {
    const b = sandbox(tmp.path, scheme, 'abort-batch');
    const size = 4 * MiB;
    const items = Array.from({ length: 48 }, (_, i) => ({
      uri: b.uri(`o${i}`),
      data: new Uint8Array(size).fill(i + 1),
    }));
    const controller = new AbortController();
    let settled = false;
    const promise = s3dlio.putMany(items, { signal: controller.signal, concurrency: 2 });
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    expect(await waitForTempFile(b.dir, () => settled)).not.toBeNull();
    controller.abort();
    await expect(promise).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(tempFilesIn(b.dir)).toEqual([]);
    const present = readdirSync(b.dir);
    expect(present.length).toBeLessThan(items.length);
    for (const name of present) {
      const got = await s3dlio.get(b.uri(name));
      const i = Number(name.slice(1));
      expect(got.length).toBe(size);
      expect(got.every((x) => x === i + 1)).toBe(true);
    }
  });
});
