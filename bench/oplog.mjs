// The cost of recording an op-log, and of the always-on request counters of stats():
//   10,000 × 4 KiB file:// gets (one store.get per object, 16 in flight, warm page cache), without
//   a log, with a zstd log (.tsv.zst) and with a plain one (.tsv); runs interleaved, repeated,
//   medians; the overhead is log / no log − 1 (target < 5 %). Each measurement runs in a fresh
//   process (the median of 5 passes after 4 warm-up passes, 2 of them with the log).
// Usage: npm run bench:oplog [-- --objects 10000 --size 4096 --inflight 16 --runs 9 --dir /var/tmp/...]
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadLibrary, PACKAGE_ROOT } from './lib/load.mjs';
import { fmtNumber, median, parseArgs, renderTable } from './lib/util.mjs';

const args = parseArgs(process.argv.slice(2), {
  objects: { type: 'int', default: 10_000 },
  size: { type: 'int', default: 4096 },
  inflight: { type: 'int', default: 16 },
  runs: { type: 'int', default: 9 },
  dir: { type: 'string', default: path.join(os.tmpdir() === '/tmp' ? '/var/tmp' : os.tmpdir(), 's3dlio-bench-oplog') },
});
await loadLibrary(); // builds or checks the addon and dist/

rmSync(args.dir, { recursive: true, force: true });
mkdirSync(path.join(args.dir, 'data'), { recursive: true });
const payload = Buffer.alloc(args.size, 7);
const uris = [];
for (let i = 0; i < args.objects; i++) {
  const file = path.join(args.dir, 'data', `obj-${i}.bin`);
  writeFileSync(file, payload);
  uris.push(`file://${file}`);
}

// Each measurement is a process of its own (a log's thread and its memory do not slow the runs
// that follow), and processes of the three variants take turns.
const variants = { 'no log': '', 'zstd log (.tsv.zst)': 'run.tsv.zst', 'plain log (.tsv)': 'run.tsv' };
const child = (logName) => {
  const script = `
    const lib = require(${JSON.stringify(path.join(PACKAGE_ROOT, 'dist', 'index.js'))});
    const uris = Array.from({ length: ${args.objects} }, (_, i) => 'file://' + ${JSON.stringify(path.join(args.dir, 'data'))} + '/obj-' + i + '.bin');
    const store = lib.storeFor('file:///');
    async function readAll() {
      let next = 0;
      const worker = async () => { while (next < uris.length) await store.get(uris[next++]); };
      await Promise.all(Array.from({ length: ${args.inflight} }, worker));
    }
    (async () => {
      await readAll(); await readAll(); // warm the page cache and the code
      if (${JSON.stringify(logName)}) await lib.startOpLog(${JSON.stringify(path.join(args.dir, logName || 'x'))});
      await readAll(); await readAll(); // and the code of the log
      const times = [];
      for (let i = 0; i < 5; i++) { const t = performance.now(); await readAll(); times.push(performance.now() - t); }
      if (${JSON.stringify(logName)}) await lib.stopOpLog();
      times.sort((a, b) => a - b);
      console.log(times[2] / 1000);
    })();`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0)
    throw new Error(`a measuring process failed (${result.status ?? result.signal ?? result.error}): ${result.stderr}`);
  return Number(result.stdout.trim().split('\n').pop());
};
const times = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
for (let run = 0; run < args.runs; run++) {
  const order = Object.keys(variants);
  if (run % 2 === 1) order.reverse();
  for (const name of order) times[name].push(child(variants[name]));
}
const base = median(times['no log']);
const rows = Object.entries(times).map(([name, values]) => [
  name,
  fmtNumber(median(values) * 1000, 1),
  fmtNumber(args.objects / median(values), 0),
  name === 'no log' ? '' : `${fmtNumber((median(values) / base - 1) * 100, 1)} %`,
]);
console.log(
  `${args.objects} × ${args.size} B file:// gets, ${args.inflight} in flight, ${args.runs} interleaved runs, medians:`,
);
console.log(renderTable(['', 'ms', 'gets/s', 'overhead'], rows, [1, 2, 3]));
// The always-on per-op counters of stats(): their cost per request, next to the time of one get.
const { OpCounters } = await import(path.join(PACKAGE_ROOT, 'dist', 'backends', 'op-counters.js'));
const counters = new OpCounters();
const bytes = new Uint8Array(args.size);
const request = () => Promise.resolve(bytes);
const perRequestNs = async (fn) => {
  const n = 500_000;
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - start) * 1e6) / n;
};
const statsNs = [];
for (let i = 0; i < 5; i++)
  statsNs.push((await perRequestNs(() => counters.track('GET', request, 0))) - (await perRequestNs(request)));
const getNs = (base * 1e9) / args.objects;
console.log(
  `stats() counters: ${fmtNumber(median(statsNs), 0)} ns per request, ${fmtNumber((median(statsNs) / getNs) * 100, 2)} % of one get here (${fmtNumber(getNs / 1000, 1)} µs at ${args.inflight} in flight)`,
);
const out = path.join(PACKAGE_ROOT, 'bench', 'results', `oplog-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify({ config: { ...args, node: process.version }, times, statsNs }, null, 2));
console.error(`results: ${out}`);
rmSync(args.dir, { recursive: true, force: true });
