// I/O threads (`ioThreads`): how GET throughput and CPU scale when worker threads move the bytes,
// with the client and the server pinned to known cores, in one run.
//
//   npm run bench:threads -- [--objects 512] [--size 1] [--large 4] [--largeSize 256]
//                            [--concurrency 32] [--runs 3] [--out FILE]
//
// The server is nginx on loopback (kernel-speed sendfile from /dev/shm; path-style S3 GETs are
// plain files), pinned to CPU 1 with taskset. Each client is a process of its own, pinned too:
//   - "1 core": the client on CPU 0 alone (the server on CPU 1): what the threads cost when they
//     add no core (the main thread and the threads share one);
//   - "2 cores": the client on CPUs 0-1, sharing CPU 1 with the server.
// Workloads: `getMany` of --objects × --size MiB at --concurrency (request-heavy); `get` of
// --large × --largeSize MiB objects through the RangeEngine, 8 MiB ranges (byte-heavy, each get
// into fresh memory: page faults included); the same objects with `getInto` one shared buffer
// allocated once (the transport alone).
// Printed per case: MiB/s (median of --runs), CPU seconds per GiB of the whole client and of its
// main thread alone, the ratio to ioThreads 0 in the same placement, and the client's peak RSS
// over its measured runs (above its RSS before them).
import { execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { PACKAGE_ROOT } from './lib/load.mjs';
import { startNginx } from './lib/nginx.mjs';
import { GiB, MiB, median, parseArgs, renderTable } from './lib/util.mjs';

const args = parseArgs(process.argv.slice(2), {
  objects: { type: 'int', default: 512 },
  size: { type: 'int', default: 1 },
  large: { type: 'int', default: 4 },
  largeSize: { type: 'int', default: 256 },
  concurrency: { type: 'int', default: 32 },
  runs: { type: 'int', default: 3 },
  out: { type: 'string', default: path.join(PACKAGE_ROOT, 'bench', 'results', 'threads.json') },
});
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lib', 'threads-child.mjs');
const SERVER_CPU = '1';
const placements = [
  { name: '1 core', cpus: '0', threads: [0, 1, 2] },
  { name: '2 cores', cpus: '0-1', threads: [0, 1, 2, 3] },
];

function write(dir, prefix, count, bytes) {
  const data = Buffer.allocUnsafeSlow(bytes);
  randomFillSync(data);
  const keys = Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
  for (const key of keys) writeFileSync(path.join(dir, key), data, { mode: 0o644 });
  return keys.map((key) => `s3://bench/${key}`);
}

const server = await startNginx({ tls: false, cpus: SERVER_CPU });
const results = { date: new Date().toISOString(), node: process.version, args, serverCpu: SERVER_CPU, cases: [] };
try {
  const dir = server.bucket('bench');
  const workloads = [
    {
      name: `getMany ${args.objects} x ${args.size} MiB, ${args.concurrency} in flight`,
      uris: write(dir, 'small', args.objects, args.size * MiB),
      size: args.size * MiB,
    },
    {
      name: `get ${args.large} x ${args.largeSize} MiB, 8 MiB ranges, ${args.concurrency} in flight`,
      uris: write(dir, 'large', args.large, args.largeSize * MiB),
      size: args.largeSize * MiB,
      chunkSize: 8 * MiB,
    },
    {
      name: `getInto one reused SharedArrayBuffer, ${args.large} x ${args.largeSize} MiB, 8 MiB ranges, ${args.concurrency} in flight`,
      uris: null, // the large objects again
      size: args.largeSize * MiB,
      chunkSize: 8 * MiB,
      into: true,
    },
  ];
  workloads[2].uris = workloads[1].uris;
  for (const workload of workloads) {
    const rows = [];
    for (const placement of placements) {
      let base;
      for (const ioThreads of placement.threads) {
        const spec = {
          endpoint: server.url,
          ioThreads,
          uris: workload.uris,
          size: workload.size,
          concurrency: args.concurrency,
          runs: args.runs,
          chunkSize: workload.chunkSize,
          into: workload.into,
        };
        const output = execFileSync('taskset', ['-c', placement.cpus, process.execPath, child, JSON.stringify(spec)], {
          encoding: 'utf8',
          maxBuffer: 16 * MiB,
        });
        const { runs, copiedBytes, peakRss } = JSON.parse(output.trim().split('\n').pop());
        const gib = (run) => run.bytes / GiB;
        const entry = {
          workload: workload.name,
          placement: placement.name,
          clientCpus: placement.cpus,
          ioThreads,
          mibps: median(runs.map((run) => run.bytes / MiB / run.seconds)),
          cpuPerGiB: median(runs.map((run) => run.cpu / gib(run))),
          mainCpuPerGiB: median(runs.map((run) => run.mainCpu / gib(run))),
          copiedBytes,
          peakRss,
          runs,
        };
        base ??= entry;
        results.cases.push(entry);
        rows.push([
          placement.name,
          String(ioThreads),
          entry.mibps.toFixed(0),
          (entry.mibps / base.mibps).toFixed(2),
          entry.cpuPerGiB.toFixed(2),
          entry.mainCpuPerGiB.toFixed(2),
          (peakRss / MiB).toFixed(0),
        ]);
      }
    }
    console.log(
      `\n${workload.name} (server: nginx on CPU ${SERVER_CPU}; median of ${args.runs})\n` +
        renderTable(
          ['client cores', 'ioThreads', 'MiB/s', 'x ioThreads 0', 'CPU s/GiB', 'main thread CPU s/GiB', 'peak RSS MiB'],
          rows,
          [1, 2, 3, 4, 5, 6],
        ),
    );
  }
} finally {
  await server.stop();
}
mkdirSync(path.dirname(args.out), { recursive: true });
writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten: ${path.relative(process.cwd(), args.out)}`);
