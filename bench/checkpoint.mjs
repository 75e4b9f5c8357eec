// CheckpointStore save and load against the plain calls, in one run on the same disk:
//   save: 4 ranks (in this process) each save a 256 MiB shard with CheckpointStore (manifest,
//         shards, receipts, finalize, latest; fsync everywhere), against 4 concurrent
//         put(uri, shard) with a store made with { fsync: true };
//   load: loadLatest + readShard of the 4 shards (size and CRC32C checked), against 4 concurrent
//         get() of the same files.
// On file:// and direct://, runs interleaved (baseline, checkpoint, baseline, …) and repeated;
// medians, and ratios checkpoint / baseline (target ≥ 0.9 for both). Cold reads (caches dropped
// before each load) when root; warm otherwise, and said so.
// Usage: npm run bench:checkpoint [-- --shards 4 --size 268435456 --runs 5 --dir /var/tmp/...]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadLibrary, PACKAGE_ROOT } from './lib/load.mjs';
import { MiB, dropCaches, fmtNumber, fmtSize, isRoot, median, parseArgs, renderTable, timeIt } from './lib/util.mjs';

const args = parseArgs(process.argv.slice(2), {
  shards: { type: 'int', default: 4 },
  size: { type: 'int', default: 256 * MiB },
  runs: { type: 'int', default: 5 },
  dir: { type: 'string', default: path.join(os.tmpdir() === '/tmp' ? '/var/tmp' : os.tmpdir(), 's3dlio-bench-ckpt') },
  quick: { type: 'boolean', default: false },
});
if (args.quick) {
  args.size = 32 * MiB;
  args.runs = 2;
}
const { shards: R, size: S } = args;
const lib = await loadLibrary();
const { CheckpointStore, storeFor, generateData } = lib;

// The shards: incompressible bytes in addon memory, as a training job's tensors would be handed over.
const data = await Promise.all(Array.from({ length: R }, (_, rank) => generateData(S, { seed: rank + 1 })));
const cold = isRoot && dropCaches();
if (!cold) console.error('note: not root, so the page cache cannot be dropped: loads are warm reads');

const results = {};
const record = (id, label, value) => (results[id] ??= { label, values: [] }).values.push(value);

let serial = 0;
for (const scheme of ['file', 'direct']) {
  const root = path.join(args.dir, scheme);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const baseUri = (what) => `${scheme}://${root}/${what}-${++serial}/`;
  const plain = storeFor(`${scheme}:///`, { fsync: true });

  for (let run = 0; run < args.runs; run++) {
    // Save: plain puts, then the checkpoint (the order alternates between runs).
    const savePut = async () => {
      const base = baseUri('put');
      const { seconds } = await timeIt(() =>
        Promise.all(data.map((bytes, rank) => plain.put(`${base}rank-${rank}.bin`, bytes))),
      );
      return { seconds, base };
    };
    const saveCheckpoint = async () => {
      const base = baseUri('ckpt');
      const ranks = data.map((_, rank) => new CheckpointStore(base, { rank, worldSize: R, pollIntervalMs: 5 }));
      const { seconds } = await timeIt(() => Promise.all(ranks.map((store, rank) => store.save(1, data[rank]))));
      return { seconds, base };
    };
    const [first, second] = run % 2 === 0 ? [savePut, saveCheckpoint] : [saveCheckpoint, savePut];
    const a = await first();
    const b = await second();
    const put = first === savePut ? a : b;
    const ckpt = first === savePut ? b : a;
    record(`${scheme}-save-put`, `${scheme}:// put ×${R} (fsync)`, put.seconds);
    record(`${scheme}-save-ckpt`, `${scheme}:// CheckpointStore.save ×${R}`, ckpt.seconds);

    // Load: the same files, plain get and the checkpoint's readShard.
    const loadGet = async () => {
      if (cold) dropCaches();
      const { seconds } = await timeIt(() =>
        Promise.all(data.map((_, rank) => plain.get(`${put.base}rank-${rank}.bin`))),
      );
      return seconds;
    };
    const loadCheckpoint = async () => {
      if (cold) dropCaches();
      const { seconds } = await timeIt(async () => {
        const loaded = await new CheckpointStore(ckpt.base, { worldSize: R }).loadLatest();
        return Promise.all(data.map((_, rank) => loaded.readShard(rank)));
      });
      return seconds;
    };
    const order = run % 2 === 0 ? [loadGet, loadCheckpoint] : [loadCheckpoint, loadGet];
    const times = new Map();
    for (const fn of order) times.set(fn, await fn());
    record(`${scheme}-load-get`, `${scheme}:// get ×${R}`, times.get(loadGet));
    record(`${scheme}-load-ckpt`, `${scheme}:// loadLatest + readShard ×${R}`, times.get(loadCheckpoint));
    rmSync(path.join(root), { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
  }
  rmSync(root, { recursive: true, force: true });
}

const total = R * S;
const rows = Object.values(results).map(({ label, values }) => [
  label,
  fmtNumber(median(values), 3),
  fmtNumber(total / median(values) / MiB, 0),
  values.map((v) => fmtNumber(v, 3)).join(' '),
]);
console.log(`${R} shards × ${fmtSize(S)}, ${args.runs} interleaved runs, ${cold ? 'cold' : 'warm'} loads, medians:`);
console.log(renderTable(['', 'seconds', 'MiB/s', 'runs'], rows, [1, 2]));
const ratio = (a, b) => median(results[b].values) / median(results[a].values);
const ratios = [];
for (const scheme of ['file', 'direct']) {
  ratios.push([`${scheme}:// save: checkpoint / put (fsync)`, ratio(`${scheme}-save-ckpt`, `${scheme}-save-put`)]);
  ratios.push([`${scheme}:// load: checkpoint / get`, ratio(`${scheme}-load-ckpt`, `${scheme}-load-get`)]);
}
console.log(
  renderTable(
    ['throughput ratio', 'value', 'target'],
    ratios.map(([label, value]) => [label, fmtNumber(value, 2), '>= 0.9']),
    [1],
  ),
);
const out = path.join(
  PACKAGE_ROOT,
  'bench',
  'results',
  `checkpoint-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    { config: { R, S, runs: args.runs, cold, node: process.version }, results, ratios: Object.fromEntries(ratios) },
    null,
    2,
  ),
);
console.error(`results: ${out}`);
