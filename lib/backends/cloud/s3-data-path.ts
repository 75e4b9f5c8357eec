/**
 * S3 object bodies (GetObject, PutObject, UploadPart) over the library's own HTTP/1.1 path
 * (http/pool.ts): a GET body lands in its final buffer straight from the socket, a PUT body goes
 * out from the caller's memory. The SDK client still owns what it is good at: its endpoint rules
 * (virtual-hosted or path style, FIPS, dual-stack, regions), its credential chain (environment,
 * profiles, SSO, IMDS, session tokens, refresh) and its SigV4 signer. Only the request and the
 * bytes skip its middleware stack, which costs more CPU per request than the transfer of a small
 * object.
 */
import type { HttpTransport } from './http/io-threads';
import { createHash, createHmac } from 'crypto';

import type * as S3 from '@aws-sdk/client-s3';
import type * as SigV4 from '@smithy/signature-v4';

import type { BodyPlacement, ByteRange } from '../../object-store';
import type { HttpResponse, ResponseHead } from './http/connection';
import { type HttpRequest, type Origin, originOf } from './http/pool';
import { placeByAnswer, rangeHeader } from './body';
import type { CloudRef, WriteRequest } from './driver';
import { encodeKeyPath } from './keys';
import { xmlFields } from './xml-error';
import { crc32cBase64 } from '../../checksum';
import { lazyPackage } from './sdk';

/** The SigV4 signer (the store loads it when it is made, so a missing package is found then). */
export const loadSigner = lazyPackage<typeof SigV4>('s3', '@smithy/signature-v4');

/** SHA-256 (and its HMAC) for the signer, from Node's crypto. */
class NodeSha256 {
  private readonly hash;

  constructor(secret?: SigV4SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }

  update(data: SigV4SourceData): void {
    this.hash.update(toBytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

type SigV4SourceData = string | ArrayBuffer | ArrayBufferView;

function toBytes(data: SigV4SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** A bucket's origin, path prefix and signing scope, as the SDK's endpoint rules resolve them. */
interface BucketEndpoint {
  origin: Origin;
  /** Host header value. */
  authority: string;
  /** Path before the key: `/bucket` (path style) or `` (virtual-hosted). */
  prefix: string;
  signer: SigV4.SignatureV4;
}

/** The error an S3 error answer (XML `<Error>`) stands for, shaped like the SDK's. */
function serviceError(response: HttpResponse, ref: CloudRef): Error {
  const field = xmlFields(response.body);
  const status = response.status;
  const code = field('Code') ?? (status === 404 ? (ref.key ? 'NotFound' : 'NoSuchBucket') : `Http${status}`);
  const message = field('Message') ?? (status === 404 ? 'no such object' : `HTTP ${status}`);
  const requestId = field('RequestId') ?? response.headers['x-amz-request-id'];
  return Object.assign(new Error(message), {
    name: code,
    $metadata: { httpStatusCode: status, ...(requestId !== undefined && { requestId }) },
  });
}

/** Object bodies of one S3 client's endpoint, on the library's HTTP path. */
export class S3DataPath {
  private readonly buckets = new Map<string, Promise<BucketEndpoint>>();

  constructor(
    private readonly client: S3.S3Client,
    private readonly pool: HttpTransport,
    /** Send each body's CRC32C, computed natively (the service checks it). */
    private readonly checksums: boolean,
    /**
     * Ask for the stored checksum with every GET and check a whole object against it, as the
     * SDK does with response checksum validation on (WHEN_SUPPORTED).
     */
    private readonly validateResponses: boolean,
  ) {}

  /** GetObject of the object or a range of it; the body lands where `placement` says. */
  async read(
    ref: CloudRef,
    range: ByteRange | undefined,
    signal: AbortSignal | undefined,
    placement: BodyPlacement | undefined,
  ): Promise<Uint8Array> {
    const headers: Record<string, string> = {};
    if (range) headers.range = rangeHeader(range);
    if (placement?.wantsChecksum || this.validateResponses) headers['x-amz-checksum-mode'] = 'ENABLED';
    let placed: Uint8Array | undefined;
    let stored: string | undefined;
    const target = ({ headers: answer }: ResponseHead): Uint8Array | undefined => {
      const crc = answer['x-amz-checksum-crc32c'];
      // A multipart object's checksum is composite ("…-N"): not a whole-object CRC32C.
      stored = crc !== undefined && !crc.includes('-') ? crc : undefined;
      placed = placeByAnswer(placement, answer, {
        ...(stored !== undefined && { checksum: { algorithm: 'crc32c' as const, base64: stored } }),
      });
      return placed;
    };
    const response = await this.send(ref, 'GET', '', headers, undefined, signal, { target, sink: placement?.into });
    if (response.status !== 200 && response.status !== 206) throw serviceError(response, ref);
    const body = placed ?? response.body;
    if (this.validateResponses && range === undefined && stored !== undefined) {
      const computed = crc32cBase64(body);
      if (computed !== stored) {
        throw new Error(`Checksum mismatch: the body's CRC32C is ${computed}, the service stored ${stored}`);
      }
    }
    return body;
  }

  /**
   * PutObject from the caller's memory, with its CRC32C (checked by the service) unless checksums
   * are off. A buffer detached before or while it is sent fails the request with
   * ERR_BUFFER_DETACHED before the service can store anything.
   */
  async write(
    ref: CloudRef,
    bytes: Uint8Array,
    signal: AbortSignal | undefined,
    { contentType, ifAbsent }: WriteRequest,
  ): Promise<void> {
    const headers = this.bodyHeaders(bytes);
    if (contentType !== undefined) headers['content-type'] = contentType;
    if (ifAbsent === true) headers['if-none-match'] = '*';
    const response = await this.send(ref, 'PUT', '', headers, bytes, signal);
    if (response.status < 200 || response.status > 299) throw serviceError(response, ref);
  }

  /** UploadPart from the caller's memory, like {@link write}; resolves with its ETag and CRC32C (`checksum`). */
  async uploadPart(
    ref: CloudRef,
    uploadId: string,
    partNumber: number,
    bytes: Uint8Array,
    signal: AbortSignal | undefined,
  ): Promise<{ etag?: string; checksum?: string }> {
    const headers = this.bodyHeaders(bytes);
    const query = { partNumber: String(partNumber), uploadId };
    const response = await this.send(ref, 'PUT', query, headers, bytes, signal);
    if (response.status < 200 || response.status > 299) throw serviceError(response, ref);
    return { etag: response.headers.etag, checksum: headers['x-amz-checksum-crc32c'] };
  }

  /** The checksum header of a body (a detached one is refused by the pool when it is sent). */
  private bodyHeaders(bytes: Uint8Array): Record<string, string> {
    if (!this.checksums) return {};
    return { 'x-amz-sdk-checksum-algorithm': 'CRC32C', 'x-amz-checksum-crc32c': crc32cBase64(bytes) };
  }

  private async send(
    ref: CloudRef,
    method: string,
    query: Record<string, string> | '',
    headers: Record<string, string>,
    body: Uint8Array | undefined,
    signal: AbortSignal | undefined,
    receive: Pick<HttpRequest, 'target' | 'sink'> = {},
  ): Promise<HttpResponse> {
    const endpoint = await this.endpoint(ref.bucket);
    const path = `${endpoint.prefix}/${encodeKeyPath(ref.key)}`;
    const search = query === '' ? '' : `?${new URLSearchParams(query).toString().replace(/\+/g, '%20')}`;
    const signed = await endpoint.signer.sign({
      method,
      protocol: endpoint.origin.protocol,
      hostname: endpoint.origin.hostname,
      port: endpoint.origin.port,
      path,
      query: query === '' ? {} : query,
      headers: { ...headers, host: endpoint.authority, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    if (signal?.aborted) throw signal.reason;
    return this.pool.send(endpoint.origin, {
      method,
      path: `${path}${search}`,
      headers: signed.headers,
      body,
      ...receive,
      signal,
    });
  }

  /** The endpoint of `bucket`, resolved once by the SDK's rules (its region, style, FIPS...). */
  private endpoint(bucket: string): Promise<BucketEndpoint> {
    let resolved = this.buckets.get(bucket);
    if (!resolved) {
      resolved = this.resolve(bucket);
      this.buckets.set(bucket, resolved);
      // A failure (a region provider that threw) is not remembered.
      resolved.catch(() => this.buckets.delete(bucket));
    }
    return resolved;
  }

  private async resolve(bucket: string): Promise<BucketEndpoint> {
    const config = this.client.config;
    const endpoint = config.endpoint ? await config.endpoint() : undefined;
    const params = {
      Bucket: bucket,
      Region: await config.region(),
      UseFIPS: await config.useFipsEndpoint(),
      UseDualStack: await config.useDualstackEndpoint(),
      ForcePathStyle: config.forcePathStyle,
      Accelerate: config.useAccelerateEndpoint,
      ...(endpoint && {
        Endpoint: `${endpoint.protocol}//${endpoint.hostname}${endpoint.port ? `:${endpoint.port}` : ''}${endpoint.path}`,
      }),
    };
    const rule = config.endpointProvider(params as Parameters<typeof config.endpointProvider>[0]);
    const url = rule.url;
    const scheme = (
      rule.properties?.authSchemes as Array<{ signingRegion?: string; signingName?: string }> | undefined
    )?.[0];
    const { SignatureV4 } = loadSigner();
    return {
      origin: originOf(url),
      authority: url.port ? `${url.hostname}:${url.port}` : url.hostname,
      prefix: url.pathname.replace(/\/+$/, ''),
      signer: new SignatureV4({
        credentials: config.credentials,
        region: scheme?.signingRegion ?? params.Region,
        service: scheme?.signingName ?? 's3',
        sha256: NodeSha256,
        uriEscapePath: false,
        applyChecksum: false,
      }),
    };
  }
}
