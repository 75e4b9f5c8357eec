/**
 * GCS media downloads (`objects.get?alt=media`) and single-request uploads (`uploadType=media`)
 * on the library's own HTTP/1.1 path (http/pool.ts): a download lands in its final buffer straight
 * from the socket, an upload goes out from the caller's memory. The SDK client keeps the endpoint
 * (its base URL), the decision to authenticate (never to a custom endpoint unless asked) and the
 * credentials: each request carries the headers of its auth client (a cached, refreshed token).
 */
import type * as Gcs from '@google-cloud/storage';

import { crc32cBase64 } from '../../checksum';
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
