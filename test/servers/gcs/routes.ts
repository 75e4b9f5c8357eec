/**
 * Request routing for the fake GCS JSON API. Paths are split on `/` *before* percent-decoding, so an
 * object name (sent by clients as one encodeURIComponent'd segment: `/` → %2F, `%` → %25, `?` → %3F,
 * `#` → %23, `+` → %2B, space → %20) is decoded exactly once. Query strings are decoded with
 * URLSearchParams (`+` = space there, as in form encoding).
 *
 * The JSON API is served under `/storage/v1/…` and, for clients configured through
 * STORAGE_EMULATOR_HOST without that suffix, also directly under `/b/…`. Media: `/upload/storage/v1/…`
 * (uploads) and `/download/storage/v1/…` or `alt=media` (downloads).
 */
import { randomBytes } from 'crypto';
import { gunzipSync } from 'zlib';
import type { IncomingMessage, ServerResponse } from 'http';

import {
  GcsError,
  invalid,
  notFoundPath,
  notModified,
  objectNotFound,
  preconditionFailed,
  rangeNotSatisfiable,
} from './errors';
import {
  baseUrlOf,
  decodePathSegment,
  parseJsonBody,
  parseRange,
  readBody,
  sendEmpty,
  sendJson,
  writeHead,
} from './http-util';
import {
  type GcsStore,
  type StoredObject,
  type WritableObjectMeta,
  int64Param,
  pickWritable,
  validateObjectName,
} from './store';
import { type Uploads, preconditionsFrom } from './uploads';

/** Max sources of one compose request, and max components of a composite object. */
const COMPOSE_MAX_SOURCES = 32;
const COMPOSE_MAX_COMPONENTS = 1024;

/** `maxBytesRewrittenPerCall` must be a multiple of this (1 MiB), as on GCS. */
const REWRITE_UNIT = 1 << 20;

/**
 * Bytes one rewrite call copies unless told otherwise: smaller than GCS's usual amounts, so that
 * the tests' ordinary copies already take several calls and clients must follow the token.
 */
export const DEFAULT_REWRITE_BYTES_PER_CALL = 32 * 1024;

/** A rewrite in progress: what it copies (the generation the first call saw), where to, how far. */
interface RewriteState {
  source: StoredObject;
  srcBucket: string;
  srcName: string;
  dstBucket: string;
  dstName: string;
  /** Destination metadata, from the first call (later calls may omit the body). */
  meta: WritableObjectMeta;
  rewritten: number;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  q: URLSearchParams;
  base: string;
}

const intParam = (q: URLSearchParams, k: string): number | undefined => {
  const v = q.get(k);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw invalid(`Invalid value for ${k}: '${v}'`);
  return n;
};

const boolParam = (q: URLSearchParams, k: string): boolean => q.get(k) === 'true';

/** A (meta)generation or a condition on one, as an int64 (400 unless it is one). */
const generationParam = (q: URLSearchParams, k: string): bigint | undefined => int64Param(k, q.get(k));

/**
 * Whether a request is a media download (`alt=media`, or under `/download/`): GCS answers its
 * errors with the message as a plain-text body, not the JSON error.
 */
export function isMediaDownload(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url ?? '/';
  const qAt = url.indexOf('?');
  const path = qAt < 0 ? url : url.slice(0, qAt);
  return path.startsWith('/download/') || new URLSearchParams(qAt < 0 ? '' : url.slice(qAt + 1)).get('alt') === 'media';
}

export class Router {
  /** Rewrites that need more calls, by their `rewriteToken`. */
  private readonly rewrites = new Map<string, RewriteState>();

  /** @param rewriteBytesPerCall most bytes one objects.rewrite call copies. */
  constructor(
    private readonly store: GcsStore,
    private readonly uploads: Uploads,
    private readonly rewriteBytesPerCall = DEFAULT_REWRITE_BYTES_PER_CALL,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const qAt = url.indexOf('?');
    const rawPath = qAt < 0 ? url : url.slice(0, qAt);
    const q = new URLSearchParams(qAt < 0 ? '' : url.slice(qAt + 1));
    const method = (req.method ?? 'GET').toUpperCase();
    const ctx: Ctx = { req, res, method, q, base: baseUrlOf(req) };
    // Leading '' from the initial '/'. A trailing '/' is kept: `o/e/` is not object `e` (GCS wants
    // the '/' of a name encoded, so that path names no route).
    const raw = rawPath.split('/').slice(1);

    if (raw[0] === 'upload' && raw[1] === 'storage' && raw[2] === 'v1') {
      return this.upload(ctx, raw.slice(3));
    }
    if (raw[0] === 'download' && raw[1] === 'storage' && raw[2] === 'v1') {
      const seg = raw.slice(3);
      if (seg.length === 4 && seg[0] === 'b' && seg[2] === 'o' && (method === 'GET' || method === 'HEAD')) {
        return this.media(ctx, decodePathSegment(seg[1]), decodePathSegment(seg[3]));
      }
      throw notFoundPath(method, rawPath);
    }
    if (raw[0] === 'storage' && raw[1] === 'v1') return this.json(ctx, raw.slice(2), rawPath);
    if (raw[0] === 'b') return this.json(ctx, raw, rawPath);
    throw notFoundPath(method, rawPath);
  }

  // ---- /upload/storage/v1/b/{bucket}/o ---------------------------------------------------------

  private async upload(ctx: Ctx, seg: string[]): Promise<void> {
    const { req, res, method, q } = ctx;
    if (seg.length !== 3 || seg[0] !== 'b' || seg[2] !== 'o') throw notFoundPath(method, req.url ?? '');
    const uploadId = q.get('upload_id');
    if (uploadId !== null) {
      if (method !== 'PUT' && method !== 'POST' && method !== 'DELETE') throw notFoundPath(method, req.url ?? '');
      return this.uploads.session(req, res, uploadId);
    }
    if (method !== 'POST') throw notFoundPath(method, req.url ?? '');
    return this.uploads.insert(req, res, decodePathSegment(seg[1]), q);
  }

  // ---- /storage/v1/… ---------------------------------------------------------------------------

  private async json(ctx: Ctx, raw: string[], rawPath: string): Promise<void> {
    const { method } = ctx;
    const seg = raw.map(decodePathSegment);
    const n = seg.length;
    if (seg[0] !== 'b') throw notFoundPath(method, rawPath);

    if (n === 1) {
      if (method === 'GET') return this.listBuckets(ctx);
      if (method === 'POST') return this.insertBucket(ctx);
    } else if (n === 2) {
      if (method === 'GET' || method === 'HEAD') return this.getBucket(ctx, seg[1]);
      if (method === 'DELETE') return this.deleteBucket(ctx, seg[1]);
      if (method === 'PATCH' || method === 'PUT') return this.patchBucket(ctx, seg[1]);
    } else if (seg[2] === 'o') {
      const bucket = seg[1];
      if (n === 3 && method === 'GET') return this.listObjects(ctx, bucket);
      if (n === 4) {
        if (method === 'GET' || method === 'HEAD') {
          return ctx.q.get('alt') === 'media' ? this.media(ctx, bucket, seg[3]) : this.getObject(ctx, bucket, seg[3]);
        }
        if (method === 'DELETE') return this.deleteObject(ctx, bucket, seg[3]);
        if (method === 'PATCH' || method === 'PUT') return this.patchObject(ctx, bucket, seg[3]);
      }
      if (method === 'POST') {
        if (n === 5 && seg[4] === 'compose') return this.compose(ctx, bucket, seg[3]);
        if (n === 9 && (seg[4] === 'rewriteTo' || seg[4] === 'copyTo') && seg[5] === 'b' && seg[7] === 'o') {
          return this.copy(ctx, bucket, seg[3], seg[6], seg[8], seg[4] === 'rewriteTo');
        }
        if (n === 7 && seg[4] === 'moveTo' && seg[5] === 'o') return this.move(ctx, bucket, seg[3], seg[6]);
      }
    }
    throw notFoundPath(method, rawPath);
  }

  // ---- buckets ---------------------------------------------------------------------------------

  private requireProject(q: URLSearchParams): void {
    if (!q.get('project')) throw new GcsError(400, 'required', 'Required parameter: project');
  }

  private async insertBucket({ req, res, q, base }: Ctx): Promise<void> {
    const body = parseJsonBody(await readBody(req));
    this.requireProject(q);
    const labels = body.labels && typeof body.labels === 'object' ? (body.labels as Record<string, string>) : undefined;
    const b = this.store.createBucket(body.name, {
      location: typeof body.location === 'string' ? body.location : undefined,
      storageClass: typeof body.storageClass === 'string' ? body.storageClass : undefined,
      labels,
    });
    sendJson(res, 200, this.store.bucketResource(b, base));
  }

  private async getBucket({ req, res, base, q }: Ctx, name: string): Promise<void> {
    await readBody(req);
    const b = this.store.getBucket(name);
    const m = generationParam(q, 'ifMetagenerationMatch');
    const nm = generationParam(q, 'ifMetagenerationNotMatch');
    if (m !== undefined && m !== BigInt(b.metageneration)) throw preconditionFailed();
    if (nm !== undefined && nm === BigInt(b.metageneration)) throw notModified();
    sendJson(res, 200, this.store.bucketResource(b, base));
  }

  private async deleteBucket({ req, res, q }: Ctx, name: string): Promise<void> {
    await readBody(req);
    this.store.deleteBucket(name, {
      ifMetagenerationMatch: generationParam(q, 'ifMetagenerationMatch'),
      ifMetagenerationNotMatch: generationParam(q, 'ifMetagenerationNotMatch'),
    });
    sendEmpty(res, 204);
  }

  private async patchBucket({ req, res, base }: Ctx, name: string): Promise<void> {
    const body = parseJsonBody(await readBody(req));
    const b = this.store.getBucket(name);
    if ('labels' in body) {
      if (body.labels === null) {
        delete b.labels;
      } else if (typeof body.labels === 'object') {
        const merged: Record<string, string> = { ...(b.labels ?? {}) };
        for (const [k, v] of Object.entries(body.labels as Record<string, unknown>)) {
          if (v === null) delete merged[k];
          else merged[k] = String(v);
        }
        b.labels = merged;
      }
    }
    if (typeof body.storageClass === 'string') b.storageClass = body.storageClass;
    b.metageneration++;
    b.updated = new Date();
    sendJson(res, 200, this.store.bucketResource(b, base));
  }

  private async listBuckets({ req, res, q, base }: Ctx): Promise<void> {
    await readBody(req);
    this.requireProject(q);
    const page = this.store.listBuckets({
      prefix: q.get('prefix') ?? undefined,
      maxResults: intParam(q, 'maxResults'),
      pageToken: q.get('pageToken') ?? undefined,
    });
    const body: Record<string, unknown> = { kind: 'storage#buckets' };
    if (page.items.length) body.items = page.items.map((b) => this.store.bucketResource(b, base));
    if (page.nextPageToken) body.nextPageToken = page.nextPageToken;
    sendJson(res, 200, body);
  }

  // ---- objects ---------------------------------------------------------------------------------

  private async listObjects({ req, res, q, base }: Ctx, bucket: string): Promise<void> {
    await readBody(req);
    const page = this.store.listObjects(bucket, {
      prefix: q.get('prefix') ?? undefined,
      delimiter: q.get('delimiter') ?? undefined,
      maxResults: intParam(q, 'maxResults'),
      pageToken: q.get('pageToken') ?? undefined,
      startOffset: q.get('startOffset') ?? undefined,
      endOffset: q.get('endOffset') ?? undefined,
      matchGlob: q.get('matchGlob') ?? undefined,
      includeTrailingDelimiter: boolParam(q, 'includeTrailingDelimiter'),
    });
    const body: Record<string, unknown> = { kind: 'storage#objects' };
    if (page.items.length) body.items = page.items.map((o) => this.store.objectResource(o, base));
    if (page.prefixes.length) body.prefixes = page.prefixes;
    if (page.nextPageToken) body.nextPageToken = page.nextPageToken;
    sendJson(res, 200, body);
  }

  /** Object for a read: `generation` selects, Match conditions → 412, NotMatch conditions → 304. */
  private readable(q: URLSearchParams, bucket: string, name: string): StoredObject {
    const o = this.store.getObject(bucket, name, generationParam(q, 'generation'));
    const p = preconditionsFrom(q);
    const generation = BigInt(o.generation);
    const metageneration = BigInt(o.metageneration);
    if (p.ifGenerationMatch !== undefined && p.ifGenerationMatch !== generation) throw preconditionFailed();
    if (p.ifMetagenerationMatch !== undefined && p.ifMetagenerationMatch !== metageneration) throw preconditionFailed();
    if (p.ifGenerationNotMatch !== undefined && p.ifGenerationNotMatch === generation) throw notModified();
    if (p.ifMetagenerationNotMatch !== undefined && p.ifMetagenerationNotMatch === metageneration) throw notModified();
    return o;
  }

  private async getObject({ req, res, q, base }: Ctx, bucket: string, name: string): Promise<void> {
    await readBody(req);
    sendJson(res, 200, this.store.objectResource(this.readable(q, bucket, name), base));
  }

  private async deleteObject({ req, res, q }: Ctx, bucket: string, name: string): Promise<void> {
    await readBody(req);
    const generation = generationParam(q, 'generation');
    this.store.getObject(bucket, name, generation);
    this.store.checkPreconditions(bucket, name, preconditionsFrom(q));
    this.store.deleteObject(bucket, name, generation);
    sendEmpty(res, 204);
  }

  private async patchObject({ req, res, q, base }: Ctx, bucket: string, name: string): Promise<void> {
    const body = parseJsonBody(await readBody(req));
    const o = this.store.getObject(bucket, name, generationParam(q, 'generation'));
    this.store.checkPreconditions(bucket, name, preconditionsFrom(q));
    sendJson(res, 200, this.store.objectResource(this.store.patchObject(o, body), base));
  }

  /**
   * Media download (alt=media or /download/…): `Range` → 206 + Content-Range, unsatisfiable → 416,
   * and the headers real GCS sends so clients can validate: `x-goog-hash: crc32c=…,md5=…` (always
   * for the whole stored object), `x-goog-stored-content-encoding`, `x-goog-stored-content-length`,
   * `x-goog-generation`, `x-goog-metageneration`. Objects stored with `contentEncoding: gzip` are
   * served as stored to clients that accept gzip, decompressed (whole, no validation) otherwise.
   */
  private async media({ req, res, q }: Ctx, bucket: string, name: string): Promise<void> {
    await readBody(req);
    const o = this.readable(q, bucket, name);
    const hash = [`crc32c=${o.crc32c}`];
    if (o.md5Hash) hash.push(`md5=${o.md5Hash}`);
    const headers: Record<string, string> = {
      'Content-Type': o.contentType ?? 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: `"${o.md5Hash ? Buffer.from(o.md5Hash, 'base64').toString('hex') : o.crc32c}"`,
      'Last-Modified': o.updated.toUTCString(),
      'Cache-Control': o.cacheControl ?? 'no-cache, no-store, max-age=0, must-revalidate',
      'x-goog-generation': o.generation,
      'x-goog-metageneration': String(o.metageneration),
      'x-goog-stored-content-encoding': o.contentEncoding ?? 'identity',
      'x-goog-stored-content-length': String(o.data.length),
      'x-goog-storage-class': o.storageClass ?? 'STANDARD',
      'x-goog-hash': hash.join(','),
    };
    if (o.contentDisposition) headers['Content-Disposition'] = o.contentDisposition;
    if (o.contentLanguage) headers['Content-Language'] = o.contentLanguage;

    let data = o.data;
    let rangeAllowed = true;
    if (o.contentEncoding === 'gzip') {
      const accepts = String(req.headers['accept-encoding'] ?? '')
        .split(',')
        .some((e) => e.trim().split(';')[0] === 'gzip');
      if (accepts) {
        headers['Content-Encoding'] = 'gzip';
      } else {
        try {
          data = gunzipSync(o.data);
          rangeAllowed = false; // decompressive transcoding serves the whole object
          headers['Warning'] = '214 UploadServer gunzipped';
        } catch {
          /* not really gzip: serve as stored */
        }
      }
    }

    const range = rangeAllowed ? parseRange(req.headers.range, data.length) : undefined;
    if (range === 'unsatisfiable') throw rangeNotSatisfiable(data.length);
    if (range) {
      const body = data.subarray(range.start, range.end + 1);
      writeHead(res, 206, {
        ...headers,
        'Content-Range': `bytes ${range.start}-${range.end}/${data.length}`,
        'Content-Length': String(body.length),
      });
      res.end(body);
      return;
    }
    writeHead(res, 200, { ...headers, 'Content-Length': String(data.length) });
    res.end(data);
  }

  /**
   * objects.copy (one call) and objects.rewrite, which copies at most `rewriteBytesPerCall` bytes
   * per call (and at most `maxBytesRewrittenPerCall`, a multiple of 1 MiB, when the client sets
   * it): until the last call it answers `done: false` with a `rewriteToken` the client sends back
   * with the same source and destination. The source generation read by the first call is the one
   * copied, whatever happens to the source meanwhile; the destination appears at the last call.
   */
  private async copy(
    { req, res, q, base }: Ctx,
    srcBucket: string,
    srcName: string,
    dstBucket: string,
    dstName: string,
    rewrite: boolean,
  ): Promise<void> {
    const body = parseJsonBody(await readBody(req));
    const token = rewrite ? q.get('rewriteToken') : null;
    let state: RewriteState;
    if (token !== null) {
      const known = this.rewrites.get(token);
      if (!known) throw invalid(`Invalid rewrite token: '${token}'`);
      if (
        known.srcBucket !== srcBucket ||
        known.srcName !== srcName ||
        known.dstBucket !== dstBucket ||
        known.dstName !== dstName
      ) {
        throw invalid('The rewrite token was issued for another source or destination object');
      }
      state = known;
    } else {
      const source = this.store.getObject(srcBucket, srcName, generationParam(q, 'sourceGeneration'));
      this.checkSourcePreconditions(q, source);
      this.store.getBucket(dstBucket);
      validateObjectName(dstName);
      const meta = { ...pickWritable(source), ...pickWritable(body) };
      state = { source, srcBucket, srcName, dstBucket, dstName, meta, rewritten: 0 };
    }
    this.store.checkPreconditions(dstBucket, dstName, preconditionsFrom(q));
    const src = state.source;
    if (rewrite) {
      const requested = intParam(q, 'maxBytesRewrittenPerCall');
      if (requested !== undefined && (requested < REWRITE_UNIT || requested % REWRITE_UNIT !== 0)) {
        throw invalid(`maxBytesRewrittenPerCall must be a positive multiple of ${REWRITE_UNIT}, not ${requested}`);
      }
      const perCall = Math.min(this.rewriteBytesPerCall, requested ?? Infinity);
      state.rewritten = Math.min(src.data.length, state.rewritten + perCall);
      if (state.rewritten < src.data.length) {
        const next = token ?? randomBytes(24).toString('base64url');
        this.rewrites.set(next, state);
        sendJson(res, 200, {
          kind: 'storage#rewriteResponse',
          totalBytesRewritten: String(state.rewritten),
          objectSize: String(src.data.length),
          done: false,
          rewriteToken: next,
        });
        return;
      }
      if (token !== null) this.rewrites.delete(token);
    }
    const dst = this.store.putObject(dstBucket, dstName, Buffer.from(src.data), state.meta, {
      crc32c: src.crc32c,
      md5Hash: src.md5Hash ?? null,
      componentCount: src.componentCount,
    });
    const resource = this.store.objectResource(dst, base);
    if (!rewrite) {
      sendJson(res, 200, resource);
      return;
    }
    sendJson(res, 200, {
      kind: 'storage#rewriteResponse',
      totalBytesRewritten: String(src.data.length),
      objectSize: String(src.data.length),
      done: true,
      resource,
    });
  }

  /** objects.move (atomic rename within a bucket). */
  private async move({ req, res, q, base }: Ctx, bucket: string, srcName: string, dstName: string): Promise<void> {
    await readBody(req);
    const src = this.store.getObject(bucket, srcName);
    this.checkSourcePreconditions(q, src);
    validateObjectName(dstName);
    this.store.checkPreconditions(bucket, dstName, preconditionsFrom(q));
    const dst = this.store.putObject(bucket, dstName, src.data, pickWritable(src), {
      crc32c: src.crc32c,
      md5Hash: src.md5Hash ?? null,
      componentCount: src.componentCount,
    });
    if (srcName !== dstName) this.store.deleteObject(bucket, srcName);
    sendJson(res, 200, this.store.objectResource(dst, base));
  }

  private checkSourcePreconditions(q: URLSearchParams, src: StoredObject): void {
    const m = generationParam(q, 'ifSourceGenerationMatch');
    const nm = generationParam(q, 'ifSourceGenerationNotMatch');
    const mm = generationParam(q, 'ifSourceMetagenerationMatch');
    const mnm = generationParam(q, 'ifSourceMetagenerationNotMatch');
    const generation = BigInt(src.generation);
    const metageneration = BigInt(src.metageneration);
    if (m !== undefined && m !== generation) throw preconditionFailed();
    if (nm !== undefined && nm === generation) throw preconditionFailed();
    if (mm !== undefined && mm !== metageneration) throw preconditionFailed();
    if (mnm !== undefined && mnm === metageneration) throw preconditionFailed();
  }

  /**
   * objects.compose: 1–32 sources from the same bucket, concatenated in order. The result is a
   * composite object: `crc32c` and `componentCount`, but no `md5Hash` (as on GCS).
   */
  private async compose({ req, res, q, base }: Ctx, bucket: string, dstName: string): Promise<void> {
    const body = parseJsonBody(await readBody(req));
    this.store.getBucket(bucket);
    const sources = body.sourceObjects;
    if (!Array.isArray(sources) || sources.length === 0) throw new GcsError(400, 'required', 'Required');
    if (sources.length > COMPOSE_MAX_SOURCES) {
      throw invalid(
        `The number of source components provided (${sources.length}) exceeds the maximum (${COMPOSE_MAX_SOURCES})`,
      );
    }
    const parts: StoredObject[] = [];
    for (const s of sources as unknown[]) {
      const rec = (s && typeof s === 'object' ? s : {}) as Record<string, unknown>;
      if (typeof rec.name !== 'string') throw new GcsError(400, 'required', 'Required');
      const gen = int64Param('sourceObjects.generation', rec.generation);
      const o = this.store.getBucket(bucket).objects.get(rec.name);
      if (!o || (gen !== undefined && gen !== BigInt(o.generation))) throw objectNotFound(bucket, rec.name);
      const pre = rec.objectPreconditions as Record<string, unknown> | undefined;
      const match = int64Param('sourceObjects.objectPreconditions.ifGenerationMatch', pre?.ifGenerationMatch);
      if (match !== undefined && match !== BigInt(o.generation)) throw preconditionFailed();
      parts.push(o);
    }
    const componentCount = parts.reduce((n, p) => n + (p.componentCount ?? 1), 0);
    if (componentCount > COMPOSE_MAX_COMPONENTS) {
      throw invalid(
        `The composite object would have ${componentCount} components; the maximum is ${COMPOSE_MAX_COMPONENTS}`,
      );
    }
    validateObjectName(dstName);
    this.store.checkPreconditions(bucket, dstName, preconditionsFrom(q));
    const dest = pickWritable(body.destination);
    const data = Buffer.concat(parts.map((p) => p.data));
    const obj = this.store.putObject(bucket, dstName, data, dest, { componentCount, md5Hash: null });
    sendJson(res, 200, this.store.objectResource(obj, base));
  }
}
