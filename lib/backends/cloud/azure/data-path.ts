/**
 * Azure blob bodies (Get Blob, Put Blob, Put Block) on the library's own HTTP/1.1 path
 * (http/pool.ts): a download lands in its final buffer straight from the socket, an upload goes
 * out from the caller's memory. The SDK client keeps its URL (account, endpoint, a SAS in its
 * query) and its credential: a shared key signs with the SDK credential's own HMAC (the key never
 * leaves it), a token credential's tokens are asked for and refreshed through it. Listing,
 * properties, block-list commits, copies and containers stay on the SDK.
 */
import type { HttpTransport } from '../http/io-threads';
import type * as AzBlob from '@azure/storage-blob';

import type { BodyPlacement, ByteRange, StoredChecksum } from '../../../object-store';
import { placeByAnswer, rangeHeader } from '../body';
import type { CloudRef, WriteRequest } from '../driver';
import type { HttpResponse, ResponseHead } from '../http/connection';
import { type HttpRequest, type Origin, originOf } from '../http/pool';
import { encodeKeyPath } from '../keys';
import { xmlFields } from '../xml-error';
import type { AzureTokenCredential } from './options';

/** The OAuth scope of Azure Storage (what the SDK asks tokens for). */
const STORAGE_SCOPE = 'https://storage.azure.com/.default';
/** A token is renewed this long before it expires. */
const TOKEN_MARGIN_MS = 2 * 60_000;

type TokenCredential = AzureTokenCredential;
type AccessToken = NonNullable<Awaited<ReturnType<TokenCredential['getToken']>>>;

/** How requests of one client are authorized. */
type Authorization =
  | { kind: 'shared-key'; credential: AzBlob.StorageSharedKeyCredential }
  | { kind: 'token'; credential: TokenCredential }
  | { kind: 'none' };

/** A blob's stored MD5 as ResponseHeaders' checksum. */
function md5Checksum(base64: string | undefined): { checksum?: StoredChecksum } {
  return base64 && Buffer.from(base64, 'base64').byteLength === 16 ? { checksum: { algorithm: 'md5', base64 } } : {};
}

/** A service error in the shape the SDK's RestError has (what AzureDriver.classify reads). */
function serviceError(response: HttpResponse): Error {
  const field = xmlFields(response.body);
  const status = response.status;
  const code = response.headers['x-ms-error-code'] ?? field('Code');
  const requestId = response.headers['x-ms-request-id'];
  const message = field('Message') ?? (code !== undefined ? code : `the service answered HTTP ${status}`);
  return Object.assign(new Error(message), {
    name: 'RestError',
    statusCode: status,
    ...(code !== undefined && { code }),
    details: { ...(code !== undefined && { errorCode: code }), ...(requestId !== undefined && { requestId }) },
  });
}

/** Blob bodies of one BlobServiceClient (one account at one endpoint, one credential). */
export class AzureDataPath {
  private readonly origin: Origin;
  /** The service URL's path (`/devstoreaccount1` for path-style emulators, else empty). */
  private readonly prefix: string;
  /** The client's SAS, if its URL has one (`sv=…&sig=…`, without `?`). */
  readonly #sas: string;
  readonly #authorization: Authorization;
  readonly #version: string;
  #token: Promise<AccessToken> | undefined;

  constructor(
    client: AzBlob.BlobServiceClient,
    private readonly pool: HttpTransport,
  ) {
    const url = new URL(client.url);
    this.origin = originOf(url);
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.#sas = url.search.replace(/^\?/, '');
    const credential = client.credential as Partial<AzBlob.StorageSharedKeyCredential & TokenCredential>;
    this.#authorization =
      typeof credential.computeHMACSHA256 === 'function' && typeof credential.accountName === 'string'
        ? { kind: 'shared-key', credential: credential as AzBlob.StorageSharedKeyCredential }
        : typeof credential.getToken === 'function'
          ? { kind: 'token', credential: credential as TokenCredential }
          : { kind: 'none' };
    // The REST version the SDK speaks (its generated client's), so both transports ask the same.
    const version = (client as unknown as { storageClientContext?: { version?: unknown } }).storageClientContext
      ?.version;
    if (typeof version !== 'string') {
      throw new Error('this @azure/storage-blob does not say which service version it speaks; use transport: "sdk"');
    }
    this.#version = version;
  }

  /** Get Blob of the blob or a range of it; the body lands where `placement` says. */
  async read(
    ref: CloudRef,
    range: ByteRange | undefined,
    signal: AbortSignal | undefined,
    placement: BodyPlacement | undefined,
  ): Promise<Uint8Array> {
    const headers: Record<string, string> = {};
    // The standard Range (signed in its own slot), which Azure honours as it does x-ms-range, and
    // so does any HTTP cache or server in front of it.
    if (range) headers.range = rangeHeader(range);
    let placed: Uint8Array | undefined;
    const target = ({ headers: answer }: ResponseHead): Uint8Array | undefined => {
      // The blob's MD5 (kept by the service for single-request uploads), on ranged reads too.
      const md5 = answer['x-ms-blob-content-md5'] ?? (range === undefined ? answer['content-md5'] : undefined);
      placed = placeByAnswer(placement, answer, md5Checksum(md5));
      return placed;
    };
    const response = await this.send(ref, 'GET', '', headers, undefined, signal, { target, sink: placement?.into });
    if (response.status !== 200 && response.status !== 206) throw serviceError(response);
    return placed ?? response.body;
  }

  /**
   * Put Blob from the caller's memory: the blob appears whole or not at all. A buffer detached
   * before or while it is sent fails with ERR_BUFFER_DETACHED before the service stores anything.
   */
  async write(
    ref: CloudRef,
    bytes: Uint8Array,
    signal: AbortSignal | undefined,
    { contentType, ifAbsent }: WriteRequest,
  ): Promise<void> {
    const headers: Record<string, string> = { 'x-ms-blob-type': 'BlockBlob' };
    if (contentType !== undefined) headers['x-ms-blob-content-type'] = contentType;
    if (ifAbsent === true) headers['if-none-match'] = '*';
    const response = await this.send(ref, 'PUT', '', headers, bytes, signal);
    if (response.status < 200 || response.status > 299) throw serviceError(response);
  }

  /** Put Block (one staged block of a block blob) from the caller's memory, like {@link write}. */
  async putBlock(ref: CloudRef, blockId: string, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const query = `comp=block&blockid=${encodeURIComponent(blockId)}`;
    const response = await this.send(ref, 'PUT', query, {}, bytes, signal);
    if (response.status < 200 || response.status > 299) throw serviceError(response);
  }

  private async send(
    ref: CloudRef,
    method: string,
    query: string,
    extra: Record<string, string>,
    body: Uint8Array | undefined,
    signal: AbortSignal | undefined,
    receive: Pick<HttpRequest, 'target' | 'sink'> = {},
  ): Promise<HttpResponse> {
    const path = `${this.prefix}/${ref.bucket}/${encodeKeyPath(ref.key)}`;
    const search = [query, this.#sas].filter((part) => part !== '').join('&');
    const headers: Record<string, string> = {
      ...extra,
      'x-ms-date': new Date().toUTCString(),
      'x-ms-version': this.#version,
    };
    await this.authorize(method, path, query, headers, body?.byteLength ?? 0, signal);
    if (signal?.aborted) throw signal.reason;
    return this.pool.send(this.origin, {
      method,
      path: search === '' ? path : `${path}?${search}`,
      headers,
      body,
      ...receive,
      signal,
    });
  }

  private async authorize(
    method: string,
    path: string,
    query: string,
    headers: Record<string, string>,
    length: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const authorization = this.#authorization;
    if (authorization.kind === 'shared-key') {
      const { credential } = authorization;
      headers.authorization = `SharedKey ${credential.accountName}:${credential.computeHMACSHA256(
        stringToSign(method, credential.accountName, path, query, headers, length),
      )}`;
    } else if (authorization.kind === 'token') {
      // As the SDK: a bearer token never goes over plain HTTP.
      if (this.origin.protocol !== 'https:') {
        throw new Error('Bearer token authentication is not permitted over plain http: use an https:// endpoint');
      }
      headers.authorization = `Bearer ${(await this.token(authorization.credential, signal)).token}`;
    }
  }

  /** The credential's token, asked again shortly before it expires (a failure is not kept). */
  private async token(credential: TokenCredential, signal: AbortSignal | undefined): Promise<AccessToken> {
    const current = this.#token ? await this.#token.catch(() => undefined) : undefined;
    if (current && current.expiresOnTimestamp - Date.now() > TOKEN_MARGIN_MS) return current;
    const asked = credential.getToken(STORAGE_SCOPE, { abortSignal: signal }).then((token) => {
      if (!token)
        throw Object.assign(new Error('the credential gave no token'), { name: 'CredentialUnavailableError' });
      return token;
    });
    this.#token = asked;
    asked.catch(() => {
      if (this.#token === asked) this.#token = undefined;
    });
    return asked;
  }
}

/**
 * The Shared Key string-to-sign of a Blob service request: the standard headers in their fixed
 * order (Content-Length from the body's `length`), then the `x-ms-` headers sorted, then
 * `/account/path` and the query parameters sorted.
 */
function stringToSign(
  method: string,
  account: string,
  path: string,
  query: string,
  headers: Record<string, string>,
  length: number,
): string {
  const header = (name: string): string => headers[name] ?? '';
  const standard = [
    method,
    header('content-encoding'),
    header('content-language'),
    // The Content-Length the pool will send (empty for none or 0).
    length === 0 ? '' : String(length),
    header('content-md5'),
    header('content-type'),
    header('date'),
    header('if-modified-since'),
    header('if-match'),
    header('if-none-match'),
    header('if-unmodified-since'),
    header('range'),
  ];
  const canonicalHeaders = Object.keys(headers)
    .filter((name) => name.startsWith('x-ms-'))
    .sort()
    .map((name) => `${name}:${headers[name].trimStart()}\n`)
    .join('');
  const parameters = query === '' ? [] : query.split('&').map((pair) => pair.split('='));
  const canonicalQuery = parameters
    .map(([name, value]) => [decodeURIComponent(name).toLowerCase(), decodeURIComponent(value ?? '')])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, value]) => `\n${name}:${value}`)
    .join('');
  return `${standard.join('\n')}\n${canonicalHeaders}/${account}${path}${canonicalQuery}`;
}
