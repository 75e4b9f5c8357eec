/**
 * GCS media downloads (`objects.get?alt=media`) and single-request uploads (`uploadType=media`)
 * on the library's own HTTP/1.1 path (http/pool.ts): a download lands in its final buffer straight
 * from the socket, an upload goes out from the caller's memory. The SDK client keeps the endpoint
 * (its base URL), the decision to authenticate (never to a custom endpoint unless asked) and the
 * credentials: each request carries the headers of its auth client (a cached, refreshed token).
 */
import type * as Gcs from '@google-cloud/storage';

import { crc32c, crc32cBase64 } from '../../checksum';
import type { BodyPlacement, ByteRange } from '../../object-store';
import { placeByAnswer, rangeHeader } from './body';
import type { CloudRef } from './driver';
import { encodeStrictly } from './keys';
import type { HttpResponse } from './http/connection';
import { type HttpPool, type Origin, originOf } from './http/pool';
import { bufferDetached, isDetached } from '../../internal/memory';

/** `crc32c=…` of an `x-goog-hash` header. */
function crc32cOf(header: string | undefined): string | undefined {
  return header ? /(?:^|,)\s*crc32c=([^,]+)/.exec(header)?.[1]?.trim() : undefined;
}

/** The service's answer as an error the driver classifies (GCS's JSON error body, or its text). */
function serviceError(response: HttpResponse): Error {
  const text = Buffer.from(response.body).toString('utf8');
  return Object.assign(new Error(text || `HTTP ${response.status}`), { code: response.status });
}

/** Media downloads and single-request uploads of one GCS client, on the library's HTTP path. */
export class GcsDataPath {
  private readonly origin: Origin;
  private readonly prefix: string;
  /** Where uploads go: the JSON API's `/upload` twin of the base URL. */
  private readonly uploadPrefix: string;

  constructor(
    private readonly storage: Gcs.Storage,
    private readonly pool: HttpPool,
  ) {
    const url = new URL(storage.baseUrl);
    this.origin = originOf(url);
    this.prefix = url.pathname.replace(/\/+$/, '');
    // `…/storage/v1` → `…/upload/storage/v1`, as the SDK derives it.
    this.uploadPrefix = this.prefix.replace(/\/storage\/v1$/, '/upload/storage/v1');
  }

  /**
   * One media upload (`uploadType=media`) from the caller's memory, with its CRC32C for the
   * service to check: the object appears whole or not at all. A buffer detached before or while
   * it is sent fails with ERR_BUFFER_DETACHED before the service has the whole body.
   */
  async write(
    ref: CloudRef,
    bytes: Uint8Array,
    signal: AbortSignal | undefined,
    contentType: string | undefined,
  ): Promise<void> {
    if (isDetached(bytes.buffer)) throw bufferDetached('data');
    const path = `${this.uploadPrefix}/b/${encodeStrictly(ref.bucket)}/o?uploadType=media&name=${encodeStrictly(ref.key)}`;
    const headers: Record<string, string> = {
      ...(await this.authorization()),
      'content-type': contentType ?? 'application/octet-stream',
      'x-goog-hash': `crc32c=${crc32cBase64(bytes)}`,
    };
    if (signal?.aborted) throw signal.reason;
    const response = await this.pool.send(this.origin, { method: 'POST', path, headers, body: bytes, signal });
    if (response.status < 200 || response.status > 299) throw serviceError(response);
  }

  /**
   * A resumable upload session (created at the first part): parts go out in order, from the
   * caller's memory when they end on a 256 KiB boundary, and the last request carries the whole
   * object's CRC32C for the service to check.
   */
  openUpload(ref: CloudRef, contentType: string | undefined): GcsResumableUpload {
    const path = `${this.uploadPrefix}/b/${encodeStrictly(ref.bucket)}/o?uploadType=resumable&name=${encodeStrictly(ref.key)}`;
    const start = async (signal: AbortSignal | undefined): Promise<Session> => {
      const metadata = Buffer.from(JSON.stringify(contentType !== undefined ? { contentType } : {}));
      const headers = { ...(await this.authorization()), 'content-type': 'application/json; charset=UTF-8' };
      if (signal?.aborted) throw signal.reason;
      const response = await this.pool.send(this.origin, { method: 'POST', path, headers, body: metadata, signal });
      const location = response.headers.location;
      if (response.status !== 200 || location === undefined) throw serviceError(response);
      const url = new URL(location, `${this.origin.protocol}//${this.origin.hostname}`);
      return { origin: originOf(url), path: `${url.pathname}${url.search}` };
    };
    const send = async (
      session: Session,
      range: string,
      body: Uint8Array,
      extra: Record<string, string>,
      signal: AbortSignal | undefined,
    ): Promise<HttpResponse> => {
      const headers = { ...(await this.authorization()), 'content-range': range, ...extra };
      if (signal?.aborted) throw signal.reason;
      return this.pool.send(session.origin, { method: 'PUT', path: session.path, headers, body, signal });
    };
    const cancel = async (session: Session, signal: AbortSignal | undefined): Promise<HttpResponse> => {
      const headers = await this.authorization();
      if (signal?.aborted) throw signal.reason;
      return this.pool.send(session.origin, { method: 'DELETE', path: session.path, headers, signal });
    };
    return new GcsResumableUpload(start, send, cancel);
  }

  /**
   * The object or a range of it; the body lands where `placement` says. A whole object is checked
   * against the CRC32C GCS sends with it (as the SDK's downloads are), unless GCS transcoded it.
   */
  async read(
    ref: CloudRef,
    range: ByteRange | undefined,
    signal: AbortSignal | undefined,
    placement: BodyPlacement | undefined,
  ): Promise<Uint8Array> {
    // Bucket and object name each one path segment, every byte but A-Z a-z 0-9 - _ . ~ encoded.
    const path = `${this.prefix}/b/${encodeStrictly(ref.bucket)}/o/${encodeStrictly(ref.key)}?alt=media`;
    const headers: Record<string, string> = { ...(await this.authorization()) };
    if (range) headers.range = rangeHeader(range);
    if (signal?.aborted) throw signal.reason;
    let placed: Uint8Array | undefined;
    let stored: string | undefined;
    const response = await this.pool.send(this.origin, {
      method: 'GET',
      path,
      headers,
      signal,
      target: ({ headers: answer }) => {
        // A transcoded (decompressed) object: its length and hash are the stored bytes', not these.
        const transcoded =
          answer['content-encoding'] !== undefined || /gzip/i.test(answer['x-goog-stored-content-encoding'] ?? '');
        const crc = crc32cOf(answer['x-goog-hash']);
        stored = transcoded ? undefined : crc;
        placed = placeByAnswer(placement, answer, {
          lengthUnknown: transcoded,
          etag: answer['x-goog-generation'] ?? answer.etag,
          ...(crc !== undefined && { checksum: { algorithm: 'crc32c' as const, base64: crc } }),
        });
        return placed;
      },
    });
    // Download errors come as plain text or as GCS's JSON error body: the driver reads either.
    if (response.status !== 200 && response.status !== 206) throw serviceError(response);
    const body = placed ?? response.body;
    if (range === undefined && stored !== undefined) {
      const computed = crc32cBase64(body);
      if (computed !== stored) {
        throw Object.assign(new Error(`the downloaded bytes' CRC32C is ${computed}, the object's is ${stored}`), {
          code: 'CONTENT_DOWNLOAD_MISMATCH',
        });
      }
    }
    return body;
  }

  /** The auth client's headers, unless the SDK would send this endpoint's requests without them. */
  private async authorization(): Promise<Record<string, string>> {
    const storage = this.storage;
    if (storage.customEndpoint && !storage.useAuthWithCustomEndpoint) return {};
    const given = (await storage.authClient.getRequestHeaders()) as unknown;
    const headers: Record<string, string> = {};
    if (given && typeof (given as Headers).forEach === 'function') {
      (given as Headers).forEach((value, name) => (headers[name.toLowerCase()] = value));
    } else {
      for (const [name, value] of Object.entries(given as Record<string, string>)) headers[name.toLowerCase()] = value;
    }
    return headers;
  }
}

/** Where a resumable session's requests go (the URI the service answered with). */
interface Session {
  origin: Origin;
  path: string;
}

/** Resumable chunks other than the last must be whole multiples of this. */
const QUANTUM = 256 * 1024;

/** One resumable upload: parts in order, then the final request with the total and CRC32C. */
export class GcsResumableUpload {
  #session: Promise<Session> | undefined;
  /** Bytes the service has persisted. */
  private persisted = 0;
  /** Bytes past the last 256 KiB boundary, kept (a copy) for the next request. */
  private carry: Uint8Array = new Uint8Array(0);
  private crc = 0;

  constructor(
    private readonly start: (signal: AbortSignal | undefined) => Promise<Session>,
    private readonly send: (
      session: Session,
      range: string,
      body: Uint8Array,
      extra: Record<string, string>,
      signal: AbortSignal | undefined,
    ) => Promise<HttpResponse>,
    private readonly cancel: (session: Session, signal: AbortSignal | undefined) => Promise<HttpResponse>,
  ) {}

  /**
   * Sends `bytes` after everything before it; what does not end on a 256 KiB boundary waits for
   * the next part. Not to be retried: bytes handed to the session cannot be taken back.
   */
  async part(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    if (isDetached(bytes.buffer)) throw bufferDetached('data');
    const session = await this.session(signal);
    this.crc = crc32c(bytes, this.crc);
    // Caller memory as it is, unless bytes are carried over from the last part (then one copy).
    const body = this.carry.byteLength === 0 ? bytes : Buffer.concat([this.carry, bytes]);
    const aligned = body.byteLength - (body.byteLength % QUANTUM);
    if (aligned > 0) {
      const end = this.persisted + aligned - 1;
      const response = await this.send(
        session,
        `bytes ${this.persisted}-${end}/*`,
        body.subarray(0, aligned),
        {},
        signal,
      );
      if (response.status !== 308) throw serviceError(response);
      // The service says how much it kept (`Range: bytes=0-N`): all of it, or the upload is broken.
      const kept = /^bytes=0-(\d+)$/.exec(response.headers.range ?? '');
      if (!kept || Number(kept[1]) !== end) {
        throw Object.assign(new Error(`the service kept ${response.headers.range ?? 'nothing'} of bytes 0-${end}`), {
          code: 'ERR_RESUMABLE_OFFSET',
        });
      }
      this.persisted += aligned;
    }
    this.carry = Buffer.from(body.subarray(aligned)); // < 256 KiB
  }

  /** The final request: what is left, the total, and the whole object's CRC32C. */
  async complete(total: number, signal: AbortSignal | undefined): Promise<void> {
    const session = await this.session(signal);
    const rest = this.carry;
    const range = rest.byteLength > 0 ? `bytes ${this.persisted}-${total - 1}/${total}` : `bytes */${total}`;
    const hash = Buffer.alloc(4);
    hash.writeUInt32BE(this.crc >>> 0);
    const response = await this.send(
      session,
      range,
      rest,
      { 'x-goog-hash': `crc32c=${hash.toString('base64')}` },
      signal,
    );
    if (response.status !== 200 && response.status !== 201) throw serviceError(response);
  }

  /**
   * Cancels the session (DELETE; the service answers 499), so nothing is left open. Nothing to do
   * when none was created; safe to repeat (an unknown session is 404).
   */
  async abort(signal: AbortSignal | undefined): Promise<void> {
    const opened = this.#session;
    if (!opened) return;
    const session = await opened.catch(() => undefined);
    if (!session) return; // never created: nothing staged
    const response = await this.cancel(session, signal);
    if (response.status !== 499 && response.status !== 404 && (response.status < 200 || response.status > 299)) {
      throw serviceError(response);
    }
  }

  private session(signal: AbortSignal | undefined): Promise<Session> {
    this.#session ??= this.start(signal);
    return this.#session;
  }
}
