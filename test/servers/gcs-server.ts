/**
 * In-memory Google Cloud Storage JSON API server for tests, on Node's `http` module only.
 *
 * ## Pointing @google-cloud/storage 7.x at it (verified against node_modules/@google-cloud/storage)
 *
 * ```ts
 * const gcs = await startGcsServer();
 * const storage = new Storage({ apiEndpoint: gcs.url, projectId: 'test' });
 * ```
 *
 * - `apiEndpoint` different from `https://storage.googleapis.com` makes the Storage instance a
 *   "custom endpoint" (storage.js: `customEndpoint = true`); with `useAuthWithCustomEndpoint` left
 *   unset (falsy) the JSON requests are sent unauthenticated (nodejs-common/util.js
 *   `authorizeRequest` returns reqOpts as is), so no credentials / ADC / metadata server are
 *   needed. JSON calls go to `${apiEndpoint}/storage/v1/…`, uploads to
 *   `${apiEndpoint}/upload/storage/v1/…`, downloads to `${apiEndpoint}/storage/v1/b/…/o/…?alt=media`.
 * - Resumable uploads use their own client: for a host that is not googleapis.com and
 *   `useAuthWithCustomEndpoint !== true`, resumable-upload.js swaps the auth client for plain gaxios,
 *   so they are unauthenticated too. Do NOT set `useAuthWithCustomEndpoint: true`.
 * - `projectId` is needed for bucket create/list (`?project=`); any string works.
 * - Plain `http://` is fine: the endpoint is used verbatim (Storage.sanitizeEndpoint only strips a
 *   trailing slash).
 * - Alternative: `process.env.STORAGE_EMULATOR_HOST = gcs.url` before `new Storage({ projectId })`.
 *   Then the JSON base URL is the env value *without* `/storage/v1`, which this server also
 *   serves (routes under `/b/…`). Prefer `apiEndpoint`, it does not leak into other tests.
 * - Fail fast in tests of error paths: `retryOptions: { autoRetry: false }` (the SDK retries 408,
 *   429, 5xx and connection errors by default, with exponential backoff).
 * - SDK behaviours worth knowing when injecting faults (test/servers/fault-proxy.ts), all seen
 *   with 7.22 against this server: resumable uploads are only retried with a generation
 *   precondition or `idempotencyStrategy: RetryAlways`; async-retry needs
 *   `retryOptions.maxRetryDelay >= 1` (s); a download whose body is cut short by a clean close
 *   never settles (node-fetch 2); a resumable upload whose final response is lost ends in a
 *   RangeError ("offset is lower…") even though the object was stored.
 *
 * ## What is implemented
 * buckets insert/get/patch(labels)/delete(409 when not empty)/list(prefix, maxResults, pageToken);
 * objects: media, multipart and resumable uploads (chunked, 308 + Range, status queries, cancel),
 * get metadata, media download (`alt=media` and `/download/storage/v1/…`, Range → 206/416, any
 * range of an empty object → 416 too, x-goog-hash etc.; errors as plain text), list
 * (prefix, delimiter → prefixes, maxResults, pageToken, startOffset, endOffset, matchGlob,
 * includeTrailingDelimiter; pages may be short, see `maxListScan`), delete, patch, copy (copyTo),
 * rewrite (rewriteTo, over several calls with a `rewriteToken`, see `rewriteBytesPerCall`), move
 * (moveTo), compose; generation/metageneration parameters and preconditions read as int64 (`01`
 * is 1, `x` is a 400); object names exact (a trailing `/` in the path is not dropped); checksum
 * verification of uploads; documented JSON error bodies.
 * Details in test/servers/gcs/: crc32c.ts, errors.ts, http-util.ts, routes.ts, store.ts, uploads.ts.
 *
 * Not implemented: versioning (only live generations exist), ACLs/IAM, notifications, HMAC keys,
 * signed URLs / XML API, customer-supplied encryption, soft delete / restore, batch requests,
 * `fields` projections (full resources are returned).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'http';
import type { AddressInfo, Socket } from 'net';

import { GcsError } from './gcs/errors';
import { sendJson, sendText, writeHead } from './gcs/http-util';
import { Router, isMediaDownload } from './gcs/routes';
import { GcsStore } from './gcs/store';
import { Uploads } from './gcs/uploads';

export { crc32c, crc32cToBase64, crc32cUpdate } from './gcs/crc32c';
export type { GcsErrorBody } from './gcs/errors';
export type { BucketResource, ObjectResource } from './gcs/store';

/** One served request, in completion order. */
export interface GcsRequestRecord {
  method: string;
  /** Raw request target as received (path + query, still percent-encoded). */
  url: string;
  status: number;
  requestHeaders: IncomingHttpHeaders;
  responseHeaders: OutgoingHttpHeaders;
}

export interface GcsServerOptions {
  /** TCP port on 127.0.0.1; 0 / undefined = a free port. */
  port?: number;
  /**
   * Most entries per list page regardless of `maxResults` (default 1000, as GCS). Lower it to make
   * auto-paginating clients walk many pages without creating thousands of objects.
   */
  maxListPageSize?: number;
  /**
   * Most names one objects.list page looks at (default 50), names rolled up into a prefix
   * included: the page then ends early with a `nextPageToken`, as GCS pages may, so clients that
   * take a page shorter than `maxResults` for the last one miss objects.
   */
  maxListScan?: number;
  /**
   * Most bytes one objects.rewrite call copies (default 32 KiB): larger copies answer `done: false`
   * and a `rewriteToken` until the last call, as GCS does for large or cross-location copies.
   */
  rewriteBytesPerCall?: number;
  /** Called when each request has been answered (or its connection closed). */
  onRequest?: (record: GcsRequestRecord) => void;
  /**
   * Require `Authorization: Bearer <token>` on every request; anything else gets GCS's 401
   * (`Invalid Credentials`, reason `authError`). Off by default (emulators do not check).
   */
  requireBearerToken?: string;
}

export interface GcsServer {
  /** `http://127.0.0.1:<port>`, to pass as `apiEndpoint`. */
  readonly url: string;
  readonly port: number;
  /** Number of requests received so far. */
  readonly requests: number;
  /** Every request served so far (capped at the last 10 000). */
  readonly requestLog: readonly GcsRequestRecord[];
  /** Resumable upload sessions neither finished nor cancelled. */
  readonly activeUploads: number;
  /** Drop all buckets, objects and sessions, and clear the request log. */
  reset(): void;
  /** Close the listener and every open connection. */
  stop(): Promise<void>;
}

const LOG_CAP = 10_000;

export async function startGcsServer(options: GcsServerOptions = {}): Promise<GcsServer> {
  for (const name of ['maxListPageSize', 'maxListScan', 'rewriteBytesPerCall'] as const) {
    const value = options[name];
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new RangeError(`GcsServerOptions.${name} must be a positive integer, not ${value}`);
    }
  }
  let store = new GcsStore(options.maxListPageSize, options.maxListScan);
  let uploads = new Uploads(store);
  let router = new Router(store, uploads, options.rewriteBytesPerCall);
  let requests = 0;
  const log: GcsRequestRecord[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests++;
    res.on('close', () => {
      const record: GcsRequestRecord = {
        method: req.method ?? '',
        url: req.url ?? '',
        status: res.headersSent ? res.statusCode : 0,
        requestHeaders: req.headers,
        responseHeaders: res.getHeaders(),
      };
      log.push(record);
      if (log.length > LOG_CAP) log.splice(0, log.length - LOG_CAP);
      options.onRequest?.(record);
    });
    if (
      options.requireBearerToken !== undefined &&
      req.headers.authorization !== `Bearer ${options.requireBearerToken}`
    ) {
      sendError(
        req,
        res,
        new GcsError(401, 'authError', 'Invalid Credentials', {
          'WWW-Authenticate': 'Bearer realm="https://accounts.google.com/"',
        }),
      );
      return;
    }
    router.handle(req, res).catch((err: unknown) => sendError(req, res, err));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // Node's default 5 s keep-alive timeout would hold jest open after the tests; clients reconnect.
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    get requestLog() {
      return log;
    },
    get activeUploads() {
      return uploads.activeSessions;
    },
    reset() {
      store = new GcsStore(options.maxListPageSize, options.maxListScan);
      uploads = new Uploads(store);
      router = new Router(store, uploads, options.rewriteBytesPerCall);
      log.length = 0;
    },
    stop() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        for (const s of sockets) s.destroy();
      });
    },
  };
}

function sendError(req: IncomingMessage, res: ServerResponse, err: unknown): void {
  req.resume(); // discard whatever is left of the request body
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (err instanceof GcsError) {
    if (err.status === 304) {
      writeHead(res, 304, err.extraHeaders);
      res.end();
      return;
    }
    if (isMediaDownload(req)) sendText(res, err.status, err.message, err.extraHeaders);
    else sendJson(res, err.status, err.toJSON(), err.extraHeaders);
    return;
  }
  const message = err instanceof Error ? err.message : String(err);
  sendJson(res, 500, new GcsError(500, 'backendError', `Internal error in fake GCS: ${message}`).toJSON());
}
