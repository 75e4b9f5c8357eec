// One client of bench/threads.mjs, in a process of its own (so that taskset can pin it):
//   node threads-child.mjs <json>
// json: { endpoint, ioThreads, uris, size, concurrency, runs, chunkSize?, into? }. `getMany` of every
// URI; with chunkSize, `get` of each through the RangeEngine, or with `into` `getInto` one
// SharedArrayBuffer allocated (and touched) once; `runs` times after a warm-up.
// Prints one JSON object: per run wall seconds, CPU seconds of the whole process and of its main
// thread alone (/proc/self/task/<pid>/stat), and the bytes read; and the peak RSS of the measured
// runs above the RSS before them (/proc/self/status VmHWM, reset through clear_refs).
import { readFileSync, writeFileSync } from 'node:fs';

import { loadLibrary } from './load.mjs';

const spec = JSON.parse(process.argv[2]);
const lib = await loadLibrary();
const TICK = 100; // USER_HZ: the unit of /proc's utime and stime on Linux

/** CPU seconds of the main thread so far (utime + stime of its task). */
function mainThreadCpu() {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

const store = lib.storeFor('s3://', {
  endpoint: spec.endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench-secret-key' },
  ioThreads: spec.ioThreads,
  ...(spec.chunkSize
    ? { rangeThreshold: spec.chunkSize, chunkSize: spec.chunkSize, concurrency: spec.concurrency }
    : { rangeThreshold: 0 }),
});

// Memory touched once, reused: what a pipeline reading into its own buffers does (no page faults).
const target = spec.into ? new Uint8Array(new SharedArrayBuffer(spec.size)).fill(1) : undefined;

async function once() {
  if (target) {
    let bytes = 0;
    for (const uri of spec.uris) bytes += await store.getInto(uri, target);
    return bytes;
  }
  if (!spec.chunkSize) {
    const got = await store.getMany(spec.uris, { concurrency: spec.concurrency });
    return got.reduce((sum, bytes) => sum + bytes.byteLength, 0);
  }
  let bytes = 0;
  for (const uri of spec.uris) bytes += (await store.get(uri)).byteLength;
  return bytes;
}

/** A field of /proc/self/status, in bytes. */
function status(field) {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return Number(match[1]) * 1024;
}

await once(); // warm: connections, threads, JIT
const rssBefore = status('VmRSS');
try {
  writeFileSync('/proc/self/clear_refs', '5'); // VmHWM := VmRSS
} catch {
  // no reset: the peak is an upper bound
}
const runs = [];
for (let run = 0; run < spec.runs; run++) {
  const cpu = process.cpuUsage();
  const main = mainThreadCpu();
  const start = performance.now();
  const bytes = await once();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  if (bytes !== spec.uris.length * spec.size)
    throw new Error(`read ${bytes} bytes, expected ${spec.uris.length * spec.size}`);
  runs.push({ seconds, bytes, cpu: (used.user + used.system) / 1e6, mainCpu: mainThreadCpu() - main });
}
const stats = store.stats();
await store.stopIoThreads?.();
const peakRss = status('VmHWM') - rssBefore;
console.log(JSON.stringify({ runs, copiedBytes: stats.ioThreads?.copiedBytes ?? 0, peakRss }));
