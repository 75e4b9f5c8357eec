// What a run measures: the case list of each target, in the order they run. A case is one client
// (ours, or a baseline) doing one kind of work; every repetition of it happens in one child
// process (or one tool invocation per repetition, for the outside tools).
import { GiB, KiB, MiB } from '../lib/util.mjs';

/**
 * Sizes and counts of a full run and of `--quick` (every case and client of a full run, on small
 * sizes and few operations: it runs in CI, on every backend, in about two minutes).
 */
export function profile(quick) {
  return quick
    ? {
        sizes: [MiB, 16 * MiB],
        parallel: { size: 4 * MiB, concurrency: 16 },
        latency: { sizes: [4 * KiB, MiB], keys: 20, ops: 20 },
        scaling: { size: MiB, levels: [1, 16], ops: 32 },
        loader: { count: 128, size: 64 * KiB, batch: 32, concurrency: 16 },
        rangeThreshold: 4 * MiB,
      }
    : {
        sizes: [MiB, 100 * MiB, GiB],
        parallel: { size: 100 * MiB, concurrency: 16 },
        latency: { sizes: [4 * KiB, 64 * KiB, MiB], keys: 100, ops: 500 },
        scaling: { size: MiB, levels: [1, 2, 4, 8, 16, 32, 64], ops: 256 },
        loader: { count: 1000, size: 64 * KiB, batch: 32, concurrency: 16 },
        rangeThreshold: 8 * MiB,
      };
}

/**
 * What a run measures on an emulator. A full run: objects up to 100 MiB, and 16 MiB objects 16 at
 * a time (moto answers a range request in time proportional to the whole object: a 1 GiB object
 * read as ranges takes minutes there). A quick run: the smallest size. No emulator's figure says
 * anything about a cloud's speed.
 */
export function emulatorProfile(p, quick) {
  if (quick) return { ...p, sizes: p.sizes.slice(0, 1) };
  return { ...p, sizes: [MiB, 16 * MiB, 100 * MiB], parallel: { ...p.parallel, size: 16 * MiB } };
}

/** The servers whose figures are for correctness and relative comparison only. */
export const EMULATORS = new Set(['moto', 'azurite', 'gcs']);

export const objectKey = (size) => `obj-${size}`;
export const latencyKey = (size, i) => `lat-${size}-${i}`;
export const loaderKey = (i) => `ld-${i}`;

/** The objects `cases` read, each once with its size: what a target needs before they run. */
export function seedObjects(cases) {
  const objects = new Map();
  for (const c of cases) if (c.op === 'GET') for (const key of c.keys) objects.set(key, c.size);
  return [...objects].map(([key, size]) => ({ key, size }));
}

/** The in-process baseline of a backend: node:fs locally, the plain SDK call for clouds. */
export const inProcessBaseline = (backend) => (backend === 'file' || backend === 'direct' ? 'fs' : 'sdk');

/**
 * The cases of `target` (see servers.mjs targetsFor). `tools` says which outside baselines exist
 * (fio, curl, aws, rclone). Emulators skip the heavy cases in a quick run: they are ~100 MB/s
 * servers, measured for correctness and relative comparison. So does a real service named by
 * `--target` (a quick look there should not move gigabytes).
 */
export function planCases(target, profileOfRun, { quick, tools }) {
  const cases = [];
  const base = { target: target.id, backend: target.backend, server: target.server };
  const local = target.backend === 'file' || target.backend === 'direct';
  const emulator = EMULATORS.has(target.serverName);
  const p = emulator ? emulatorProfile(profileOfRun, quick) : profileOfRun;
  // What a quick run skips on an emulator, it skips on a real service too.
  const slow = emulator || target.serverName === 'service';
  const sdk = inProcessBaseline(target.backend);
  const add = (fields) => cases.push({ ...base, runner: 'child', variant: '', ...fields });
  const outside = () => {
    const list = [];
    if (local && tools.fio) list.push('fio');
    if (target.serverName === 'nginx' && tools.curl) list.push('curl');
    // The S3 command-line tools, on the emulator and on nginx (path-style GETs and PUTs).
    if (target.backend === 's3' && tools.aws) list.push('aws-cli');
    if (target.backend === 's3' && tools.rclone) list.push('rclone');
    return list;
  };

  const ops = target.uploads === false ? ['GET'] : ['GET', 'PUT'];
  for (const op of ops) {
    for (const size of p.sizes) {
      const shared = { kind: 'throughput', op, size, concurrency: 1, ops: 1, keys: [objectKey(size)] };
      add({ ...shared, client: 'ours', role: 'ours' });
      add({ ...shared, client: sdk, role: 'baseline' });
      // The Python AWS CLI takes ~0.7 s to start each call: a quick run measures it on a real
      // service only, at the largest size (on the local servers a full run measures it, and
      // `npm test` runs it against moto as a service).
      const toolCases = outside().filter(
        (tool) => !(quick && tool === 'aws-cli' && (size !== Math.max(...p.sizes) || target.serverName !== 'service')),
      );
      for (const tool of toolCases) add({ ...shared, client: tool, role: 'baseline', runner: tool });
    }
  }
  if (!(quick && slow)) {
    const { size, concurrency } = p.parallel;
    for (const op of ops) {
      const shared = { kind: 'parallel', op, size, concurrency, ops: concurrency, keys: [objectKey(size)] };
      add({ ...shared, client: 'ours', role: 'ours' });
      add({ ...shared, client: sdk, role: 'baseline' });
    }
  }
  for (const size of p.latency.sizes) {
    const keys = Array.from({ length: p.latency.keys }, (_, i) => latencyKey(size, i));
    const shared = { kind: 'latency', op: 'GET', size, concurrency: 1, ops: p.latency.ops, keys };
    add({ ...shared, client: 'ours', role: 'ours' });
    add({ ...shared, client: sdk, role: 'baseline' });
  }
  if (!(quick && slow)) {
    const keys = Array.from({ length: p.latency.keys }, (_, i) => latencyKey(p.scaling.size, i));
    for (const concurrency of p.scaling.levels) {
      const shared = { kind: 'scaling', op: 'GET', size: p.scaling.size, concurrency, ops: p.scaling.ops, keys };
      add({ ...shared, client: 'ours', role: 'ours' });
      add({ ...shared, client: sdk, role: 'baseline' });
    }
    // RangeEngine: the largest object in one request (the baseline) and as concurrent ranges; on
    // nginx also through a server that paces each connection (where ranges pay off most).
    const size = Math.max(...p.sizes);
    const variants = target.serverName === 'nginx' ? ['', 'paced'] : [''];
    for (const variant of variants) {
      const shared = { kind: 'range', op: 'GET', size, concurrency: 1, ops: 1, keys: [objectKey(size)], variant };
      add({ ...shared, client: 'ours (one request)', role: 'baseline', getOptions: { rangeThreshold: 0 } });
      add({ ...shared, client: 'ours (RangeEngine)', role: 'ours', getOptions: { rangeThreshold: p.rangeThreshold } });
    }
    const { count, size: itemSize, batch, concurrency } = p.loader;
    const keys2 = Array.from({ length: count }, (_, i) => loaderKey(i));
    const shared = { kind: 'loader', op: 'GET', size: itemSize, concurrency, ops: count, keys: keys2, batch };
    add({ ...shared, client: 'DataLoader', role: 'ours' });
    add({ ...shared, kind: 'loader', client: 'ours', role: 'baseline', loaderPool: true });
    add({ ...shared, client: sdk, role: 'baseline', loaderPool: true });
  }
  return cases;
}

/** A case's identity across runs (what bench:compare matches on). */
export function caseId(c) {
  return [c.target, c.kind, c.op, c.size, c.concurrency, c.client, c.variant].join('|');
}
