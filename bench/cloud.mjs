// Cloud benchmark (issue #4): RangeEngine vs one plain GET of the same object on each cloud test
// server, without and with injected latency (fault proxy, every request delayed), and the
// streaming writer vs @aws-sdk/lib-storage Upload on the same S3 server (throughput and peak RSS,
// each in a fresh child process). Ratios are against baselines measured in the same run.
//
//   npm run bench:cloud -- [--size MiB] [--runs N] [--latency ms] [--stream MiB/s] [--upload MiB]
//
// The servers are the test suite's (moto, Azurite, the in-memory GCS server): loopback, written
// in Python or JS, ~100 MB/s. Absolute numbers say little; the ratios show what the engine and
// the writer change at equal server speed.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { MiB, median, parseArgs, renderTable } from './lib/util.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = parseArgs(process.argv.slice(2), {
  size: { type: 'int', default: 128 },
  runs: { type: 'int', default: 3 },
  latency: { type: 'int', default: 20, min: 0 },
  upload: { type: 'int', default: 256 },
  stream: { type: 'int', default: 25 },
});

const s3dlio = require(path.join(root, 'dist', 'index.js'));
const { startMoto } = require(path.join(root, 'test', 'servers', 'moto.ts'));
const { startAzurite, azuriteConnectionString } = require(path.join(root, 'test', 'servers', 'azurite.ts'));
const { startGcsServer } = require(path.join(root, 'test', 'servers', 'gcs-server.ts'));
const { startFaultProxy } = require(path.join(root, 'test', 'servers', 'fault-proxy.ts'));

const size = args.size * MiB;
const data = new Uint8Array(size);
for (let i = 0; i < size; i += 4096) data[i] = (i >>> 12) & 0xff;

const servers = [];
const rows = [];
const results = { size, runs: args.runs, latencyMs: args.latency, get: [], upload: [] };
try {
  const [moto, azurite, gcs] = await Promise.all([startMoto(), startAzurite(), startGcsServer()]);
  servers.push(moto, azurite, gcs);
  const backends = [
    {
      name: 's3 (moto)',
      uri: 's3://bench-bucket/obj.bin',
      options: (endpoint) => ({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      }),
      target: moto.url,
    },
    {
      name: 'az (Azurite)',
      uri: 'az://devstoreaccount1/bench-container/obj.bin',
      options: (endpoint) => ({ connectionString: azuriteConnectionString(endpoint) }),
      target: azurite.url,
    },
    {
      name: 'gs (test server)',
      uri: 'gs://bench-bucket/obj.bin',
      options: (endpoint) => ({ endpoint, projectId: 'bench' }),
      target: gcs.url,
    },
  ];
  for (const backend of backends) {
    const direct = s3dlio.storeFor(backend.uri, backend.options(backend.target));
    await direct.createBucket(backend.uri.slice(0, backend.uri.lastIndexOf('/') + 1));
    await direct.put(backend.uri, data);
    const proxy = await startFaultProxy({ target: backend.target });
    servers.push(proxy);
    // Conditions: the bare server; a latency per request; and a per-connection bandwidth limit,
    // the regime of real object stores (one stream tops out far below the network).
    const conditions = [
      { label: 'none', rules: [] },
      { label: `${args.latency} ms/request`, rules: [{ action: { type: 'delay', ms: args.latency } }] },
      {
        label: `${args.stream} MiB/s/stream`,
        rules: [{ method: 'GET', action: { type: 'throttle', bytesPerSecond: args.stream * MiB } }],
      },
    ];
    for (const { label: latency, rules } of conditions) {
      proxy.setRules(rules);
      const store = s3dlio.storeFor(backend.uri, backend.options(proxy.url));
      const timings = { single: [], engine: [] };
      for (let run = 0; run < args.runs; run++) {
        for (const mode of ['single', 'engine']) {
          const started = performance.now();
          const bytes = await store.get(backend.uri, mode === 'single' ? { rangeThreshold: 0 } : {});
          const seconds = (performance.now() - started) / 1000;
          if (bytes.byteLength !== size) throw new Error(`${backend.name}: got ${bytes.byteLength} bytes`);
          timings[mode].push(size / MiB / seconds);
          process.stderr.write(
            `[bench] ${backend.name} ${latency} ${mode}: ${(size / MiB / seconds).toFixed(0)} MiB/s\n`,
          );
        }
      }
      const single = median(timings.single);
      const engine = median(timings.engine);
      results.get.push({
        backend: backend.name,
        condition: latency,
        singleMiBs: single,
        engineMiBs: engine,
        ratio: engine / single,
      });
      rows.push([backend.name, latency, single.toFixed(0), engine.toFixed(0), (engine / single).toFixed(2)]);
    }
  }
  console.log(
    `\nRangeEngine get vs one plain GET of a ${args.size} MiB object (median of ${args.runs}; defaults: threshold 32 MiB, 4 MiB ranges, up to 32 in flight)`,
  );
  console.log(renderTable(['backend', 'injected', 'single GET MiB/s', 'RangeEngine MiB/s', 'ratio'], rows, [2, 3, 4]));

  // Writer vs lib-storage Upload: fresh child processes, VmHWM for peak RSS.
  const uploadRows = [];
  for (const tool of ['s3dlio createWriter', '@aws-sdk/lib-storage Upload']) {
    const samples = [];
    for (let run = 0; run < args.runs; run++) {
      const child = spawnSync(
        process.execPath,
        ['-r', path.join(root, 'test/helpers/register-ts.js'), path.join(root, 'bench/lib/upload-child.cjs')],
        {
          env: {
            ...process.env,
            BENCH_TOOL: tool,
            BENCH_ENDPOINT: moto.url,
            BENCH_MIB: String(args.upload),
            BENCH_ROOT: root,
          },
          encoding: 'utf8',
        },
      );
      if (child.status !== 0) throw new Error(`${tool} child failed: ${child.stderr}`);
      samples.push(JSON.parse(child.stdout.trim().split('\n').at(-1)));
      process.stderr.write(
        `[bench] upload ${tool}: ${samples.at(-1).mibPerSecond.toFixed(0)} MiB/s, peak RSS +${samples.at(-1).peakRssDeltaMiB.toFixed(0)} MiB\n`,
      );
    }
    const throughput = median(samples.map((sample) => sample.mibPerSecond));
    const rss = median(samples.map((sample) => sample.peakRssDeltaMiB));
    results.upload.push({ tool, mibPerSecond: throughput, peakRssDeltaMiB: rss });
    uploadRows.push([tool, throughput.toFixed(0), rss.toFixed(0)]);
  }
  const [ours, theirs] = results.upload;
  console.log(
    `\nStreaming upload of ${args.upload} MiB to moto, 16 MiB parts, 4 in flight (median of ${args.runs}; peak RSS above the process baseline)`,
  );
  console.log(renderTable(['tool', 'MiB/s', 'peak RSS delta MiB'], uploadRows, [1, 2]));
  console.log(
    `writer / lib-storage: throughput ${(ours.mibPerSecond / theirs.mibPerSecond).toFixed(2)}, peak RSS ${(ours.peakRssDeltaMiB / theirs.peakRssDeltaMiB).toFixed(2)}`,
  );
  console.log(`\n${JSON.stringify(results)}`);
} finally {
  await Promise.allSettled(servers.map((server) => server.stop()));
}
