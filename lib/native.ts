/**
 * The only module that loads the C++ addon. Every native symbol is declared here with its types;
 * the rest of the library calls these typed wrappers. The addon checks every argument itself
 * (native/args.h): a wrong type or value throws a TypeError/RangeError with a `code`, nothing is
 * queued. Memory rules (native/job_memory.h): a job uses addon memory and SharedArrayBuffer memory
 * in place and copies anything else on the main thread before it starts, so a buffer transferred
 * while a job runs can neither crash the process nor change what the job reads or writes.
 */
import { existsSync } from 'fs';
import * as path from 'path';

import { invalidValue } from './validate';

/** Most native threads one call may start (readFiles `threads`, datagen `threads`): native/args.h. */
export const MAX_NATIVE_THREADS = 256;

/** Largest `chunkSize` (bytes per read/write syscall) the addon accepts: native/args.h. */
export const MAX_CHUNK_SIZE = 1024 * 1024 * 1024;

/** Page-cache modes, as the addon numbers them (native/file_io.h `CacheMode`). */
export const CACHE_MODES = { auto: 0, normal: 1, sequential: 2, random: 3, dontneed: 4 } as const;

/** What a native read returns: a view description over an addon-allocated ArrayBuffer. */
export interface NativeReadResult {
  /** Memory owned by the addon until GC (external ArrayBuffer, freed by its finalizer). */
  buffer: ArrayBuffer;
  /** Where the requested bytes start (non-zero for unaligned direct reads). */
  byteOffset: number;
  /** Number of requested bytes (clamped to the end of the file). */
  length: number;
  /** Size of the whole file. */
  fileSize: number;
  /** Set when the runtime refused external buffers and the bytes were copied once. */
  copied?: true;
}

/** Options of native reads. */
export interface NativeReadOptions {
  direct?: boolean;
  alignment?: number;
  cacheMode?: number;
  offset?: number;
  /** Bytes to read; omit (or -1) to read to the end. */
  length?: number;
  chunkSize?: number;
  /** Largest result accepted; larger reads fail with ERR_OBJECT_TOO_LARGE before allocating. */
  maxLength?: number;
  /** readFiles only: worker threads (1 to MAX_NATIVE_THREADS). */
  threads?: number;
  /** readFiles only: report each file's start, end and worker (`times` of the result). */
  timing?: boolean;
}

/**
 * What readFiles resolves to: per path, the read or its error; with `timing`, `times` holds
 * three numbers per path: start and end (uv_hrtime nanoseconds, the clock of
 * `process.hrtime`) and the index of the worker thread that read it.
 */
export type NativeReadManyResult = Array<NativeReadResult | Error> & { times?: Float64Array };

/** Options of native atomic writes. */
export interface NativeWriteOptions {
  direct?: boolean;
  alignment?: number;
  fsync?: boolean;
  /** An existing destination is EEXIST (ERR_ALREADY_EXISTS) and stays as it is. */
  noReplace?: boolean;
  chunkSize?: number;
}

/** Options of native copies. */
export interface NativeCopyOptions {
  /** fdatasync the copy and fsync its directory before resolving. */
  fsync?: boolean;
  /** Largest content accepted from a source of unknown size (pseudo files are read whole). */
  maxLength?: number;
}

/** Where a view's bytes live: addon-allocated, a SharedArrayBuffer, or ordinary JS memory. */
export type MemoryKind = 'addon' | 'shared' | 'foreign';

/** Options of the native data generator (see native/datagen.h). */
export interface NativeDataGenOptions {
  seedHigh: number;
  seedLow: number;
  dedup: number;
  compress: number;
  /** Size of the whole logical stream, which the dedup pattern is laid over. */
  totalSize: number;
  /** Where this buffer starts in the stream (a multiple of 4096). */
  startOffset: number;
  threads: number;
}

/** What `directIoInfo` reports about a file or directory. */
export interface DirectIoInfo {
  supported: boolean;
  memoryAlignment: number;
  offsetAlignment: number;
  fromStatx: boolean;
  filesystemType: number;
  reason?: string;
}

/** Build facts of the loaded addon. */
export interface NativeBuildInfo {
  /** Hash of native/ + binding.gyp the binary was built from (scripts/native-hash.js). */
  sourceHash: string;
  /** Whether this platform build can use O_DIRECT. */
  directIo: boolean;
  /** ArrayBuffers copied because the runtime refused external buffers (Electron >= 21). */
  externalBufferFallbacks: number;
  /** Whether CRC32C uses the CPU instruction (SSE4.2 / ARMv8 CRC) rather than tables. */
  crc32cHardware: boolean;
  /** Threads the I/O pool of single file reads may start (env S3DLIO_IO_THREADS, default 32). */
  ioThreadsMax: number;
  /** Threads the I/O pool has started so far. */
  ioThreads: number;
}

/** An Int32Array over shared memory: JS stores 1 to ask the native job to stop. */
export type CancelFlag = Int32Array;

interface Addon {
  buildInfo(): NativeBuildInfo;
  allocAligned(size: number, alignment: number): ArrayBuffer;
  readFile(path: string, options: NativeReadOptions, cancel?: CancelFlag): Promise<NativeReadResult>;
  readFiles(paths: string[], options: NativeReadOptions, cancel?: CancelFlag): Promise<NativeReadManyResult>;
  writeFile(path: string, data: Uint8Array, options: NativeWriteOptions, cancel?: CancelFlag): Promise<void>;
  copyFile(source: string, destination: string, options: NativeCopyOptions, cancel?: CancelFlag): Promise<void>;
  memoryKind(view: Uint8Array): MemoryKind;
  directIoInfo(path: string): Promise<DirectIoInfo>;
  crc32c(data: Uint8Array, seed: number): number;
  crc32cAsync(data: Uint8Array, seed: number): Promise<number>;
  generateData(size: number, options: NativeDataGenOptions): Promise<ArrayBuffer>;
  fillData(target: Uint8Array, options: NativeDataGenOptions): Promise<void>;
  crc32cPortable(data: Uint8Array, seed: number): number;
}

/** The package root (one level above lib/ or dist/). */
export const PACKAGE_ROOT = path.resolve(__dirname, '..');

const nativePath = nativePathOverride();

/** The path of the addon binary this module loaded (build/, prebuilds/, or S3DLIO_NATIVE_PATH). */
export const ADDON_PATH: string = nativePath ?? findAddon();

/** The binary node-gyp-build picks for this platform, or an error that says what to run. */
function findAddon(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('node-gyp-build') as { resolve(dir: string): string }).resolve(PACKAGE_ROOT);
  } catch (cause) {
    throw loadError(
      'ERR_NATIVE_MISSING',
      `no native addon for ${platformLabel()}: none in ${path.join(PACKAGE_ROOT, 'build', 'Release')} ` +
        `nor in ${path.join(PACKAGE_ROOT, 'prebuilds', `${process.platform}-${process.arch}`)}`,
      cause,
    );
  }
}

/**
 * Why a binary did not load, from the dynamic loader's message: another platform or
 * architecture, another C library, another Node ABI, or a missing or unreadable file.
 */
export function loadFailureReason(message: string): string {
  if (/GLIBC_[\d.]+'? not found|GLIBCXX_|musl|libc\.so/i.test(message)) {
    return `it needs another C library version than this system's (${libcLabel()})`;
  }
  if (/invalid ELF header|wrong ELF class|ELF file|mach-o|not a valid Win32|exec format/i.test(message)) {
    return 'it was built for another platform or architecture';
  }
  if (/NODE_MODULE_VERSION|different Node\.js version|napi|N-API/i.test(message)) {
    return `it was built for another Node ABI than this Node ${process.version}`;
  }
  if (/ENOENT|cannot open shared object file|Cannot find module|no such file/i.test(message)) {
    return 'the file, or a library it needs, is missing';
  }
  return 'the dynamic loader refused it';
}

function platformLabel(): string {
  return `${process.platform}-${process.arch} (Node ${process.version}, N-API ${process.versions.napi}, ${libcLabel()})`;
}

function libcLabel(): string {
  if (process.platform !== 'linux') return process.platform;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'not glibc (musl?)';
}

/** An addon load failure: what was tried, why it failed, and the command that fixes it. */
function loadError(code: string, what: string, cause: unknown): Error {
  const error = new Error(
    `s3dlio: ${what}. Build it from source for this machine with \`npm rebuild s3dlio\` ` +
      '(in a checkout: `npm run build:native`; needs python3, make and a C++17 compiler).',
    { cause },
  );
  Object.defineProperty(error, 'code', { value: code, enumerable: true });
  return error;
}

function loadAddon(): Addon {
  let addon: Addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(ADDON_PATH) as Addon;
  } catch (cause) {
    const reason = loadFailureReason((cause as Error).message ?? String(cause));
    throw loadError('ERR_NATIVE_LOAD', `cannot load the native addon ${ADDON_PATH}: ${reason}`, cause);
  }
  // A binary named by S3DLIO_NATIVE_PATH (a build of modified sources, e.g. by
  // scripts/native-mutants.js) is loaded as it is; the one node-gyp-build chose must match the sources.
  if (nativePath === undefined) assertNotStale(addon.buildInfo().sourceHash);
  return addon;
}

/**
 * `S3DLIO_NATIVE_PATH`: the absolute path of an `.node` file to load instead of the build/ or
 * prebuilds/ binary (for testing other builds of the addon). Unset or empty: the normal binary.
 */
function nativePathOverride(): string | undefined {
  const value = process.env.S3DLIO_NATIVE_PATH;
  if (value === undefined || value === '') return undefined;
  let problem: string | undefined;
  if (!path.isAbsolute(value) || !value.endsWith('.node')) problem = 'must be an absolute path to a .node file';
  else if (!existsSync(value)) problem = 'names no file';
  if (problem === undefined) return value;
  const error = new Error(
    `s3dlio: S3DLIO_NATIVE_PATH=${JSON.stringify(value)} ${problem}; unset it to load the built addon.`,
  );
  Object.defineProperty(error, 'code', { value: 'ERR_INVALID_ARG_VALUE', enumerable: true });
  throw error;
}

/**
 * node-gyp-build silently prefers build/ over prebuilds/: a binary built from other sources than
 * the ones shipped would run old native code. Refuse it unless explicitly allowed.
 */
function assertNotStale(builtHash: string): void {
  if (process.env.S3DLIO_ALLOW_STALE_NATIVE === '1') return;
  const expected = expectedSourceHash();
  if (expected === undefined || expected === builtHash) return;
  const error = new Error(
    `s3dlio: the native addon was built from other sources (hash ${builtHash}) than the ones in ` +
      `${PACKAGE_ROOT}/native (hash ${expected}). Rebuild it with \`npm run build:native\` ` +
      '(and `npm run build:prebuild` before committing), or set S3DLIO_ALLOW_STALE_NATIVE=1.',
  );
  Object.defineProperty(error, 'code', { value: 'ERR_NATIVE_STALE', enumerable: true });
  throw error;
}

/** Hash of the shipped native sources, or undefined when they are not shipped. */
export function expectedSourceHash(): string | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { nativeSourceHash } = require(path.join(PACKAGE_ROOT, 'scripts', 'native-hash.js')) as {
      nativeSourceHash(root: string): string;
    };
    return nativeSourceHash(PACKAGE_ROOT);
  } catch {
    return undefined; // sources not shipped: nothing to compare with
  }
}

const addon: Addon = loadAddon();

/** Build facts of the loaded addon. */
export function buildInfo(): NativeBuildInfo {
  return addon.buildInfo();
}

/** Zero-filled memory aligned to `alignment` bytes (for O_DIRECT), owned by the addon. */
export function allocAligned(size: number, alignment: number): ArrayBuffer {
  return addon.allocAligned(size, alignment);
}

/** The most threads S3DLIO_IO_THREADS may ask of the I/O pool. */
export const MAX_IO_THREADS = 256;
let ioThreadsChecked = false;

/**
 * Reads a file or a range of it on the addon's I/O pool, off the event loop (optionally with
 * O_DIRECT). The first call checks S3DLIO_IO_THREADS, which sizes the pool.
 */
export function readFile(path: string, options: NativeReadOptions, cancel?: CancelFlag): Promise<NativeReadResult> {
  if (!ioThreadsChecked) {
    const raw = process.env.S3DLIO_IO_THREADS;
    const value = Number(raw);
    if (raw !== undefined && raw !== '' && !(Number.isInteger(value) && value >= 1 && value <= MAX_IO_THREADS)) {
      throw invalidValue('process.env.S3DLIO_IO_THREADS', `an integer from 1 to ${MAX_IO_THREADS}`, raw);
    }
    ioThreadsChecked = true;
  }
  return addon.readFile(path, options, cancel);
}

/** Reads many files in one native call with `options.threads` worker threads. */
export function readFiles(
  paths: string[],
  options: NativeReadOptions,
  cancel?: CancelFlag,
): Promise<NativeReadManyResult> {
  return addon.readFiles(paths, options, cancel);
}

/**
 * Writes `data` to a temporary file beside `path` and renames it into place. Foreign memory
 * (see `memoryKind`) is copied synchronously first: callers pass large foreign inputs in parts.
 */
export function writeFile(
  path: string,
  data: Uint8Array,
  options: NativeWriteOptions,
  cancel?: CancelFlag,
): Promise<void> {
  return addon.writeFile(path, data, options, cancel);
}

/**
 * Copies `source` (a regular file; anything else is ERR_NOT_A_FILE) to a temporary file beside
 * `destination`, renamed into place: reflink or copy_file_range where possible.
 */
export function copyFile(
  source: string,
  destination: string,
  options: NativeCopyOptions,
  cancel?: CancelFlag,
): Promise<void> {
  return addon.copyFile(source, destination, options, cancel);
}

/** Where `view`'s bytes live (synchronous, a lookup in the addon's allocation registry). */
export function memoryKind(view: Uint8Array): MemoryKind {
  return addon.memoryKind(view);
}

/** Whether O_DIRECT works for a file or a directory, and with which alignment. */
export function directIoInfo(path: string): Promise<DirectIoInfo> {
  return addon.directIoInfo(path);
}

/** CRC32C of `data` continuing from `seed` (hardware instruction when available). */
export function crc32c(data: Uint8Array, seed: number): number {
  return addon.crc32c(data, seed);
}

/** CRC32C of `data` on the libuv pool (in place for addon and shared memory, else from a copy). */
export function crc32cAsync(data: Uint8Array, seed: number): Promise<number> {
  return addon.crc32cAsync(data, seed);
}

/** CRC32C on the portable table path whatever the CPU (for cross-checks in tests). */
export function crc32cPortable(data: Uint8Array, seed: number): number {
  return addon.crc32cPortable(data, seed);
}

/** Generates `size` bytes of synthetic data off the event loop, into addon memory. */
export function generateData(size: number, options: NativeDataGenOptions): Promise<ArrayBuffer> {
  return addon.generateData(size, options);
}

/**
 * Fills `target` with synthetic data off the event loop: in place for addon and shared memory;
 * other memory gets bytes generated aside and copied in on the main thread at the end (the call
 * rejects with ERR_BUFFER_DETACHED if the target was detached meanwhile).
 */
export function fillData(target: Uint8Array, options: NativeDataGenOptions): Promise<void> {
  return addon.fillData(target, options);
}
