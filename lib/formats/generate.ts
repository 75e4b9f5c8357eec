/**
 * Synthetic objects in the formats AI/ML datasets are stored in, for storage benchmarks and
 * data-loader tests: the payload comes from the native generator (so `dedup` and `compress`
 * apply to it), then it is wrapped as raw bytes, an `.npz`, a TFRecord file or an HDF5 file.
 */
import { checkDataGenOptions, generateData, type DataGenOptions } from '../datagen';
import { S3dlioError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { expectNonNegativeInteger, invalidType, invalidValue, optionalSignal, outOfRange } from '../validate';
import { encodeExample } from './example';
import { encodeHdf5 } from './hdf5';
import { encodeNpz } from './npz';
import { encodeTfRecords, formatTfRecordIndex } from './tfrecord';

/** The object formats {@link generateObject} writes. */
export type ObjectFormat = 'raw' | 'npz' | 'tfrecord' | 'hdf5';

/** File extension of each format, without the dot. */
export const FORMAT_EXTENSIONS: Readonly<Record<ObjectFormat, string>> = Object.freeze({
  raw: 'bin',
  npz: 'npz',
  tfrecord: 'tfrecord',
  hdf5: 'h5',
});

/** Every format, in the order messages list them. */
export const OBJECT_FORMATS: readonly ObjectFormat[] = Object.freeze(Object.keys(FORMAT_EXTENSIONS) as ObjectFormat[]);

/** Options of {@link generateObject}: the generator's, plus the format's. */
export interface GenerateObjectOptions extends DataGenOptions {
  /** TFRecord: records per object (default 1); the payload is split evenly between them. */
  records?: number;
  /**
   * The int64 `label` stored with the payload (npz, tfrecord, hdf5): one number for every record,
   * or one per record (`records` of them for tfrecord, one for npz and hdf5), e.g. from
   * {@link syntheticLabels}. Default 0 (npz, tfrecord); hdf5 has a `label` dataset only when given.
   */
  label?: number | readonly number[];
  /** Rejects with `ERR_ABORTED`, checked between the steps. */
  signal?: AbortSignal;
}

const GENERATE_KEYS = optionKeys<GenerateObjectOptions>()({
  dedup: true,
  compress: true,
  seed: true,
  threads: true,
  records: true,
  label: true,
  signal: true,
});

/** A file stored next to an object, named `<object name><suffix>` (e.g. the TFRecord index). */
export interface Sidecar {
  /** Appended to the object's name, e.g. `.idx`. */
  suffix: string;
  /** The sidecar's bytes. */
  data: Uint8Array;
}

/** An object ready to store, and the files that go with it. */
export interface GeneratedObject {
  /** The object's bytes. */
  data: Uint8Array;
  /** Files to store next to it: `[{ suffix: '.idx', … }]` for TFRecord, none for the others. */
  sidecars: Sidecar[];
}

function expectFormat(value: unknown): ObjectFormat {
  const expected = `one of ${OBJECT_FORMATS.join(', ')}`;
  if (typeof value !== 'string') throw invalidType('format', expected, value);
  if (!(OBJECT_FORMATS as readonly string[]).includes(value)) throw invalidValue('format', expected, value);
  return value as ObjectFormat;
}

/**
 * One synthetic object of `size` payload bytes in `format`:
 *
 * - `raw`: the payload itself (no copy).
 * - `npz`: arrays `data` (uint8, shape `(size,)`) and `label` (int64, shape `(1,)`).
 * - `tfrecord`: `records` `tf.train.Example`s, each with `data` (bytes: its share of the payload)
 *   and `label` (int64); sidecar `.idx`, the DALI index (`"<offset> <size>\n"` per record).
 * - `hdf5`: dataset `data`, uint8, shape `(size,)`, and with `label` a dataset `label`, int64, shape `(1,)`.
 *
 * The same `seed` gives the same bytes, in every format.
 */
export async function generateObject(
  format: ObjectFormat,
  size: number,
  options?: GenerateObjectOptions,
): Promise<GeneratedObject> {
  const kind = expectFormat(format);
  const bytes = expectNonNegativeInteger(size, 'size');
  const opts = expectKnownOptions(options, GENERATE_KEYS, 'generateObject');
  const signal = optionalSignal(opts.signal);
  let records = 1;
  if (opts.records !== undefined) {
    if (typeof opts.records !== 'number') throw invalidType('options.records', 'a positive integer', opts.records);
    if (!Number.isSafeInteger(opts.records) || opts.records <= 0) {
      throw outOfRange('options.records', 'a positive integer', opts.records);
    }
    records = opts.records;
  }
  if (kind === 'tfrecord' && bytes > 0 && records > bytes) {
    throw outOfRange('options.records', `a positive integer up to size (${bytes}): every record needs a byte`, records);
  }
  const labels = labelsOf(opts.label, kind === 'tfrecord' ? records : 1);
  const generation: DataGenOptions = {
    dedup: opts.dedup,
    compress: opts.compress,
    seed: opts.seed,
    threads: opts.threads,
  };
  checkDataGenOptions(generation, 'generateObject');

  checkAborted(signal);
  const payload = await generateData(bytes, generation);
  checkAborted(signal);
  switch (kind) {
    case 'raw':
      return { data: payload, sidecars: [] };
    case 'npz':
      return {
        data: encodeNpz({ data: payload, label: BigInt64Array.of(BigInt(labels[0])) }),
        sidecars: [],
      };
    case 'tfrecord': {
      const examples: Uint8Array[] = [];
      // Even split, record sizes differing by at most one byte; q and r keep the products small.
      const q = Math.floor(bytes / records);
      const r = bytes % records;
      const boundary = (i: number): number => q * i + Math.floor((r * i) / records);
      for (let i = 0; i < records; i++) {
        const start = boundary(i);
        const end = boundary(i + 1);
        examples.push(encodeExample({ data: payload.subarray(start, end), label: [labels[i]] }));
      }
      const { data, index } = encodeTfRecords(examples);
      return { data, sidecars: [{ suffix: '.idx', data: Buffer.from(formatTfRecordIndex(index), 'utf8') }] };
    }
    case 'hdf5':
      return {
        data: await encodeHdf5(
          [
            { name: 'data', data: payload },
            ...(opts.label === undefined ? [] : [{ name: 'label', data: BigInt64Array.of(BigInt(labels[0])) }]),
          ],
          { signal },
        ),
        sidecars: [],
      };
  }
}

/** `label` as one label per record: a number repeated, or an array of exactly `count` safe integers. */
function labelsOf(label: unknown, count: number): number[] {
  const expected = `a safe integer, or an array of ${count} (one per record)`;
  if (label === undefined) return new Array<number>(count).fill(0);
  if (typeof label === 'number') {
    if (!Number.isSafeInteger(label)) throw invalidValue('options.label', expected, label);
    return new Array<number>(count).fill(label);
  }
  if (!Array.isArray(label)) throw invalidType('options.label', expected, label);
  if (label.length !== count || !label.every((value) => Number.isSafeInteger(value))) {
    throw invalidValue('options.label', expected, label);
  }
  return [...(label as number[])];
}

/** Options of {@link syntheticLabels}. */
export interface SyntheticLabelOptions {
  /** Labels are `0 … classes - 1` (a positive safe integer). */
  classes: number;
  /** The same seed (and object index) gives the same labels (a safe integer; default 0). */
  seed?: number;
  /** The object's index in its dataset. */
  object: number;
  /** How many labels: one per record (default 1). */
  records?: number;
}

/**
 * Class labels of the records of one generated object, for a classification dataset: spread
 * evenly over `classes` (a hash of seed, object and record, not a cycle, so neighbours differ in no
 * fixed pattern), and reproducible: the same options give the same labels, on every platform.
 */
export function syntheticLabels(options: SyntheticLabelOptions): number[] {
  const { classes, seed = 0, object, records = 1 } = options;
  for (const [name, value, min] of [
    ['classes', classes, 1],
    ['object', object, 0],
    ['records', records, 1],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < min) {
      throw outOfRange(`options.${name}`, min === 1 ? 'a positive integer' : 'a non-negative integer', value);
    }
  }
  if (!Number.isSafeInteger(seed)) throw invalidValue('options.seed', 'a safe integer', seed);
  const labels: number[] = [];
  for (let record = 0; record < records; record++) {
    const hash = splitmix64(BigInt.asUintN(64, BigInt(seed)) ^ (BigInt(object) * 0x100000001b3n) ^ BigInt(record));
    labels.push(Number(hash % BigInt(classes)));
  }
  return labels;
}

/** SplitMix64's output function: a well-mixed 64-bit value of `x`. */
function splitmix64(x: bigint): bigint {
  let z = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  return z ^ (z >> 31n);
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new S3dlioError('ERR_ABORTED', 'generateObject: the operation was aborted', {
      operation: 'generateObject',
      cause: signal.reason,
    });
  }
}
