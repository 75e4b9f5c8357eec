/**
 * Datasets: a fixed list of items on any backend, with map-style access (`length`, `get(i)`) and
 * iteration. An item is an object (raw bytes, a parsed `.npy` or `.npz`) or one TFRecord record;
 * its bytes are the buffer the read returned (zero-copy).
 */
import * as api from '../api';
import { S3dlioError } from '../errors';
import type { ObjectStore } from '../object-store';
import { parseNpy, type NpyArray } from '../formats/npy';
import { readNpz } from '../formats/npz';
import {
  parseTfRecordIndex,
  readFramedRecord,
  readTfRecords,
  TFRECORD_OVERHEAD,
  type TfRecordIndexEntry,
} from '../formats/tfrecord';
import { warnOnce } from '../operation';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import {
  badArgument,
  expectArray,
  expectString,
  invalidType,
  optionalBoolean,
  optionalEnum,
  optionalMatcher,
  optionalSignal,
  outOfRange,
} from '../validate';
import { MAX_DATASET_LENGTH } from './sampling';
import { rangeOptionsFrom } from '../engine/range-engine';

/** An item: the bytes of an object (or record) and where they came from. */
export interface DatasetItem {
  /** The object's URI. */
  uri: string;
  /** The bytes (a view of the buffer the read returned: no copy). */
  data: Uint8Array;
  /** `data.byteLength`. */
  size: number;
}

/** An item of an `npy` dataset: the object parsed as a NumPy array (a view of `data`). */
export interface NpyItem extends DatasetItem {
  array: NpyArray;
}

/** An item of an `npz` dataset: the archive's arrays by name. */
export interface NpzItem extends DatasetItem {
  arrays: Map<string, NpyArray>;
}

/** An item of a `tfrecord` dataset: one record's data (CRCs checked), its file and place there. */
export interface TfRecordItem extends DatasetItem {
  /** Record number within its file, from 0. */
  record: number;
  /** Byte offset of the framed record in its file. */
  offset: number;
}

/** How items are read: `get`'s RangeEngine settings, passed to the store as they are. */
export interface FetchOptions {
  signal?: AbortSignal;
  /**
   * Objects larger than this are read as concurrent ranges of `chunkSize` into one buffer (the
   * RangeEngine; worth it for large objects on cloud stores). Default: the store's (cloud 32 MiB,
   * local off); 0 turns it off.
   */
  rangeThreshold?: number;
  /** Bytes per range (default: the store's, 4 or 8 MiB by object size). */
  chunkSize?: number;
}

/** The record formats a dataset can parse. */
export type DatasetFormat = 'raw' | 'npy' | 'npz' | 'tfrecord';

const DATASET_FORMATS: readonly DatasetFormat[] = ['raw', 'npy', 'npz', 'tfrecord'];

/** Options every dataset takes, whatever its format. */
export interface DatasetCommonOptions {
  /**
   * The store to list and read with (e.g. `storeFor(uri, { endpoint })`); default: the shared
   * default store of each URI's scheme.
   */
  store?: Pick<ObjectStore, 'get' | 'getRange' | 'getMany' | 'listStream'>;
  signal?: AbortSignal;
}

/** A dataset of whole objects, as bytes (`DatasetItem`). */
export interface RawDatasetOptions extends DatasetCommonOptions {
  /** How each object is parsed (default `raw`). */
  format?: 'raw';
}

/** A dataset of `.npy` objects, each parsed as a NumPy array (`NpyItem`). */
export interface NpyDatasetOptions extends DatasetCommonOptions {
  format: 'npy';
}

/** A dataset of `.npz` objects, each parsed as its arrays by name (`NpzItem`). */
export interface NpzDatasetOptions extends DatasetCommonOptions {
  format: 'npz';
}

/** A dataset of TFRecord files, one item per record (`TfRecordItem`). */
export interface TfRecordDatasetOptions extends DatasetCommonOptions {
  format: 'tfrecord';
  /** Check each record's CRCs (default true). */
  verify?: boolean;
  /**
   * Fail when a file has no `<file>.idx` index (DALI format, what `s3dlio put --format tfrecord`
   * writes) instead of reading the whole file once to index it (default false; the fallback warns
   * once).
   */
  requireIndex?: boolean;
}

/** The options of each dataset format, by format. */
interface FormatOptions {
  raw: RawDatasetOptions;
  npy: NpyDatasetOptions;
  npz: NpzDatasetOptions;
  tfrecord: TfRecordDatasetOptions;
}

/**
 * Options of `Dataset.fromUris` (and, with the listing's, `Dataset.fromPrefix`): those of format
 * `F`, each format's own (`verify` and `requireIndex` are TFRecord's: with another format they do
 * not compile). Without `F`, the options of any one format.
 */
export type DatasetOptions<F extends DatasetFormat = DatasetFormat> = F extends DatasetFormat
  ? FormatOptions[F]
  : never;

/** How `Dataset.fromPrefix` lists the objects below its prefix. */
export interface PrefixListingOptions {
  /** Every object below the prefix (default true), or only its direct children. */
  recursive?: boolean;
  /** Only keys (relative to the prefix) that match. */
  pattern?: RegExp | string;
}

/** Options of `Dataset.fromPrefix`: the format's (see `DatasetOptions`) and the listing's. */
export type PrefixDatasetOptions<F extends DatasetFormat = DatasetFormat> = DatasetOptions<F> & PrefixListingOptions;

/** Every dataset option, whatever the format: what the implementation reads and checks. */
type AnyDatasetOptions = DatasetCommonOptions &
  Omit<TfRecordDatasetOptions, 'format'> & {
    format?: DatasetFormat;
  };

const FETCH_KEYS = optionKeys<FetchOptions>()({ signal: true, rangeThreshold: true, chunkSize: true });
const DATASET_KEYS = optionKeys<AnyDatasetOptions>()({
  format: true,
  verify: true,
  requireIndex: true,
  store: true,
  signal: true,
});
const PREFIX_DATASET_KEYS = optionKeys<AnyDatasetOptions & PrefixListingOptions>()({
  format: true,
  verify: true,
  requireIndex: true,
  store: true,
  signal: true,
  recursive: true,
  pattern: true,
});

/** The item of each dataset format, by format. */
interface FormatItems {
  raw: DatasetItem;
  npy: NpyItem;
  npz: NpzItem;
  tfrecord: TfRecordItem;
}

/** The item of a dataset of format `F` (`DatasetItem` for `raw`, `NpyItem` for `npy`, ...). */
export type DatasetItemOf<F extends DatasetFormat> = F extends DatasetFormat ? FormatItems[F] : never;

/** A fixed, indexable list of items. Subclass it for other sources; `DataLoader` reads any. */
export abstract class Dataset<T> implements AsyncIterable<T> {
  /** Number of items. */
  abstract readonly length: number;

  /** Item `index` (0 ≤ index < length). */
  abstract get(index: number, options?: FetchOptions): Promise<T>;

  /** Where item `index` comes from (its URI), for error messages and stats. */
  abstract source(index: number): string;

  /**
   * The same items passed through `transform` (sync or async). In a `DataLoader` the transform
   * runs inside the fetch pool, `concurrency` at a time.
   */
  map<U>(transform: (item: T, index: number) => U | Promise<U>): Dataset<U> {
    if (typeof transform !== 'function') throw invalidType('transform', 'a function', transform);
    return new MappedDataset(this, transform);
  }

  /** The items in order, one read at a time (use a `DataLoader` for concurrency). */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (let index = 0; index < this.length; index++) yield await this.get(index);
  }

  /**
   * A dataset of the objects `uris` (in this order), parsed as `options.format`: its items are of
   * that format's type (`NpyItem` for `npy`, ...; `DatasetItem` without a format), and only that
   * format's options compile. (`F` is inferred from `format`: the `{ format?: F }` part is what
   * TypeScript infers it from, `DatasetOptions<F>` what the options are checked against.)
   */
  static async fromUris<F extends DatasetFormat = 'raw'>(
    uris: readonly string[],
    options?: { format?: F } & DatasetOptions<F>,
  ): Promise<Dataset<DatasetItemOf<F>>> {
    const list = expectArray(uris, 'uris').map((uri, i) => expectString(uri, `uris[${i}]`));
    const opts = expectKnownOptions(options, DATASET_KEYS, 'Dataset.fromUris');
    checkDatasetOptions(opts);
    return datasetOf(list, opts, new Set()) as Promise<Dataset<DatasetItemOf<F>>>;
  }

  /**
   * A dataset of the objects below `prefixUri` (listed once, sorted by URI so every rank and run
   * sees the same order), parsed as `options.format`, typed as `fromUris`. TFRecord index files
   * (`.idx`) are not items.
   */
  static async fromPrefix<F extends DatasetFormat = 'raw'>(
    prefixUri: string,
    options?: { format?: F } & PrefixDatasetOptions<F>,
  ): Promise<Dataset<DatasetItemOf<F>>> {
    const opts = expectKnownOptions(options, PREFIX_DATASET_KEYS, 'Dataset.fromPrefix');
    expectString(prefixUri, 'prefixUri');
    const recursive = optionalBoolean(opts.recursive, 'options.recursive', true);
    optionalMatcher(opts.pattern);
    // Everything is checked before the listing: a bad option never costs a listing first.
    checkDatasetOptions(opts);
    const listed: string[] = [];
    for await (const uri of storeOf(opts).listStream(prefixUri, {
      recursive,
      pattern: opts.pattern,
      signal: opts.signal,
    })) {
      if (!uri.endsWith('/')) listed.push(uri);
    }
    listed.sort();
    const all = new Set(listed);
    const uris = opts.format === 'tfrecord' ? listed.filter((uri) => !isIndexOf(uri, all)) : listed;
    return datasetOf(uris, opts, all) as Promise<Dataset<DatasetItemOf<F>>>;
  }
}

type Io = Pick<ObjectStore, 'get' | 'getRange' | 'getMany' | 'listStream'>;

function storeOf(options: AnyDatasetOptions): Io {
  const store = options.store;
  if (store === undefined) return api;
  if (typeof store !== 'object' || store === null || typeof store.get !== 'function') {
    throw invalidType('options.store', 'an ObjectStore (storeFor(uri, options))', store);
  }
  return store;
}

/**
 * Every dataset option, whatever the format. TFRecord's own options with another format are
 * refused: from JavaScript (where types do not stop them) they would be silently ignored.
 */
function checkDatasetOptions(options: AnyDatasetOptions): void {
  const format = optionalEnum(options.format, 'options.format', DATASET_FORMATS, 'raw');
  optionalBoolean(options.verify, 'options.verify', true);
  optionalBoolean(options.requireIndex, 'options.requireIndex', false);
  for (const key of ['verify', 'requireIndex'] as const) {
    if (format !== 'tfrecord' && options[key] !== undefined) {
      throw badArgument(`\`options.${key}\` applies to format 'tfrecord' only; this dataset's format is '${format}'`);
    }
  }
  optionalSignal(options.signal);
  storeOf(options);
}

function isIndexOf(uri: string, all: Set<string>): boolean {
  return uri.endsWith('.idx') && all.has(uri.slice(0, -'.idx'.length));
}

async function datasetOf(uris: string[], options: AnyDatasetOptions, listed: Set<string>): Promise<Dataset<unknown>> {
  if (uris.length > MAX_DATASET_LENGTH) {
    throw outOfRange('uris', `at most ${MAX_DATASET_LENGTH} objects (a dataset's limit)`, uris.length);
  }
  const format = optionalEnum(options.format, 'options.format', DATASET_FORMATS, 'raw');
  const io = storeOf(options);
  switch (format) {
    case 'raw':
      return new ObjectDataset(io, uris, (item) => item);
    case 'npy':
      return new ObjectDataset(io, uris, (item) => ({ ...item, array: parsed(item.uri, () => parseNpy(item.data)) }));
    case 'npz':
      return new ObjectDataset(io, uris, (item) => ({ ...item, arrays: parsed(item.uri, () => readNpz(item.data)) }));
    case 'tfrecord':
      return TfRecordDataset.open(io, uris, options, listed);
  }
}

/** Runs a parser; its errors name the object. */
function parsed<R>(uri: string, parse: () => R): R {
  try {
    return parse();
  } catch (error) {
    const code = error instanceof S3dlioError ? error.code : 'ERR_BAD_FORMAT';
    throw new S3dlioError(code, `${uri}: ${(error as Error).message}`, { uri, cause: error });
  }
}

function checkIndex(index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw outOfRange('index', `an integer in [0, ${length})`, index);
  }
}

/** The RangeEngine settings of fetch options, checked (as `get` checks them). */
export function rangeFetchSettings(options: Partial<FetchOptions>): Pick<FetchOptions, 'rangeThreshold' | 'chunkSize'> {
  const { rangeThreshold, chunkSize } = options;
  // `get`'s own checks; what is not given stays undefined: the store's default then applies.
  rangeOptionsFrom({ rangeThreshold, chunkSize }, {}, 0);
  return { rangeThreshold, chunkSize };
}

/** The fetch options of `get(index, options)`, checked. */
function fetchOptionsFrom(options: FetchOptions | undefined): FetchOptions {
  const opts = expectKnownOptions(options, FETCH_KEYS, 'Dataset.get');
  return { signal: optionalSignal(opts.signal), ...rangeFetchSettings(opts) };
}

/** Reads one whole object as the fetch options say. */
function readObject(io: Io, uri: string, options: FetchOptions | undefined): Promise<Uint8Array> {
  const { signal, rangeThreshold, chunkSize } = fetchOptionsFrom(options);
  return io.get(uri, { signal, rangeThreshold, chunkSize });
}

/** One item per object. */
class ObjectDataset<T> extends Dataset<T> {
  constructor(
    private readonly io: Io,
    private readonly uris: readonly string[],
    private readonly decode: (item: DatasetItem) => T,
  ) {
    super();
  }

  get length(): number {
    return this.uris.length;
  }

  source(index: number): string {
    return this.uris[index];
  }

  async get(index: number, options?: FetchOptions): Promise<T> {
    checkIndex(index, this.uris.length);
    const uri = this.uris[index];
    const data = await readObject(this.io, uri, options);
    return this.decode({ uri, data, size: data.byteLength });
  }
}

/** One item per TFRecord record, located by the files' indexes. */
class TfRecordDataset extends Dataset<TfRecordItem> {
  private constructor(
    private readonly io: Io,
    private readonly files: readonly string[],
    /** Per record: its file (index into `files`), number in the file, offset and framed length. */
    private readonly fileOf: Uint32Array,
    private readonly numberOf: Uint32Array,
    private readonly offsetOf: Float64Array,
    private readonly lengthOf: Float64Array,
    private readonly verify: boolean,
  ) {
    super();
  }

  static async open(
    io: Io,
    files: string[],
    options: AnyDatasetOptions,
    listed: Set<string>,
  ): Promise<TfRecordDataset> {
    const verify = optionalBoolean(options.verify, 'options.verify', true);
    const requireIndex = optionalBoolean(options.requireIndex, 'options.requireIndex', false);
    const withIndex = files.filter((uri) => listed.has(`${uri}.idx`));
    const without = files.filter((uri) => !listed.has(`${uri}.idx`));
    if (without.length > 0 && requireIndex) {
      throw new S3dlioError(
        'ERR_NOT_FOUND',
        `${without.length} TFRecord file(s) have no .idx index, e.g. ${without[0]}.idx (requireIndex is set)`,
        { uri: `${without[0]}.idx` },
      );
    }
    const indexes = new Map<string, TfRecordIndexEntry[]>();
    const texts = await io.getMany(
      withIndex.map((uri) => `${uri}.idx`),
      { signal: options.signal },
    );
    withIndex.forEach((uri, i) =>
      indexes.set(
        uri,
        parsed(`${uri}.idx`, () => parseTfRecordIndex(new TextDecoder().decode(texts[i]))),
      ),
    );
    if (without.length > 0) {
      warnOnce(
        'S3DLIO_TFRECORD_NO_INDEX',
        `${without.length} TFRecord file(s) have no .idx index (e.g. ${without[0]}): each is read once ` +
          'to index it. Write indexes (s3dlio put --format tfrecord does), or set requireIndex to forbid this.',
      );
      for (const uri of without) {
        const bytes = await io.get(uri, { signal: options.signal });
        indexes.set(
          uri,
          parsed(uri, () => scanRecords(bytes)),
        );
      }
    }
    const total = files.reduce((sum, uri) => sum + (indexes.get(uri)?.length ?? 0), 0);
    if (total > MAX_DATASET_LENGTH) {
      throw outOfRange('uris', `files holding at most ${MAX_DATASET_LENGTH} records (a dataset's limit)`, total);
    }
    const fileOf = new Uint32Array(total);
    const numberOf = new Uint32Array(total);
    const offsetOf = new Float64Array(total);
    const lengthOf = new Float64Array(total);
    let at = 0;
    files.forEach((uri, file) => {
      (indexes.get(uri) ?? []).forEach((entry, number) => {
        fileOf[at] = file;
        numberOf[at] = number;
        offsetOf[at] = entry.offset;
        lengthOf[at] = entry.length;
        at++;
      });
    });
    return new TfRecordDataset(io, files, fileOf, numberOf, offsetOf, lengthOf, verify);
  }

  get length(): number {
    return this.fileOf.length;
  }

  source(index: number): string {
    return this.files[this.fileOf[index]];
  }

  async get(index: number, options?: FetchOptions): Promise<TfRecordItem> {
    checkIndex(index, this.length);
    const { signal } = fetchOptionsFrom(options);
    const uri = this.files[this.fileOf[index]];
    const offset = this.offsetOf[index];
    const framed = await this.io.getRange(uri, offset, this.lengthOf[index], { signal });
    const record = this.numberOf[index];
    const data = parsed(uri, () => {
      if (framed.byteLength !== this.lengthOf[index]) {
        throw new S3dlioError(
          'ERR_BAD_FORMAT',
          `record ${record} at byte offset ${offset}: the index says ${this.lengthOf[index]} bytes, ` +
            `the file has ${framed.byteLength} there (stale index?)`,
          {},
        );
      }
      return readFramedRecord(framed, offset, record, this.verify, 'Dataset.get');
    });
    return { uri, data, size: data.byteLength, record, offset };
  }
}

/**
 * The index of a TFRecord file read whole, from the records `readTfRecords` walks (CRCs are
 * checked later, when each record is read).
 */
function scanRecords(bytes: Uint8Array): TfRecordIndexEntry[] {
  const entries: TfRecordIndexEntry[] = [];
  for (const data of readTfRecords(bytes, { verify: false })) {
    // Each record's data follows its 12-byte header (length + length CRC).
    entries.push({ offset: data.byteOffset - bytes.byteOffset - 12, length: data.byteLength + TFRECORD_OVERHEAD });
  }
  return entries;
}

/** `dataset.map(transform)`. */
class MappedDataset<S, T> extends Dataset<T> {
  constructor(
    private readonly inner: Dataset<S>,
    private readonly transform: (item: S, index: number) => T | Promise<T>,
  ) {
    super();
  }

  get length(): number {
    return this.inner.length;
  }

  source(index: number): string {
    return this.inner.source(index);
  }

  async get(index: number, options?: FetchOptions): Promise<T> {
    return this.transform(await this.inner.get(index, options), index);
  }
}
