// DataLoader throughput against its baselines, in one run on the same files:
//   1. N × S files (default 5,000 × 128 KiB) on file:// and direct://, cold (caches dropped before
//      every run, when root) and warm:
//        - getMany(uris, { concurrency: C }): one native call reading them all (the target baseline)
//        - get() with C calls in flight: the loader's own reads without the loader (its overhead)
//        - DataLoader (batchSize 32, concurrency C), in order and shuffled
//        - fio randread of the same files (io_uring, iodepth C, bs = S, --opendir)
//      Ratio targets: loader ≥ 0.9 × getMany.
//   2. A consumer slower than storage (it "trains" for 2× the time storage needs per batch): the
//      time it waits on storage should be near zero.
//   3. Peak RSS of a loader epoch (in a fresh process) above a process that read one file, against
//      its bound (prefetch + 1) × batchSize × S plus the consumer's batch, and getMany of all.
// Usage: npm run bench:loader [-- --count 5000 --size 131072 --concurrency 16 --runs 3 --quick]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { FIO_MISSING_MESSAGE, fioVersion, runFio } from './lib/fio.mjs';
import { loadLibrary, PACKAGE_ROOT } from './lib/load.mjs';
import {
  KiB,
  MiB,
  dropCaches,
  fillRandomish,
  fmtNumber,
  isRoot,
  median,
  parseArgs,
  renderTable,
  sleep,
  timeIt,
} from './lib/util.mjs';

const args = parseArgs(process.argv.slice(2), {
  count: { type: 'int', default: 5000 },
  size: { type: 'int', default: 128 * KiB },
  concurrency: { type: 'int', default: 16 },
  batch: { type: 'int', default: 32 },
  runs: { type: 'int', default: 3 },
  dir: { type: 'string', default: path.join(os.tmpdir(), 's3dlio-bench-loader') },
  quick: { type: 'boolean', default: false },
});
if (args.quick) {
  args.count = 1000;
  args.runs = 1;
}
const { count: N, size: S, concurrency: C, batch: B } = args;
const lib = await loadLibrary();
const { DataLoader, Dataset, get, getMany } = lib;
const fio = fioVersion();
if (!fio) console.error(`note: ${FIO_MISSING_MESSAGE}; the fio baseline is skipped`);

// ---- the files ----
const dir = path.join(args.dir, `${N}x${S}`);
mkdirSync(dir, { recursive: true });
const names = Array.from({ length: N }, (_, i) => `item-${String(i).padStart(6, '0')}.bin`);
const present = new Set(readdirSync(dir));
const block = new Uint8Array(S);
let created = 0;
for (const name of names) {
  if (present.has(name) && statSync(path.join(dir, name)).size === S) continue;
  fillRandomish(block);
  writeFileSync(path.join(dir, name), block);
  created++;
}
console.error(`${N} files of ${S} bytes in ${dir} (${created} created)`);
const uris = (scheme) => names.map((name) => `${scheme}://${dir}/${name}`);
const totalBytes = N * S;

// ---- measurements ----
const results = {};
function record(id, label, value) {
  (results[id] ??= { label, values: [] }).values.push(value);
}

/** The loader's own work without the loader: `concurrency` get() calls in flight, bytes dropped. */
async function getPool(list, concurrency) {
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < list.length) {
      const data = await get(list[next++]); // (not `bytes += await …`: that reads `bytes` before the await)
      bytes += data.byteLength;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (bytes !== totalBytes) throw new Error(`get() pool read ${bytes} bytes, expected ${totalBytes}`);
}

async function loaderEpoch(scheme, options, consumerMs = 0) {
  const dataset = await Dataset.fromUris(uris(scheme));
  const loader = new DataLoader(dataset, { batchSize: B, concurrency: C, prefetch: 2, ...options });
  let bytes = 0;
  for await (const batch of loader) {
    for (const item of batch) bytes += item.size;
    if (consumerMs > 0) await sleep(consumerMs);
  }
  if (bytes !== totalBytes) throw new Error(`loader read ${bytes} bytes, expected ${totalBytes}`);
  return loader.stats;
}

const states = isRoot ? ['cold', 'warm'] : ['warm'];
if (!isRoot) console.error('note: not root, so caches cannot be dropped: warm runs only');

for (let run = 0; run < args.runs; run++) {
  for (const state of states) {
    for (const scheme of ['file', 'direct']) {
      const prepare = () => (state === 'cold' ? dropCaches() : undefined);
      const key = `${state}.${scheme}`;
      if (state === 'warm') await getMany(uris(scheme), { concurrency: C }); // warm the cache

      prepare();
      const many = await timeIt(() => getMany(uris(scheme), { concurrency: C }));
      record(`${key}.getMany`, `${scheme}:// getMany({ concurrency: ${C} }) [${state}]`, totalBytes / many.seconds);
      many.value.length = 0;
      globalThis.gc?.();

      prepare();
      const pool = await timeIt(() => getPool(uris(scheme), C));
      record(`${key}.getPool`, `${scheme}:// get() × ${C} in flight [${state}]`, totalBytes / pool.seconds);

      prepare();
      const ordered = await loaderEpoch(scheme, {});
      record(`${key}.loader`, `${scheme}:// DataLoader in order [${state}]`, ordered.bytesPerSecond);

      prepare();
      const shuffled = await loaderEpoch(scheme, { shuffle: true, seed: run });
      record(`${key}.loader.shuffled`, `${scheme}:// DataLoader shuffled [${state}]`, shuffled.bytesPerSecond);

      if (fio) {
        prepare();
        const fioResult = runFio([
          '--name=loader-baseline',
          `--opendir=${dir}`,
          '--rw=randread',
          `--bs=${S}`,
          `--direct=${scheme === 'direct' ? 1 : 0}`,
          '--ioengine=io_uring',
          `--iodepth=${C}`,
          '--invalidate=0',
        ]);
        record(
          `${key}.fio`,
          `fio randread io_uring iodepth=${C} bs=${S} direct=${scheme === 'direct' ? 1 : 0} [${state}]`,
          fioResult.bytesPerSecond,
        );
      }
    }
  }
}

// ---- a consumer slower than storage ----
const warmRate = median(results['warm.file.loader'].values);
const perBatchMs = ((B * S) / warmRate) * 1000 * 2;
const slow = await loaderEpoch('file', {}, perBatchMs);
const consumerSeconds = (perBatchMs * Math.ceil(N / B)) / 1000;

// ---- peak RSS of one epoch, in fresh processes (this one's allocator keeps earlier pages) ----
function peakRss(body) {
  const script = `
    const { Dataset, DataLoader, getMany } = require(${JSON.stringify(path.join(PACKAGE_ROOT, 'dist'))});
    const uris = Array.from({ length: ${N} }, (_, i) => 'direct://' + ${JSON.stringify(dir)} + '/item-' + String(i).padStart(6, '0') + '.bin');
    (async () => { ${body}; console.log(process.resourceUsage().maxRSS * 1024); })();`;
  const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`RSS child failed: ${child.error?.message ?? child.stderr}`);
  return Number(child.stdout.trim());
}
const rssBaseline = peakRss('await getMany(uris.slice(0, 1))');
const rssLoader = peakRss(`
  const loader = new DataLoader(await Dataset.fromUris(uris), { batchSize: ${B}, concurrency: ${C}, prefetch: 2, shuffle: true });
  for await (const batch of loader) await new Promise((r) => setTimeout(r, 2));`);
const rssGetMany = peakRss(`await getMany(uris, { concurrency: ${C} })`);
const rssBound = (2 + 1) * B * S + B * S;

// ---- report ----
const rows = Object.entries(results).map(([id, { label, values }]) => [
  label,
  fmtNumber(median(values) / MiB, 0),
  fmtNumber((median(values) / S) | 0, 0),
  values.length,
  id,
]);
console.log(renderTable(['measurement', 'MiB/s', 'items/s', 'runs', 'id'], rows, [1, 2, 3]));

const ratios = [];
for (const state of states) {
  for (const scheme of ['file', 'direct']) {
    const m = (id) => median(results[`${state}.${scheme}.${id}`]?.values ?? []);
    ratios.push([`${scheme}:// loader / getMany [${state}]`, m('loader') / m('getMany'), 0.9]);
    ratios.push([`${scheme}:// loader / get() pool [${state}]`, m('loader') / m('getPool'), undefined]);
    ratios.push([`${scheme}:// loader shuffled / getMany [${state}]`, m('loader.shuffled') / m('getMany'), 0.9]);
    if (fio)
      ratios.push([
        `${scheme}:// loader shuffled / fio randread [${state}]`,
        m('loader.shuffled') / m('fio'),
        undefined,
      ]);
  }
}
console.log(
  renderTable(
    ['ratio', 'value', 'target'],
    ratios.map(([label, value, target]) => [
      label,
      fmtNumber(value, 2),
      target === undefined ? 'info' : `>= ${target}`,
    ]),
    [1],
  ),
);
console.log(
  `slow consumer (${fmtNumber(perBatchMs, 1)} ms per batch, ${fmtNumber(consumerSeconds, 2)} s of "training"): ` +
    `waited ${fmtNumber(slow.waitMs, 1)} ms on storage over ${fmtNumber(slow.seconds, 2)} s ` +
    `(${fmtNumber((slow.waitMs / 1000 / slow.seconds) * 100, 2)} % of the epoch)`,
);
console.log(
  `peak RSS of a shuffled direct:// epoch, above a process that read one file: ${fmtNumber((rssLoader - rssBaseline) / MiB, 1)} MiB ` +
    `(bound (prefetch + 2) × batch × size = ${fmtNumber(rssBound / MiB, 1)} MiB; getMany of all: ` +
    `${fmtNumber((rssGetMany - rssBaseline) / MiB, 1)} MiB; dataset ${fmtNumber(totalBytes / MiB, 0)} MiB)`,
);

const out = path.join(
  PACKAGE_ROOT,
  'bench',
  'results',
  `loader-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      config: { N, S, C, B, runs: args.runs, fio, node: process.version },
      results,
      ratios: Object.fromEntries(ratios.map(([label, value]) => [label, value])),
      slowConsumer: { perBatchMs, waitMs: slow.waitMs, seconds: slow.seconds },
      rss: { baseline: rssBaseline, loader: rssLoader, getMany: rssGetMany, bound: rssBound },
    },
    null,
    2,
  ),
);
console.error(`results: ${out}`);
