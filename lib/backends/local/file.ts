/** file:// — objects are files under an absolute path, read and written through the page cache. */
import { expectKnownOptions, optionKeys } from '../../internal/option-keys';
import { CACHE_MODES, MAX_CHUNK_SIZE } from '../../native';
import { optionalBoolean, optionalEnum, optionalIntegerInRange } from '../../validate';
import { LocalStore } from './local-store';
import { registerStore } from '../../registry';

/** posix_fadvise mode applied to reads: `auto` is sequential for whole objects, normal for ranges. */
export type PageCacheMode = keyof typeof CACHE_MODES;

/** Options of a file:// store. */
export interface FileStoreOptions {
  /**
   * Page-cache hint for reads (posix_fadvise): `auto` (default), `sequential`, `random`, `normal`,
   * or `dontneed` (drop the object's pages after reading it: streaming a dataset once).
   */
  pageCache?: PageCacheMode;
  /** fdatasync each written file and fsync its directory before `put` resolves (default false). */
  fsync?: boolean;
  /** Bytes per read/write syscall, up to 1 GiB (default 16 MiB). */
  chunkSize?: number;
}

const FILE_STORE_KEYS = optionKeys<FileStoreOptions>()({ pageCache: true, fsync: true, chunkSize: true });

/** The default bytes per read/write syscall. */
export const DEFAULT_CHUNK_SIZE = 16 * 1024 * 1024;

/** The file:// backend. */
export class FileStore extends LocalStore {
  readonly scheme = 'file' as const;

  constructor(options?: FileStoreOptions) {
    const opts = expectKnownOptions(options, FILE_STORE_KEYS, 'a file:// store');
    const pageCache = optionalEnum(
      opts.pageCache,
      'options.pageCache',
      Object.keys(CACHE_MODES) as PageCacheMode[],
      'auto',
    );
    super({
      direct: false,
      alignment: 0,
      cacheMode: CACHE_MODES[pageCache],
      fsync: optionalBoolean(opts.fsync, 'options.fsync', false),
      chunkSize: optionalIntegerInRange(opts.chunkSize, 'options.chunkSize', 1, MAX_CHUNK_SIZE, DEFAULT_CHUNK_SIZE),
      allowBufferedFallback: false,
    });
  }
}

declare module '../../uri' {
  interface StoreSchemes {
    file: FileStoreOptions;
  }
  interface StoreClasses {
    file: FileStore;
  }
}
registerStore('file', (options) => new FileStore(options), { layout: 'path' });
