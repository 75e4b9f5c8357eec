/**
 * GCS media downloads (`objects.get?alt=media`) on the library's own HTTP/1.1 path (http/pool.ts):
 * the body lands in its final buffer straight from the socket. The SDK client keeps the endpoint
 * (its base URL), the decision to authenticate (never to a custom endpoint unless asked) and the
 * credentials: each request carries the headers of its auth client (a cached, refreshed token).
 */
import type * as Gcs from '@google-cloud/storage';

import { crc32cBase64 } from '../../checksum';
import type { BodyPlacement, ByteRange, ResponseHeaders } from '../../object-store';
import { lengthFromContentRange, placeAnswer, rangeHeader, totalFromContentRange } from './body';
import type { CloudRef } from './driver';
import { encodeStrictly } from './keys';
import { type HttpPool, type Origin, originOf } from './http/pool';

/** `crc32c=…` of an `x-goog-hash` header. */
function crc32cOf(header: string | undefined): string | undefined {
  return header ? /(?:^|,)\s*crc32c=([^,]+)/.exec(header)?.[1]?.trim() : undefined;
}

/** Media downloads of one GCS client, on the library's HTTP path. */
export class GcsDataPath {
  private readonly origin: Origin;
  private readonly prefix: string;

  constructor(
    private readonly storage: Gcs.Storage,
    private readonly pool: HttpPool,
  ) {
    const url = new URL(storage.baseUrl);
    this.origin = originOf(url);
    this.prefix = url.pathname.replace(/\/+$/, '');
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
        const chunked = answer['content-length'] === undefined;
        const length = transcoded
          ? undefined
          : chunked
            ? lengthFromContentRange(answer['content-range'])
            : Number(answer['content-length']);
        const crc = crc32cOf(answer['x-goog-hash']);
        stored = transcoded ? undefined : crc;
        const described: ResponseHeaders = {
          length,
          totalSize: totalFromContentRange(answer['content-range']) ?? length,
          etag: answer['x-goog-generation'] ?? answer.etag,
          ...(crc !== undefined && { checksum: { algorithm: 'crc32c' as const, base64: crc } }),
        };
        placed = placeAnswer(placement, described, chunked);
        return placed;
      },
    });
    if (response.status !== 200 && response.status !== 206) {
      // Download errors come as plain text or as GCS's JSON error body: the driver reads either.
      const text = Buffer.from(response.body).toString('utf8');
      throw Object.assign(new Error(text || `HTTP ${response.status}`), { code: response.status });
    }
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
