/**
 * Synthetic data for storage benchmarks and ingest tests, generated natively at memory speed:
 * `dedup = N` makes about 1/N of the 4 KiB blocks unique (the rest repeat them), `compress = N`
 * makes a general-purpose compressor reach about N:1 (each block is 1/N random bytes, the rest
 * zeros). Each call gives new data unless a `seed` is given; the same seed gives the same bytes.
 */
import { constants as bufferConstants } from 'buffer';
import { randomBytes } from 'crypto';
import { availableParallelism } from 'os';
import { Readable } from 'stream';

import { toS3dlioError } from './errors';
import { assertAttached, bufferDetached, isDetached } from './internal/memory';
import { type OptionKeys, expectKnownOptions, optionKeys } from './internal/option-keys';
import * as native from './native';
import { OPERATION_KEYS } from './object-store';
import { runOperation } from './operation';
import {
  expectNonNegativeInteger,
  invalidType,
  optionalIntegerInRange,
  optionalPositiveInteger,
  outOfRange,
} from './validate';

/** Options of the data generator. */
export interface DataGenOptions {
  /** Total blocks / unique blocks (>= 1; default 1: every block unique). */
  dedup?: number;
  /** Target compression ratio (>= 1; default 1: incompressible). */
  compress?: number;
  /** Reproducible data: the same seed (a safe integer or a bigint) gives the same bytes. */
  seed?: number | bigint;
  /** Native threads, 1 to 256 (default: all cores, at most 256). */
  threads?: number;
}

/** Options of `new DataGenerator(total, options)`. */
export interface DataGeneratorOptions extends DataGenOptions {
  /** Bytes per chunk the iteration yields (default 8 MiB, rounded down to 4 KiB blocks). */
  chunkSize?: number;
}

const DATAGEN_KEYS = optionKeys<DataGenOptions>()({ dedup: true, compress: true, seed: true, threads: true });
const GENERATOR_KEYS = optionKeys<DataGeneratorOptions>()({
  dedup: true,
  compress: true,
  seed: true,
  threads: true,
  chunkSize: true,
});

const BLOCK = 4096;

// Ordinary JS memory is filled this much at a time: generated aside, then copied in on the main
// thread, so a native thread never writes into memory a transfer could free.
const FILL_CHUNK = 8 * 1024 * 1024;

interface Resolved {
  seedHigh: number;
  seedLow: number;
  dedup: number;
  compress: number;
  threads: number;
}

function ratio(value: unknown, name: string): number {
  if (value === undefined) return 1;
  if (typeof value !== 'number') throw invalidType(name, 'a number >= 1', value);
  if (!Number.isFinite(value) || value < 1) throw outOfRange(name, 'a number >= 1', value);
  return value;
}

function resolve(
  options: DataGenOptions | undefined,
  owner: string,
  keys: OptionKeys<DataGenOptions> = DATAGEN_KEYS,
): Resolved {
  const opts = expectKnownOptions(options, keys, owner);
  let seed: bigint;
  if (opts.seed === undefined) seed = randomBytes(8).readBigUInt64BE();
  else if (typeof opts.seed === 'bigint') seed = BigInt.asUintN(64, opts.seed);
  else if (typeof opts.seed === 'number' && Number.isSafeInteger(opts.seed))
    seed = BigInt.asUintN(64, BigInt(opts.seed));
  else throw invalidType('options.seed', 'a safe integer or a bigint', opts.seed);
  return {
    seedHigh: Number(seed >> 32n),
    seedLow: Number(seed & 0xffffffffn),
    dedup: ratio(opts.dedup, 'options.dedup'),
    compress: ratio(opts.compress, 'options.compress'),
    threads: optionalIntegerInRange(
      opts.threads,
      'options.threads',
      1,
      native.MAX_NATIVE_THREADS,
      Math.min(availableParallelism(), native.MAX_NATIVE_THREADS),
    ),
  };
}

/** Checks generator options without generating anything (for APIs that generate later). */
export function checkDataGenOptions(options: DataGenOptions, owner: string): void {
  resolve(options, owner);
}

/**
 * `size` bytes of synthetic data, generated off the event loop into addon memory (no copy).
 * `size` is at most `buffer.constants.MAX_LENGTH` (ERR_OUT_OF_RANGE); ERR_OUT_OF_MEMORY when the
 * memory cannot be allocated.
 */
export function generateData(size: number, options?: DataGenOptions): Promise<Uint8Array> {
  return runOperation('generateData', '', undefined, OPERATION_KEYS, async () => {
    const bytes = expectNonNegativeInteger(size, 'size');
    if (bytes > bufferConstants.MAX_LENGTH) {
      throw outOfRange('size', `an integer up to ${bufferConstants.MAX_LENGTH} (buffer.constants.MAX_LENGTH)`, size);
    }
    const resolved = resolve(options, 'generateData');
    if (bytes === 0) return new Uint8Array(0);
    return new Uint8Array(await native.generateData(bytes, { ...resolved, totalSize: bytes, startOffset: 0 }));
  });
}

/**
 * Fills `target` in place with synthetic data (off the event loop). Addon memory (`allocAligned`,
 * read results) and SharedArrayBuffer memory are filled by native threads directly; ordinary JS
 * memory is filled 8 MiB at a time, each generated aside and copied in on the main thread. A target
 * transferred away meanwhile rejects with ERR_BUFFER_DETACHED.
 */
export function fillRandom(target: Uint8Array, options?: DataGenOptions): Promise<void> {
  return runOperation('fillRandom', '', undefined, OPERATION_KEYS, async () => {
    if (!ArrayBuffer.isView(target)) throw invalidType('target', 'a Uint8Array', target);
    if (isDetached(target.buffer)) throw bufferDetached('target');
    const view = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
    const length = view.byteLength;
    const resolved = { ...resolve(options, 'fillRandom'), totalSize: length };
    if (length <= FILL_CHUNK || native.memoryKind(view) !== 'foreign') {
      await native.fillData(view, { ...resolved, startOffset: 0 });
      return;
    }
    for (let offset = 0; offset < length; offset += FILL_CHUNK) {
      assertAttached(view, length, 'target');
      await native.fillData(view.subarray(offset, offset + FILL_CHUNK), { ...resolved, startOffset: offset });
    }
  });
}

/**
 * Any total size of synthetic data, chunk by chunk with constant memory. The dedup pattern spans
 * the whole stream, so the chunks together have the requested ratios.
 */
export class DataGenerator implements AsyncIterable<Uint8Array> {
  private readonly resolved: Resolved;
  private readonly chunkSize: number;

  constructor(
    readonly totalSize: number,
    options?: DataGeneratorOptions,
  ) {
    expectNonNegativeInteger(totalSize, 'totalSize');
    this.resolved = resolve(options, 'DataGenerator', GENERATOR_KEYS);
    const chunk = optionalPositiveInteger(options?.chunkSize, 'options.chunkSize', 8 * 1024 * 1024);
    if (chunk > bufferConstants.MAX_LENGTH) {
      throw outOfRange('options.chunkSize', `an integer up to ${bufferConstants.MAX_LENGTH}`, chunk);
    }
    // Chunks start on block boundaries so every chunk continues the same stream.
    this.chunkSize = Math.max(BLOCK, Math.floor(chunk / BLOCK) * BLOCK);
  }

  /** The generated bytes, chunk by chunk, `totalSize` bytes in all. */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (let offset = 0; offset < this.totalSize; offset += this.chunkSize) {
      const size = Math.min(this.chunkSize, this.totalSize - offset);
      let buffer: ArrayBuffer;
      try {
        buffer = await native.generateData(size, { ...this.resolved, totalSize: this.totalSize, startOffset: offset });
      } catch (error) {
        throw toS3dlioError(error, 'DataGenerator', '');
      }
      yield new Uint8Array(buffer);
    }
  }

  /** The stream as a Node Readable. */
  toReadable(): Readable {
    return Readable.from(this, { objectMode: false });
  }
}
