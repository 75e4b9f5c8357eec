/**
 * DataLoader: a dataset read in shuffled, sharded batches with a pool of fetches in flight.
 *
 * Memory is bounded: an item is only started while fewer than `(prefetch + 1) × batchSize` items
 * are fetched or in flight but not yet handed out, so at most that many items (plus the batch the
 * consumer holds) are in memory, whatever the speeds of storage and consumer.
 */
import { setMaxListeners } from 'events';
import { Readable } from 'stream';
import { ReadableStream } from 'stream/web';

import { S3dlioError, abortError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { rankPlace } from '../internal/ranks';
import {
  invalidType,
  invalidValue,
  optionalBoolean,
  optionalEnum,
  optionalPositiveInteger,
  optionalSignal,
} from '../validate';
import { type Dataset, type FetchOptions, rangeFetchSettings } from './dataset';
import { type EvenShards, epochOrder, shardLength, shardOf } from './sampling';

/** Options of `new DataLoader(dataset, options)`. */
export interface DataLoaderOptions {
  /** Items per batch (default 32). */
  batchSize?: number;
  /**
   * Drop the last batch of an epoch when it is smaller than `batchSize` (default false); with
   * several ranks, the shards are trimmed to equal lengths first (see `evenShards`), so every rank
   * gets ⌊⌊n/worldSize⌋/batchSize⌋ batches. Dropped items are never read.
   */
  dropLast?: boolean;
  /**
   * How the ranks' shards are made the same length, so every rank takes the same number of steps
   * per epoch (distributed data-parallel training hangs in its collective ops otherwise):
   * `'trim'` leaves out the last `n mod worldSize` items of the epoch's (shuffled) order, `'pad'`
   * reads the first items of that order again (fewer than `worldSize` reads more; PyTorch's
   * DistributedSampler does both the same way), `false` leaves the shards uneven (each item read
   * exactly once; ranks may take different numbers of steps). Default: `'trim'` with `dropLast`,
   * else `'pad'`.
   */
  evenShards?: EvenShards;
  /** Shuffle each epoch (default false): deterministic for a given (seed, epoch). */
  shuffle?: boolean;
  /** Shuffle seed (default 0); the same on every rank. */
  seed?: number;
  /** Completed batches that may wait for the consumer (default 2). */
  prefetch?: number;
  /** Items fetched at once (default 16). */
  concurrency?: number;
  /** This process's rank (default env `RANK`, else 0). */
  rank?: number;
  /** Number of ranks (default env `WORLD_SIZE`, else 1). */
  worldSize?: number;
  /**
   * `true` (default): batches, and items within them, follow the (shuffled) dataset order.
   * `false`: items join the current batch as their fetches complete: a slow object does not hold
   * back the others, at the price of a run-to-run varying composition of batches.
   */
  ordered?: boolean;
  /** `fail` (default): a failed item fails the iteration. `skip`: it is counted in `stats` and left out. */
  onError?: 'fail' | 'skip';
  /** Objects larger than this are read as concurrent ranges (see `GetOptions.rangeThreshold`; default: the store's). */
  rangeThreshold?: number;
  /** Bytes per range (see `GetOptions.chunkSize`; default: the store's). */
  chunkSize?: number;
  /** Stops the loader: the iteration rejects with ERR_ABORTED once in-flight fetches have settled. */
  signal?: AbortSignal;
}

/** A skipped item (with `onError: 'skip'`). */
export interface SkippedItem {
  index: number;
  uri: string;
  code: string;
  message: string;
}

/** What the current (or last) epoch did. */
export interface LoaderStats {
  epoch: number;
  /** Items handed out in batches. */
  items: number;
  bytes: number;
  batches: number;
  /** Items left out after failing (`onError: 'skip'`). */
  skipped: number;
  /** The first 100 skipped items and why: in epoch order when `ordered`, else as they failed. */
  errors: SkippedItem[];
  /** Since the epoch started. */
  seconds: number;
  itemsPerSecond: number;
  bytesPerSecond: number;
  /** Time the consumer spent waiting in `next()` for a batch: storage not keeping up. */
  waitMs: number;
}

const LOADER_KEYS = optionKeys<DataLoaderOptions>()({
  batchSize: true,
  dropLast: true,
  evenShards: true,
  shuffle: true,
  seed: true,
  prefetch: true,
  concurrency: true,
  rank: true,
  worldSize: true,
  ordered: true,
  onError: true,
  rangeThreshold: true,
  chunkSize: true,
  signal: true,
});

const MAX_ERRORS_KEPT = 100;

/** `evenShards`: `'pad'`, `'trim'` or `false`; by default `'trim'` with `dropLast` (it drops items anyway), else `'pad'`. */
function evenShardsOption(value: unknown, dropLast: boolean): EvenShards {
  if (value === undefined) return dropLast ? 'trim' : 'pad';
  if (value === false || value === 'pad' || value === 'trim') return value;
  const expected = "'pad', 'trim' or false";
  throw typeof value === 'string' || typeof value === 'boolean'
    ? invalidValue('options.evenShards', expected, value)
    : invalidType('options.evenShards', expected, value);
}

function itemBytes(item: unknown): number {
  const size = (item as { size?: unknown } | null)?.size;
  return typeof size === 'number' ? size : 0;
}

/**
 * Reads a dataset in batches: `for await (const batch of loader)`, `loader.toReadable()`,
 * `loader.toWebStream()` or `loader.toTfGenerator()`. Each iteration is one epoch; epochs count
 * up from 0 (or from `setEpoch(n)`).
 */
export class DataLoader<T> implements AsyncIterable<T[]> {
  readonly batchSize: number;
  readonly dropLast: boolean;
  readonly evenShards: EvenShards;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly prefetch: number;
  readonly concurrency: number;
  readonly rank: number;
  readonly worldSize: number;
  readonly ordered: boolean;
  readonly onError: 'fail' | 'skip';
  private readonly fetchOptions: Omit<FetchOptions, 'signal'>;
  private readonly signal: AbortSignal | undefined;
  private nextEpoch = 0;
  private current: EpochRun<T> | undefined;

  constructor(
    readonly dataset: Dataset<T>,
    options?: DataLoaderOptions,
  ) {
    if (
      typeof dataset !== 'object' ||
      dataset === null ||
      typeof dataset.get !== 'function' ||
      typeof dataset.length !== 'number'
    ) {
      throw invalidType('dataset', 'a Dataset (Dataset.fromPrefix / fromUris, or a subclass)', dataset);
    }
    const opts = expectKnownOptions(options, LOADER_KEYS, 'DataLoader');
    this.batchSize = optionalPositiveInteger(opts.batchSize, 'options.batchSize', 32);
    this.dropLast = optionalBoolean(opts.dropLast, 'options.dropLast', false);
    this.evenShards = evenShardsOption(opts.evenShards, this.dropLast);
    this.shuffle = optionalBoolean(opts.shuffle, 'options.shuffle', false);
    this.seed = opts.seed ?? 0;
    if (!Number.isSafeInteger(this.seed) || this.seed < 0) {
      throw invalidValue('options.seed', 'a non-negative integer', opts.seed);
    }
    this.prefetch = opts.prefetch ?? 2;
    if (!Number.isSafeInteger(this.prefetch) || this.prefetch < 0) {
      throw invalidValue('options.prefetch', 'a non-negative integer', opts.prefetch);
    }
    this.concurrency = optionalPositiveInteger(opts.concurrency, 'options.concurrency', 16);
    ({ rank: this.rank, worldSize: this.worldSize } = rankPlace(opts));
    this.ordered = optionalBoolean(opts.ordered, 'options.ordered', true);
    this.onError = optionalEnum(opts.onError, 'options.onError', ['fail', 'skip'] as const, 'fail');
    // Checked now, not at the first fetch.
    this.fetchOptions = rangeFetchSettings(opts);
    this.signal = optionalSignal(opts.signal);
  }

  /**
   * Items this rank hands out per epoch: its shard (trimmed or padded as `evenShards` says), less
   * the last partial batch with `dropLast` (those items are never read).
   */
  get itemsPerEpoch(): number {
    const shard = this.shardLength;
    return this.dropLast ? shard - (shard % this.batchSize) : shard;
  }

  /** Batches per epoch for this rank: the same on every rank unless `evenShards` is false. */
  get length(): number {
    return Math.ceil(this.itemsPerEpoch / this.batchSize);
  }

  /** Items in this rank's shard of the dataset (positions rank, rank + worldSize, … of the even order). */
  private get shardLength(): number {
    return shardLength(this.dataset.length, this.rank, this.worldSize, this.evenShards);
  }

  /** The epoch the next iteration runs (then counts up by one per iteration). */
  setEpoch(epoch: number): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw invalidValue('epoch', 'a non-negative integer', epoch);
    this.nextEpoch = epoch;
  }

  /**
   * Dataset indices this rank reads in `epoch`, in order (what the iteration fetches): its shard,
   * less what `dropLast` drops. With `onError: 'skip'` and `dropLast`, each skipped item is
   * replaced by the next item of the shard, so a failure does not shorten the epoch by a batch.
   */
  indicesFor(epoch: number): number[] {
    return this.shardFor(epoch).slice(0, this.itemsPerEpoch);
  }

  /** This rank's whole shard in `epoch`, in order. */
  private shardFor(epoch: number): number[] {
    const order = epochOrder(this.dataset.length, this.shuffle, this.seed, epoch);
    return shardOf(order, this.rank, this.worldSize, this.evenShards);
  }

  /** Counters of the running (or last) epoch. */
  get stats(): LoaderStats {
    return (
      this.current?.stats() ?? {
        epoch: this.nextEpoch,
        items: 0,
        bytes: 0,
        batches: 0,
        skipped: 0,
        errors: [],
        seconds: 0,
        itemsPerSecond: 0,
        bytesPerSecond: 0,
        waitMs: 0,
      }
    );
  }

  /**
   * One epoch of batches. Its fetches start at the first `next()`; breaking out of the loop stops
   * them and waits for them.
   */
  [Symbol.asyncIterator](): AsyncIterator<T[]> {
    const epoch = this.nextEpoch++;
    this.current = new EpochRun(this, epoch, this.shardFor(epoch), this.itemsPerEpoch, this.fetchOptions, this.signal);
    return this.current;
  }

  /**
   * An object-mode Readable of batches (one epoch, from the first read on); destroying it stops
   * the loader.
   */
  toReadable(): Readable {
    return Readable.from(this.lazyEpoch(), { objectMode: true, highWaterMark: 1 });
  }

  /** A web ReadableStream of batches (one epoch, from the first read on); cancelling it stops the loader. */
  toWebStream(): ReadableStream<T[]> {
    const batches = this.lazyEpoch();
    return new ReadableStream<T[]>(
      {
        pull: async (controller) => {
          const next = await batches.next();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel: async () => {
          await batches.return();
        },
      },
      { highWaterMark: 0 },
    );
  }

  /**
   * For TensorFlow.js: `tf.data.generator(loader.toTfGenerator((batch) => ({ xs, ys })))`. Each
   * time tf.js starts an iteration it gets a new epoch; `toTensors` turns a batch into the
   * tensors (or any TensorContainer) the dataset yields.
   *
   * An iterator's epoch begins at its first `next()`: `model.fitDataset` asks for one more iterator
   * after its last epoch and never reads it, which then costs no read, no epoch number and leaves
   * `stats` on the last epoch trained.
   */
  toTfGenerator<U>(toTensors: (batch: T[]) => U): () => AsyncIterator<U> {
    if (typeof toTensors !== 'function') throw invalidType('toTensors', 'a function', toTensors);
    return () => {
      const batches = this.lazyEpoch();
      return {
        next: async () => {
          const next = await batches.next();
          return next.done ? { done: true, value: undefined } : { done: false, value: toTensors(next.value) };
        },
        return: () => batches.return(),
      };
    };
  }

  /**
   * An epoch that begins (takes its epoch number, becomes `stats`) at the first `next()`: the
   * adapters' consumers may create an iterator and never read it.
   */
  private lazyEpoch(): LazyEpoch<T> {
    let batches: AsyncIterator<T[]> | undefined;
    let ended = false;
    const lazy: LazyEpoch<T> = {
      next: async (): Promise<IteratorResult<T[]>> => {
        if (ended) return { done: true, value: undefined };
        batches ??= this[Symbol.asyncIterator]();
        return batches.next();
      },
      return: async (): Promise<IteratorReturnResult<undefined>> => {
        ended = true;
        await batches?.return?.();
        return { done: true, value: undefined };
      },
      [Symbol.asyncIterator]: () => lazy,
    };
    return lazy;
  }
}

/** One epoch as an iterator that creates it at the first `next()`. */
interface LazyEpoch<T> {
  next(): Promise<IteratorResult<T[]>>;
  return(): Promise<IteratorReturnResult<undefined>>;
  [Symbol.asyncIterator](): LazyEpoch<T>;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: S3dlioError; index: number };

/** One epoch: the fetch pool, the batches being formed and the consumer's side. */
class EpochRun<T> implements AsyncIterator<T[]> {
  private readonly controller = new AbortController();
  /** What every fetch of this epoch is given (one object, not one per item). */
  private readonly fetch: FetchOptions;
  /** When the first next() started the fetches (none start before: an iterator nobody reads costs nothing). */
  private started = 0;
  private readonly window: number;
  /**
   * Positions of `indices` this epoch reads: the items it hands out; with `dropLast`, one more for
   * each skipped item, while the shard has more (the dropped tail is never fetched otherwise).
   */
  private limit: number;
  private nextPosition = 0;
  private inFlight = 0;
  private completed = 0;
  /** Ordered mode: results waiting for the positions before them. */
  private readonly waiting = new Map<number, Settled<T>>();
  private emitPosition = 0;
  private forming: T[] = [];
  private readonly ready: T[][] = [];
  /** Items started and not yet handed out or skipped. */
  private outstanding = 0;
  private failure: Error | undefined;
  private finished = false;
  private closed = false;
  /** Consumers waiting in next() (one with for-await; several if next() is called without awaiting). */
  private readonly waiters: Array<() => void> = [];
  private idle: (() => void) | undefined;
  private readonly counters = { items: 0, bytes: 0, batches: 0, skipped: 0, waitMs: 0 };
  private readonly errors: SkippedItem[] = [];
  private readonly onUserAbort: () => void;

  constructor(
    private readonly loader: DataLoader<T>,
    private readonly epoch: number,
    private readonly indices: number[],
    itemsToHandOut: number,
    fetchOptions: Omit<FetchOptions, 'signal'>,
    private readonly userSignal: AbortSignal | undefined,
  ) {
    this.window = (loader.prefetch + 1) * loader.batchSize;
    this.limit = itemsToHandOut;
    this.fetch = { ...fetchOptions, signal: this.controller.signal };
    // Every fetch in flight listens to this signal: `concurrency` listeners are expected.
    setMaxListeners(0, this.controller.signal);
    this.onUserAbort = () => this.stop(abortError('DataLoader', '', userSignal?.reason));
    this.finished = itemsToHandOut === 0;
  }

  /** The first next(): listen to the user's signal and start the fetches. */
  private start(): void {
    this.started = performance.now();
    if (this.userSignal?.aborted) this.onUserAbort();
    else this.userSignal?.addEventListener('abort', this.onUserAbort, { once: true });
    this.pump();
  }

  stats(): LoaderStats {
    const seconds = this.started === 0 ? 0 : (performance.now() - this.started) / 1000;
    return {
      epoch: this.epoch,
      ...this.counters,
      errors: [...this.errors],
      seconds,
      itemsPerSecond: this.counters.items / Math.max(seconds, 1e-9),
      bytesPerSecond: this.counters.bytes / Math.max(seconds, 1e-9),
    };
  }

  async next(): Promise<IteratorResult<T[]>> {
    if (this.started === 0) this.start();
    for (;;) {
      if (this.failure) {
        await this.settle();
        throw this.failure;
      }
      const batch = this.ready.shift();
      if (batch) {
        this.outstanding -= batch.length;
        this.counters.batches++;
        this.counters.items += batch.length;
        for (const item of batch) this.counters.bytes += itemBytes(item);
        this.pump();
        return { done: false, value: batch };
      }
      if (this.finished || this.closed) {
        this.detach();
        return { done: true, value: undefined };
      }
      const waitStart = performance.now();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.counters.waitMs += performance.now() - waitStart;
    }
  }

  /** `break` out of a for-await loop: cancel the fetches and wait for them. */
  async return(): Promise<IteratorResult<T[]>> {
    this.closed = true;
    this.controller.abort(abortError('DataLoader', '', 'the consumer stopped'));
    this.ready.length = 0;
    this.notify(); // a next() still waiting ends as done
    await this.settle();
    this.detach();
    return { done: true, value: undefined };
  }

  private stop(error: Error): void {
    if (this.failure || this.closed) return;
    this.failure = error;
    this.controller.abort(error);
    this.ready.length = 0;
    this.notify();
  }

  private detach(): void {
    this.userSignal?.removeEventListener('abort', this.onUserAbort);
  }

  /** Resolves once no fetch is in flight. */
  private settle(): Promise<void> {
    this.detach();
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.idle = resolve));
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Starts fetches while the pool and the memory window allow. */
  private pump(): void {
    while (
      !this.failure &&
      !this.closed &&
      this.nextPosition < this.limit &&
      this.inFlight < this.loader.concurrency &&
      this.outstanding < this.window
    ) {
      const position = this.nextPosition++;
      this.inFlight++;
      this.outstanding++;
      const index = this.indices[position];
      this.loader.dataset
        .get(index, this.fetch)
        .then(
          (value): Settled<T> => ({ ok: true, value }),
          (error: unknown): Settled<T> => ({ ok: false, error: this.itemError(index, error), index }),
        )
        .then((result) => this.complete(position, result));
    }
  }

  /** The error of a failed item, naming it: storage errors keep their code, others are ERR_ITEM_FAILED. */
  private itemError(index: number, error: unknown): S3dlioError {
    const uri = this.loader.dataset.source(index);
    if (error instanceof S3dlioError && error.uri) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new S3dlioError(
      error instanceof S3dlioError ? error.code : 'ERR_ITEM_FAILED',
      `DataLoader: item ${index} (${uri}): ${message}`,
      { uri, operation: 'DataLoader', cause: error },
    );
  }

  private recordSkipped({ index, error }: Extract<Settled<T>, { ok: false }>): void {
    if (this.errors.length >= MAX_ERRORS_KEPT) return;
    this.errors.push({ index, uri: this.loader.dataset.source(index), code: error.code, message: error.message });
  }

  private complete(position: number, result: Settled<T>): void {
    this.inFlight--;
    this.completed++;
    if (this.failure || this.closed) {
      if (this.inFlight === 0) this.idle?.();
      return;
    }
    if (!result.ok) {
      if (this.loader.onError === 'fail') {
        this.stop(result.error);
        if (this.inFlight === 0) this.idle?.();
        return;
      }
      this.counters.skipped++;
      this.outstanding--;
      // dropLast: the next item of the shard takes the skipped one's place in the epoch.
      if (this.loader.dropLast) this.limit = Math.min(this.limit + 1, this.indices.length);
    }
    // A skipped item is named where the epoch reaches it: in epoch order when ordered (the same
    // list whatever order the fetches end in), in completion order otherwise.
    if (this.loader.ordered) {
      this.waiting.set(position, result);
      for (let next = this.waiting.get(this.emitPosition); next; next = this.waiting.get(this.emitPosition)) {
        this.waiting.delete(this.emitPosition++);
        if (next.ok) this.add(next.value);
        else this.recordSkipped(next);
      }
    } else if (result.ok) {
      this.add(result.value);
    } else {
      this.recordSkipped(result);
    }
    if (this.completed === this.limit) {
      if (this.forming.length > 0) {
        if (this.loader.dropLast) this.outstanding -= this.forming.length;
        else this.ready.push(this.forming);
        this.forming = [];
      }
      this.finished = true;
    }
    this.pump();
    this.notify();
  }

  private add(item: T): void {
    this.forming.push(item);
    if (this.forming.length === this.loader.batchSize) {
      this.ready.push(this.forming);
      this.forming = [];
    }
  }
}
