/**
 * DataLoader details a user runs into: empty RANK / WORLD_SIZE variables, arguments of the wrong
 * type named, the failed item's error, how many skipped items are remembered, what `seconds`
 * measures, and that leaving an epoch early waits for the reads in flight.
 */
import { performance } from 'perf_hooks';

import { DataLoader } from '../../lib/loader/data-loader';
import { withEnv } from '../helpers/env';
import { rejectionOf, thrownBy } from '../helpers/local';
import { SyntheticDataset } from './synthetic';

/** Reads one epoch to its end. */
async function drain(loader: DataLoader<unknown>): Promise<void> {
  const batches = loader[Symbol.asyncIterator]();
  while (!(await batches.next()).done);
}

describe('construction', () => {
  test('empty RANK and WORLD_SIZE variables count as unset', async () => {
    await withEnv({ RANK: '', WORLD_SIZE: '' }, async () => {
      const loader = new DataLoader(new SyntheticDataset(10));
      expect([loader.rank, loader.worldSize]).toEqual([0, 1]);
    });
  });

  const get = async (): Promise<number> => 1;
  const source = (): string => '';
  test.each([
    ['no length', { get, source }],
    ['a string length', { get, source, length: '3' }],
    ['no get', { length: 3, source }],
    ['null', null],
  ] as Array<[string, unknown]>)('a dataset with %s is ERR_INVALID_ARG_TYPE naming dataset', (_what, dataset) => {
    expect(thrownBy(() => new DataLoader(dataset as never))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('`dataset`'),
    });
  });

  test.each<[string, Record<string, unknown>, string, string]>([
    ['a misspelled key', { batchsize: 4 }, 'ERR_INVALID_ARG_VALUE', 'of DataLoader (did you mean `batchSize`?)'],
    ['shuffle', { shuffle: 1 }, 'ERR_INVALID_ARG_TYPE', 'options.shuffle'],
    ['seed', { seed: -1 }, 'ERR_INVALID_ARG_VALUE', 'options.seed'],
    ['prefetch', { prefetch: 1.5 }, 'ERR_INVALID_ARG_VALUE', 'options.prefetch'],
    ['worldSize', { worldSize: 0 }, 'ERR_OUT_OF_RANGE', 'options.worldSize'],
    ['a negative rank', { rank: -1 }, 'ERR_INVALID_ARG_VALUE', 'options.rank'],
    ['a fractional rank', { rank: 0.5, worldSize: 2 }, 'ERR_INVALID_ARG_VALUE', 'options.rank'],
    [
      'a rank equal to worldSize',
      { rank: 2, worldSize: 2 },
      'ERR_INVALID_ARG_VALUE',
      'an integer in [0, 2) (worldSize 2)',
    ],
    ['ordered', { ordered: 'no' }, 'ERR_INVALID_ARG_TYPE', 'options.ordered'],
    ['onError', { onError: 'ignore' }, 'ERR_INVALID_ARG_VALUE', 'options.onError'],
    ['evenShards', { evenShards: 'even' }, 'ERR_INVALID_ARG_VALUE', "'pad', 'trim' or false for `options.evenShards`"],
    [
      'evenShards true',
      { evenShards: true },
      'ERR_INVALID_ARG_VALUE',
      "'pad', 'trim' or false for `options.evenShards`",
    ],
    ['evenShards 1', { evenShards: 1 }, 'ERR_INVALID_ARG_TYPE', 'options.evenShards'],
    ['rangeThreshold', { rangeThreshold: -1 }, 'ERR_OUT_OF_RANGE', 'options.rangeThreshold'],
    ['chunkSize', { chunkSize: 0 }, 'ERR_OUT_OF_RANGE', 'options.chunkSize'],
  ])('a bad %s is refused, named', (_what, options, code, named) => {
    const error = thrownBy(() => new DataLoader(new SyntheticDataset(4), options as never));
    expect(error).toMatchObject({ code });
    expect(error.message).toContain(named);
  });

  test('the last rank of a world, and rank 0 of a world of one, are taken', () => {
    expect(new DataLoader(new SyntheticDataset(4), { rank: 1, worldSize: 2 }).rank).toBe(1);
    expect(new DataLoader(new SyntheticDataset(4), { rank: 0 }).rank).toBe(0);
  });

  test.each(['-1', '1.5', 'two'])('RANK=%s in the environment is refused, naming the variable', async (raw) => {
    await withEnv({ RANK: raw, WORLD_SIZE: '4' }, async () => {
      const error = thrownBy(() => new DataLoader(new SyntheticDataset(4)));
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      expect(error.message).toContain('env RANK');
    });
  });

  test('RANK=0 in the environment is taken', async () => {
    await withEnv({ RANK: '0', WORLD_SIZE: '2' }, async () => {
      expect(new DataLoader(new SyntheticDataset(4)).rank).toBe(0);
    });
  });

  test('options and toTfGenerator arguments of the wrong type are named', () => {
    expect(thrownBy(() => new DataLoader(new SyntheticDataset(1), { dropLast: 'yes' as never }))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('options.dropLast'),
    });
    expect(thrownBy(() => new DataLoader(new SyntheticDataset(1)).toTfGenerator(42 as never))).toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: expect.stringContaining('toTensors'),
    });
  });
});

describe('setEpoch', () => {
  test.each([-1, 1.5, Number.NaN, 2 ** 53])(
    'setEpoch(%p) is ERR_INVALID_ARG_VALUE naming epoch, and the epoch stays',
    (epoch) => {
      const loader = new DataLoader(new SyntheticDataset(4));
      loader.setEpoch(3);
      expect(thrownBy(() => loader.setEpoch(epoch))).toMatchObject({
        code: 'ERR_INVALID_ARG_VALUE',
        message: expect.stringContaining('`epoch`'),
      });
      expect(loader.stats.epoch).toBe(3);
    },
  );

  test('setEpoch(0) and large safe epochs are taken', () => {
    const loader = new DataLoader(new SyntheticDataset(4));
    loader.setEpoch(Number.MAX_SAFE_INTEGER);
    expect(loader.stats.epoch).toBe(Number.MAX_SAFE_INTEGER);
    loader.setEpoch(0);
    expect(loader.stats.epoch).toBe(0);
  });
});

describe('failed items', () => {
  test("onError 'fail': the epoch rejects with ERR_ITEM_FAILED naming the item, its URI and the cause", async () => {
    const dataset = new SyntheticDataset(6, { failAt: new Set([3]) });
    const loader = new DataLoader(dataset, { batchSize: 2, concurrency: 1 });
    const error = await rejectionOf(drain(loader));
    expect(error).toMatchObject({
      code: 'ERR_ITEM_FAILED',
      uri: 'mem://items/3',
      operation: 'DataLoader',
      message: 'DataLoader: item 3 (mem://items/3): item 3 is unreadable',
    });
    expect(error.cause).toBeInstanceOf(Error);
  });

  test("onError 'skip': every failure is counted, the first 100 are kept with their reasons", async () => {
    const failing = new Set(Array.from({ length: 150 }, (_, i) => i * 2));
    const loader = new DataLoader(new SyntheticDataset(300, { failAt: failing }), { batchSize: 50, onError: 'skip' });
    let items = 0;
    for await (const batch of loader) items += batch.length;
    expect(items).toBe(150);
    const { skipped, errors } = loader.stats;
    expect(skipped).toBe(150);
    expect(errors).toHaveLength(100);
    expect(errors[0]).toEqual({
      index: 0,
      uri: 'mem://items/0',
      code: 'ERR_ITEM_FAILED',
      message: 'DataLoader: item 0 (mem://items/0): item 0 is unreadable',
    });
  });
});

describe('timing and stopping', () => {
  test('stats.seconds is the time since the epoch started, in seconds', async () => {
    const before = performance.now();
    const loader = new DataLoader(new SyntheticDataset(2, { delayMs: () => 30 }), { batchSize: 2 });
    await drain(loader);
    const { seconds } = loader.stats;
    const after = performance.now();
    expect(seconds).toBeGreaterThan(0.02);
    expect(seconds).toBeLessThanOrEqual((after - before) / 1000);
  });

  test('leaving an epoch early returns once no read is in flight', async () => {
    const dataset = new SyntheticDataset(40, { delayMs: (i) => (i < 2 ? 0 : 20) });
    const loader = new DataLoader(dataset, { batchSize: 2, concurrency: 8 });
    for await (const batch of loader) {
      expect(batch).toHaveLength(2);
      break;
    }
    expect(dataset.inFlight).toBe(0);
  });
});
