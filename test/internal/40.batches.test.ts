/**
 * The batch machinery every backend shares (lib/internal/batch.ts, pool.ts), on its own: bounded
 * concurrency, every failure reported, nothing started after an abort, deletes flushed in batches
 * of the size asked. test/local/70 and test/cloud/20 run it through the stores.
 */
import { BatchError, S3dlioError } from '../../lib/errors';
import { batchLabel, deleteInBatches, deletePrefixSettings, runBatch } from '../../lib/internal/batch';
import { settleConcurrently } from '../../lib/internal/pool';
import { OperationScope } from '../../lib/operation';
import { rejectionOf, thrownBy } from '../helpers/local';

const scopeOf = (signal?: AbortSignal): OperationScope => new OperationScope('sample', 'mem://b/', signal);

async function* streamOf<T>(items: T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

describe('settleConcurrently and runBatch', () => {
  test('every item settles in input order, at most `concurrency` at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await settleConcurrently(
      [5, 1, 4, 2, 3],
      2,
      async (item) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((resolve) => setTimeout(resolve, item));
        running--;
        if (item === 4) throw new Error('four');
        return item * 10;
      },
      () => false,
      () => new Error('not started'),
    );
    expect(peak).toBe(2);
    expect(results).toHaveLength(5);
    expect(results.map((result) => (result.ok ? result.value : (result.error as Error).message))).toEqual([
      50,
      10,
      'four',
      20,
      30,
    ]);
  });

  test('no item starts once the batch is told to stop; those settle with the not-started error', async () => {
    const started: number[] = [];
    let stop = false;
    const results = await settleConcurrently(
      [0, 1, 2, 3],
      1,
      async (item) => {
        started.push(item);
        if (item === 1) stop = true;
        return item;
      },
      () => stop,
      (item) => new Error(`never started: ${item}`),
    );
    expect(started).toEqual([0, 1]);
    expect(results.map((result) => (result.ok ? result.value : (result.error as Error).message))).toEqual([
      0,
      1,
      'never started: 2',
      'never started: 3',
    ]);
  });

  test('runBatch: an abort starts no further item and rejects with ERR_ABORTED', async () => {
    const controller = new AbortController();
    const started: string[] = [];
    const error = await rejectionOf(
      runBatch(
        scopeOf(controller.signal),
        ['a', 'b', 'c'],
        (uri) => uri,
        1,
        async (uri) => {
          started.push(uri);
          if (uri === 'a') controller.abort(new Error('stop'));
          return uri;
        },
      ),
    );
    expect(error).toMatchObject({ code: 'ERR_ABORTED' });
    expect(started).toEqual(['a']);
  });

  test('runBatch: every failure in one BatchError, with the count of those that succeeded', async () => {
    const error = await rejectionOf(
      runBatch(
        scopeOf(),
        ['a', 'b', 'c'],
        (uri) => `mem://b/${uri}`,
        2,
        async (uri) => {
          if (uri !== 'b') throw new Error(`no ${uri}`);
          return uri;
        },
      ),
    );
    expect(error).toBeInstanceOf(BatchError);
    expect(error).toMatchObject({ code: 'ERR_BATCH_FAILED', succeeded: 1 });
    expect(error.errors.map((item: S3dlioError) => item.uri)).toEqual(['mem://b/a', 'mem://b/c']);
    expect(
      await runBatch(
        scopeOf(),
        ['x', 'y'],
        (uri) => uri,
        4,
        async (uri) => uri.toUpperCase(),
      ),
    ).toEqual(['X', 'Y']);
  });

  test('batchLabel: the URI of the first item, a string or `{ uri }`, else empty', () => {
    expect(batchLabel(['s3://b/k', 's3://b/l'])).toBe('s3://b/k');
    expect(batchLabel([{ uri: 'gs://b/k', data: 'x' }])).toBe('gs://b/k');
    expect(batchLabel([])).toBe('');
    expect(batchLabel('s3://b/k')).toBe('');
    expect(batchLabel([{ uri: 7 }])).toBe('');
    expect(batchLabel([null])).toBe('');
  });
});

describe('deleteInBatches', () => {
  /** Deletes `entries` in batches of `size`, recording each batch; `fail` entries fail as a BatchError. */
  async function run(entries: string[], size: number, fail: string[] = []) {
    const batches: string[][] = [];
    const reported: string[] = [];
    const outcome = deleteInBatches(
      scopeOf(),
      streamOf(entries),
      size,
      (entry) => `mem://b/${entry}`,
      async (batch, removed) => {
        batches.push([...batch]);
        const failed = batch.filter((entry) => fail.includes(entry));
        for (const entry of batch) if (!failed.includes(entry)) removed(entry);
        if (failed.length > 0) {
          const errors = failed.map(
            (entry) => new S3dlioError('ERR_ACCESS_DENIED', 'denied', { uri: `mem://b/${entry}` }),
          );
          throw new BatchError('deletePrefix', errors, batch.length - failed.length);
        }
      },
      (uri) => reported.push(uri),
    );
    return { outcome, batches, reported };
  }

  test('full batches as the entries stream in, then the rest; every deletion reported', async () => {
    const { outcome, batches, reported } = await run(['a', 'b', 'c', 'd', 'e'], 2);
    expect(await outcome).toBe(5);
    expect(batches).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(reported).toEqual(['a', 'b', 'c', 'd', 'e'].map((entry) => `mem://b/${entry}`));
  });

  test('an exact number of full batches leaves no empty batch behind; nothing to delete makes no call', async () => {
    const exact = await run(['a', 'b', 'c', 'd'], 2);
    expect(await exact.outcome).toBe(4);
    expect(exact.batches).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    const none = await run([], 2);
    expect(await none.outcome).toBe(0);
    expect(none.batches).toEqual([]);
  });

  test('a failed batch does not stop the next: every failure in one BatchError at the end, the deletions counted', async () => {
    const { outcome, batches, reported } = await run(['a', 'b', 'c', 'd', 'e'], 2, ['b', 'e']);
    const error = await rejectionOf(outcome);
    expect(error).toBeInstanceOf(BatchError);
    expect(error).toMatchObject({ succeeded: 3 });
    expect(error.errors.map((item: S3dlioError) => item.uri)).toEqual(['mem://b/b', 'mem://b/e']);
    expect(batches).toHaveLength(3);
    expect(reported).toEqual(['mem://b/a', 'mem://b/c', 'mem://b/d']);
  });

  test('any other failure of a batch stops at once, as it is', async () => {
    const broken = new Error('connection lost');
    let calls = 0;
    const error = await rejectionOf(
      deleteInBatches(
        scopeOf(),
        streamOf(['a', 'b', 'c']),
        1,
        (entry) => entry,
        async () => {
          calls++;
          throw broken;
        },
        undefined,
      ),
    );
    expect(error).toBe(broken);
    expect(calls).toBe(1);
  });
});

describe('deletePrefixSettings', () => {
  test('defaults, and each option checked under its own name', () => {
    expect(deletePrefixSettings({}, 7)).toEqual({
      concurrency: 7,
      matches: undefined,
      onDeleted: undefined,
      allowProtectedPaths: false,
    });
    const onDeleted = (): void => undefined;
    const settings = deletePrefixSettings({ concurrency: 2, pattern: '^a', onDeleted, allowProtectedPaths: true }, 7);
    expect(settings).toMatchObject({ concurrency: 2, onDeleted, allowProtectedPaths: true });
    expect(settings.matches?.('ab')).toBe(true);
    expect(settings.matches?.('ba')).toBe(false);
    expect(thrownBy(() => deletePrefixSettings({ onDeleted: 'log' as never }, 7)).message).toContain(
      'options.onDeleted',
    );
    expect(thrownBy(() => deletePrefixSettings({ concurrency: 0 }, 7)).message).toContain('options.concurrency');
    expect(thrownBy(() => deletePrefixSettings({ allowProtectedPaths: 'yes' as never }, 7)).message).toContain(
      'options.allowProtectedPaths',
    );
  });
});
