/**
 * mem:// — objects in this process's memory, for tests and caches. `mem://bucket/key`, the same API
 * as every other scheme; `storeFor('mem://', {})` makes a new, separate store.
 */
import { type ErrorCode, S3dlioError } from '../errors';
import { expectKnownOptions, optionKeys } from '../internal/option-keys';
import { privateCopy } from '../internal/memory';
import type { BodyPlacement, ByteRange, ObjectStat, PartSink, WriterOptions } from '../object-store';
import type { OperationScope } from '../operation';
import { registerStore } from '../registry';
import { type Scheme, parseUri } from '../uri';
import { optionalPositiveInteger } from '../validate';
import { BaseStore, type RefKind, type WriteSettings } from './base-store';

/** Options of a mem:// store. */
export interface MemoryStoreOptions {
  /** Bytes the store may hold; a write beyond it fails with ERR_NO_SPACE (default: no limit). */
  maxBytes?: number;
}

type Ref = { bucket: string; key: string };
type Stored = Omit<ObjectStat, 'uri'> & { bytes: Uint8Array };

const KEYS = optionKeys<MemoryStoreOptions>()({ maxBytes: true });
let version = 0;

/** The mem:// backend. Reads return copies: the stored bytes never change once written. */
export class MemoryStore extends BaseStore<Ref> {
  readonly scheme: Scheme = 'mem';
  private readonly buckets = new Map<string, Map<string, Stored>>();
  private readonly maxBytes: number;
  private used = 0;

  constructor(options?: MemoryStoreOptions) {
    super({}, 0);
    const opts = expectKnownOptions(options, KEYS, 'a mem:// store');
    this.maxBytes = optionalPositiveInteger(opts.maxBytes, 'options.maxBytes', Number.MAX_SAFE_INTEGER);
  }

  protected refOf(uri: unknown, name: string, kind: RefKind): Ref {
    const { scheme, bucket, key } = parseUri(uri, name);
    const object = kind === 'create' || kind === 'object';
    if (scheme !== this.scheme || (!bucket && kind !== 'bucket') || (object && (key === '' || key.endsWith('/')))) {
      const expected = `${this.scheme}://bucket/${object ? "key, the key not ending with '/'" : '…'}`;
      const message = `Invalid URI ${JSON.stringify(uri)}: expected ${expected}`;
      throw new S3dlioError('ERR_INVALID_URI', message, { uri: String(uri) });
    }
    return { bucket, key };
  }

  protected uriOf(ref: Ref): string {
    return `${this.scheme}://${ref.bucket}/${ref.key}`;
  }

  protected async readRange(ref: Ref, uri: string, range: ByteRange, scope: OperationScope, placement?: BodyPlacement) {
    const { bytes, etag } = this.find(ref, uri, scope);
    if (range.start >= bytes.byteLength && range.start > 0) {
      throw fail('ERR_RANGE_NOT_SATISFIABLE', uri, scope, `offset ${range.start} is past the end`);
    }
    const part = bytes.subarray(range.start, range.end === undefined ? undefined : range.end + 1);
    const target = placement?.onHeaders({ length: part.byteLength, totalSize: bytes.byteLength, etag });
    return target ? (target.set(part), target) : new Uint8Array(part); // a copy, even of a Buffer
  }

  protected async writeObject(ref: Ref, uri: string, bytes: Uint8Array, scope: OperationScope, w: WriteSettings) {
    await this.io(
      'PUT',
      uri,
      async () => void this.store(ref, uri, privateCopy(bytes, w.name), scope, w.overwrite),
      1,
      bytes.byteLength,
    );
  }

  protected openUpload(ref: Ref, uri: string, options: WriterOptions): PartSink {
    const parts: Uint8Array[] = [];
    let staged = 0;
    const whole = (bytes: Uint8Array) => this.store(ref, uri, bytes, undefined, options.overwrite !== false);
    return {
      maxParts: 10_000,
      minPartSize: 1,
      uploadPart: async (index, _offset, bytes) => {
        // Staged parts count against maxBytes too: a writer cannot grow past the bound unseen.
        staged += bytes.byteLength;
        if (this.used + staged > this.maxBytes) throw fail('ERR_NO_SPACE', uri, undefined, 'over maxBytes');
        parts[index] = new Uint8Array(bytes);
      },
      complete: async (total) => whole(concat(parts, total)),
      putWhole: async (bytes) => whole(new Uint8Array(bytes)),
      abort: async () => void parts.splice(0),
      storedSize: async () => this.find(ref, uri, undefined).size,
    };
  }

  protected async *listPages(ref: Ref, uri: string, recursive: boolean, scope: OperationScope) {
    yield await this.io('LIST', uri, async () => {
      const seen = new Map<string, Stored | undefined>();
      for (const [key, stored] of this.bucket(ref, uri, scope)) {
        if (!key.startsWith(ref.key)) continue;
        const slash = recursive ? -1 : key.indexOf('/', ref.key.length);
        if (slash === -1) seen.set(key, stored);
        else seen.set(key.slice(0, slash + 1), undefined);
      }
      // Metadata costs nothing here: every entry carries it, as a cloud listing's do.
      return [...seen].map(([key, stored]) => ({
        uri: this.uriOf({ bucket: ref.bucket, key }),
        ref: { bucket: ref.bucket, key },
        ...(stored
          ? { meta: { size: stored.size, lastModified: stored.lastModified, etag: stored.etag } }
          : { prefix: true }),
      }));
    });
  }

  protected async head(ref: Ref, uri: string, scope: OperationScope): Promise<Omit<ObjectStat, 'uri'>> {
    const { size, lastModified, etag } = this.find(ref, uri, scope);
    return { size, lastModified, etag };
  }

  protected async remove(ref: Ref, uri: string, scope: OperationScope): Promise<void> {
    this.used -= this.find(ref, uri, scope).size;
    this.buckets.get(ref.bucket)?.delete(ref.key);
  }

  protected async copyObject(source: Ref, destination: Ref, uri: string, scope: OperationScope): Promise<void> {
    this.store(destination, uri, this.find(source, uri, scope).bytes, scope, true);
  }

  protected async sameObject(source: Ref, destination: Ref, uri: string, scope: OperationScope): Promise<boolean> {
    if (source.bucket !== destination.bucket || source.key !== destination.key) return false;
    return this.find(source, uri, scope) !== undefined;
  }

  protected async makeBucket(ref: Ref): Promise<void> {
    if (!this.buckets.has(ref.bucket)) this.buckets.set(ref.bucket, new Map());
  }

  protected async removeBucket(ref: Ref, uri: string, scope: OperationScope, { force }: { force: boolean }) {
    const objects = this.bucket(ref, uri, scope);
    if (objects.size > 0 && !force) {
      throw fail('ERR_BUCKET_NOT_EMPTY', uri, scope, 'the bucket is not empty (pass { force: true })');
    }
    await this.io('DELETE', uri, async () => {
      for (const { size } of objects.values()) this.used -= size;
      this.buckets.delete(ref.bucket);
    });
  }

  protected async bucketUris(): Promise<string[]> {
    return [...this.buckets.keys()].map((name) => `${this.scheme}://${name}/`);
  }

  private bucket(ref: Ref, uri: string, scope: OperationScope | undefined): Map<string, Stored> {
    const objects = this.buckets.get(ref.bucket);
    if (objects) return objects;
    throw fail('ERR_BUCKET_NOT_FOUND', uri, scope, 'no such bucket');
  }

  private find(ref: Ref, uri: string, scope: OperationScope | undefined): Stored {
    const found = this.bucket(ref, uri, scope).get(ref.key);
    if (found) return found;
    throw fail('ERR_NOT_FOUND', uri, scope, 'no such object');
  }

  /**
   * Stores `bytes` (memory no one else holds) as the object, replacing what was there at once;
   * without `overwrite`, an object already there is ERR_ALREADY_EXISTS.
   */
  private store(
    ref: Ref,
    uri: string,
    bytes: Uint8Array,
    scope: OperationScope | undefined,
    overwrite: boolean,
  ): { etag: string } {
    const objects = this.bucket(ref, uri, scope);
    if (!overwrite && objects.has(ref.key))
      throw fail('ERR_ALREADY_EXISTS', uri, scope, 'the object exists (overwrite: false)');
    const used = this.used - (objects.get(ref.key)?.size ?? 0) + bytes.byteLength;
    if (used > this.maxBytes) {
      throw fail('ERR_NO_SPACE', uri, scope, `${used} bytes would exceed maxBytes (${this.maxBytes})`);
    }
    this.used = used;
    const etag = `"${++version}"`;
    objects.set(ref.key, { bytes, size: bytes.byteLength, lastModified: new Date(), etag });
    return { etag };
  }
}

function fail(code: ErrorCode, uri: string, scope: OperationScope | undefined, reason: string): S3dlioError {
  return new S3dlioError(code, `${scope?.operation ?? 'write'} ${uri}: ${reason}`, { uri });
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const whole = new Uint8Array(total);
  parts.reduce((offset, part) => (whole.set(part, offset), offset + part.byteLength), 0);
  return whole;
}

declare module '../uri' {
  interface StoreSchemes {
    mem: MemoryStoreOptions;
  }
  interface StoreClasses {
    mem: MemoryStore;
  }
}
registerStore('mem', (options) => new MemoryStore(options));
