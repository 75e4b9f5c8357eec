/**
 * The lean HTTP path of s3:// (the default `transport`): bodies read straight into their
 * destination and sent from the caller's memory, over a keep-alive pool of our own. What it must
 * do as well as the SDK's stack: reuse connections within maxSockets, survive a server closing a
 * kept-alive connection, guard caller memory a transfer can free, honour proxy variables
 * (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) on every request, and read any HTTP/1.1 framing a server
 * may send (chunked with trailers, close-delimited, interim 100, a head split byte by byte).
 */
import * as net from 'net';
import * as path from 'path';
import { Worker } from 'worker_threads';

import { type ObjectStore, storeFor } from '../../lib';
import { HttpPool, type HttpRequest } from '../../lib/backends/cloud/http/pool';
import { LIB_ENTRY, REPO_ROOT } from '../helpers/child';
import { withEnv } from '../helpers/env';
import { startForwardProxy } from '../helpers/forward-proxy';
import { expectSameBytes, rejectionOf, testBytes } from '../helpers/local';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy';
import { EVERY_OPERATION, type OperationName, runEveryOperation } from '../helpers/store-ops';
import { startTcpRelay } from '../helpers/tcp-relay';
import { useTempDir } from '../helpers/temp';
import { selfSignedCertificate } from '../helpers/tls';
import { withTools } from '../helpers/tools';
import { startFaultProxy } from '../servers/fault-proxy';
import { newBucketName, requiredEnv, s3StoreOptions } from './targets';

const MiB = 1024 * 1024;
const s3 = withTools(['moto'], 'the lean HTTP path of s3:// (moto)');
const tmp = useTempDir('s3dlio-lean-');
const bucket = newBucketName('lean');
const base = `s3://${bucket}/`;
const motoUrl = (): string => requiredEnv('S3DLIO_TEST_S3_ENDPOINT');
/** A store of the moto server, reached at `endpoint` (a relay or proxy in front of it). */
const storeAt = (endpoint: string, options: Record<string, unknown> = {}): ObjectStore =>
  storeFor('s3://', { ...s3StoreOptions(), endpoint, ...options });

let direct: ObjectStore;
beforeAll(async () => {
  if (!process.env.S3DLIO_TEST_S3_ENDPOINT) return;
  direct = storeAt(motoUrl());
  await direct.createBucket(base);
});
afterAll(async () => {
  if (direct) await direct.deleteBucket(base, { force: true });
});

// The SDK-transport run (jest project 'sdk transport') leaves this file out.
const lean = s3.describe;

lean('connections', () => {
  // moto answers HTTP/1.0 (no keep-alive): a Node HTTP/1.1 proxy in front of it keeps connections.
  let front: Awaited<ReturnType<typeof startFaultProxy>>;
  beforeAll(async () => {
    front = await startFaultProxy({ target: motoUrl() });
  });
  afterAll(() => front?.stop());

  test('kept alive and reused; never more than maxSockets at once', async () => {
    const relay = await startTcpRelay(front.url);
    try {
      const store = storeAt(relay.url, { maxSockets: 3 });
      await direct.put(`${base}pool/obj`, testBytes(10_000, 1));
      for (let i = 0; i < 5; i++) await store.get(`${base}pool/obj`);
      expect(relay.stats.connections).toBe(1);
      const uris = Array.from({ length: 40 }, () => `${base}pool/obj`);
      await store.getMany(uris, { concurrency: 16 });
      expect(relay.stats.peak).toBeLessThanOrEqual(3);
      expect(relay.stats.connections).toBeLessThanOrEqual(3);
    } finally {
      await relay.stop();
    }
  });

  test('a kept-alive connection closed as it is reused: the request goes again on a new one, unseen', async () => {
    const relay = await startTcpRelay(front.url, { closeReusedConnections: 1 });
    try {
      // No retries of the store's own: only the pool's resend of a request the server never saw.
      const store = storeAt(relay.url, { maxAttempts: 1 });
      const bytes = testBytes(50_000, 2);
      await direct.put(`${base}stale/obj`, bytes);
      expectSameBytes(await store.get(`${base}stale/obj`), bytes);
      expectSameBytes(await store.get(`${base}stale/obj`), bytes);
      expect(relay.stats.closedReused).toBe(1);
      expect(relay.stats.connections).toBe(2);
    } finally {
      await relay.stop();
    }
  });

  test('a get waiting for a connection (maxSockets reached) is aborted at once', async () => {
    const proxy = await startFaultProxy({ target: motoUrl() });
    try {
      await direct.put(`${base}wait/obj`, testBytes(1000, 3));
      proxy.setRules([{ method: 'GET', path: /wait\/obj/, nth: 1, action: { type: 'delay', ms: 3000 } }]);
      const store = storeAt(proxy.url, { maxSockets: 1 });
      const slow = store.get(`${base}wait/obj`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      const error = await rejectionOf(store.get(`${base}wait/obj`, { signal: AbortSignal.timeout(100) }));
      expect(error).toMatchObject({ code: 'ERR_ABORTED' });
      expect(Date.now() - started).toBeLessThan(2000);
      await slow;
    } finally {
      await proxy.stop();
    }
  });
});

lean('caller memory', () => {
  test('a put whose buffer is transferred while it is sent: ERR_BUFFER_DETACHED, nothing stored', async () => {
    // 4 MiB/s upstream: 16 MiB take seconds, so the transfer lands mid-body.
    const relay = await startTcpRelay(motoUrl(), { upstreamBytesPerSecond: 4 * MiB });
    try {
      const store = storeAt(relay.url, { maxAttempts: 1 });
      const data = new Uint8Array(testBytes(16 * MiB, 4));
      const uri = `${base}detach/put`;
      const put = store.put(uri, data, { multipartThreshold: 64 * MiB });
      put.catch(() => undefined);
      while (relay.stats.bytesUp < MiB) await new Promise((resolve) => setTimeout(resolve, 10));
      const moved = structuredClone(data.buffer, { transfer: [data.buffer] });
      expect(await rejectionOf(put)).toMatchObject({ code: 'ERR_BUFFER_DETACHED', uri });
      expect(await direct.exists(uri)).toBe(false);
      expect(moved.byteLength).toBe(16 * MiB);
    } finally {
      await relay.stop();
    }
  });

  test('getInto ordinary memory transferred mid-body: ERR_BUFFER_DETACHED, never a crash', async () => {
    const proxy = await startFaultProxy({ target: motoUrl() });
    try {
      const bytes = testBytes(8 * MiB, 5);
      await direct.put(`${base}detach/get`, bytes);
      proxy.setRules([{ method: 'GET', path: /detach\/get/, action: { type: 'throttle', bytesPerSecond: 4 * MiB } }]);
      const store = storeAt(proxy.url, { maxAttempts: 1 });
      const target = new Uint8Array(8 * MiB);
      const read = store.getInto(`${base}detach/get`, target, 0, { rangeThreshold: 0 });
      read.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 300));
      structuredClone(target.buffer, { transfer: [target.buffer] });
      expect(await rejectionOf(read)).toMatchObject({ code: 'ERR_BUFFER_DETACHED' });
    } finally {
      await proxy.stop();
    }
  });

  test('getInto a SharedArrayBuffer (read straight into it), whole and in ranges: the same bytes', async () => {
    const bytes = testBytes(9 * MiB + 123, 6);
    await direct.put(`${base}sab/obj`, bytes);
    for (const options of [{ rangeThreshold: 0 }, { rangeThreshold: 2 * MiB, chunkSize: MiB }]) {
      const target = new Uint8Array(new SharedArrayBuffer(bytes.byteLength + 10), 5, bytes.byteLength);
      expect(await direct.getInto(`${base}sab/obj`, target, 0, options)).toBe(bytes.byteLength);
      expectSameBytes(target, bytes);
    }
  });
});

lean('worker threads', () => {
  test('a store in a worker thread reads into a SharedArrayBuffer the main thread sees', async () => {
    const bytes = testBytes(3 * MiB + 5, 8);
    await direct.put(`${base}worker/obj`, bytes);
    const shared = new SharedArrayBuffer(bytes.byteLength);
    const code = `
      const { parentPort, workerData } = require('worker_threads');
      require(workerData.registerTs);
      const s3dlio = require(workerData.lib);
      const store = s3dlio.storeFor('s3://', workerData.options);
      store.getInto(workerData.uri, new Uint8Array(workerData.shared), 0, { rangeThreshold: MiB, chunkSize: MiB })
        .then((count) => parentPort.postMessage({ count }), (error) => parentPort.postMessage({ error: error.code }));`;
    const worker = new Worker(code.replace(/MiB/g, String(MiB)), {
      eval: true,
      workerData: {
        registerTs: path.join(REPO_ROOT, 'test', 'helpers', 'register-ts.js'),
        lib: LIB_ENTRY,
        options: s3StoreOptions(),
        uri: `${base}worker/obj`,
        shared,
      },
    });
    try {
      const answer = await new Promise<{ count?: number; error?: string }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(answer).toEqual({ count: bytes.byteLength });
      expectSameBytes(new Uint8Array(shared), bytes);
    } finally {
      await worker.terminate();
    }
  });
});

lean('proxies', () => {
  test('HTTP_PROXY carries every request to an http:// endpoint, with its credentials; NO_PROXY bypasses it', async () => {
    const proxy = await startForwardProxy({ requireAuth: `Basic ${Buffer.from('user:pa:ss').toString('base64')}` });
    try {
      const port = new URL(motoUrl()).port;
      const seen: OperationName[] = [];
      await withEnv({ HTTP_PROXY: proxy.url.replace('//', '//user:pa%3Ass@') }, () =>
        runEveryOperation(storeAt(motoUrl(), { maxAttempts: 1 }), {
          bucketUri: `s3://${newBucketName('proxy')}/`,
          schemeUri: 's3://',
          partSize: 5 * MiB,
          after: (operation) => seen.push(operation),
        }),
      );
      expect(seen).toEqual([...EVERY_OPERATION]);
      // Bodies (lean path: absolute-form requests) and the SDK's requests (tunnels) both went through.
      expect(proxy.seen.some((line) => line.startsWith(`PUT http://127.0.0.1:${port}/`))).toBe(true);
      expect(proxy.seen.some((line) => line.startsWith(`GET http://127.0.0.1:${port}/`))).toBe(true);
      expect(proxy.seen).toContain(`CONNECT 127.0.0.1:${port}`);
      const count = proxy.seen.length;
      await withEnv({ HTTP_PROXY: proxy.url, NO_PROXY: 'example.com,127.0.0.1' }, async () => {
        const store = storeAt(motoUrl());
        await store.put(`${base}no-proxy/obj`, 'direct');
        expect(Buffer.from(await store.get(`${base}no-proxy/obj`)).toString()).toBe('direct');
      });
      expect(proxy.seen).toHaveLength(count);
    } finally {
      await proxy.stop();
    }
  });

  describe('HTTPS_PROXY to an https:// endpoint (a TLS front of moto with a self-signed certificate)', () => {
    let front: RecordingProxy;
    let cert = '';
    let other = '';
    beforeAll(async () => {
      other = selfSignedCertificate(tmp.path, 'other').certFile;
      const pair = selfSignedCertificate(tmp.path, 'front');
      cert = pair.certFile;
      front = await startRecordingProxy({ target: motoUrl(), tls: pair });
    });
    afterAll(() => front?.stop());

    test('every request is tunnelled (CONNECT) and TLS is verified end to end', async () => {
      const proxy = await startForwardProxy();
      try {
        const port = new URL(front.url).port;
        await withEnv({ HTTPS_PROXY: proxy.url }, async () => {
          const seen: OperationName[] = [];
          await runEveryOperation(storeAt(front.url, { caBundle: cert, maxAttempts: 1 }), {
            bucketUri: `s3://${newBucketName('tunnel')}/`,
            schemeUri: 's3://',
            partSize: 5 * MiB,
            after: (operation) => seen.push(operation),
          });
          expect(seen).toEqual([...EVERY_OPERATION]);
          // Through the tunnel, the server's certificate is still checked: another CA is refused.
          const untrusted = await rejectionOf(storeAt(front.url, { caBundle: other, maxAttempts: 1 }).get(`${base}x`));
          expect(untrusted.message).toMatch(/certificate/i);
        });
        expect(new Set(proxy.seen)).toEqual(new Set([`CONNECT 127.0.0.1:${port}`]));
      } finally {
        await proxy.stop();
      }
    });
  });
});

lean('HTTP/1.1 as servers send it (HttpPool on raw sockets)', () => {
  /** A server that answers each request with `answer(requestIndex)`, written in `pieces`. */
  async function rawServer(answer: (index: number) => Buffer[]): Promise<{ port: number; stop: () => Promise<void> }> {
    const sockets = new Set<net.Socket>();
    let index = 0;
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
      let buffered = '';
      socket.on('data', (chunk) => {
        buffered += chunk.toString('latin1');
        while (buffered.includes('\r\n\r\n')) {
          buffered = buffered.slice(buffered.indexOf('\r\n\r\n') + 4);
          const pieces = answer(index++);
          let delay = 0;
          for (const piece of pieces) {
            delay += 2;
            setTimeout(() => {
              if (piece.byteLength === 0) socket.end();
              else socket.write(piece);
            }, delay);
          }
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as net.AddressInfo).port,
      stop: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  const text = (value: string): Buffer => Buffer.from(value, 'latin1');
  const END = Buffer.alloc(0);

  async function fetchFrom(pieces: Buffer[], target?: Uint8Array): Promise<{ status: number; body: string }> {
    const server = await rawServer(() => pieces);
    const pool = new HttpPool({ maxSockets: 1, connectTimeoutMs: 2000, env: {} });
    try {
      const response = await pool.send(
        { protocol: 'http:', hostname: '127.0.0.1', port: server.port },
        { method: 'GET', path: '/x', headers: {}, ...(target && { target: () => target }) },
      );
      return { status: response.status, body: Buffer.from(target ?? response.body).toString('latin1') };
    } finally {
      pool.destroy();
      await server.stop();
    }
  }

  test('chunked, with chunk extensions and trailers', async () => {
    const answer = [
      text('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
      text('5;ext=1\r\nhello\r\n'),
      text('1\r\n \r\n6\r\nworld!\r\n0\r\nX-Trailer: yes\r\n\r\n'),
    ];
    expect(await fetchFrom(answer)).toEqual({ status: 200, body: 'hello world!' });
    expect(await fetchFrom(answer, new Uint8Array(12))).toEqual({ status: 200, body: 'hello world!' });
  });

  test('HTTP/1.0 without a length: the body ends with the connection', async () => {
    expect(await fetchFrom([text('HTTP/1.0 200 OK\r\n\r\nuntil'), text(' the end'), END])).toEqual({
      status: 200,
      body: 'until the end',
    });
  });

  test('an interim 100 Continue, then the answer; a head split byte by byte', async () => {
    const head = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc';
    expect(await fetchFrom([...head].map((c) => text(c)))).toEqual({ status: 200, body: 'abc' });
  });

  test('a body cut short, headers too large, a status line that is not HTTP: errors, never data', async () => {
    expect(await rejectionOf(fetchFrom([text('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), END]))).toMatchObject(
      {
        code: 'ERR_TRUNCATED_BODY',
      },
    );
    const huge = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(70_000)}\r\nContent-Length: 0\r\n\r\n`;
    expect((await rejectionOf(fetchFrom([text(huge)]))).message).toMatch(/headers exceed/);
    expect((await rejectionOf(fetchFrom([text('SMTP ready\r\n\r\n')]))).message).toMatch(
      /not an HTTP\/1.x status line/,
    );
    // A target of another length than the answer's is refused before any byte lands in it.
    expect(
      (await rejectionOf(fetchFrom([text('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc')], new Uint8Array(4))))
        .message,
    ).toMatch(/3 bytes where 4 were asked for/);
  });

  test('an answer that is not HTTP/1.1 is a server failure, retried on a new connection', async () => {
    // The first answer is garbage, every later one a valid GetObject answer.
    const server = await rawServer((index) =>
      index === 0 ? [text('SMTP ready\r\n\r\n')] : [text('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')],
    );
    const storeAt = (port: number, maxAttempts: number): ObjectStore =>
      storeFor('s3://', {
        endpoint: `http://127.0.0.1:${port}`,
        region: 'us-east-1',
        credentials: { accessKeyId: 'raw', secretAccessKey: 'raw-server-secret' },
        retryBaseDelayMs: 1,
        maxAttempts,
      });
    const garbage = await rawServer(() => [text('SMTP ready\r\n\r\n')]);
    try {
      expect(Buffer.from(await storeAt(server.port, 2).get('s3://raw-bucket/k')).toString()).toBe('hello');
      const error = await rejectionOf(storeAt(garbage.port, 3).get('s3://raw-bucket/k'));
      expect(error).toMatchObject({ code: 'ERR_SERVER', uri: 's3://raw-bucket/k' });
      expect(error.message).toMatch(/not valid HTTP\/1\.1.*not an HTTP\/1\.x status line/);
    } finally {
      await Promise.all([server.stop(), garbage.stop()]);
    }
  });

  test('bytes after a response: the connection is not reused', async () => {
    let connections = 0;
    const server = await rawServer(() => [text('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA')]);
    const counter = net.createServer((socket) => {
      connections++;
      const out = net.connect(server.port, '127.0.0.1');
      socket.pipe(out).pipe(socket);
      socket.on('error', () => out.destroy());
      out.on('error', () => socket.destroy());
    });
    await new Promise<void>((resolve) => counter.listen(0, '127.0.0.1', resolve));
    const pool = new HttpPool({ maxSockets: 1, connectTimeoutMs: 2000, env: {} });
    try {
      const origin = {
        protocol: 'http:' as const,
        hostname: '127.0.0.1',
        port: (counter.address() as net.AddressInfo).port,
      };
      for (let i = 0; i < 2; i++) {
        const response = await pool.send(origin, { method: 'GET', path: '/x', headers: {} });
        expect(Buffer.from(response.body).toString()).toBe('ok');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(connections).toBe(2);
    } finally {
      pool.destroy();
      await new Promise<void>((resolve) => counter.close(() => resolve()));
      await server.stop();
    }
  });

  test('a request target or header that could split the request, or reframe its body, is refused before anything is sent', async () => {
    const pool = new HttpPool({ maxSockets: 1, connectTimeoutMs: 2000, env: {} });
    const origin = { protocol: 'http:' as const, hostname: '127.0.0.1', port: 9 };
    const requests: HttpRequest[] = [
      { method: 'GET', path: '/a b', headers: {} },
      { method: 'GET', path: '/a\r\nX-Injected: 1', headers: {} },
      { method: 'GET', path: '/ok', headers: { 'x-meta': 'v\r\nX-Injected: 1' } },
      // The body's framing is the pool's: a second length or a chunked claim would desynchronize it.
      { method: 'PUT', path: '/ok', headers: { 'Content-Length': '1' }, body: new Uint8Array(5) },
      { method: 'PUT', path: '/ok', headers: { 'transfer-encoding': 'chunked' }, body: new Uint8Array(5) },
    ];
    for (const request of requests) {
      expect((await rejectionOf(pool.send(origin, request))).message).toMatch(/refusing/);
    }
  });
});

describe('caller memory freed under a queued socket write', () => {
  test('a body transferred to a worker that then exits (its memory unmapped): ERR_BUFFER_DETACHED, the request cut off', async () => {
    // The server reads nothing until the body's memory is gone, so slices of it wait in the
    // socket's queue; writing them then fails (EFAULT) or sends freed bytes, never the whole body.
    let received = 0;
    let resume!: () => void;
    const gate = new Promise<void>((resolve) => (resume = resolve));
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.pause();
      void gate.then(() => socket.resume());
      socket.on('data', (chunk: Buffer) => (received += chunk.byteLength));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const pool = new HttpPool({ maxSockets: 1, connectTimeoutMs: 2000, env: {} });
    try {
      // 64 MiB: above glibc's largest mmap threshold, so freeing it unmaps the pages.
      const body = new Uint8Array(64 * MiB).fill(7);
      const origin = {
        protocol: 'http:' as const,
        hostname: '127.0.0.1',
        port: (server.address() as net.AddressInfo).port,
      };
      const sent = pool.send(origin, { method: 'PUT', path: '/x', headers: {}, body });
      sent.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const worker = new Worker('require("worker_threads").parentPort.once("message", () => process.exit(0));', {
        eval: true,
      });
      worker.postMessage(body.buffer, [body.buffer]);
      await new Promise((resolve) => worker.once('exit', resolve));
      expect(body.byteLength).toBe(0);
      resume();
      expect(await rejectionOf(sent)).toMatchObject({ code: 'ERR_BUFFER_DETACHED' });
      expect(received).toBeLessThan(64 * MiB);
    } finally {
      pool.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
