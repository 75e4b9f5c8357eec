// One client measured in a process of its own, run by bench/http.mjs:
//   node http-child.mjs <task> <json>
// Tasks: get (one object, repeated), small (many small objects, some in flight), put (one object
// in one request), multipart (a large put through the service's multipart API); of s3://, or of
// az:// with `cloud: 'az'` (nginx serves Azure's path-style blob URLs as well). Clients: the
// bare socket (no HTTP library: the JavaScript ceiling), the plain SDK call, and the library on
// its lean transport and on the SDK transport. Prints one JSON object: per run wall seconds and
// CPU seconds (process.cpuUsage), and the peak RSS above the start of the first measured run.
import { randomFillSync } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { URL } from 'node:url';

import { loadLibrary } from './load.mjs';
import { gc } from './util.mjs';

const [task, json] = process.argv.slice(2);
const spec = JSON.parse(json);
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench-secret-key' };

function statusKiB(field) {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

/** Wall and CPU seconds of `fn`, and the RSS peak above where it started. */
async function measure(fn) {
  gc();
  const rssBefore = statusKiB('VmRSS');
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // no reset: the peak is an upper bound
  }
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const value = await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const peak = statusKiB('VmHWM') - rssBefore;
  return { seconds, cpu: (used.user + used.system) / 1e6, peak, value };
}

async function sdkClient() {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({ endpoint: spec.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
}

/** Azure's well-known emulator account: nginx serves its path-style URLs (`/account/container/key`). */
const AZ_ACCOUNT = 'devstoreaccount1';
const AZ_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const azure = spec.cloud === 'az';
const gcs = spec.cloud === 'gs';

/** The object's URI for the library, by cloud. */
function uriOf(bucket, key) {
  return azure ? `az://${AZ_ACCOUNT}/${bucket}/${key}` : gcs ? `gs://${bucket}/${key}` : `s3://${bucket}/${key}`;
}

/** A plain @google-cloud/storage bucket at the endpoint (custom endpoint: no credentials, as the library's). */
async function gcsBucket(bucket) {
  const { Storage } = await import('@google-cloud/storage');
  return new Storage({ apiEndpoint: spec.endpoint, projectId: 'bench' }).bucket(bucket);
}

/** The plain GCS SDK download of a whole object (createReadStream): into `into`, else a new buffer. */
async function gcsGet(bucket, key, into) {
  if (!into) return (await bucket.file(key).download())[0];
  let offset = 0;
  for await (const chunk of bucket.file(key).createReadStream()) {
    into.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return into.subarray(0, offset);
}

/** The plain Azure SDK client of a container (shared key, as the library's store). */
async function azContainer(bucket) {
  const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
  const service = new BlobServiceClient(
    `${spec.endpoint}/${AZ_ACCOUNT}`,
    new StorageSharedKeyCredential(AZ_ACCOUNT, AZ_KEY),
  );
  return service.getContainerClient(bucket);
}

/** The plain Azure SDK download of a whole blob: into `into`, else a new buffer. */
async function azGet(container, key, into) {
  const response = await container.getBlobClient(key).download();
  let offset = 0;
  const chunks = [];
  for await (const chunk of response.readableStreamBody) {
    if (into) into.set(chunk, offset);
    else chunks.push(chunk);
    offset += chunk.byteLength;
  }
  return into ? into.subarray(0, offset) : Buffer.concat(chunks, offset);
}

async function libraryStore(transport) {
  const s3dlio = await loadLibrary();
  if (gcs) {
    return s3dlio.storeFor('gs://', {
      endpoint: spec.endpoint,
      projectId: 'bench',
      transport,
      ...(spec.maxSockets && { maxSockets: spec.maxSockets }),
    });
  }
  if (azure) {
    return s3dlio.storeFor(`az://${AZ_ACCOUNT}/`, {
      endpoint: `${spec.endpoint}/${AZ_ACCOUNT}`,
      accountKey: AZ_KEY,
      transport,
      ...(spec.maxSockets && { maxSockets: spec.maxSockets }),
    });
  }
  return s3dlio.storeFor('s3://', {
    endpoint: spec.endpoint,
    region: 'us-east-1',
    credentials: CREDENTIALS,
    transport,
    ...(spec.maxSockets && { maxSockets: spec.maxSockets }),
    // The CA bundle replaces the trusted set (as AWS_CA_BUNDLE does), so the test CA is named.
    ...(spec.caBundle && { caBundle: spec.caBundle }),
  });
}

/**
 * Where a GET lands with `into`: one SharedArrayBuffer (which nobody can detach, so the library
 * reads into it straight from the socket), touched once before the runs, reused by every run.
 * Fresh memory costs page faults (seconds per GiB on some VMs): this measures the client alone.
 */
let reused;
function intoTarget(size) {
  if (!reused) {
    reused = new Uint8Array(new SharedArrayBuffer(size));
    reused.fill(1);
  }
  return reused;
}

/** A GET with no HTTP library: request written by hand, the body read by `onread` into place. */
function socketGet(url, size, into) {
  const target = into ?? Buffer.allocUnsafeSlow(size);
  const scratch = Buffer.allocUnsafeSlow(64 * 1024);
  const { hostname, port, pathname, search, protocol } = new URL(url);
  return new Promise((resolve, reject) => {
    let received = -1; // -1: still in the head
    let head = Buffer.alloc(0);
    const onread = {
      buffer: () => (received >= 0 ? target.subarray(received) : scratch),
      callback: (n, buf) => {
        if (received >= 0) {
          received += n;
        } else {
          head = Buffer.concat([head, buf.subarray(0, n)]);
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) return true;
          const body = head.subarray(end + 4);
          body.copy(target, 0);
          received = body.length;
        }
        if (received === size) {
          socket.destroy();
          resolve(target);
        }
        return true;
      },
    };
    const options = { host: hostname, port: Number(port), onread };
    const socket = protocol === 'https:' ? tls.connect({ ...options, servername: undefined }) : net.connect(options);
    socket.on('error', reject);
    socket.write(`GET ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
  });
}

async function getter() {
  const { client, endpoint, bucket, key, size } = spec;
  const into = spec.into ? intoTarget(size) : undefined;
  const path = azure
    ? `${AZ_ACCOUNT}/${bucket}/${key}`
    : gcs
      ? `storage/v1/b/${bucket}/o/${encodeURIComponent(key)}?alt=media`
      : `${bucket}/${key}`;
  if (client === 'socket') return () => socketGet(`${endpoint}/${path}`, size, into);
  if (client === 'sdk' && gcs) {
    const gcsBucketClient = await gcsBucket(bucket);
    return () => gcsGet(gcsBucketClient, key, into);
  }
  if (client === 'sdk' && azure) {
    const container = await azContainer(bucket);
    return () => azGet(container, key, into);
  }
  if (client === 'sdk') {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = await sdkClient();
    return async () => {
      const output = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!into) return output.Body.transformToByteArray();
      let offset = 0;
      for await (const chunk of output.Body) {
        into.set(chunk, offset);
        offset += chunk.byteLength;
      }
      return into.subarray(0, offset);
    };
  }
  const [transport, mode] = client.split(':'); // lean | sdk, default | one | ranges
  const store = await libraryStore(transport);
  const options =
    mode === 'one'
      ? { rangeThreshold: 0 }
      : mode === 'ranges'
        ? { rangeThreshold: 8 << 20, chunkSize: 8 << 20, concurrency: 8 }
        : {};
  const uri = uriOf(bucket, key);
  if (into) return async () => into.subarray(0, await store.getInto(uri, into, 0, options));
  return () => store.get(uri, options);
}

async function runGet() {
  const get = await getter();
  await get(); // warm: connections, JIT
  const runs = [];
  for (let i = 0; i < spec.runs; i++) {
    const { seconds, cpu, peak, value } = await measure(get);
    if (value.byteLength !== spec.size) throw new Error(`got ${value.byteLength} bytes, expected ${spec.size}`);
    runs.push({ seconds, cpu, peak });
  }
  return { runs };
}

async function runSmall() {
  const { client, bucket, keys, concurrency } = spec;
  let one;
  if (client === 'sdk' && gcs) {
    const gcsBucketClient = await gcsBucket(bucket);
    one = (key) => gcsGet(gcsBucketClient, key);
  } else if (client === 'sdk' && azure) {
    const container = await azContainer(bucket);
    one = (key) => azGet(container, key);
  } else if (client === 'sdk') {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = await sdkClient();
    one = async (key) =>
      (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body.transformToByteArray();
  } else {
    const [transport, mode] = client.split(':');
    const store = await libraryStore(transport);
    if (mode === 'getMany') {
      const uris = keys.map((key) => uriOf(bucket, key));
      await store.getMany(uris.slice(0, 64), { concurrency });
      const runs = [];
      for (let i = 0; i < spec.runs; i++) {
        const { seconds, cpu } = await measure(() => store.getMany(uris, { concurrency }));
        runs.push({ seconds, cpu, ops: uris.length });
      }
      return { runs };
    }
    one = (key) => store.get(uriOf(bucket, key));
  }
  const pass = async (list, latencies) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < list.length) {
          const key = list[next++];
          const start = process.hrtime.bigint();
          await one(key);
          latencies?.push(Number(process.hrtime.bigint() - start) / 1e3);
        }
      }),
    );
  };
  await pass(keys.slice(0, 128)); // warm
  const runs = [];
  for (let i = 0; i < spec.runs; i++) {
    const latencies = [];
    const { seconds, cpu } = await measure(() => pass(keys, latencies));
    latencies.sort((a, b) => a - b);
    runs.push({
      seconds,
      cpu,
      ops: keys.length,
      p50us: latencies[latencies.length >> 1],
      p99us: latencies[Math.floor(latencies.length * 0.99)],
    });
  }
  return { runs };
}

async function runPut() {
  const { client, bucket, size } = spec;
  const data = Buffer.allocUnsafeSlow(size);
  randomFillSync(data);
  let put;
  if (client === 'sdk' && azure) {
    const container = await azContainer(bucket);
    put = (key) => container.getBlockBlobClient(key).upload(data, data.byteLength);
  } else if (client === 'sdk' || client === 'lib-storage') {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = await sdkClient();
    if (client === 'lib-storage') {
      const { Upload } = await import('@aws-sdk/lib-storage');
      put = (key) =>
        new Upload({
          client: s3,
          params: { Bucket: bucket, Key: key, Body: data },
          partSize: 16 << 20,
          queueSize: 4,
        }).done();
    } else {
      put = (key) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data }));
    }
  } else {
    const [transport, mode] = client.split(':');
    const store = await libraryStore(transport);
    // `single`: one request whatever the size; otherwise the default (multipart above 64 MiB).
    const options = mode === 'single' ? { multipartThreshold: 2 ** 40 } : { partSize: 16 << 20, concurrency: 4 };
    put = (key) => store.put(uriOf(bucket, key), data, options);
  }
  // Keys of this client only: a dav server answers a replacement 204, which the Azure SDK refuses.
  const prefix = client.replace(/\W/g, '-');
  await put(`${prefix}-warm`);
  const runs = [];
  for (let i = 0; i < spec.runs; i++) {
    // The previous object goes first: a server writing to memory (/dev/shm) slows as it fills.
    if (spec.cleanup) rmSync(`${spec.cleanup}/${prefix}-${i === 0 ? 'warm' : `obj-${i - 1}`}`, { force: true });
    const { seconds, cpu, peak } = await measure(() => put(`${prefix}-obj-${i}`));
    runs.push({ seconds, cpu, peak });
  }
  return { runs };
}

const tasks = { get: runGet, small: runSmall, put: runPut };
tasks[task]()
  .then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  })
  .catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  });
