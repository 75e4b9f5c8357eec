// One case of the suite in a process of its own (so its peak RSS is its own), run by
// bench/suite.mjs:  node case-child.mjs '<json>'
//   task seed: creates the bucket and writes `objects` through the library (and `files`, local
//              sources for the baseline tools' uploads)
//   task check: lists a service target's run prefix (the bucket exists, the credentials reach it)
//   task cleanup: deletes a service target's objects (everything under its run's prefix)
//   task run:  one client (ours: the library; loader: its DataLoader; fs: node:fs; sdk: the plain
//              cloud SDK call) doing one kind of work `reps` times after a warm-up
// Prints one JSON line: per repetition the wall seconds, bytes, operations and (latency cases)
// the per-operation latency quantiles; and the process's peak RSS: VmHWM (this process only) and
// process.resourceUsage().maxRSS (which Linux carries over from the parent across exec).
import { promises as fsp, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { loadLibrary } from '../lib/load.mjs';
import { gcsHashEntry } from '../lib/nginx.mjs';
import { fillRandomish, gc } from '../lib/util.mjs';

const spec = JSON.parse(process.argv[2]);
const target = spec.target;

function vmHwmBytes() {
  const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

const uriOf = (key) => `${target.base}${key}`;
/** A key's name in its bucket or container (a service target's objects live under a prefix). */
const nameOf = (key) => `${target.keyPrefix ?? ''}${key}`;

async function ourStore() {
  const s3dlio = await loadLibrary();
  return { s3dlio, store: s3dlio.storeFor(target.base, target.storeOptions) };
}

/** get(key) and put(key, bytes) of the plain SDK of the target's cloud. */
async function sdkClient() {
  if (target.backend === 's3') {
    const { S3Client, GetObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
    // A real service: the SDK's own configuration (environment, profile, instance role).
    const s3 = new S3Client(
      target.service
        ? // Path-style addressing with an endpoint from the environment, as our store's default.
          { forcePathStyle: Boolean(target.endpoint) }
        : { endpoint: target.endpoint, region: 'us-east-1', credentials: target.credentials, forcePathStyle: true },
    );
    return {
      get: async (key) =>
        (await s3.send(new GetObjectCommand({ Bucket: target.bucket, Key: nameOf(key) }))).Body.transformToByteArray(),
      put: (key, data) => s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: nameOf(key), Body: data })),
    };
  }
  if (target.backend === 'az') {
    const { BlobServiceClient } = await import('@azure/storage-blob');
    const container = BlobServiceClient.fromConnectionString(target.connectionString).getContainerClient(target.bucket);
    return {
      get: (key) => container.getBlobClient(nameOf(key)).downloadToBuffer(),
      // nginx takes single-request PUTs only: there the SDK's Put Blob call (`upload`), which
      // takes up to 5,000 MiB; `uploadData` stages blocks above 256 MiB.
      put: (key, data) =>
        target.nginxDir
          ? container.getBlockBlobClient(nameOf(key)).upload(data, data.byteLength)
          : container.getBlockBlobClient(nameOf(key)).uploadData(data),
    };
  }
  if (target.backend === 'gs') {
    const { Storage } = await import('@google-cloud/storage');
    const storage = new Storage(target.service ? {} : { apiEndpoint: target.endpoint, projectId: 'bench' });
    const bucket = storage.bucket(target.bucket);
    return {
      get: async (key) => (await bucket.file(nameOf(key)).download())[0],
      put: (key, data) => bucket.file(nameOf(key)).save(data, { resumable: false }),
    };
  }
  throw new Error(`no SDK for ${target.backend}`);
}

/** get/put of the client the spec names. */
async function clientOps() {
  const { client } = spec;
  if (client === 'fs') {
    return {
      get: (key) => fsp.readFile(path.join(target.dir, key)),
      put: (key, data) => fsp.writeFile(path.join(target.dir, key), data),
    };
  }
  if (client === 'sdk') return sdkClient();
  const { store } = await ourStore();
  const getOptions = spec.getOptions ?? {};
  return {
    get: (key) => store.get(uriOf(key), getOptions),
    put: (key, data) => store.put(uriOf(key), data, target.putOptions),
  };
}

/** `ops` operations, `concurrency` at a time, `op(i)` each; latencies (µs) when asked. */
async function pool(ops, concurrency, op, latencies) {
  let next = 0;
  let bytes = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, ops) }, async () => {
      while (next < ops) {
        const i = next++;
        const start = process.hrtime.bigint();
        const moved = await op(i); // (not `bytes += await`: that adds to a stale total)
        bytes += moved;
        latencies?.push(Number(process.hrtime.bigint() - start) / 1e3);
      }
    }),
  );
  return bytes;
}

function quantiles(sorted, count = 101) {
  return Array.from(
    { length: count },
    (_, q) => sorted[Math.min(sorted.length - 1, Math.round((q / (count - 1)) * (sorted.length - 1)))],
  );
}

async function runLoader() {
  const s3dlio = await loadLibrary();
  if (target.backend !== 'file' && target.backend !== 'direct')
    s3dlio.configureDefaultStore(target.base, target.storeOptions);
  const uris = spec.keys.map(uriOf);
  const epoch = async () => {
    const dataset = await s3dlio.Dataset.fromUris(uris);
    const loader = new s3dlio.DataLoader(dataset, { batchSize: spec.batch, concurrency: spec.concurrency });
    let bytes = 0;
    for await (const batch of loader) for (const item of batch) bytes += item.size;
    return bytes;
  };
  return { warm: epoch, rep: epoch, ops: uris.length };
}

async function runCase() {
  const { kind, ops, concurrency, size } = spec;
  if (kind === 'loader' && spec.client === 'DataLoader') return runLoader();
  const client = await clientOps();
  const keys = spec.keys;
  const length = (bytes) => {
    if (bytes.byteLength !== size) throw new Error(`${keys[0]}: got ${bytes.byteLength} bytes, expected ${size}`);
    return size;
  };
  if (spec.op === 'PUT') {
    const data = fillRandomish(Buffer.allocUnsafeSlow(size));
    // New keys every repetition: nginx answers a replacement 204, which the Azure SDK refuses.
    // The previous repetition's objects go first, outside the timing (a full run would otherwise
    // pile up gigabytes in nginx's memory, the emulators' and the disk).
    const local = target.backend === 'file' || target.backend === 'direct';
    const { store } = local || target.nginxDir ? {} : await ourStore();
    const remove = (key) =>
      local || target.nginxDir
        ? fsp.rm(path.join(target.nginxDir ?? target.dir, key), { force: true })
        : store.delete(uriOf(key));
    let round = 0;
    const keyOf = (r, i) => `put-${spec.kind}-${spec.client.replace(/\W/g, '-')}-${size}-${r}-${i}`;
    const once = (r) => (i) => client.put(keyOf(r, i), data).then(() => size);
    const removeLast = async () => {
      if (round > 0) for (let i = 0; i < ops; i++) await remove(keyOf(round - 1, i));
    };
    const rep = async (latencies) => {
      await removeLast();
      return pool(ops, concurrency, once(round++), latencies);
    };
    // The last repetition's objects go too: a full run leaves nothing behind case after case.
    return { warm: () => rep(), rep, ops, cleanup: removeLast };
  }
  const once = async (i) => length(await client.get(keys[i % keys.length]));
  // The warm-up is a whole repetition: a first round pays for thread pools, sockets and the
  // allocator's first pages at every level of concurrency, not just one operation's worth.
  const rep = (latencies) => pool(ops, concurrency, once, latencies);
  return { warm: () => rep(), rep, ops };
}

async function seed() {
  const { s3dlio, store } = await ourStore();
  if (target.createBucket) await store.createBucket(target.base);
  const bySize = new Map();
  const gcsHashes = {};
  for (const { key, size } of spec.objects) {
    if (!bySize.has(size)) bySize.set(size, fillRandomish(new Uint8Array(size)));
    const data = bySize.get(size);
    data[0] ^= 1; // no two objects equal
    if (target.seedAsFiles) {
      // GCS on nginx: a file per object, and the x-goog-hash header nginx is to send with it.
      await fsp.writeFile(path.join(target.nginxDir, key), data, { mode: 0o644 });
      const [mediaPath, hash] = gcsHashEntry(target.bucket, key, s3dlio.crc32c(data));
      gcsHashes[mediaPath] = hash;
    } else await store.put(uriOf(key), data, target.putOptions);
  }
  for (const { path: file, size } of spec.files ?? []) {
    await fsp.writeFile(file, bySize.get(size) ?? fillRandomish(new Uint8Array(size)));
  }
  return { seeded: spec.objects.length, gcsHashes };
}

/** Lists a service target's run prefix: the bucket exists and the credentials reach it. */
async function check() {
  const { store } = await ourStore();
  for await (const uri of store.listStream(target.base)) return { found: uri };
  return { found: null };
}

/** Removes every object a run wrote under a service target's prefix. */
async function cleanup() {
  const { store } = await ourStore();
  return { deleted: await store.deletePrefix(target.base) };
}

async function main() {
  if (spec.task === 'seed') return seed();
  if (spec.task === 'check') return check();
  if (spec.task === 'cleanup') return cleanup();
  const work = await runCase();
  await work.warm();
  const reps = [];
  for (let r = 0; r < spec.reps; r++) {
    gc();
    const latencies = spec.kind === 'latency' ? [] : undefined;
    const start = process.hrtime.bigint();
    const bytes = await work.rep(latencies);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const rep = { seconds, bytes, ops: work.ops };
    if (latencies) {
      latencies.sort((a, b) => a - b);
      rep.cdf = quantiles(latencies);
      rep.p50us = rep.cdf[50];
      rep.p99us = rep.cdf[99];
    }
    reps.push(rep);
  }
  await work.cleanup?.();
  return { reps, peakRssBytes: vmHwmBytes(), maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

main()
  .then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  })
  .catch((error) => {
    const status = error?.statusCode ?? error?.$metadata?.httpStatusCode;
    process.stderr.write(
      `${error?.stack ?? error}${status ? `\n(HTTP status ${status}${error.code ? `, ${error.code}` : ''})` : ''}\n`,
    );
    process.exit(1);
  });
