/**
 * HDF5 files through h5wasm (the HDF5 C library compiled to WebAssembly), run in a worker thread:
 *
 * - h5wasm is ESM-only and this library compiles to CommonJS, where tsc turns `import()` into
 *   `require()`; the worker's source is plain JavaScript that TypeScript does not rewrite, so its
 *   `import()` stays an import, in every host (also test runners that load CommonJS in a VM, where
 *   an `import()` in the main thread is refused).
 * - HDF5 calls are synchronous and slow for large datasets (tens of ms per 64 MiB); in a worker
 *   they do not block the event loop.
 * - The WebAssembly heap only grows; stopping the worker once it has been idle returns it.
 *
 * h5wasm's Node build reads and writes real paths, so each call goes through a private temporary
 * file in `os.tmpdir()`, always removed afterwards. Its heap is limited to 2 GiB, so data is
 * limited to {@link HDF5_MAX_BYTES} per call. h5wasm is an optional peer dependency, found at the
 * first call (internal/optional-package).
 */
import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import { readFile, rm, writeFile } from 'fs/promises';
import { tmpdir } from 'os';
import * as path from 'path';
import { pathToFileURL } from 'url';
import { Worker } from 'worker_threads';

import { S3dlioError, toS3dlioError } from '../errors';
import { expectKnownKeys, expectKnownOptions, optionKeys } from '../internal/option-keys';
import { packageRoot, type OptionalPackageUse } from '../internal/optional-package';
import { expectArray, invalidType, invalidValue, optionalSignal, outOfRange } from '../validate';
import { badFormat, copyBytes, expectBytes, formatCount, invalidArgument, type NumericArray } from './common';
import { npyDtypeOf, npyView, type NpyDtype } from './npy';

/** A dataset to write: its name in the root group, its elements, and optionally its shape. */
export interface Hdf5DatasetInput {
  /** Name in the root group (no `/`). */
  name: string;
  /** Elements; the HDF5 type follows the array type (Uint8Array → H5T_STD_U8LE, Float32Array → H5T_IEEE_F32LE, …). */
  data: NumericArray;
  /** Dimensions (default `[data.length]`); their product must be `data.length`. */
  shape?: readonly number[];
}

/** A dataset read from a file. */
export interface Hdf5Dataset {
  /** Path from the root group, without the leading `/` (e.g. `data`, `group/labels`). */
  name: string;
  /** Element type in NumPy's notation (`|u1`, `<f4`, `<i8`, …), little-endian. */
  dtype: NpyDtype;
  /** Dimensions; `[]` for a scalar dataset. */
  shape: number[];
  /** The elements, row-major, in new memory. */
  data: NumericArray;
}

/** Options of {@link encodeHdf5}. */
export interface Hdf5Options {
  /** Rejects with `ERR_ABORTED` before the HDF5 call starts or once it returns (one call cannot be interrupted). */
  signal?: AbortSignal;
}

/** Options of {@link readHdf5}. */
export interface Hdf5ReadOptions extends Hdf5Options {
  /** Only these datasets (paths from the root, e.g. `data`); default: every dataset in the file. */
  datasets?: readonly string[];
}

/**
 * Largest data per call: all datasets written by one `encodeHdf5`, or one dataset read by
 * `readHdf5`. h5wasm copies the data into its WebAssembly heap, which cannot exceed 2 GiB.
 */
export const HDF5_MAX_BYTES = 1024 * 1024 * 1024;

/** How long an idle worker (and its WebAssembly heap) is kept for the next call. */
const IDLE_MS = 10_000;

// The worker that runs h5wasm, off the main thread: its own module, next to this one in lib/ and
// in dist/ (copied by scripts/build-esm.js; tsc does not compile .mjs).
const WORKER_FILE = path.join(__dirname, 'hdf5-worker.mjs');

interface WorkerDataset {
  name: string;
  type?: number;
  size?: number;
  signed?: boolean;
  littleEndian?: boolean;
  shape?: number[];
  bytes?: number;
  data?: NumericArray;
  missing?: true;
}

interface WorkerReply {
  id: number;
  result?: WorkerDataset[];
  error?: string;
}

interface Pending {
  resolve: (result: WorkerDataset[]) => void;
  reject: (error: Error) => void;
  /** The worker the call went to. */
  worker: Worker;
}

/** The worker itself failed (crashed, exited), as opposed to an HDF5 call failing in it. */
class WorkerFailure extends Error {}

let worker: Worker | undefined;
let idleTimer: NodeJS.Timeout | undefined;
let nextId = 1;
const pending = new Map<number, Pending>();

/**
 * The package HDF5 runs on, an optional peer dependency (a test holds package.json to it): found
 * at the first HDF5 call, so an install without it serves every other format.
 */
export const HDF5_PACKAGE = 'h5wasm';

const HDF5_USE: OptionalPackageUse = { neededBy: 'HDF5', install: `npm install ${HDF5_PACKAGE}` };

/**
 * The file URL of h5wasm's Node build. `require.resolve` cannot find it: the package exports
 * `./node` under the "import" condition only. So: the package's directory as `require` would find
 * it (a missing package is `ERR_MODULE_NOT_FOUND` with its install command), then its own
 * `exports` map.
 */
function h5wasmEntry(): string {
  const root = packageRoot(HDF5_PACKAGE, HDF5_USE);
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    exports?: Record<string, { import?: unknown } | undefined>;
  };
  const target = manifest.exports?.['./node']?.import;
  if (typeof target !== 'string') {
    throw new S3dlioError(
      'ERR_NATIVE',
      `HDF5: the ${HDF5_PACKAGE} package in ${root} has no Node build (no "./node" export): run \`${HDF5_USE.install}\``,
    );
  }
  return pathToFileURL(path.join(root, target)).href;
}

/**
 * Throws now, before any work, what the first HDF5 call would throw if h5wasm is not installed
 * (`ERR_MODULE_NOT_FOUND`): for a run of many calls (the CLI's `put --format hdf5`), one error
 * instead of one per call.
 */
export function expectHdf5Installed(): void {
  h5wasmEntry();
}

function startWorker(): Worker {
  const w = new Worker(WORKER_FILE, { workerData: { entry: h5wasmEntry() } });
  w.on('message', (reply: WorkerReply) => {
    const call = pending.get(reply.id);
    pending.delete(reply.id);
    settle();
    if (!call) return;
    if (reply.error !== undefined) call.reject(new Error(reply.error));
    else call.resolve(reply.result ?? []);
  });
  const failAll = (error: Error): void => {
    if (worker === w) worker = undefined;
    // Only this worker's calls: a replacement may already be running others.
    for (const [id, call] of pending) {
      if (call.worker !== w) continue;
      pending.delete(id);
      call.reject(error);
    }
  };
  w.on('error', (error) => failAll(new WorkerFailure(`the HDF5 worker failed: ${error.message}`)));
  w.on('exit', (code) => failAll(new WorkerFailure(`the HDF5 worker exited (code ${code})`)));
  return w;
}

/** While calls are pending the worker keeps the process alive; once idle it does not, and it stops later. */
function settle(): void {
  if (pending.size > 0 || !worker) return;
  worker.unref();
  const idle = worker;
  idleTimer = setTimeout(() => {
    if (worker === idle && pending.size === 0) {
      worker = undefined;
      void idle.terminate();
    }
  }, IDLE_MS);
  idleTimer.unref();
}

function call(request: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<WorkerDataset[]> {
  // Stryker disable next-line ConditionalExpression: a stale idle timer stops only a worker with no call pending, which the next call restarts
  if (idleTimer) clearTimeout(idleTimer);
  worker ??= startWorker();
  worker.ref();
  // Stryker disable next-line UpdateOperator: ids only need to be distinct
  const id = nextId++;
  const w = worker;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, worker: w });
    w.postMessage({ ...request, id }, transfer);
  });
}

/**
 * Stops the HDF5 worker now, releasing its WebAssembly heap; pending calls fail with
 * `ERR_NATIVE`, the next call starts a new worker. (Idle workers stop by themselves.)
 */
export async function stopHdf5Worker(): Promise<void> {
  const w = worker;
  if (!w) return;
  worker = undefined;
  if (idleTimer) clearTimeout(idleTimer);
  await w.terminate();
}

function tempPath(): string {
  return path.join(tmpdir(), `.s3dlio-${process.pid}-${randomBytes(8).toString('hex')}.h5`);
}

function checkAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) {
    throw new S3dlioError('ERR_ABORTED', `${operation}: the operation was aborted`, {
      operation,
      cause: signal.reason,
    });
  }
}

const ENCODE_KEYS = optionKeys<Hdf5Options>()({ signal: true });
const READ_KEYS = optionKeys<Hdf5ReadOptions>()({ signal: true, datasets: true });
const DATASET_KEYS = optionKeys<Hdf5DatasetInput>()({ name: true, data: true, shape: true });

const DTYPE_BY_TYPE: Readonly<Record<string, NpyDtype>> = {
  'int-1-false': '|u1',
  'int-1-true': '|i1',
  'int-2-false': '<u2',
  'int-2-true': '<i2',
  'int-4-false': '<u4',
  'int-4-true': '<i4',
  'int-8-false': '<u8',
  'int-8-true': '<i8',
  'float-4': '<f4',
  'float-8': '<f8',
};

function expectDataset(
  value: unknown,
  name: string,
  seen: Set<string>,
): { name: string; data: NumericArray; shape: number[] } {
  if (typeof value !== 'object' || value === null) throw invalidType(name, 'an object { name, data, shape? }', value);
  const input = value as Partial<Hdf5DatasetInput>;
  // A misspelled `shape` would otherwise store the data flat.
  expectKnownKeys(input, DATASET_KEYS, 'encodeHdf5', name);
  if (typeof input.name !== 'string' || !/^[^/]+$/.test(input.name) || input.name === '.' || input.name === '..') {
    throw invalidValue(`${name}.name`, "a non-empty dataset name without '/' (other than . and ..)", input.name);
  }
  if (seen.has(input.name)) throw invalidValue(`${name}.name`, 'a name not used by another dataset', input.name);
  seen.add(input.name);
  const data = input.data as NumericArray;
  if (npyDtypeOf(data) === undefined) {
    throw invalidType(`${name}.data`, 'an integer or float typed array (not Uint8ClampedArray)', data);
  }
  let shape: number[];
  if (input.shape === undefined) shape = [data.length];
  else {
    if (!Array.isArray(input.shape))
      throw invalidType(`${name}.shape`, 'an array of non-negative integers', input.shape);
    shape = input.shape.map((d: unknown, i) => {
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
        throw outOfRange(`${name}.shape[${i}]`, 'a non-negative safe integer', d);
      }
      return d;
    });
    const count = shape.reduce((p, d) => p * d, 1);
    if (count !== data.length) {
      throw invalidArgument(
        `${name}.shape`,
        `a shape of ${data.length} elements (the length of data)`,
        `[${shape.join(', ')}] (${count} elements)`,
      );
    }
  }
  return { name: input.name, data, shape };
}

async function encodeHdf5Now(
  datasets: Hdf5DatasetInput | readonly Hdf5DatasetInput[],
  options?: Hdf5Options,
): Promise<Uint8Array> {
  const operation = 'encodeHdf5';
  const list = Array.isArray(datasets) ? expectArray(datasets, 'datasets') : [datasets];
  const seen = new Set<string>();
  const checked = list.map((d, i) => expectDataset(d, Array.isArray(datasets) ? `datasets[${i}]` : 'datasets', seen));
  const signal = optionalSignal(expectKnownOptions(options, ENCODE_KEYS, operation).signal);
  const total = checked.reduce((sum, d) => sum + d.data.byteLength, 0);
  if (total > HDF5_MAX_BYTES) {
    throw new S3dlioError(
      'ERR_OBJECT_TOO_LARGE',
      `${operation}: ${formatCount(total)} bytes of datasets; h5wasm (a 2 GiB WebAssembly heap) takes at most ${formatCount(HDF5_MAX_BYTES)} per file`,
      { operation },
    );
  }
  checkAborted(signal, operation);
  // Copies the worker can own (transferred, not cloned again); the caller's arrays stay usable.
  const copies = checked.map((d) => ({
    name: d.name,
    shape: d.shape,
    data: npyView(npyDtypeOf(d.data)!, copyBytes(d.data).buffer, 0, d.data.length),
  }));
  const file = tempPath();
  try {
    try {
      await call(
        { op: 'write', file, datasets: copies },
        copies.map((d) => d.data.buffer as ArrayBuffer),
      );
    } catch (error) {
      if (error instanceof S3dlioError) throw error;
      const message = error instanceof WorkerFailure ? error.message : `HDF5: ${(error as Error).message}`;
      throw new S3dlioError('ERR_NATIVE', `${operation}: ${message}`, { operation, cause: error });
    }
    checkAborted(signal, operation);
    const written = await readFile(file);
    return new Uint8Array(written.buffer, written.byteOffset, written.byteLength);
  } finally {
    await rm(file, { force: true });
  }
}

async function readHdf5Now(
  bytes: Uint8Array | ArrayBufferView | ArrayBuffer,
  options?: Hdf5ReadOptions,
): Promise<Map<string, Hdf5Dataset>> {
  const operation = 'readHdf5';
  const input = expectBytes(bytes, 'bytes');
  const opts = expectKnownOptions(options, READ_KEYS, operation);
  const signal = optionalSignal(opts.signal);
  let names: string[] | undefined;
  if (opts.datasets !== undefined) {
    names = expectArray(opts.datasets, 'options.datasets').map((n, i) => {
      if (typeof n !== 'string' || n.length === 0) throw invalidValue(`options.datasets[${i}]`, 'a dataset path', n);
      return n.replace(/^\/+/, '');
    });
  }
  checkAborted(signal, operation);
  const file = tempPath();
  let results: WorkerDataset[];
  try {
    await writeFile(file, input, { flag: 'wx', mode: 0o600 });
    try {
      results = await call({ op: 'read', file, datasets: names, maxBytes: HDF5_MAX_BYTES }, []);
    } catch (error) {
      if (error instanceof S3dlioError) throw error;
      if (error instanceof WorkerFailure) {
        throw new S3dlioError('ERR_NATIVE', `${operation}: ${error.message}`, { operation, cause: error });
      }
      throw badFormat(operation, `HDF5: ${(error as Error).message}`, error);
    }
  } finally {
    await rm(file, { force: true });
  }
  checkAborted(signal, operation);
  const out = new Map<string, Hdf5Dataset>();
  for (const r of results) {
    if (r.missing) throw badFormat(operation, `no dataset ${JSON.stringify(r.name)} in the file`);
    const key = r.type === 0 ? `int-${r.size}-${r.signed}` : r.type === 1 ? `float-${r.size}` : '';
    const dtype = DTYPE_BY_TYPE[key];
    if (dtype && !r.data && (r.bytes ?? 0) > HDF5_MAX_BYTES) {
      throw new S3dlioError(
        'ERR_OBJECT_TOO_LARGE',
        `${operation}: dataset ${JSON.stringify(r.name)} holds ${formatCount(r.bytes ?? 0)} bytes; h5wasm (a 2 GiB WebAssembly heap) reads at most ${formatCount(HDF5_MAX_BYTES)} per dataset`,
        { operation },
      );
    }
    if (!dtype || !r.data || (r.size !== 1 && !r.littleEndian)) {
      throw badFormat(
        operation,
        `dataset ${JSON.stringify(r.name)} has an unsupported type (HDF5 class ${r.type}, ${r.size} bytes${r.littleEndian ? '' : ', big-endian'}); supported: little-endian integers and floats`,
      );
    }
    out.set(r.name, { name: r.name, dtype, shape: r.shape ?? [], data: r.data });
  }
  return out;
}

/**
 * Writes datasets into a new HDF5 file and returns the file's bytes. Datasets are contiguous
 * (no chunking, no compression), in the root group, typed after their arrays.
 *
 * @param datasets one dataset or several (distinct names).
 * @throws S3dlioError `ERR_OBJECT_TOO_LARGE` over {@link HDF5_MAX_BYTES}; `ERR_NATIVE` when HDF5
 *   fails (its own message quoted); `ERR_ABORTED`; `ERR_MODULE_NOT_FOUND` when h5wasm (an optional
 *   peer dependency) is not installed.
 */
export async function encodeHdf5(
  datasets: Hdf5DatasetInput | readonly Hdf5DatasetInput[],
  options?: Hdf5Options,
): Promise<Uint8Array> {
  return withTypedErrors('encodeHdf5', () => encodeHdf5Now(datasets, options));
}

/**
 * Reads the datasets of an HDF5 file (every dataset, in any group, or the ones named) into new
 * memory. Integer and float datasets, little-endian, are supported.
 *
 * @throws S3dlioError `ERR_BAD_FORMAT` when the bytes are not an HDF5 file, a named dataset is
 *   missing, or a dataset has another type (strings, compounds, big-endian, …);
 *   `ERR_OBJECT_TOO_LARGE` for a dataset over {@link HDF5_MAX_BYTES}; `ERR_ABORTED`;
 *   `ERR_MODULE_NOT_FOUND` when h5wasm (an optional peer dependency) is not installed.
 */
export async function readHdf5(
  bytes: Uint8Array | ArrayBufferView | ArrayBuffer,
  options?: Hdf5ReadOptions,
): Promise<Map<string, Hdf5Dataset>> {
  return withTypedErrors('readHdf5', () => readHdf5Now(bytes, options));
}

/**
 * Runs a call whose failures are all S3dlioErrors (or argument errors): a temporary file that
 * cannot be written (ENOSPC, EACCES) or a worker that cannot start is reported with its code.
 */
async function withTypedErrors<T>(operation: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toS3dlioError(error, operation, '');
  }
}
