// Data generation benchmark (issue #5): GB/s per core for several (dedup, compress) pairs, filling
// a pre-touched buffer, against memcpy bandwidth (TypedArray.set) measured in the same run.
//
//   npm run bench:datagen -- [--size MiB] [--runs N]
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { MiB, median, parseArgs, renderTable } from './lib/util.mjs';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { fillRandom } = require(path.join(root, 'dist', 'index.js'));
const args = parseArgs(process.argv.slice(2), {
  size: { type: 'int', default: 256 },
  runs: { type: 'int', default: 5 },
});

const size = args.size * MiB;
const target = new Uint8Array(size).fill(1); // touched once: page faults are not what we measure
const source = new Uint8Array(size).fill(2);
const gbps = (seconds) => size / 1e9 / seconds;

async function measure(fn) {
  const samples = [];
  for (let run = 0; run < args.runs; run++) {
    const started = performance.now();
    await fn();
    samples.push(gbps((performance.now() - started) / 1000));
  }
  return median(samples);
}

const memcpy = await measure(async () => target.set(source));
const rows = [];
const results = { sizeMiB: args.size, runs: args.runs, memcpyGBps: memcpy, generate: [] };
for (const [dedup, compress] of [
  [1, 1],
  [4, 1],
  [1, 3],
  [4, 3],
]) {
  for (const threads of [1, availableParallelism()]) {
    const rate = await measure(() => fillRandom(target, { dedup, compress, threads, seed: 1 }));
    const perCore = rate / threads;
    results.generate.push({
      dedup,
      compress,
      threads,
      GBps: rate,
      perCoreGBps: perCore,
      ratioToMemcpy: perCore / memcpy,
    });
    rows.push([
      String(dedup),
      String(compress),
      String(threads),
      rate.toFixed(2),
      perCore.toFixed(2),
      (perCore / memcpy).toFixed(2),
    ]);
  }
}
console.log(
  `fillRandom into a ${args.size} MiB buffer (median of ${args.runs}); memcpy (TypedArray.set, 1 core): ${memcpy.toFixed(2)} GB/s`,
);
console.log(
  renderTable(['dedup', 'compress', 'threads', 'GB/s', 'GB/s per core', 'per core / memcpy'], rows, [0, 1, 2, 3, 4, 5]),
);
console.log('target: >= 5 GB/s per core for incompressible data (dedup 1, compress 1)');
console.log(JSON.stringify(results));
