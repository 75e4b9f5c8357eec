// Object uploads (https://cloud.google.com/storage/docs/uploads-downloads):
//
// - `uploadType=media`: the body is the object, the name is in `?name=`.
// - `uploadType=multipart`: multipart/related body, part 1 JSON metadata, part 2 the media.
// - `uploadType=resumable` (https://cloud.google.com/storage/docs/performing-resumable-uploads):
//   POST opens a session and answers `Location: …&upload_id=…`; PUTs to that URI send the data,
//   whole or in chunks with `Content-Range: bytes a-b/*` (intermediate, answered `308` with
//   `Range: bytes=0-<last persisted byte>`) and `bytes a-b/total` (final, answered 200 + the
//   object). `bytes */total` and `bytes */*` ask for the status; `bytes a-*/*` streams the rest of
//   the object in one request. Non-final chunks must be at least 256 KiB and only whole multiples
//   of 256 KiB are persisted (the rest must be re-sent, as the SDK does from the `Range` reply).
//   A connection broken mid-chunk keeps the whole 256 KiB multiples received. DELETE on the
//   session URI cancels it (499); the session is then unknown (404).
//
// Checksums sent by the client (metadata `crc32c` / `md5Hash`, or `X-Goog-Hash: crc32c=…,md5=…`)
// are verified against the stored bytes; a mismatch is a 400 and nothing is stored.
import { createHash, randomBytes } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';

import { crc32c, crc32cToBase64 } from './crc32c';
import { GcsError, bucketNotFound, invalid } from './errors';
import { baseUrlOf, parseGoogHash, parseJsonBody, parseMultipart, readBody, sendEmpty, sendJson } from './http-util';
import {
  type GcsStore,
  type Preconditions,
  type WritableObjectMeta,
  int64Param,
  pickWritable,
  validateObjectName,
} from './store';

/** Resumable chunk granularity: 256 KiB. */
export const RESUMABLE_QUANTUM = 256 * 1024;

interface ResumableSession {
  id: string;
  bucket: string;
  name: string;
  meta: WritableObjectMeta;
  /** Checksums given in the initiation metadata, verified at finalisation. */
  declared: { crc32c?: string; md5?: string };
  preconditions: Preconditions;
  /** From X-Upload-Content-Length, or learnt from a Content-Range total. */
  total?: number;
  chunks: Buffer[];
  persisted: number;
  state: 'active' | 'done' | 'cancelled';
  resultGeneration?: string;
}

/** Query preconditions as the JSON API spells them. */
export function preconditionsFrom(q: URLSearchParams): Preconditions {
  const get = (k: string): bigint | undefined => int64Param(k, q.get(k));
  return {
    ifGenerationMatch: get('ifGenerationMatch'),
    ifGenerationNotMatch: get('ifGenerationNotMatch'),
    ifMetagenerationMatch: get('ifMetagenerationMatch'),
    ifMetagenerationNotMatch: get('ifMetagenerationNotMatch'),
  };
}

/** 400 unless the bytes match the checksums the client declared. */
export function verifyDeclaredHashes(data: Buffer, declared: { crc32c?: string; md5?: string }): void {
  if (declared.crc32c !== undefined) {
    const actual = crc32cToBase64(crc32c(data));
    if (actual !== declared.crc32c) {
      throw invalid(`Provided CRC32C "${declared.crc32c}" doesn't match calculated CRC32C "${actual}".`);
    }
  }
  if (declared.md5 !== undefined) {
    const actual = createHash('md5').update(data).digest('base64');
    if (actual !== declared.md5) {
      throw invalid(`Provided MD5 hash "${declared.md5}" doesn't match calculated MD5 hash "${actual}".`);
    }
  }
}

function declaredFromMetadata(meta: Record<string, unknown>): { crc32c?: string; md5?: string } {
  return {
    crc32c: typeof meta.crc32c === 'string' ? meta.crc32c : undefined,
    md5: typeof meta.md5Hash === 'string' ? meta.md5Hash : undefined,
  };
}

function mergeDeclared(
  a: { crc32c?: string; md5?: string },
  b: { crc32c?: string; md5?: string },
): { crc32c?: string; md5?: string } {
  return { crc32c: b.crc32c ?? a.crc32c, md5: b.md5 ?? a.md5 };
}

const required = (): GcsError => new GcsError(400, 'required', 'Required');

export class Uploads {
  private readonly sessions = new Map<string, ResumableSession>();

  constructor(private readonly store: GcsStore) {}

  /** POST /upload/storage/v1/b/{bucket}/o?uploadType=… */
  async insert(req: IncomingMessage, res: ServerResponse, bucket: string, q: URLSearchParams): Promise<void> {
    const uploadType = q.get('uploadType') ?? 'media';
    if (!this.store.buckets.has(bucket)) {
      await readBody(req);
      throw bucketNotFound();
    }
    const pre = preconditionsFrom(q);
    if (uploadType === 'resumable') return this.startResumable(req, res, bucket, q, pre);

    const body = await readBody(req);
    let name = q.get('name') ?? undefined;
    let metaJson: Record<string, unknown> = {};
    let media: Buffer;
    let mediaType: string | undefined;
    if (uploadType === 'multipart') {
      const parts = parseMultipart(req.headers['content-type'], body);
      if (parts.length !== 2) throw invalid(`Invalid multipart request: expected 2 parts, got ${parts.length}`);
      metaJson = parseJsonBody(parts[0].body);
      media = parts[1].body;
      mediaType = parts[1].headers['content-type'];
      if (name === undefined && typeof metaJson.name === 'string') name = metaJson.name;
    } else if (uploadType === 'media') {
      media = body;
      mediaType = req.headers['content-type'];
    } else {
      throw invalid(`Invalid upload type: '${uploadType}'`);
    }
    if (name === undefined) throw required();
    validateObjectName(name);
    const meta = pickWritable(metaJson);
    if (!meta.contentType && mediaType) meta.contentType = mediaType;
    verifyDeclaredHashes(
      media,
      mergeDeclared(declaredFromMetadata(metaJson), parseGoogHash(req.headers['x-goog-hash'])),
    );
    this.store.checkPreconditions(bucket, name, pre);
    const obj = this.store.putObject(bucket, name, media, meta);
    sendJson(res, 200, this.store.objectResource(obj, baseUrlOf(req)));
  }

  private async startResumable(
    req: IncomingMessage,
    res: ServerResponse,
    bucket: string,
    q: URLSearchParams,
    pre: Preconditions,
  ): Promise<void> {
    const metaJson = parseJsonBody(await readBody(req));
    const name = q.get('name') ?? (typeof metaJson.name === 'string' ? metaJson.name : undefined);
    if (name === undefined) throw required();
    validateObjectName(name);
    this.store.checkPreconditions(bucket, name, pre);
    const meta = pickWritable(metaJson);
    const xType = req.headers['x-upload-content-type'];
    if (!meta.contentType && typeof xType === 'string') meta.contentType = xType;
    const xLen = req.headers['x-upload-content-length'];
    let total: number | undefined;
    if (typeof xLen === 'string') {
      total = Number(xLen);
      if (!Number.isSafeInteger(total) || total < 0) throw invalid(`Invalid X-Upload-Content-Length: '${xLen}'`);
    }
    const id = randomBytes(24).toString('base64url');
    this.sessions.set(id, {
      id,
      bucket,
      name,
      meta,
      declared: declaredFromMetadata(metaJson),
      preconditions: pre,
      total,
      chunks: [],
      persisted: 0,
      state: 'active',
    });
    const location =
      `${baseUrlOf(req)}/upload/storage/v1/b/${bucket}/o?uploadType=resumable` +
      `&name=${encodeURIComponent(name)}&upload_id=${id}`;
    sendEmpty(res, 200, { Location: location, 'X-GUploader-UploadID': id });
  }

  /** PUT/POST/DELETE on a session URI (`…/upload/storage/v1/b/{bucket}/o?upload_id=…`). */
  async session(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s || s.state === 'cancelled') {
      await readBody(req);
      throw new GcsError(404, 'notFound', 'No such upload session.');
    }
    const idHeader = { 'X-GUploader-UploadID': id };
    if (req.method === 'DELETE') {
      await readBody(req);
      if (s.state === 'active') {
        s.state = 'cancelled';
        s.chunks = [];
      }
      sendEmpty(res, 499, idHeader);
      return;
    }
    if (s.state === 'done') {
      // A finished session answers every further request with the object it created.
      await readBody(req);
      const obj = this.store.getObject(s.bucket, s.name, int64Param('generation', s.resultGeneration));
      sendJson(res, 200, this.store.objectResource(obj, baseUrlOf(req)), idHeader);
      return;
    }

    const cr = parseContentRange(req.headers['content-range']);
    if (cr.kind === 'status') {
      await readBody(req);
      if (cr.total !== undefined) this.learnTotal(s, cr.total);
      if (s.total !== undefined && cr.total !== undefined && s.persisted === s.total) {
        return this.finalize(req, res, s, Buffer.concat(s.chunks, s.persisted));
      }
      this.sendIncomplete(res, s);
      return;
    }
    if (cr.total !== undefined) this.learnTotal(s, cr.total);
    if (cr.start > s.persisted) {
      await readBody(req);
      throw invalid(
        `Invalid request. According to the Content-Range header, the upload offset is ${cr.start} byte(s), ` +
          `which exceeds already uploaded size of ${s.persisted} byte(s).`,
      );
    }

    // Stream the body in; on a broken connection keep what a real server would have persisted.
    const received: Buffer[] = [];
    let receivedLen = 0;
    const complete = await new Promise<boolean>((resolve) => {
      req.on('data', (c: Buffer) => {
        received.push(c);
        receivedLen += c.length;
      });
      req.on('end', () => resolve(true));
      req.on('close', () => resolve(req.complete));
      req.on('error', () => resolve(false));
    });
    let data = Buffer.concat(received, receivedLen);
    // Bytes before the persisted offset were already stored: skip them.
    data = data.subarray(Math.min(data.length, s.persisted - cr.start));
    const endExclusive = s.persisted + data.length; // absolute offset after this request's data

    if (!complete) {
      this.persist(s, data, Math.floor(endExclusive / RESUMABLE_QUANTUM) * RESUMABLE_QUANTUM);
      return; // nobody to answer
    }
    if (cr.end !== undefined && cr.end + 1 - cr.start !== receivedLen) {
      throw invalid(
        `Invalid request. Content-Range 'bytes ${cr.start}-${cr.end}' covers ${cr.end + 1 - cr.start} byte(s) but the request contained ${receivedLen}.`,
      );
    }
    const isFinal = s.total !== undefined ? endExclusive >= s.total : cr.end === undefined; // `a-*/*` ends the upload
    if (s.total !== undefined && endExclusive > s.total) {
      throw invalid(`Invalid request. The upload exceeds the declared object size of ${s.total} byte(s).`);
    }
    if (isFinal) {
      this.persist(s, data, endExclusive);
      return this.finalize(req, res, s, Buffer.concat(s.chunks, s.persisted));
    }
    if (cr.end !== undefined && receivedLen < RESUMABLE_QUANTUM) {
      throw invalid(
        `Invalid request. The number of bytes uploaded is required to be equal or greater than ${RESUMABLE_QUANTUM}, ` +
          `except for the final request (it's recommended to be the exact multiple of ${RESUMABLE_QUANTUM}). ` +
          `The received request contained ${receivedLen} bytes, which does not meet this requirement.`,
      );
    }
    this.persist(s, data, Math.floor(endExclusive / RESUMABLE_QUANTUM) * RESUMABLE_QUANTUM);
    this.sendIncomplete(res, s);
  }

  /** Number of sessions not yet finished or cancelled (for tests of the server itself). */
  get activeSessions(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.state === 'active') n++;
    return n;
  }

  private learnTotal(s: ResumableSession, total: number): void {
    if (s.total !== undefined && s.total !== total) {
      throw invalid(`Invalid request. The object size ${total} differs from the declared size ${s.total}.`);
    }
    if (total < s.persisted)
      throw invalid(`Invalid request. The object size ${total} is less than the bytes already persisted.`);
    s.total = total;
  }

  /** Append the part of `data` (starting at s.persisted) that ends at absolute offset `upTo`. */
  private persist(s: ResumableSession, data: Buffer, upTo: number): void {
    const take = Math.max(0, Math.min(data.length, upTo - s.persisted));
    if (take > 0) {
      s.chunks.push(Buffer.from(data.subarray(0, take)));
      s.persisted += take;
    }
  }

  private sendIncomplete(res: ServerResponse, s: ResumableSession): void {
    const headers: Record<string, string> = { 'X-GUploader-UploadID': s.id };
    if (s.persisted > 0) headers.Range = `bytes=0-${s.persisted - 1}`;
    sendEmpty(res, 308, headers);
  }

  private finalize(req: IncomingMessage, res: ServerResponse, s: ResumableSession, data: Buffer): void {
    verifyDeclaredHashes(data, mergeDeclared(s.declared, parseGoogHash(req.headers['x-goog-hash'])));
    this.store.checkPreconditions(s.bucket, s.name, s.preconditions);
    const obj = this.store.putObject(s.bucket, s.name, data, s.meta);
    s.state = 'done';
    s.chunks = [];
    s.resultGeneration = obj.generation;
    sendJson(res, 200, this.store.objectResource(obj, baseUrlOf(req)), { 'X-GUploader-UploadID': s.id });
  }
}

type ContentRange = { kind: 'status'; total?: number } | { kind: 'data'; start: number; end?: number; total?: number };

// Content-Range forms: `bytes */*`, `bytes */N` (status), `bytes a-b/N`, `bytes a-b/*`,
// `bytes a-*/N`, `bytes a-*/*`; no header = the whole object in this request.
export function parseContentRange(header: string | undefined): ContentRange {
  if (header === undefined) return { kind: 'data', start: 0, total: undefined, end: undefined };
  const m = /^\s*bytes\s+(?:(\*)|(\d+)-(\d+|\*))\/(\d+|\*)\s*$/i.exec(header);
  if (!m) throw invalid(`Invalid Content-Range header: '${header}'`);
  const total = m[4] === '*' ? undefined : Number(m[4]);
  if (m[1] === '*') return { kind: 'status', total };
  const start = Number(m[2]);
  const end = m[3] === '*' ? undefined : Number(m[3]);
  if (end !== undefined && end < start) throw invalid(`Invalid Content-Range header: '${header}'`);
  if (end !== undefined && total !== undefined && end >= total)
    throw invalid(`Invalid Content-Range header: '${header}'`);
  return { kind: 'data', start, end, total };
}
