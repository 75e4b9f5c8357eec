/**
 * GCS media downloads (`objects.get?alt=media`) and single-request uploads (`uploadType=media`)
 * on the library's own HTTP/1.1 path (http/pool.ts): a download lands in its final buffer straight
 * from the socket, an upload goes out from the caller's memory. The SDK client keeps the endpoint
 * (its base URL), the decision to authenticate (never to a custom endpoint unless asked) and the
 * credentials: each request carries the headers of its auth client (a cached, refreshed token).
 */
import type { HttpTransport, IoThreads } from './http/io-threads';
import type * as Gcs from '@google-cloud/storage';

import { crc32c, crc32cBase64, crc32cValueBase64 } from '../../checksum';
import type { BodyPlacement, ByteRange } from '../../object-store';
import { placeByAnswer, rangeHeader } from './body';
import type { CloudRef, WriteRequest } from './driver';
import { encodeStrictly } from './keys';
import type { HttpResponse } from './http/connection';
import { type HttpRequest, type Origin, originOf } from './http/pool';
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
    private readonly pool: HttpTransport,
  ) {
    const url = new URL(storage.baseUrl);
    this.origin = originOf(url);
    this.prefix = url.pathname.replace(/\/+$/, '');
    // `…/storage/v1` → `…/upload/storage/v1`, as the SDK derives it.
    this.uploadPrefix = this.prefix.replace(/\/storage\/v1$/, '/upload/storage/v1');
  }

  /** The I/O threads that move bodies, if any. */
  get threads(): IoThreads | undefined {
    return this.pool.threads;
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
    { contentType, ifAbsent }: WriteRequest,
  ): Promise<void> {
    const path = this.uploadPath(ref, 'media', ifAbsent);
    const headers = {
      'content-type': contentType ?? 'application/octet-stream',
      'x-goog-hash': `crc32c=${crc32cBase64(bytes)}`,
    };
    const response = await this.request(this.origin, { method: 'POST', path, headers, body: bytes, signal });
    if (response.status < 200 || response.status > 299) throw serviceError(response);
  }

  /**
   * A resumable upload session (created at the first part): parts go out in order, from the
   * caller's memory when they end on a 256 KiB boundary, and the last request carries the whole
   * object's CRC32C for the service to check.
   */
  openUpload(ref: CloudRef, { contentType, ifAbsent }: WriteRequest): GcsResumableUpload {
    return new GcsResumableUpload(
      (origin, request) => this.request(origin, request),
      { origin: this.origin, path: this.uploadPath(ref, 'resumable', ifAbsent) },
      contentType,
    );
  }

  /** Where an upload of `ref` starts; create-only (`ifGenerationMatch=0`) when `ifAbsent`. */
  private uploadPath(ref: CloudRef, type: 'media' | 'resumable', ifAbsent: boolean | undefined): string {
    const condition = ifAbsent === true ? '&ifGenerationMatch=0' : '';
    return `${this.uploadPrefix}/b/${encodeStrictly(ref.bucket)}/o?uploadType=${type}&name=${encodeStrictly(ref.key)}${condition}`;
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
    const headers: Record<string, string> = {};
    if (range) headers.range = rangeHeader(range);
    let placed: Uint8Array | undefined;
    let stored: string | undefined;
    const response = await this.request(this.origin, {
      method: 'GET',
      path,
      headers,
      signal,
      sink: placement?.into,
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

  /** Sends `request` with the auth client's headers (where the SDK would send them). */
  private async request(origin: Origin, request: HttpRequest): Promise<HttpResponse> {
    const headers = { ...(await this.authorization()), ...request.headers };
    if (request.signal?.aborted) throw request.signal.reason;
    return this.pool.send(origin, { ...request, headers });
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
    /** Sends a request with the client's credentials. */
    private readonly request: (origin: Origin, request: HttpRequest) => Promise<HttpResponse>,
    /** Where the session is asked for (`uploadType=resumable`). */
    private readonly initiation: Session,
    private readonly contentType: string | undefined,
  ) {}

  /**
   * Sends `bytes` after everything before it; what does not end on a 256 KiB boundary waits for
   * the next part. Not to be retried: bytes handed to the session cannot be taken back.
   */
  async part(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    // Checked here too: bytes carried over would otherwise go out alone, as if these were empty.
    if (isDetached(bytes.buffer)) throw bufferDetached('data');
    this.crc = crc32c(bytes, this.crc);
    // Caller memory as it is, unless bytes are carried over from the last part (then one copy).
    const body = this.carry.byteLength === 0 ? bytes : Buffer.concat([this.carry, bytes]);
    const aligned = body.byteLength - (body.byteLength % QUANTUM);
    if (aligned > 0) {
      const end = this.persisted + aligned - 1;
      const response = await this.put(`bytes ${this.persisted}-${end}/*`, body.subarray(0, aligned), {}, signal);
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
    const rest = this.carry;
    const range = rest.byteLength > 0 ? `bytes ${this.persisted}-${total - 1}/${total}` : `bytes */${total}`;
    const response = await this.put(range, rest, { 'x-goog-hash': `crc32c=${crc32cValueBase64(this.crc)}` }, signal);
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
    const response = await this.request(session.origin, { method: 'DELETE', path: session.path, headers: {}, signal });
    if (response.status !== 499 && response.status !== 404 && (response.status < 200 || response.status > 299)) {
      throw serviceError(response);
    }
  }

  /** A PUT of `body` at `range` of the session (created by the first one). */
  private async put(
    range: string,
    body: Uint8Array,
    extra: Record<string, string>,
    signal: AbortSignal | undefined,
  ): Promise<HttpResponse> {
    this.#session ??= this.start(signal);
    const { origin, path } = await this.#session;
    return this.request(origin, { method: 'PUT', path, headers: { 'content-range': range, ...extra }, body, signal });
  }

  /** Asks for the session; its URI is where every later request goes. */
  private async start(signal: AbortSignal | undefined): Promise<Session> {
    const { origin, path } = this.initiation;
    const metadata = Buffer.from(
      JSON.stringify(this.contentType !== undefined ? { contentType: this.contentType } : {}),
    );
    const headers = { 'content-type': 'application/json; charset=UTF-8' };
    const response = await this.request(origin, { method: 'POST', path, headers, body: metadata, signal });
    const location = response.headers.location;
    if (response.status !== 200 || location === undefined) throw serviceError(response);
    const url = new URL(location, `${origin.protocol}//${origin.hostname}`);
    return { origin: originOf(url), path: `${url.pathname}${url.search}` };
  }
}
