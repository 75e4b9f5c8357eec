/**
 * In-memory state of the fake GCS: buckets, their live objects (no versioning: one generation per
 * name), and the JSON resources the API returns for them
 * (https://cloud.google.com/storage/docs/json_api/v1/objects#resource,
 *  https://cloud.google.com/storage/docs/json_api/v1/buckets#resource).
 */
import { createHash } from 'crypto';

import { crc32c, crc32cToBase64 } from './crc32c';
import { bucketExists, bucketNotEmpty, bucketNotFound, invalid, objectNotFound, preconditionFailed } from './errors';

/** Object properties a client may set (insert metadata, rewrite/copy/compose destination, patch). */
export const WRITABLE_OBJECT_FIELDS = [
  'contentType',
  'contentEncoding',
  'contentDisposition',
  'contentLanguage',
  'cacheControl',
  'customTime',
  'storageClass',
  'metadata',
] as const;
export type WritableObjectField = (typeof WRITABLE_OBJECT_FIELDS)[number];

export interface WritableObjectMeta {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  customTime?: string;
  storageClass?: string;
  metadata?: Record<string, string>;
}

export interface StoredObject extends WritableObjectMeta {
  bucket: string;
  name: string;
  data: Buffer;
  generation: string;
  metageneration: number;
  /** base64 MD5; absent for composite objects, as on real GCS. */
  md5Hash?: string;
  crc32c: string;
  /** Set for objects made by compose (number of components, recursively). */
  componentCount?: number;
  timeCreated: Date;
  updated: Date;
}

export interface BucketRecord {
  name: string;
  projectNumber: string;
  location: string;
  storageClass: string;
  labels?: Record<string, string>;
  metageneration: number;
  timeCreated: Date;
  updated: Date;
  objects: Map<string, StoredObject>;
}

/** Object resource as returned by the JSON API. */
export interface ObjectResource extends WritableObjectMeta {
  kind: 'storage#object';
  id: string;
  selfLink: string;
  mediaLink: string;
  name: string;
  bucket: string;
  generation: string;
  metageneration: string;
  contentType: string;
  storageClass: string;
  size: string;
  md5Hash?: string;
  crc32c: string;
  etag: string;
  componentCount?: number;
  timeCreated: string;
  updated: string;
  timeStorageClassUpdated: string;
}

export interface BucketResource {
  kind: 'storage#bucket';
  id: string;
  selfLink: string;
  projectNumber: string;
  name: string;
  timeCreated: string;
  updated: string;
  metageneration: string;
  location: string;
  locationType: string;
  storageClass: string;
  etag: string;
  labels?: Record<string, string>;
}

/**
 * Conditions accepted on most object requests (`ifGenerationMatch=0` means "must not exist"), as
 * the int64 values GCS compares: `01` and `1` are the same condition.
 */
export interface Preconditions {
  ifGenerationMatch?: bigint;
  ifGenerationNotMatch?: bigint;
  ifMetagenerationMatch?: bigint;
  ifMetagenerationNotMatch?: bigint;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * An int64 parameter (generation, metageneration, their conditions) read as GCS reads it: a
 * decimal integer, leading zeros allowed; anything else is a 400 `invalid`. Absent → undefined.
 */
export function int64Param(name: string, value: unknown): bigint | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text === 'string' && /^[+-]?\d{1,40}$/.test(text)) {
    const parsed = BigInt(text);
    if (parsed >= INT64_MIN && parsed <= INT64_MAX) return parsed;
  }
  throw invalid(`Invalid value for ${name}: ${JSON.stringify(String(value))}`);
}

export interface ListObjectsQuery {
  prefix?: string;
  delimiter?: string;
  maxResults?: number;
  pageToken?: string;
  startOffset?: string;
  endOffset?: string;
  matchGlob?: string;
  includeTrailingDelimiter?: boolean;
}

export interface ListObjectsPage {
  items: StoredObject[];
  prefixes: string[];
  nextPageToken?: string;
}

/** Encode an object name for a URL path segment, as the JSON API's own links do. */
export const encodeName = (name: string): string => encodeURIComponent(name);

/**
 * Bucket naming rules (https://cloud.google.com/storage/docs/buckets#naming): 3–63 characters of
 * lowercase letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit; names with
 * dots may be up to 222 characters with each dot-separated component at most 63; no IPv4 address
 * form; no `goog` prefix, no "google".
 */
export function validateBucketName(name: unknown): asserts name is string {
  const bad = (): never => {
    throw invalid(`Invalid bucket name: '${String(name)}'`);
  };
  if (typeof name !== 'string') return bad();
  const maxLen = name.includes('.') ? 222 : 63;
  if (name.length < 3 || name.length > maxLen) bad();
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name)) bad();
  if (name.split('.').some((part) => part.length === 0 || part.length > 63)) bad();
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) bad();
  if (name.startsWith('goog') || /g[o0][o0]gle/.test(name)) bad();
}

/** Object name rules (https://cloud.google.com/storage/docs/objects#naming): 1–1024 bytes of UTF-8, no CR/LF. */
export function validateObjectName(name: string): void {
  const bytes = Buffer.byteLength(name, 'utf8');
  if (bytes === 0 || bytes > 1024) throw invalid(`Invalid object name: length ${bytes} bytes`);
  if (/[\r\n]/.test(name)) throw invalid('Invalid object name: contains a carriage return or line feed');
  if (name === '.' || name === '..') throw invalid(`Invalid object name: '${name}'`);
}

/** Protobuf-style varint, the form of real GCS etags (base64 of {1: generation, 2: metageneration}). */
function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = n;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

export function objectEtag(generation: string, metageneration: number): string {
  return Buffer.from([0x08, ...varint(BigInt(generation)), 0x10, ...varint(BigInt(metageneration))]).toString('base64');
}

/**
 * A glob as `matchGlob` defines it (https://cloud.google.com/storage/docs/json_api/v1/objects/list#list-object-glob):
 * `*` any run of characters except `/`, `**` any run including `/` (`**∕` also matches zero
 * segments), `?` one character except `/`, `[abc]` / `[!abc]` / `[a-z]` a class, `{a,b}` alternatives.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  let i = 0;
  let braceDepth = 0;
  const esc = (c: string): string => c.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  while (i < glob.length) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        if (glob[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 3;
        } else {
          re += '.*';
          i += 2;
        }
      } else {
        re += '[^/]*';
        i += 1;
      }
    } else if (c === '?') {
      re += '[^/]';
      i += 1;
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        i += 1;
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/\\/g, '\\\\').replace(/\]/g, '\\]')}]`;
      i = close + 1;
    } else if (c === '{') {
      re += '(?:';
      braceDepth++;
      i += 1;
    } else if (c === '}' && braceDepth > 0) {
      re += ')';
      braceDepth--;
      i += 1;
    } else if (c === ',' && braceDepth > 0) {
      re += '|';
      i += 1;
    } else if (c === '\\' && i + 1 < glob.length) {
      re += esc(glob[i + 1]);
      i += 2;
    } else {
      re += esc(c);
      i += 1;
    }
  }
  if (braceDepth > 0) throw invalid(`Invalid matchGlob: unbalanced '{' in '${glob}'`);
  return new RegExp(`^${re}$`, 's');
}

interface PageCursor {
  /** Last entry returned: an object name, or a prefix (then every name under it was covered). */
  k: string;
  p: boolean;
}

const encodeCursor = (c: PageCursor): string => Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');

function decodeCursor(token: string): PageCursor {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<PageCursor>;
    if (typeof c.k === 'string' && typeof c.p === 'boolean') return { k: c.k, p: c.p };
  } catch {
    /* fall through */
  }
  throw invalid(`Invalid pageToken: '${token}'`);
}

/**
 * Names one list page looks at unless told otherwise: small, so that ordinary test listings get
 * short pages (fewer entries than `maxResults`, and a `nextPageToken`) as they do on GCS.
 */
export const DEFAULT_MAX_LIST_SCAN = 50;

/** Code-unit order is what GCS uses for listing (lexicographic by UTF-8 bytes; equal for the BMP). */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

export class GcsStore {
  readonly buckets = new Map<string, BucketRecord>();
  private lastGeneration = 0;

  /**
   * @param maxPageSize most entries one list page returns whatever `maxResults` asks (GCS: 1000);
   *   smaller values make clients follow `nextPageToken`, as they must.
   * @param maxListScan most names one objects.list page looks at, those rolled up into a prefix
   *   included: like GCS, a page can end early, with a `nextPageToken`, however large `maxResults`.
   */
  constructor(
    private readonly maxPageSize = 1000,
    private readonly maxListScan = DEFAULT_MAX_LIST_SCAN,
  ) {}

  /** Generations are microsecond timestamps, strictly increasing across the whole store. */
  nextGeneration(): string {
    this.lastGeneration = Math.max(Date.now() * 1000, this.lastGeneration + 1);
    return String(this.lastGeneration);
  }

  // ---- buckets -------------------------------------------------------------------------------

  createBucket(
    name: unknown,
    init: { location?: string; storageClass?: string; labels?: Record<string, string> },
  ): BucketRecord {
    validateBucketName(name);
    if (this.buckets.has(name)) throw bucketExists();
    const now = new Date();
    const bucket: BucketRecord = {
      name,
      projectNumber: '123456789012',
      location: (init.location ?? 'US').toUpperCase(),
      storageClass: init.storageClass ?? 'STANDARD',
      labels: init.labels,
      metageneration: 1,
      timeCreated: now,
      updated: now,
      objects: new Map(),
    };
    this.buckets.set(name, bucket);
    return bucket;
  }

  getBucket(name: string): BucketRecord {
    const b = this.buckets.get(name);
    if (!b) throw bucketNotFound();
    return b;
  }

  deleteBucket(name: string, pre: { ifMetagenerationMatch?: bigint; ifMetagenerationNotMatch?: bigint }): void {
    const b = this.getBucket(name);
    if (pre.ifMetagenerationMatch !== undefined && pre.ifMetagenerationMatch !== BigInt(b.metageneration)) {
      throw preconditionFailed();
    }
    if (pre.ifMetagenerationNotMatch !== undefined && pre.ifMetagenerationNotMatch === BigInt(b.metageneration)) {
      throw preconditionFailed();
    }
    if (b.objects.size > 0) throw bucketNotEmpty();
    this.buckets.delete(name);
  }

  listBuckets(q: { prefix?: string; maxResults?: number; pageToken?: string }): {
    items: BucketRecord[];
    nextPageToken?: string;
  } {
    const after = q.pageToken !== undefined ? decodeCursor(q.pageToken).k : undefined;
    const max = Math.min(clampMax(q.maxResults), this.maxPageSize);
    const names = [...this.buckets.keys()]
      .filter((n) => (q.prefix ? n.startsWith(q.prefix) : true))
      .filter((n) => (after !== undefined ? byteOrder(n, after) > 0 : true))
      .sort(byteOrder);
    const page = names.slice(0, max);
    return {
      items: page.map((n) => this.buckets.get(n)!),
      nextPageToken: names.length > max ? encodeCursor({ k: page[page.length - 1], p: false }) : undefined,
    };
  }

  // ---- objects -------------------------------------------------------------------------------

  /** The live object, or a 404 (also when `generation` names a generation that is not the live one). */
  getObject(bucket: string, name: string, generation?: bigint): StoredObject {
    const o = this.getBucket(bucket).objects.get(name);
    if (!o || (generation !== undefined && generation !== BigInt(o.generation))) throw objectNotFound(bucket, name);
    return o;
  }

  /** Throws 412 unless the current state of `bucket/name` satisfies `pre` (304 semantics are the caller's). */
  checkPreconditions(bucket: string, name: string, pre: Preconditions): void {
    const o = this.getBucket(bucket).objects.get(name);
    const gen = o ? BigInt(o.generation) : 0n;
    if (pre.ifGenerationMatch !== undefined && pre.ifGenerationMatch !== gen) throw preconditionFailed();
    if (pre.ifGenerationNotMatch !== undefined && pre.ifGenerationNotMatch === gen) throw preconditionFailed();
    if (pre.ifMetagenerationMatch !== undefined) {
      if (!o || pre.ifMetagenerationMatch !== BigInt(o.metageneration)) throw preconditionFailed();
    }
    if (pre.ifMetagenerationNotMatch !== undefined) {
      if (o && pre.ifMetagenerationNotMatch === BigInt(o.metageneration)) throw preconditionFailed();
    }
  }

  /** Store a new generation of `bucket/name` (preconditions already checked by the caller). */
  putObject(
    bucket: string,
    name: string,
    data: Buffer,
    meta: WritableObjectMeta,
    opts: { componentCount?: number; crc32c?: string; md5Hash?: string | null } = {},
  ): StoredObject {
    validateObjectName(name);
    const b = this.getBucket(bucket);
    const now = new Date();
    const obj: StoredObject = {
      ...pickWritable(meta),
      bucket,
      name,
      data,
      generation: this.nextGeneration(),
      metageneration: 1,
      crc32c: opts.crc32c ?? crc32cToBase64(crc32c(data)),
      md5Hash: opts.md5Hash === null ? undefined : (opts.md5Hash ?? createHash('md5').update(data).digest('base64')),
      componentCount: opts.componentCount,
      timeCreated: now,
      updated: now,
    };
    if (!obj.contentType) obj.contentType = 'application/octet-stream';
    b.objects.set(name, obj);
    b.updated = now;
    return obj;
  }

  deleteObject(bucket: string, name: string, generation?: bigint): void {
    this.getObject(bucket, name, generation);
    this.getBucket(bucket).objects.delete(name);
  }

  /** PATCH semantics: listed fields replace, `null` clears; `metadata` merges key by key (null deletes a key). */
  patchObject(o: StoredObject, patch: Record<string, unknown>): StoredObject {
    for (const field of WRITABLE_OBJECT_FIELDS) {
      if (!(field in patch)) continue;
      const v = patch[field];
      if (field === 'metadata') {
        if (v === null) {
          delete o.metadata;
        } else if (typeof v === 'object') {
          const merged: Record<string, string> = { ...(o.metadata ?? {}) };
          for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
            if (val === null) delete merged[k];
            else merged[k] = String(val);
          }
          o.metadata = Object.keys(merged).length ? merged : undefined;
        }
      } else if (v === null) {
        delete o[field];
      } else if (typeof v === 'string') {
        o[field] = v;
      }
    }
    if (!o.contentType) o.contentType = 'application/octet-stream';
    o.metageneration++;
    o.updated = new Date();
    return o;
  }

  /**
   * objects.list: lexicographic order, `prefix`, `startOffset` (inclusive) / `endOffset`
   * (exclusive), `matchGlob`, `delimiter` rolling names up into `prefixes`, and pages of at most
   * `maxResults` entries (objects and prefixes both count, as on GCS). A page also ends, short,
   * before its next entry once it has looked at `maxListScan` names: a prefix that rolls up many
   * names ends its page (a page always holds at least one entry).
   */
  listObjects(bucket: string, q: ListObjectsQuery): ListObjectsPage {
    const b = this.getBucket(bucket);
    const max = Math.min(clampMax(q.maxResults), this.maxPageSize);
    const cursor = q.pageToken !== undefined ? decodeCursor(q.pageToken) : undefined;
    const glob = q.matchGlob ? globToRegExp(q.matchGlob) : undefined;
    const prefix = q.prefix ?? '';
    const delimiter = q.delimiter || undefined;

    const names = [...b.objects.keys()]
      .filter((n) => n.startsWith(prefix))
      .filter((n) => (q.startOffset ? byteOrder(n, q.startOffset) >= 0 : true))
      .filter((n) => (q.endOffset ? byteOrder(n, q.endOffset) < 0 : true))
      .filter((n) => (glob ? glob.test(n) : true))
      .sort(byteOrder);

    const items: StoredObject[] = [];
    const prefixes: string[] = [];
    let entries = 0;
    let scanned = 0;
    let last: PageCursor | undefined;
    let more = false;
    const full = (): boolean => entries >= max || scanned >= this.maxListScan;
    for (const name of names) {
      if (cursor) {
        if (cursor.p ? name.startsWith(cursor.k) || byteOrder(name, cursor.k) < 0 : byteOrder(name, cursor.k) <= 0) {
          continue;
        }
      }
      let rolledUp: string | undefined;
      if (delimiter) {
        const at = name.indexOf(delimiter, prefix.length);
        if (at >= 0) rolledUp = name.slice(0, at + delimiter.length);
      }
      if (rolledUp !== undefined) {
        if (last?.p && last.k === rolledUp) {
          // Same prefix as the previous entry; with includeTrailingDelimiter the object named exactly
          // like the prefix is also returned as an item.
          if (q.includeTrailingDelimiter && name === rolledUp) items.push(b.objects.get(name)!);
          scanned++;
          continue;
        }
        if (full()) {
          more = true;
          break;
        }
        prefixes.push(rolledUp);
        if (q.includeTrailingDelimiter && name === rolledUp) items.push(b.objects.get(name)!);
        last = { k: rolledUp, p: true };
      } else {
        if (full()) {
          more = true;
          break;
        }
        items.push(b.objects.get(name)!);
        last = { k: name, p: false };
      }
      entries++;
      scanned++;
    }
    return { items, prefixes, nextPageToken: more && last ? encodeCursor(last) : undefined };
  }

  // ---- resources -----------------------------------------------------------------------------

  objectResource(o: StoredObject, baseUrl: string): ObjectResource {
    const path = `b/${o.bucket}/o/${encodeName(o.name)}`;
    const res: ObjectResource = {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${baseUrl}/storage/v1/${path}`,
      mediaLink: `${baseUrl}/download/storage/v1/${path}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket: o.bucket,
      generation: o.generation,
      metageneration: String(o.metageneration),
      contentType: o.contentType ?? 'application/octet-stream',
      storageClass: o.storageClass ?? 'STANDARD',
      size: String(o.data.length),
      crc32c: o.crc32c,
      etag: objectEtag(o.generation, o.metageneration),
      timeCreated: o.timeCreated.toISOString(),
      updated: o.updated.toISOString(),
      timeStorageClassUpdated: o.timeCreated.toISOString(),
    };
    if (o.md5Hash !== undefined) res.md5Hash = o.md5Hash;
    if (o.componentCount !== undefined) res.componentCount = o.componentCount;
    for (const f of [
      'contentEncoding',
      'contentDisposition',
      'contentLanguage',
      'cacheControl',
      'customTime',
    ] as const) {
      if (o[f] !== undefined) res[f] = o[f];
    }
    if (o.metadata) res.metadata = { ...o.metadata };
    return res;
  }

  bucketResource(b: BucketRecord, baseUrl: string): BucketResource {
    const res: BucketResource = {
      kind: 'storage#bucket',
      id: b.name,
      selfLink: `${baseUrl}/storage/v1/b/${b.name}`,
      projectNumber: b.projectNumber,
      name: b.name,
      timeCreated: b.timeCreated.toISOString(),
      updated: b.updated.toISOString(),
      metageneration: String(b.metageneration),
      location: b.location,
      locationType: b.location.includes('-') ? 'region' : 'multi-region',
      storageClass: b.storageClass,
      etag: Buffer.from([0x08, ...varint(BigInt(b.metageneration))]).toString('base64'),
    };
    if (b.labels) res.labels = { ...b.labels };
    return res;
  }
}

/** maxResults: default and cap 1000 (objects.list / buckets.list); values < 1 are invalid. */
function clampMax(n: number | undefined): number {
  if (n === undefined || Number.isNaN(n)) return 1000;
  if (n < 1) throw invalid(`Invalid value for maxResults: ${n}`);
  return Math.min(Math.floor(n), 1000);
}

/** Only the client-settable fields of a JSON metadata body, type-checked. */
export function pickWritable(src: unknown): WritableObjectMeta {
  const out: WritableObjectMeta = {};
  if (!src || typeof src !== 'object') return out;
  const rec = src as Record<string, unknown>;
  for (const f of WRITABLE_OBJECT_FIELDS) {
    const v = rec[f];
    if (v === undefined || v === null) continue;
    if (f === 'metadata') {
      if (typeof v === 'object') {
        const m: Record<string, string> = {};
        for (const [k, val] of Object.entries(v as Record<string, unknown>)) if (val !== null) m[k] = String(val);
        if (Object.keys(m).length > 0) out.metadata = m;
      }
    } else if (typeof v === 'string') {
      out[f] = v;
    }
  }
  return out;
}
