/**
 * direct:// — like file://, but every byte moves with O_DIRECT (no page cache): aligned reads and
 * writes from addon-allocated memory, unaligned ranges served as views of the covering aligned span.
 */
import { expectKnownOptions, optionKeys } from '../../internal/option-keys';
import { MAX_CHUNK_SIZE } from '../../native';
import { invalidValue, optionalBoolean, optionalIntegerInRange, optionalPositiveInteger } from '../../validate';
import { DEFAULT_CHUNK_SIZE } from './file';
import { LocalStore } from './local-store';
import { registerStore } from '../../registry';

/** Options of a direct:// store. */
export interface DirectStoreOptions {
  /**
   * Minimum alignment in bytes for offsets, lengths and memory (a power of two from 512 to 1 MiB).
   * Default: what the filesystem reports (statx STATX_DIOALIGN), else 4096.
   */
  alignment?: number;
  /**
   * Where the filesystem cannot do O_DIRECT (tmpfs, some network filesystems), use buffered I/O and
   * warn once, instead of failing with `ERR_DIRECT_IO_UNSUPPORTED` (default false).
   */
  allowBufferedFallback?: boolean;
  /** fdatasync each written file and fsync its directory before `put` resolves (default false). */
  fsync?: boolean;
  /** Bytes per read/write syscall, rounded up to the alignment, up to 1 GiB (default 16 MiB). */
  chunkSize?: number;
}

const DIRECT_STORE_KEYS = optionKeys<DirectStoreOptions>()({
  alignment: true,
  allowBufferedFallback: true,
  fsync: true,
  chunkSize: true,
});

/** The direct:// backend. */
export class DirectStore extends LocalStore {
  readonly scheme = 'direct' as const;

  constructor(options?: DirectStoreOptions) {
    const opts = expectKnownOptions(options, DIRECT_STORE_KEYS, 'a direct:// store');
    super({
      direct: true,
      alignment: validAlignment(opts.alignment),
      cacheMode: 0,
      fsync: optionalBoolean(opts.fsync, 'options.fsync', false),
      chunkSize: optionalIntegerInRange(opts.chunkSize, 'options.chunkSize', 1, MAX_CHUNK_SIZE, DEFAULT_CHUNK_SIZE),
      allowBufferedFallback: optionalBoolean(opts.allowBufferedFallback, 'options.allowBufferedFallback', false),
    });
  }
}

function validAlignment(value: unknown): number {
  if (value === undefined) return 0;
  const alignment = optionalPositiveInteger(value, 'options.alignment', 0);
  if (alignment < 512 || alignment > 1 << 20 || (alignment & (alignment - 1)) !== 0) {
    throw invalidValue('options.alignment', 'a power of two from 512 to 1048576', value);
  }
  return alignment;
}

declare module '../../uri' {
  interface StoreSchemes {
    direct: DirectStoreOptions;
  }
  interface StoreClasses {
    direct: DirectStore;
  }
}
registerStore('direct', (options) => new DirectStore(options), { layout: 'path' });
