/**
 * Checkpoints of a training job, on any backend, in s3dlio's layout (layout.ts). Each rank saves
 * its shard through the streaming writer (bounded memory, create-only) and leaves a receipt; rank
 * 0 finalizes: it waits for every rank's receipt, checks each shard's size, marks the manifest
 * complete, and only then moves `latest`. A checkpoint a rank never finished is never loaded.
 *
 *   rank 0                                   rank r > 0
 *   manifest "incomplete" (create-only)  →   finds it, takes its {ts}
 *   shard 0, receipt 0                       shard r, receipt r
 *   finalize: receipts of all ranks, shard sizes, manifest "complete", latest marker, latest.json
 */
import { S3dlioError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { rankPlace } from '../internal/ranks';
import { storeFor } from '../stores';
import { parseUri } from '../uri';
import {
  expectString,
  invalidValue,
  optionalEnum,
  optionalIntegerInRange,
  optionalPositiveInteger,
  optionalSignal,
  toBytes,
} from '../validate';
import { infoOf, latestId, listEntries, manifestIds, newestIncomplete, readManifest } from './catalog';
import { type CheckpointStrategy, expectTimestamp, manifestKey, strategyFrom, timestampOf } from './layout';
import { loadId, loaded } from './loading';
import { type CheckpointPlace, incomplete, jsonBytes, sameId, uriOf } from './place';
import { remove, retain } from './retention';
import { awaitManifest, awaitShards, begin, publishLatest, writeReceipt, writeShard } from './saving';
import type {
  CheckpointEntry,
  CheckpointInfo,
  CheckpointReadOptions,
  CheckpointStoreOptions,
  FinalizeOptions,
  LoadedCheckpoint,
  SaveOptions,
  SaveResult,
  ShardData,
} from './types';

const STORE_KEYS = optionKeys<CheckpointStoreOptions>()({
  strategy: true,
  partSize: true,
  concurrency: true,
  keepLast: true,
  rank: true,
  worldSize: true,
  timeoutMs: true,
  pollIntervalMs: true,
  runId: true,
  compression: true,
  compressionLevel: true,
  store: true,
});
const SAVE_KEYS = optionKeys<SaveOptions>()({ epoch: true, framework: true, userMeta: true, ts: true, signal: true });
const FINALIZE_KEYS = optionKeys<FinalizeOptions>()({ ts: true, timeoutMs: true, signal: true });
const READ_KEYS = optionKeys<CheckpointReadOptions>()({ ts: true, signal: true });

const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_POLL_MS = 250;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** A step (or an epoch): a non-negative safe integer. */
function expectStep(step: unknown, name = 'step'): number {
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    throw invalidValue(name, 'a non-negative integer', step);
  }
  return step;
}

/**
 * Checkpoints under one base URI: `save` from every rank, `loadLatest` / `load` to resume,
 * `list`, `delete` and `keepLast` retention. See the module comment for the protocol.
 */
export class CheckpointStore {
  private readonly place: CheckpointPlace;
  private readonly keepLast: number | undefined;
  /** The `{ts}` of each step this process began as rank 0, for `finalize`. */
  private readonly begun = new Map<number, string>();

  constructor(baseUri: string, options?: CheckpointStoreOptions) {
    const opts = expectKnownOptions(options, STORE_KEYS, 'CheckpointStore');
    const { scheme } = parseUri(expectString(baseUri, 'baseUri'));
    const base = baseUri.endsWith('/') ? baseUri : `${baseUri}/`;
    const optionalCount = (value: unknown, name: string): number | undefined =>
      value === undefined ? undefined : optionalPositiveInteger(value, name, 1);
    const runId = opts.runId ?? process.env.S3DLIO_RUN_ID;
    let store = opts.store;
    if (store !== undefined && (typeof store !== 'object' || store === null || store.scheme !== scheme)) {
      throw invalidValue('options.store', `an ObjectStore of ${scheme}://`, store);
    }
    // Local stores sync what they write: a save that resolved survives a crash.
    store ??= scheme === 'file' || scheme === 'direct' ? storeFor(base, { fsync: true }) : storeFor(base);
    this.place = {
      store,
      baseUri: base,
      ...rankPlace(opts),
      strategy: opts.strategy === undefined ? 'flat' : strategyFrom(opts.strategy),
      runId: runId === undefined || runId === '' ? null : expectString(runId, 'options.runId'),
      compression: optionalEnum(opts.compression, 'options.compression', ['none', 'zstd'], 'none'),
      compressionLevel: optionalIntegerInRange(opts.compressionLevel, 'options.compressionLevel', 1, 19, 3),
      partSize: optionalCount(opts.partSize, 'options.partSize'),
      concurrency: optionalCount(opts.concurrency, 'options.concurrency'),
      timeoutMs: optionalIntegerInRange(opts.timeoutMs, 'options.timeoutMs', 0, MAX_TIMEOUT_MS, DEFAULT_TIMEOUT_MS),
      pollIntervalMs: optionalIntegerInRange(opts.pollIntervalMs, 'options.pollIntervalMs', 1, 60_000, DEFAULT_POLL_MS),
    };
    this.keepLast = optionalCount(opts.keepLast, 'options.keepLast');
  }

  /** The base, ending with `/`. */
  get baseUri(): string {
    return this.place.baseUri;
  }

  /** This process's rank. */
  get rank(): number {
    return this.place.rank;
  }

  /** The number of ranks that save each checkpoint. */
  get worldSize(): number {
    return this.place.worldSize;
  }

  /** The shard key layout. */
  get strategy(): CheckpointStrategy {
    return this.place.strategy;
  }

  // ---- saving ----

  /**
   * Saves this rank's shard of checkpoint `step`; rank 0 then finalizes it (waiting for the other
   * ranks). Resolves once the shard (and, on rank 0, the checkpoint) is durable: the data may be
   * reused or changed as soon as it resolves, not before.
   */
  async save(step: number, data: ShardData, options?: SaveOptions): Promise<SaveResult> {
    const saved = await this.saveShard(step, data, options);
    if (this.rank !== 0) return saved;
    const checkpoint = await this.finalize(step, { ts: saved.ts, signal: options?.signal });
    return { ...saved, checkpoint };
  }

  /**
   * Saves this rank's shard of checkpoint `step`, create-only, and its receipt. Rank 0 first
   * writes the manifest as incomplete (create-only: a second saver of the same step and second
   * fails with ERR_ALREADY_EXISTS); the other ranks wait for it and take its `{ts}`.
   */
  async saveShard(step: number, data: ShardData, options?: SaveOptions): Promise<SaveResult> {
    expectStep(step);
    const opts = expectKnownOptions(options, SAVE_KEYS, 'saveShard');
    const signal = optionalSignal(opts.signal);
    const epoch = opts.epoch === undefined ? 0 : expectStep(opts.epoch, 'options.epoch');
    const framework = opts.framework === undefined ? 'generic' : expectString(opts.framework, 'options.framework');
    const userMeta = opts.userMeta === undefined ? null : opts.userMeta;
    JSON.stringify(userMeta); // not JSON (a cycle, a BigInt): fails now, not after the shard
    const givenTs = opts.ts === undefined ? undefined : expectTimestamp(opts.ts);
    const body = typeof data === 'object' && data !== null && Symbol.asyncIterator in data ? data : toBytes(data);

    let ts: string;
    if (this.rank === 0) {
      const now = new Date();
      ts = givenTs ?? timestampOf(now);
      await begin(this.place, { step, ts }, { epoch, framework, userMeta, wallTime: now.toISOString() }, signal);
      this.begun.set(step, ts);
    } else {
      ts = givenTs ?? (await awaitManifest(this.place, step, signal));
    }
    const id = { step, ts };
    const shard = await writeShard(this.place, id, body, signal);
    await writeReceipt(this.place, id, shard, signal);
    return { step, ts, rank: this.rank, shard };
  }

  /**
   * Rank 0: waits (up to `timeoutMs`) for every rank's receipt, checks each shard's size, writes
   * the manifest as complete and moves `latest` to it, then applies `keepLast`. Ranks missing at
   * the deadline fail it with ERR_CHECKPOINT_INCOMPLETE naming them; `latest` does not move.
   */
  async finalize(step: number, options?: FinalizeOptions): Promise<CheckpointInfo> {
    expectStep(step);
    const opts = expectKnownOptions(options, FINALIZE_KEYS, 'finalize');
    const signal = optionalSignal(opts.signal);
    const timeoutMs = optionalIntegerInRange(
      opts.timeoutMs,
      'options.timeoutMs',
      0,
      MAX_TIMEOUT_MS,
      this.place.timeoutMs,
    );
    if (this.rank !== 0) throw invalidValue('rank', 'rank 0 (rank 0 finalizes a checkpoint)', this.rank);
    const ts = opts.ts === undefined ? this.begun.get(step) : expectTimestamp(opts.ts);
    const id = ts !== undefined ? { step, ts } : await newestIncomplete(this.place, step, signal);
    const manifest = await readManifest(this.place, id, signal);
    if (manifest.status === 'incomplete') {
      manifest.shards = await awaitShards(this.place, id, manifest, timeoutMs, signal);
      manifest.status = 'complete';
      await this.place.store.put(uriOf(this.place, manifestKey(id)), jsonBytes(manifest), { signal });
    }
    await publishLatest(this.place, id, signal);
    this.begun.delete(step);
    if (this.keepLast !== undefined) await retain(this.place, this.keepLast, signal);
    return infoOf(this.place, id, manifest);
  }

  // ---- loading ----

  /** The checkpoint `latest` points to; ERR_NOT_FOUND when there is none yet. */
  async loadLatest(options?: CheckpointReadOptions): Promise<LoadedCheckpoint> {
    const opts = expectKnownOptions(options, READ_KEYS, 'loadLatest', 'options', { ts: 'use load(step, { ts })' });
    const signal = optionalSignal(opts.signal);
    const id = await latestId(this.place, signal);
    if (!id) throw this.nothing('loadLatest', 'no checkpoint has been saved here');
    return loadId(this.place, id, 'loadLatest', signal);
  }

  /** Checkpoint `step`: the newest complete save of it, or the one at `ts`. */
  async load(step: number, options?: CheckpointReadOptions): Promise<LoadedCheckpoint> {
    expectStep(step);
    const opts = expectKnownOptions(options, READ_KEYS, 'load');
    const signal = optionalSignal(opts.signal);
    if (opts.ts !== undefined) return loadId(this.place, { step, ts: expectTimestamp(opts.ts) }, 'load', signal);
    const ids = (await manifestIds(this.place, signal)).filter((id) => id.step === step);
    if (ids.length === 0) throw this.nothing('load', `no checkpoint of step ${step}`);
    for (const id of ids) {
      const manifest = await readManifest(this.place, id, signal);
      if (manifest.status === 'complete') return loaded(this.place, id, manifest);
    }
    throw incomplete(this.place, ids[0], 'load');
  }

  /** Every checkpoint under the base, newest first, each with its status. */
  list(options?: CheckpointReadOptions): Promise<CheckpointEntry[]> {
    const opts = expectKnownOptions(options, READ_KEYS, 'list', 'options', { ts: 'list lists every save' });
    return listEntries(this.place, optionalSignal(opts.signal));
  }

  /**
   * Deletes checkpoint `step` (every save of it, or the one at `ts`): its manifest is marked
   * incomplete first, so a delete cut short never leaves a loadable checkpoint without its shards.
   * The checkpoint `latest` points to is refused (ERR_CHECKPOINT_IS_LATEST). Resolves to the
   * number of saves deleted.
   */
  async delete(step: number, options?: CheckpointReadOptions): Promise<number> {
    expectStep(step);
    const opts = expectKnownOptions(options, READ_KEYS, 'delete');
    const signal = optionalSignal(opts.signal);
    const ts = opts.ts === undefined ? undefined : expectTimestamp(opts.ts);
    const all = await manifestIds(this.place, signal);
    const ids = all.filter((id) => id.step === step && (ts === undefined || id.ts === ts));
    if (ids.length === 0) throw this.nothing('delete', `no checkpoint of step ${step}${ts ? ` at ${ts}` : ''}`);
    const latest = await latestId(this.place, signal);
    const current = ids.find((id) => sameId(id, latest));
    if (current) {
      const uri = uriOf(this.place, manifestKey(current));
      throw new S3dlioError(
        'ERR_CHECKPOINT_IS_LATEST',
        `delete ${uri}: it is the latest checkpoint; save a newer one before deleting it`,
        { uri, operation: 'delete' },
      );
    }
    for (const id of ids) await remove(this.place, id, signal);
    return ids.length;
  }

  /** ERR_NOT_FOUND about the base. */
  private nothing(operation: string, what: string): S3dlioError {
    const uri = this.place.baseUri;
    return new S3dlioError('ERR_NOT_FOUND', `${operation} ${uri}: ${what}`, { uri, operation });
  }
}
