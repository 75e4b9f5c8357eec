#!/usr/bin/env node
// Local-storage benchmark of s3dlio against baselines measured in the same run on the same files.
//
//   node bench/local.mjs [--dir /path] [--runs 3] [--quick] [--concurrency 16] [--sweep]
//   (npm run bench:local -- [options])
//
// Sections (sizes for a full run; --quick shrinks them for a smoke test):
//   1. direct:// get() of a 1 GiB file vs fio O_DIRECT sequential read at the same block size
//      (the store's chunkSize, 16 MiB, psync, iodepth 1), plus a "best fio" row (io_uring,
//      iodepth 16, bs 4 MiB).
//   2. direct:// put() of 1 GiB, from a JS Uint8Array (bounce-buffer copy) and from
//      allocAligned() memory (no copy), vs fio O_DIRECT sequential write at the same block size.
//      Neither syncs by default (fio end_fsync=0, store fsync=false); the fsync rows pair the
//      store's { fsync: true } (fdatasync + directory fsync) with fio end_fsync=1.
//   3. 5,000 × 128 KiB files: file:// getMany({ concurrency: C }) vs a pool of C
//      fs.promises.readFile workers, vs one-at-a-time readFile, vs fio (O_DIRECT, io_uring,
//      iodepth 16, bs 128k, --opendir over the same files), cold (caches dropped before every
//      run, when root) and warm; direct:// getMany of the same files too. The readFile loops keep
//      every file's bytes, as getMany returns them all.
//   Each measurement also shows the requests the block device completed during it (count × mean
//   size, from /sys/dev/block/*/stat): on this kind of VM the request size follows how
//   physically contiguous the user buffer is, and explains much of the spread.
//   4. Peak RSS of one get() of a 512 MiB object, each in a fresh child process.
// Every number is the median of --runs runs; variants of a section alternate within each run
// ("rounds"), so slow drift of the shared disk hits every variant alike.
// Results: a table on stdout (progress on stderr) and JSON in bench/results/local-<timestamp>.json.
// All benchmark files live in a fresh directory that is removed at the end, also on failure.
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { FIO_MISSING_MESSAGE, fioVersion, runFio } from './lib/fio.mjs';
import { PACKAGE_ROOT, loadLibrary } from './lib/load.mjs';
import {
  GiB,
  KiB,
  MiB,
  dropCaches,
  fillRandomish,
  fmtNumber,
  fmtSize,
  gc,
  isRoot,
  median,
  parseArgs,
  renderTable,
  sync,
  timeIt,
  blockDelta,
  blockDeviceStats,
} from './lib/util.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(HERE, 'lib', 'child.mjs');

const options = parseArgs(process.argv.slice(2), {
  dir: { type: 'string', default: undefined },
  runs: { type: 'int', default: undefined },
  quick: { type: 'boolean', default: false },
  concurrency: { type: 'int', default: 16 },
  sweep: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
});
if (options.help) {
  console.log('usage: node bench/local.mjs [--dir DIR] [--runs N] [--quick] [--concurrency C] [--sweep]');
  process.exit(0);
}

const quick = options.quick;
const CONFIG = {
  runs: options.runs ?? (quick ? 1 : 3),
  bigSize: quick ? 256 * MiB : 1 * GiB,
  chunkSize: 16 * MiB,
  smallCount: quick ? 1000 : 5000,
  smallSize: 128 * KiB,
  rssSize: quick ? 128 * MiB : 512 * MiB,
  concurrency: options.concurrency,
  sweep: options.sweep,
};
const TARGETS = { directVsFio: 0.95, getManyVsNaive: 2, rssPerObject: 1.2 };

const log = (...args) => console.error('[bench]', ...args);

// ---------------------------------------------------------------------------------------------
// Bookkeeping: every measurement is a row of samples; ratios are computed from row medians.

const rows = new Map();
let canDropCaches = isRoot;
let blockDevice; // /sys/block counters of the device under the work directory, when there is one

/** "requests × avg KiB" of a row's runs (median of each), from the block-device counters. */
function ioSummary(r) {
  if (r.skipped || r.io.length === 0) return '';
  const ios = median(r.io.map((d) => d.ios));
  const kib = median(r.io.map((d) => d.avgKiB));
  return `${fmtNumber(ios)} × ${fmtNumber(kib)} KiB`;
}

function row(id, fields) {
  if (!rows.has(id)) rows.set(id, { id, samples: [], seconds: [], io: [], skipped: undefined, ...fields });
  return rows.get(id);
}

function rowMedian(id) {
  const r = rows.get(id);
  return r && !r.skipped ? median(r.samples) : NaN;
}

/**
 * Runs `variants` for `runs` rounds, one run of each per round, dropping caches before each run
 * when `cold`. A variant: { id, label, cache?, skip?, before?(), run() -> {seconds, bytes}, after?() }.
 */
async function rounds(section, variants, runs, { cold }) {
  for (const v of variants) {
    const cache = v.cache ?? (cold ? (canDropCaches ? 'cold' : 'warm cache (not root)') : 'warm');
    const r = row(v.id, { section, label: v.label, cache, command: v.command });
    if (v.skip) r.skipped = v.skip;
  }
  for (let round = 1; round <= runs; round++) {
    for (const v of variants) {
      if (v.skip) continue;
      await v.before?.();
      if (cold && canDropCaches && !dropCaches()) {
        canDropCaches = false;
        log('could not drop caches: later "cold" runs are warm-cache runs');
      }
      const ioBefore = blockDevice?.read();
      const { seconds, bytes } = await v.run();
      const io = blockDelta(ioBefore, blockDevice?.read());
      await v.after?.();
      gc();
      const r = rows.get(v.id);
      r.samples.push(bytes / MiB / seconds);
      r.seconds.push(seconds);
      r.bytes = bytes;
      if (io) r.io.push(io);
      log(`${section} round ${round}/${runs}: ${v.label} [${r.cache}] ${fmtNumber(bytes / MiB / seconds)} MiB/s`);
    }
  }
}

const ratios = [];
function ratio(label, numerator, denominator, target, note) {
  ratios.push({ label, numerator, denominator, target, note });
}

// ---------------------------------------------------------------------------------------------

let workDir;
function cleanup() {
  if (!workDir) return;
  try {
    rmSync(workDir, { recursive: true, force: true });
    log(`removed ${workDir}`);
  } catch (error) {
    console.error(`[bench] could not remove ${workDir}: ${error.message}`);
  }
  workDir = undefined;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanup();
    process.exit(128 + (os.constants.signals[signal] ?? 1));
  });
}

/** Kernel settings that shape these numbers (request size limits, THP, free-page reporting). */
function machineFacts(device) {
  const read = (file) => {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const queue = (name) => (device ? read(`/sys/block/${device}/queue/${name}`) : undefined);
  const facts = {
    device,
    maxSectorsKb: queue('max_sectors_kb'),
    maxSegments: queue('max_segments'),
    scheduler: queue('scheduler'),
    rotational: queue('rotational'),
    transparentHugepage: read('/sys/kernel/mm/transparent_hugepage/enabled'),
    pageReportingOrder: /page_reporting\.page_reporting_order=(\d+)/.exec(read('/proc/cmdline') ?? '')?.[1] ?? null,
  };
  const parts = [];
  if (device)
    parts.push(
      `device ${device}: max request ${facts.maxSectorsKb} KiB, max ${facts.maxSegments} segments, scheduler ${facts.scheduler}`,
    );
  if (facts.transparentHugepage) parts.push(`THP ${facts.transparentHugepage}`);
  if (facts.pageReportingOrder)
    parts.push(`free-page reporting to the host (order ${facts.pageReportingOrder}): fresh memory can fault slowly`);
  return { facts, summary: parts.join('; ') };
}

function runChild(args, env = {}) {
  const result = spawnSync(process.execPath, [CHILD, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 16 * MiB,
  });
  if (result.status !== 0) throw new Error(`child ${args.join(' ')} failed: ${result.stderr || result.error}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

function writeDataFile(file, bytes) {
  const fd = openSync(file, 'w');
  try {
    for (let offset = 0; offset < bytes.length; offset += 64 * MiB) {
      const view = bytes.subarray(offset, Math.min(bytes.length, offset + 64 * MiB));
      let done = 0;
      while (done < view.length) done += writeSync(fd, view, done, view.length - done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** mkdir -p without { recursive: true }, which can spin forever on pseudo-filesystems (/proc). */
function makeDirectories(dir) {
  const missing = [];
  for (let current = dir; !existsSync(current); current = path.dirname(current)) missing.unshift(current);
  for (const each of missing) mkdirSync(each);
}

function unlinkQuiet(file) {
  try {
    unlinkSync(file);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
}

/**
 * A pool of `concurrency` workers, each reading the next file with fs.promises.readFile. Like
 * getMany, it returns every file's bytes (all held at once): dropping each buffer right away
 * would let the allocator recycle one buffer's pages for the next, which getMany cannot do.
 */
async function readFilePool(paths, concurrency) {
  const results = new Array(paths.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < paths.length) {
        const index = next++;
        results[index] = await fsp.readFile(paths[index]);
      }
    }),
  );
  return results;
}

const totalLength = (buffers) => buffers.reduce((sum, b) => sum + b.length, 0);

async function main() {
  const started = new Date();
  const s3 = await loadLibrary({ log });
  const fio = fioVersion();
  if (!fio) console.log(FIO_MISSING_MESSAGE);
  const noFio = fio ? undefined : 'fio not installed';

  const base = options.dir ? path.resolve(options.dir) : os.tmpdir();
  makeDirectories(base);
  workDir = mkdtempSync(path.join(base, 's3dlio-bench-'));
  const fsType =
    spawnSync('findmnt', ['-no', 'FSTYPE', '-T', workDir], { encoding: 'utf8' }).stdout?.trim() ||
    spawnSync('stat', ['-f', '-c', '%T', workDir], { encoding: 'utf8' }).stdout?.trim() ||
    'unknown filesystem';
  const dio = await s3.directIoInfo(`direct://${workDir}`);
  if (!dio.supported) {
    throw new Error(
      `O_DIRECT does not work in ${workDir} (${fsType}): ${dio.reason}. Use --dir on a disk filesystem (ext4, xfs).`,
    );
  }
  const threadpool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  blockDevice = blockDeviceStats(workDir);
  const machine = machineFacts(blockDevice?.name);
  log(
    `dir ${workDir} (${fsType}), runs ${CONFIG.runs}, ${quick ? 'quick' : 'full'}, ${fio ?? 'no fio'}, ` +
      `${isRoot ? 'root: cold runs drop caches' : 'not root: all runs are warm-cache'}`,
  );

  const C = CONFIG.concurrency;
  const chunk = CONFIG.chunkSize;
  const bigSize = CONFIG.bigSize;
  const bigFile = path.join(workDir, 'big.bin');
  const bigUri = `direct://${bigFile}`;
  const mib = (bytes) => `${fmtSize(bytes)}`;

  // ---- data: one random-ish source buffer, reused for every file and as the put() input ----
  log(
    `creating ${mib(bigSize)} file, ${CONFIG.smallCount} × ${mib(CONFIG.smallSize)} files, ${mib(CONFIG.rssSize)} RSS object`,
  );
  const jsSource = fillRandomish(new Uint8Array(bigSize));
  writeDataFile(bigFile, jsSource);
  const alignedSource = s3.allocAligned(bigSize, 4096);
  alignedSource.set(jsSource);
  const rssFile = path.join(workDir, 'rss.bin');
  writeDataFile(rssFile, jsSource.subarray(0, Math.min(CONFIG.rssSize, bigSize)));
  if (CONFIG.rssSize > bigSize) throw new Error('rssSize > bigSize');
  const smallDir = path.join(workDir, 'small');
  mkdirSync(smallDir);
  const smallPaths = [];
  for (let i = 0; i < CONFIG.smallCount; i++) {
    const file = path.join(smallDir, `f${String(i).padStart(5, '0')}.bin`);
    const offset = (i * (CONFIG.smallSize + 4096)) % (bigSize - CONFIG.smallSize);
    writeFileSync(file, jsSource.subarray(offset, offset + CONFIG.smallSize));
    smallPaths.push(file);
  }
  const smallList = path.join(workDir, 'small.list');
  writeFileSync(smallList, `${smallPaths.join('\n')}\n`);
  const smallTotal = CONFIG.smallCount * CONFIG.smallSize;
  const fileUris = smallPaths.map((p) => `file://${p}`);
  const directUris = smallPaths.map((p) => `direct://${p}`);
  sync();

  const directStore = s3.storeFor(`direct://${workDir}`, { chunkSize: chunk });
  const directStoreFsync = s3.storeFor(`direct://${workDir}`, { chunkSize: chunk, fsync: true });

  const libGet = (store, uri, expected) => async () => {
    const { seconds, value } = await timeIt(() => store.get(uri));
    if (value.length !== expected) throw new Error(`get ${uri}: ${value.length} bytes, expected ${expected}`);
    return { seconds, bytes: value.length };
  };
  const fioRun = (args) => async () => runFio(args);
  const fioCommand = (args) => ['fio', ...args].join(' ');

  // ---- 1. sequential read, 1 GiB ----
  const fioReadArgs = (bs, engine, depth) => [
    '--name=seqread',
    `--filename=${bigFile}`,
    `--size=${bigSize}`,
    '--rw=read',
    `--bs=${bs}`,
    '--direct=1',
    `--ioengine=${engine}`,
    `--iodepth=${depth}`,
    '--invalidate=0',
  ];
  const readFioArgs = fioReadArgs(chunk, 'psync', 1);
  const readBestArgs = fioReadArgs(4 * MiB, 'io_uring', 16);
  log('section 1: sequential read');
  await rounds(
    'read',
    [
      {
        id: 'read.lib',
        label: `direct:// get() ${mib(bigSize)}, chunkSize ${mib(chunk)}`,
        run: libGet(directStore, bigUri, bigSize),
      },
      {
        id: 'read.fio',
        label: `fio read psync iodepth=1 bs=${mib(chunk)}`,
        skip: noFio,
        run: fioRun(readFioArgs),
        command: fioCommand(readFioArgs),
      },
      {
        id: 'read.fio.best',
        label: 'best fio: read io_uring iodepth=16 bs=4 MiB',
        skip: noFio,
        run: fioRun(readBestArgs),
        command: fioCommand(readBestArgs),
      },
    ],
    CONFIG.runs,
    { cold: true },
  );
  ratio('direct:// get / fio read (same bs)', 'read.lib', 'read.fio', TARGETS.directVsFio);
  ratio(
    'direct:// get / best fio read',
    'read.lib',
    'read.fio.best',
    TARGETS.directVsFio,
    'info: fio with 16 I/Os in flight',
  );

  // ---- 2. sequential write, 1 GiB ----
  const putFile = path.join(workDir, 'put.bin');
  const fioWriteFile = path.join(workDir, 'fio-write.bin');
  const fioWriteArgs = (bs, engine, depth, endFsync) => [
    '--name=seqwrite',
    `--filename=${fioWriteFile}`,
    `--size=${bigSize}`,
    '--rw=write',
    `--bs=${bs}`,
    '--direct=1',
    `--ioengine=${engine}`,
    `--iodepth=${depth}`,
    '--fallocate=none',
    `--end_fsync=${endFsync ? 1 : 0}`,
  ];
  const beforeWrite = (file) => () => {
    unlinkQuiet(file);
    sync();
  };
  const libPut = (store, data) => async () => {
    const { seconds } = await timeIt(() => store.put(`direct://${putFile}`, data));
    if (statSync(putFile).size !== data.length) throw new Error('put wrote the wrong size');
    return { seconds, bytes: data.length };
  };
  log('section 2: sequential write');
  const w = (id, label, extra) => ({ id, label, cache: 'n/a (O_DIRECT)', ...extra });
  const writeFio = fioWriteArgs(chunk, 'psync', 1, false);
  const writeFioBest = fioWriteArgs(4 * MiB, 'io_uring', 16, false);
  const writeFioSync = fioWriteArgs(chunk, 'psync', 1, true);
  await rounds(
    'write',
    [
      w('write.lib.js', `direct:// put() ${mib(bigSize)} from JS Uint8Array (bounce copy)`, {
        before: beforeWrite(putFile),
        run: libPut(directStore, jsSource),
      }),
      w('write.lib.aligned', `direct:// put() ${mib(bigSize)} from allocAligned() (no copy)`, {
        before: beforeWrite(putFile),
        run: libPut(directStore, alignedSource),
      }),
      w('write.fio', `fio write psync iodepth=1 bs=${mib(chunk)} end_fsync=0`, {
        skip: noFio,
        before: beforeWrite(fioWriteFile),
        run: fioRun(writeFio),
        command: fioCommand(writeFio),
      }),
      w('write.fio.best', 'best fio: write io_uring iodepth=16 bs=4 MiB end_fsync=0', {
        skip: noFio,
        before: beforeWrite(fioWriteFile),
        run: fioRun(writeFioBest),
        command: fioCommand(writeFioBest),
      }),
      w('write.lib.js.fsync', 'direct:// put() from JS Uint8Array, { fsync: true }', {
        before: beforeWrite(putFile),
        run: libPut(directStoreFsync, jsSource),
      }),
      w('write.lib.aligned.fsync', 'direct:// put() from allocAligned(), { fsync: true }', {
        before: beforeWrite(putFile),
        run: libPut(directStoreFsync, alignedSource),
      }),
      w('write.fio.fsync', `fio write psync iodepth=1 bs=${mib(chunk)} end_fsync=1`, {
        skip: noFio,
        before: beforeWrite(fioWriteFile),
        run: fioRun(writeFioSync),
        command: fioCommand(writeFioSync),
      }),
    ],
    CONFIG.runs,
    { cold: false },
  );
  unlinkQuiet(putFile);
  unlinkQuiet(fioWriteFile);
  ratio('direct:// put (JS memory) / fio write', 'write.lib.js', 'write.fio', TARGETS.directVsFio);
  ratio('direct:// put (aligned memory) / fio write', 'write.lib.aligned', 'write.fio', TARGETS.directVsFio);
  ratio(
    'direct:// put (JS memory) / best fio write',
    'write.lib.js',
    'write.fio.best',
    TARGETS.directVsFio,
    'info: fio with 16 I/Os in flight',
  );
  ratio(
    'direct:// put fsync (JS memory) / fio end_fsync=1',
    'write.lib.js.fsync',
    'write.fio.fsync',
    TARGETS.directVsFio,
  );
  ratio(
    'direct:// put fsync (aligned) / fio end_fsync=1',
    'write.lib.aligned.fsync',
    'write.fio.fsync',
    TARGETS.directVsFio,
  );

  // ---- 3. many small files ----
  const fioSmallArgs = (direct) => [
    '--name=smallread',
    `--opendir=${smallDir}`,
    '--rw=read',
    `--bs=${CONFIG.smallSize}`,
    `--direct=${direct ? 1 : 0}`,
    '--ioengine=io_uring',
    '--iodepth=16',
    '--invalidate=0',
  ];
  const getMany = (uris, concurrency) => async () => {
    const { seconds, value } = await timeIt(() => s3.getMany(uris, { concurrency }));
    const bytes = value.reduce((sum, v) => sum + v.length, 0);
    if (bytes !== smallTotal) throw new Error(`getMany read ${bytes} bytes, expected ${smallTotal}`);
    return { seconds, bytes };
  };
  const naivePool = (concurrency) => async () => {
    const { seconds, value } = await timeIt(() => readFilePool(smallPaths, concurrency));
    const bytes = totalLength(value);
    if (bytes !== smallTotal) throw new Error(`readFile pool read ${bytes} bytes, expected ${smallTotal}`);
    return { seconds, bytes };
  };
  const naiveSequential = async () => {
    const { seconds, value } = await timeIt(async () => {
      const results = [];
      for (const file of smallPaths) results.push(await fsp.readFile(file));
      return results;
    });
    const bytes = totalLength(value);
    if (bytes !== smallTotal) throw new Error(`readFile loop read ${bytes} bytes, expected ${smallTotal}`);
    return { seconds, bytes };
  };
  const childPool = (concurrency) => async () => {
    const result = runChild(['readfile-pool', smallList, String(concurrency)], {
      UV_THREADPOOL_SIZE: String(concurrency),
    });
    if (result.bytes !== smallTotal)
      throw new Error(`child readFile pool read ${result.bytes} bytes, expected ${smallTotal}`);
    return result;
  };
  const fioSmall = (direct) => async () => {
    const result = runFio(fioSmallArgs(direct));
    if (result.bytes !== smallTotal)
      throw new Error(`fio read ${result.bytes} bytes over the small files, expected ${smallTotal}`);
    return result;
  };
  const smallVariants = (state) => [
    { id: `small.${state}.getMany.file`, label: `file:// getMany({ concurrency: ${C} })`, run: getMany(fileUris, C) },
    {
      id: `small.${state}.readFile.pool`,
      label: `fs.promises.readFile pool of ${C} (UV_THREADPOOL_SIZE=${threadpool})`,
      run: naivePool(C),
    },
    { id: `small.${state}.readFile.seq`, label: 'fs.promises.readFile one at a time', run: naiveSequential },
    {
      id: `small.${state}.fio`,
      label: 'fio io_uring iodepth=16 bs=128k direct=1 --opendir',
      skip: noFio,
      run: fioSmall(true),
      command: fioCommand(fioSmallArgs(true)),
    },
    {
      id: `small.${state}.getMany.direct`,
      label: `direct:// getMany({ concurrency: ${C} })`,
      run: getMany(directUris, C),
    },
    {
      id: `small.${state}.readFile.pool.uv`,
      label: `fs.promises.readFile pool of ${C}, UV_THREADPOOL_SIZE=${C} (child process)`,
      skip: C <= threadpool ? `threadpool already ${threadpool}` : undefined,
      run: childPool(C),
    },
    ...(state === 'warm'
      ? [
          {
            id: 'small.warm.fio.buffered',
            label: 'fio io_uring iodepth=16 bs=128k direct=0 (page cache)',
            skip: noFio,
            run: fioSmall(false),
            command: fioCommand(fioSmallArgs(false)),
          },
        ]
      : []),
  ];
  log(`section 3: ${CONFIG.smallCount} small files, cold`);
  await rounds('small', smallVariants('cold'), CONFIG.runs, { cold: true });
  log(`section 3: ${CONFIG.smallCount} small files, warm`);
  await readFilePool(smallPaths, 8); // load the page cache
  await rounds('small', smallVariants('warm'), CONFIG.runs, { cold: false });
  for (const state of ['cold', 'warm']) {
    const label = state === 'cold' && !canDropCaches ? 'warm cache (not root)' : state;
    ratio(
      `file:// getMany / readFile pool of ${C} [${label}]`,
      `small.${state}.getMany.file`,
      `small.${state}.readFile.pool`,
      TARGETS.getManyVsNaive,
    );
    ratio(
      `file:// getMany / readFile one at a time [${label}]`,
      `small.${state}.getMany.file`,
      `small.${state}.readFile.seq`,
      TARGETS.getManyVsNaive,
    );
    ratio(
      `file:// getMany / readFile pool, UV_THREADPOOL_SIZE=${C} [${label}]`,
      `small.${state}.getMany.file`,
      `small.${state}.readFile.pool.uv`,
      undefined,
      'info: tuned Node baseline',
    );
    ratio(
      `file:// getMany / fio direct [${label}]`,
      `small.${state}.getMany.file`,
      `small.${state}.fio`,
      undefined,
      'info',
    );
    ratio(
      `direct:// getMany / fio direct [${label}]`,
      `small.${state}.getMany.direct`,
      `small.${state}.fio`,
      TARGETS.directVsFio,
      'info: fio keeps 16 in flight, getMany C threads',
    );
  }
  ratio(
    'file:// getMany / fio buffered [warm]',
    'small.warm.getMany.file',
    'small.warm.fio.buffered',
    undefined,
    'info',
  );

  // ---- 4. peak RSS of get() ----
  log(`section 4: peak RSS of get() on ${mib(CONFIG.rssSize)}`);
  const rss = [];
  const rssVariants = [
    { id: 'rss.direct', label: `direct:// get() ${mib(CONFIG.rssSize)}`, args: ['rss', `direct://${rssFile}`, '{}'] },
    { id: 'rss.file', label: `file:// get() ${mib(CONFIG.rssSize)}`, args: ['rss', `file://${rssFile}`, '{}'] },
    {
      id: 'rss.readFile',
      label: `fs.promises.readFile ${mib(CONFIG.rssSize)} (reference)`,
      args: ['rss-readfile', rssFile],
    },
  ];
  for (const v of rssVariants) rss.push({ ...v, samples: [], details: [] });
  for (let round = 1; round <= CONFIG.runs; round++) {
    for (const v of rss) {
      if (canDropCaches) dropCaches();
      const result = runChild(v.args);
      if (result.length !== CONFIG.rssSize) throw new Error(`${v.label}: read ${result.length} bytes`);
      v.samples.push(result.peakDelta / CONFIG.rssSize);
      v.details.push(result);
      log(
        `rss round ${round}/${CONFIG.runs}: ${v.label} peak delta ${fmtNumber(result.peakDelta / MiB)} MiB = ${(result.peakDelta / CONFIG.rssSize).toFixed(3)} × size`,
      );
    }
  }

  // ---- optional sweeps: where does the time go? ----
  const sweeps = [];
  if (CONFIG.sweep)
    await runSweeps({
      s3,
      noFio,
      bigFile,
      bigUri,
      bigSize,
      smallPaths,
      fileUris,
      directUris,
      smallTotal,
      jsSource,
      alignedSource,
      putFile,
      fioWriteFile,
      fioReadArgs,
      fioWriteArgs,
      beforeWrite,
      libGet,
      libPut,
      getMany,
      naivePool,
      sweeps,
      workDir,
    });

  // ---- report ----
  const measurementRows = [...rows.values()]
    .filter((r) => r.section !== 'sweep')
    .map((r) => [
      r.id,
      r.label,
      r.cache,
      r.skipped ? `skipped: ${r.skipped}` : fmtNumber(median(r.samples)),
      r.skipped ? '' : r.samples.map((s) => fmtNumber(s)).join(' / '),
      ioSummary(r),
    ]);
  const ratioRows = ratios.map((q) => {
    const value = rowMedian(q.numerator) / rowMedian(q.denominator);
    const missing = [q.numerator, q.denominator].map((id) => rows.get(id)).find((r) => !r || r.skipped);
    const verdict = !Number.isFinite(value)
      ? `n/a${missing?.skipped ? ` (${missing.skipped})` : ''}`
      : q.target === undefined
        ? ''
        : value >= q.target
          ? 'PASS'
          : 'FAIL';
    q.value = Number.isFinite(value) ? value : null;
    q.verdict = verdict;
    return [
      q.label,
      Number.isFinite(value) ? value.toFixed(3) : 'n/a',
      q.target === undefined ? '-' : `>= ${q.target}`,
      verdict,
      q.note ?? '',
    ];
  });
  const rssRows = rss.map((v) => {
    const value = median(v.samples);
    v.median = value;
    const isReference = v.id === 'rss.readFile';
    return [
      v.label,
      fmtNumber(median(v.details.map((d) => d.peakDelta)) / MiB),
      value.toFixed(3),
      v.samples.map((s) => s.toFixed(3)).join(' / '),
      isReference ? '-' : `<= ${TARGETS.rssPerObject}`,
      isReference ? 'reference' : value <= TARGETS.rssPerObject ? 'PASS' : 'FAIL',
    ];
  });

  const header = [
    `s3dlio local benchmark — ${started.toISOString()} — ${quick ? 'QUICK (smoke test sizes)' : 'full'} — median of ${CONFIG.runs} run(s)`,
    `dir ${workDir} (${fsType}; O_DIRECT alignment ${dio.offsetAlignment}/${dio.memoryAlignment}), ${os.cpus().length} CPUs, ` +
      `${fmtNumber(os.totalmem() / GiB)} GiB RAM, node ${process.version}, ${fio ?? 'fio: not installed'}, ` +
      `libuv threadpool ${threadpool}`,
    machine.summary,
    canDropCaches
      ? 'cold = caches dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before each run'
      : 'NOT ROOT: caches cannot be dropped, every run is warm cache',
    "MiB/s = 2^20 bytes per second; library rows are timed around the awaited call, fio rows use fio's own runtime.",
    blockDevice
      ? `device I/Os = requests completed by ${blockDevice.name} during the run (its /sys stat counters) × average request size; whole-device counts, so other activity on the disk shows up too.`
      : 'device I/O counters: not available for this directory.',
  ].join('\n');
  const out = [
    header,
    '',
    'Measurements',
    renderTable(
      [
        'id',
        'measurement',
        'cache',
        'MiB/s median',
        'runs (MiB/s)',
        `device I/Os per run${blockDevice ? ` (${blockDevice.name})` : ''}`,
      ],
      measurementRows,
      [3, 5],
    ),
    '',
    'Ratios against baselines from this run (targets from the issue)',
    renderTable(['ratio', 'value', 'target', 'verdict', 'note'], ratioRows, [1]),
    '',
    `Peak RSS of one get() of a ${mib(CONFIG.rssSize)} object in a fresh process (delta = VmHWM after the call, reset just before it, − VmRSS before)`,
    renderTable(['measurement', 'peak delta MiB', 'delta / size', 'runs', 'target', 'verdict'], rssRows, [1, 2]),
  ];
  for (const sweep of sweeps) {
    out.push('', sweep.title, renderTable(sweep.header, sweep.rows, sweep.right ?? []));
    if (sweep.note) out.push(sweep.note);
  }
  console.log(out.join('\n'));

  const resultsDir = path.join(PACKAGE_ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const jsonFile = path.join(resultsDir, `local-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const json = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    config: { ...CONFIG, dir: workDir, filesystem: fsType, directIo: dio },
    environment: {
      node: process.version,
      fio: fio ?? null,
      cpus: os.cpus().length,
      memoryBytes: os.totalmem(),
      kernel: os.release(),
      root: isRoot,
      cachesDropped: canDropCaches,
      uvThreadpoolSize: threadpool,
      s3dlio: s3.buildInfo(),
      machine: machine.facts,
    },
    targets: TARGETS,
    measurements: [...rows.values()].map((r) => ({
      id: r.id,
      section: r.section,
      label: r.label,
      cache: r.cache,
      skipped: r.skipped ?? null,
      bytes: r.bytes ?? null,
      mibPerSecond: r.skipped ? null : median(r.samples),
      samplesMibPerSecond: r.samples,
      samplesSeconds: r.seconds,
      deviceIo: r.io,
      command: r.command ?? null,
    })),
    ratios: ratios.map(({ label, numerator, denominator, target, value, verdict, note }) => ({
      label,
      numerator,
      denominator,
      target: target ?? null,
      value,
      verdict,
      note: note ?? null,
    })),
    peakRss: rss.map((v) => ({
      id: v.id,
      label: v.label,
      objectBytes: CONFIG.rssSize,
      medianDeltaPerSize: v.median,
      samples: v.details,
    })),
    sweeps,
  };
  writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nJSON: ${path.relative(process.cwd(), jsonFile) || jsonFile}`);
}

/** Extra experiments (--sweep): chunk size, in-flight I/O, page-fault cost, batch concurrency. */
async function runSweeps(ctx) {
  const {
    s3,
    noFio,
    bigUri,
    bigSize,
    smallPaths,
    fileUris,
    directUris,
    jsSource,
    alignedSource,
    putFile,
    fioWriteFile,
    fioReadArgs,
    fioWriteArgs,
    beforeWrite,
    libGet,
    libPut,
    getMany,
    naivePool,
    sweeps,
    workDir,
  } = ctx;
  const runs = CONFIG.runs;
  const m = (id) => rowMedian(id);

  // A. read: chunkSize (bytes per pread) vs fio bs, plus K concurrent getRange calls.
  log('sweep A: read chunk size and in-flight I/O');
  const chunkSizes = [1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB, 256 * MiB].filter((c) => c <= bigSize);
  const readVariants = [];
  for (const size of chunkSizes) {
    readVariants.push({
      id: `sweep.read.lib.${size}`,
      label: `get() chunkSize ${fmtSize(size)}`,
      run: libGet(s3.storeFor(`direct://${workDir}`, { chunkSize: size }), bigUri, bigSize),
    });
    readVariants.push({
      id: `sweep.read.fio.${size}`,
      label: `fio psync bs=${fmtSize(size)}`,
      skip: noFio,
      run: async () => runFio(fioReadArgs(size, 'psync', 1)),
    });
  }
  const store16 = s3.storeFor(`direct://${workDir}`, { chunkSize: 16 * MiB });
  for (const k of [2, 4]) {
    readVariants.push({
      id: `sweep.read.split.${k}`,
      label: `${k} concurrent getRange() of ${fmtSize(bigSize / k)}, chunkSize 16 MiB`,
      run: async () => {
        const { seconds, value } = await timeIt(() =>
          Promise.all(Array.from({ length: k }, (_, i) => store16.getRange(bigUri, (i * bigSize) / k, bigSize / k))),
        );
        return { seconds, bytes: value.reduce((sum, v) => sum + v.length, 0) };
      },
    });
  }
  for (const depth of [2, 4]) {
    readVariants.push({
      id: `sweep.read.fio.uring16.${depth}`,
      label: `fio io_uring bs=16 MiB iodepth=${depth}`,
      skip: noFio,
      run: async () => runFio(fioReadArgs(16 * MiB, 'io_uring', depth)),
    });
  }
  readVariants.push({
    id: 'sweep.read.alloc',
    label: `allocAligned(${fmtSize(bigSize)}) alone (allocation + page faults + zeroing)`,
    cache: 'n/a',
    run: async () => {
      const { seconds, value } = await timeIt(async () => s3.allocAligned(bigSize, 4096));
      return { seconds, bytes: value.length };
    },
  });
  await rounds('sweep', readVariants, runs, { cold: true });
  sweeps.push({
    title: `Sweep A: direct:// sequential read of ${fmtSize(bigSize)} — bytes per pread and I/O in flight (MiB/s, median)`,
    header: ['bytes per call', 'get() MiB/s', 'fio psync MiB/s', 'get / fio', 'get() device I/Os', 'fio device I/Os'],
    right: [1, 2, 3, 4, 5],
    rows: chunkSizes.map((size) => [
      fmtSize(size),
      fmtNumber(m(`sweep.read.lib.${size}`)),
      fmtNumber(m(`sweep.read.fio.${size}`)),
      (m(`sweep.read.lib.${size}`) / m(`sweep.read.fio.${size}`)).toFixed(2),
      ioSummary(rows.get(`sweep.read.lib.${size}`)),
      ioSummary(rows.get(`sweep.read.fio.${size}`)),
    ]),
    note: [
      ...[2, 4].map(
        (k) =>
          `  ${k} concurrent getRange() calls (chunkSize 16 MiB): ${fmtNumber(m(`sweep.read.split.${k}`))} MiB/s (${ioSummary(rows.get(`sweep.read.split.${k}`))})`,
      ),
      ...[2, 4].map(
        (d) =>
          `  fio io_uring bs=16 MiB iodepth=${d}: ${fmtNumber(m(`sweep.read.fio.uring16.${d}`))} MiB/s (${ioSummary(rows.get(`sweep.read.fio.uring16.${d}`))})`,
      ),
      `  allocAligned(${fmtSize(bigSize)}) alone: ${fmtNumber(median(rows.get('sweep.read.alloc').seconds) * 1000)} ms ` +
        `(get() must fault in a fresh buffer of that size on every call; fio reuses one bs-sized buffer)`,
    ].join('\n'),
  });

  // B. write: chunkSize, JS vs aligned memory, vs fio at the same bs.
  log('sweep B: write chunk size');
  const writeSizes = [4 * MiB, 16 * MiB, 64 * MiB].filter((c) => c <= bigSize);
  const writeVariants = [];
  for (const size of writeSizes) {
    const store = s3.storeFor(`direct://${workDir}`, { chunkSize: size });
    writeVariants.push({
      id: `sweep.write.js.${size}`,
      label: `put() JS memory chunkSize ${fmtSize(size)}`,
      cache: 'n/a',
      before: beforeWrite(putFile),
      run: libPut(store, jsSource),
    });
    writeVariants.push({
      id: `sweep.write.aligned.${size}`,
      label: `put() aligned chunkSize ${fmtSize(size)}`,
      cache: 'n/a',
      before: beforeWrite(putFile),
      run: libPut(store, alignedSource),
    });
    writeVariants.push({
      id: `sweep.write.fio.${size}`,
      label: `fio write psync bs=${fmtSize(size)}`,
      cache: 'n/a',
      skip: noFio,
      before: beforeWrite(fioWriteFile),
      run: async () => runFio(fioWriteArgs(size, 'psync', 1, false)),
    });
  }
  await rounds('sweep', writeVariants, runs, { cold: false });
  unlinkQuiet(putFile);
  unlinkQuiet(fioWriteFile);
  sweeps.push({
    title: `Sweep B: direct:// sequential write of ${fmtSize(bigSize)} — bytes per pwrite (MiB/s, median; no fsync)`,
    header: [
      'bytes per call',
      'put() JS memory',
      'put() aligned',
      'fio psync',
      'JS / fio',
      'aligned / fio',
      'JS dev I/Os',
      'aligned dev I/Os',
      'fio dev I/Os',
    ],
    right: [1, 2, 3, 4, 5, 6, 7, 8],
    rows: writeSizes.map((size) => {
      const [js, al, f] = [m(`sweep.write.js.${size}`), m(`sweep.write.aligned.${size}`), m(`sweep.write.fio.${size}`)];
      const io = (kind) => ioSummary(rows.get(`sweep.write.${kind}.${size}`));
      return [
        fmtSize(size),
        fmtNumber(js),
        fmtNumber(al),
        fmtNumber(f),
        (js / f).toFixed(2),
        (al / f).toFixed(2),
        io('js'),
        io('aligned'),
        io('fio'),
      ];
    }),
  });

  // C. getMany worker threads (concurrency) vs the readFile pool, cold.
  log('sweep C: getMany concurrency');
  const concurrencies = [1, 2, 4, 8, 16, 32, 64];
  const manyVariants = [];
  for (const c of concurrencies) {
    manyVariants.push({
      id: `sweep.many.file.${c}`,
      label: `file:// getMany concurrency ${c}`,
      run: getMany(fileUris, c),
    });
    manyVariants.push({
      id: `sweep.many.direct.${c}`,
      label: `direct:// getMany concurrency ${c}`,
      run: getMany(directUris, c),
    });
    manyVariants.push({ id: `sweep.many.pool.${c}`, label: `readFile pool of ${c}`, run: naivePool(c) });
  }
  await rounds('sweep', manyVariants, runs, { cold: true });
  await naivePool(8)(); // load the page cache
  const warmVariants = [];
  for (const c of concurrencies) {
    warmVariants.push({
      id: `sweep.many.file.warm.${c}`,
      label: `file:// getMany concurrency ${c}`,
      run: getMany(fileUris, c),
    });
    warmVariants.push({ id: `sweep.many.pool.warm.${c}`, label: `readFile pool of ${c}`, run: naivePool(c) });
  }
  await rounds('sweep', warmVariants, runs, { cold: false });
  const coldLabel = canDropCaches ? 'cold' : 'warm (not root)';
  sweeps.push({
    title: `Sweep C: ${smallPaths.length} × ${fmtSize(CONFIG.smallSize)} files — concurrency (MiB/s, median; readFile pool with UV_THREADPOOL_SIZE=${Number(process.env.UV_THREADPOOL_SIZE) || 4})`,
    header: [
      'concurrency',
      `file getMany ${coldLabel}`,
      `direct getMany ${coldLabel}`,
      `readFile pool ${coldLabel}`,
      'getMany / pool',
      'file getMany warm',
      'readFile pool warm',
      'getMany / pool',
    ],
    right: [1, 2, 3, 4, 5, 6, 7],
    rows: concurrencies.map((c) => [
      String(c),
      fmtNumber(m(`sweep.many.file.${c}`)),
      fmtNumber(m(`sweep.many.direct.${c}`)),
      fmtNumber(m(`sweep.many.pool.${c}`)),
      (m(`sweep.many.file.${c}`) / m(`sweep.many.pool.${c}`)).toFixed(2),
      fmtNumber(m(`sweep.many.file.warm.${c}`)),
      fmtNumber(m(`sweep.many.pool.warm.${c}`)),
      (m(`sweep.many.file.warm.${c}`) / m(`sweep.many.pool.warm.${c}`)).toFixed(2),
    ]),
  });
}

process.on('uncaughtException', (error) => {
  console.error(error);
  cleanup();
  process.exit(1);
});

try {
  await main();
} catch (error) {
  console.error(`[bench] failed: ${error?.stack ?? error}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
