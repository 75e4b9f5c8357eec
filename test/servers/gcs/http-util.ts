/** Small HTTP helpers for the fake GCS: bodies, JSON replies, byte ranges, multipart/related. */
import type { IncomingMessage, ServerResponse } from 'http';

import { GcsError, invalid } from './errors';

/** Whole request body (the store is in memory anyway). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('client closed the connection before the body was complete'));
    });
  });
}

/** Parse a JSON request body; an empty body is `{}`. */
export function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch {
    throw new GcsError(400, 'parseError', 'Parse Error');
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid('Invalid JSON payload: expected an object');
  return v as Record<string, unknown>;
}

/**
 * Status line + headers. Headers go through setHeader (not writeHead's argument) so that
 * `res.getHeaders()` – and so the server's request log – sees them.
 */
export function writeHead(res: ServerResponse, status: number, headers: Record<string, string>): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.writeHead(status);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  writeHead(res, status, {
    'Content-Type': 'application/json; charset=UTF-8',
    'Content-Length': String(payload.length),
    'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate',
    ...headers,
  });
  res.end(payload);
}

/** An error of a media download: GCS sends its message as the body, not the JSON error. */
export function sendText(
  res: ServerResponse,
  status: number,
  text: string,
  headers: Record<string, string> = {},
): void {
  const payload = Buffer.from(text, 'utf8');
  writeHead(res, status, {
    'Content-Type': 'text/html; charset=UTF-8',
    'Content-Length': String(payload.length),
    'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate',
    ...headers,
  });
  res.end(payload);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  writeHead(res, status, { 'Content-Length': '0', ...headers });
  res.end();
}

/**
 * Scheme://host[:port] the client used, for selfLink / mediaLink / resumable session URIs. Behind a
 * proxy (test/servers/fault-proxy.ts) the `X-Forwarded-Host` / `-Proto` headers win, so session
 * URIs keep going through the proxy.
 */
export function baseUrlOf(req: IncomingMessage): string {
  const fwdHost = req.headers['x-forwarded-host'];
  const fwdProto = req.headers['x-forwarded-proto'];
  const host = (typeof fwdHost === 'string' && fwdHost.split(',')[0].trim()) || req.headers.host || '127.0.0.1';
  const proto = (typeof fwdProto === 'string' && fwdProto.split(',')[0].trim()) || 'http';
  return `${proto}://${host}`;
}

/** decodeURIComponent that answers 400 instead of throwing URIError. */
export function decodePathSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw invalid(`Invalid percent-encoding in path segment '${seg}'`);
  }
}

export type ByteRange = { start: number; end: number } | 'unsatisfiable' | undefined;

/**
 * RFC 9110 single byte range against an object of `size` bytes: `bytes=a-b`, `bytes=a-`, `bytes=-n`.
 * undefined = no (usable) Range header, serve the whole object; a syntactically invalid or
 * multi-range header is ignored like GCS does. `end` is inclusive and clamped to size-1.
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (!header) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    // An empty object has no bytes to serve: GCS answers any range of it 416 (`bytes */0`).
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Number(m[2]);
  if (m[2] !== '' && end < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

export interface MultipartPart {
  headers: Record<string, string>;
  body: Buffer;
}

/** Split a multipart/related (RFC 2387) body into its parts. */
export function parseMultipart(contentType: string | undefined, body: Buffer): MultipartPart[] {
  const m = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  if (!contentType || !/^multipart\//i.test(contentType) || !m) {
    throw invalid('Invalid multipart request: missing multipart Content-Type with a boundary');
  }
  const boundary = Buffer.from(`--${m[1] ?? m[2]}`, 'latin1');
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(boundary);
  if (pos < 0) throw invalid('Invalid multipart request: boundary not found');
  for (;;) {
    pos += boundary.length;
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break; // closing `--boundary--`
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else if (body[pos] === 0x0a) pos += 1;
    const headerEnd = body.indexOf('\r\n\r\n', pos, 'latin1');
    if (headerEnd < 0) throw invalid('Invalid multipart request: part without header terminator');
    const headers: Record<string, string> = {};
    for (const line of body.subarray(pos, headerEnd).toString('latin1').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const dataStart = headerEnd + 4;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n', 'latin1'), boundary]), dataStart);
    if (next < 0) throw invalid('Invalid multipart request: unterminated part');
    parts.push({ headers, body: body.subarray(dataStart, next) });
    pos = next + 2;
  }
  return parts;
}

/** `x-goog-hash: crc32c=…,md5=…` (also repeated headers) → { crc32c, md5 }. */
export function parseGoogHash(header: string | string[] | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const v of values) {
    for (const pair of v.split(',')) {
      const at = pair.indexOf('=');
      if (at < 0) continue;
      const k = pair.slice(0, at).trim().toLowerCase();
      const val = pair.slice(at + 1).trim();
      if (k === 'crc32c') out.crc32c = val;
      else if (k === 'md5') out.md5 = val;
    }
  }
  return out;
}
