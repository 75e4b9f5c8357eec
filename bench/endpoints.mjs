// Multi-endpoint s3:// stores: aggregate GET throughput over 1, 2 and 3 endpoints fronting one
// storage, and what happens when one of them dies and comes back, in one run.
//
//   npm run bench:endpoints -- [--objects 256] [--size 1] [--concurrency 32] [--runs 3]
//                              [--seconds 6] [--strategy round-robin] [--slowRate 4m] [--out FILE]
//
// The endpoints are nginx instances on loopback serving ONE directory on /dev/shm (path-style S3
// GETs are plain files there): several servers, one storage, as a cluster's nodes or ports are.
// 1. Throughput: `getMany` of every object (--objects × --size MiB) at --concurrency, through a
//    store with 1, 2 and 3 endpoints; MiB/s and CPU seconds per GiB (medians), ratios to 1.
//    On one host the client's cores bound all three: more endpoints spread the requests, not the
//    CPU (the `ioThreads` fan-out is what adds cores).
// 2. A slow endpoint (nginx limit_rate --slowRate per response) among 3: the same GETs with
//    round-robin and with least-connections, MiB/s and requests per endpoint.
// 3. Failover: 3 endpoints, GETs for --seconds; endpoint 2 is killed at a third of the time and
//    restarted at two thirds. Printed: throughput per 250 ms, every failed item (there must be
//    none), and each endpoint's stats (requests, errors, health) at the end.
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import * as path from 'node:path';

import { loadLibrary, PACKAGE_ROOT } from './lib/load.mjs';
import { startNginx } from './lib/nginx.mjs';
import { GiB, MiB, median, parseArgs, renderTable, sleep } from './lib/util.mjs';

const args = parseArgs(process.argv.slice(2), {
  objects: { type: 'int', default: 256 },
  size: { type: 'int', default: 1 },
  concurrency: { type: 'int', default: 32 },
  runs: { type: 'int', default: 3 },
  seconds: { type: 'int', default: 6 },
  strategy: { type: 'string', default: 'round-robin' },
  slowRate: { type: 'string', default: '4m' },
  out: { type: 'string', default: path.join(PACKAGE_ROOT, 'bench', 'results', 'endpoints.json') },
});
const lib = await loadLibrary();
const size = args.size * MiB;
const bucket = 'bench';
const keys = Array.from({ length: args.objects }, (_, i) => `obj-${String(i).padStart(5, '0')}`);
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench-secret-key' };

const first = await startNginx({ tls: false });
const servers = [first];
const results = { date: new Date().toISOString(), node: process.version, args, throughput: [], failover: {} };
try {
  for (let i = 0; i < 2; i++) servers.push(await startNginx({ root: first.root, tls: false }));
  const dir = first.bucket(bucket);
  const data = Buffer.allocUnsafeSlow(size);
  randomFillSync(data);
  for (const key of keys) writeFileSync(path.join(dir, key), data, { mode: 0o644 });
  const uris = keys.map((key) => `s3://${bucket}/${key}`);
  const storeOver = (count) =>
    lib.storeFor('s3://', {
      endpoints: servers.slice(0, count).map((server) => server.url),
      endpointStrategy: args.strategy,
      region: 'us-east-1',
      credentials,
      rangeThreshold: 0,
      healthCheck: { probeIntervalMs: 100, maxProbeIntervalMs: 500 },
    });

  // ---- 1. throughput over 1, 2, 3 endpoints ----
  const rows = [];
  for (const count of [1, 2, 3]) {
    const store = storeOver(count);
    await store.getMany(uris.slice(0, 64), { concurrency: args.concurrency }); // warm
    const runs = [];
    for (let run = 0; run < args.runs; run++) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      const got = await store.getMany(uris, { concurrency: args.concurrency });
      const seconds = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      const bytes = got.reduce((sum, item) => sum + item.byteLength, 0);
      if (bytes !== uris.length * size) throw new Error(`read ${bytes} bytes, expected ${uris.length * size}`);
      runs.push({ mibps: bytes / MiB / seconds, cpuPerGiB: (used.user + used.system) / 1e6 / (bytes / GiB) });
    }
    const entry = {
      endpoints: count,
      mibps: median(runs.map((r) => r.mibps)),
      cpuPerGiB: median(runs.map((r) => r.cpuPerGiB)),
      perEndpoint: store.stats().endpoints.map((e) => e.requests),
      runs,
    };
    results.throughput.push(entry);
    const base = results.throughput[0];
    rows.push([
      String(count),
      entry.mibps.toFixed(0),
      entry.cpuPerGiB.toFixed(2),
      (entry.mibps / base.mibps).toFixed(2),
      entry.perEndpoint.join(' / '),
    ]);
  }
  console.log(
    `GET ${args.objects} x ${args.size} MiB, ${args.concurrency} in flight, ${args.strategy}, median of ${args.runs}\n` +
      renderTable(['endpoints', 'MiB/s', 'CPU s/GiB', 'x 1 endpoint', 'requests per endpoint'], rows, [0, 1, 2, 3]),
  );

  // ---- 2. one slow endpoint: how each strategy copes ----
  const slow = await startNginx({ root: first.root, tls: false, limitRate: args.slowRate });
  const slowRows = [];
  results.slowEndpoint = { rate: args.slowRate, strategies: [] };
  try {
    for (const strategy of ['round-robin', 'least-connections']) {
      const store = lib.storeFor('s3://', {
        endpoints: [servers[0].url, servers[2].url, slow.url],
        endpointStrategy: strategy,
        region: 'us-east-1',
        credentials,
        rangeThreshold: 0,
      });
      await store.getMany(uris.slice(0, 16), { concurrency: args.concurrency }); // warm
      const start = performance.now();
      await store.getMany(uris, { concurrency: args.concurrency });
      const seconds = (performance.now() - start) / 1000;
      const perEndpoint = store.stats().endpoints.map((e) => e.requests);
      const mibps = (uris.length * size) / MiB / seconds;
      results.slowEndpoint.strategies.push({ strategy, mibps, perEndpoint });
      slowRows.push([strategy, mibps.toFixed(0), perEndpoint.join(' / ')]);
    }
  } finally {
    await slow.stop();
  }
  console.log(
    `\nThe same GETs over 3 endpoints, the third capped at ${args.slowRate}B/s per response:\n` +
      renderTable(['strategy', 'MiB/s', 'requests per endpoint (slow one last)'], slowRows, [1]),
  );

  // ---- 3. one endpoint killed mid-run, then restarted ----
  const store = storeOver(3);
  const bucketMs = 250;
  const timeline = [];
  const failures = [];
  let stop = false;
  let next = 0;
  const started = performance.now();
  const record = (bytes) => {
    const slot = Math.floor((performance.now() - started) / bucketMs);
    timeline[slot] = (timeline[slot] ?? 0) + bytes;
  };
  const events = [];
  const chaos = (async () => {
    const third = (args.seconds * 1000) / 3;
    await sleep(third);
    const killed = servers[1];
    const port = killed.port;
    await killed.stop();
    events.push({ at: performance.now() - started, event: `endpoint 2 (${killed.url}) killed` });
    await sleep(third);
    servers[1] = await startNginx({ root: first.root, port, tls: false });
    events.push({ at: performance.now() - started, event: `endpoint 2 restarted` });
  })();
  await Promise.all(
    Array.from({ length: args.concurrency }, async () => {
      while (!stop) {
        const uri = uris[next++ % uris.length];
        try {
          record((await store.get(uri)).byteLength);
        } catch (error) {
          failures.push(`${uri}: ${error.code} ${error.message}`);
        }
        if (performance.now() - started > args.seconds * 1000) stop = true;
      }
    }),
  );
  await chaos;
  await sleep(300); // a last probe
  const stats = store.stats();
  results.failover = {
    bucketMs,
    // The last slot is cut short by the end of the run: left out.
    mibpsPerBucket: Array.from(timeline.slice(0, -1), (bytes) => Math.round((bytes ?? 0) / MiB / (bucketMs / 1000))),
    events,
    failures,
    endpoints: stats.endpoints,
  };
  console.log(`\nGETs for ${args.seconds} s over 3 endpoints; endpoint 2 killed, then restarted:`);
  for (const { at, event } of events) console.log(`  ${(at / 1000).toFixed(2)} s  ${event}`);
  console.log(
    `  MiB/s per ${bucketMs} ms: ${results.failover.mibpsPerBucket.join(' ')}\n` +
      `  failed items: ${failures.length}${failures.length ? `\n    ${failures.slice(0, 5).join('\n    ')}` : ''}`,
  );
  console.log(
    renderTable(
      ['endpoint', 'requests', 'errors', 'retries', 'health', 'p50 ms', 'p99 ms'],
      stats.endpoints.map((e) => [
        e.endpoint,
        String(e.requests),
        String(e.errors),
        String(e.retries),
        e.health,
        e.latencyMs.p50.toFixed(2),
        e.latencyMs.p99.toFixed(2),
      ]),
      [1, 2, 3, 5, 6],
    ),
  );
} finally {
  for (const server of servers.slice(1)) await server.stop();
  await first.stop();
  mkdirSync(path.dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify(results, null, 2));
  console.log(`\nAll runs: ${args.out}`);
}
