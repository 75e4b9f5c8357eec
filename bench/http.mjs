// HTTP client benchmark: how fast s3:// object bodies move, against baselines measured in the
// same run on the same server.
//
//   npm run bench:http -- [--runs N] [--sizes 1,64,512] [--small N] [--tls=false] [--multipart MiB]
//                         [--s3=false] [--azure=false] [--gcs=false] [--out FILE]
//
// The server is nginx on loopback (bench/lib/nginx.mjs: sendfile from /dev/shm, PUT via its dav
// module, plain HTTP and TLS 1.3), which answers path-style S3 GETs and PUTs at kernel speed, so
// the figures are the clients'. It serves Azure's path-style blob URLs too: az:// Get Blob and
// Put Blob are measured there against the plain @azure/storage-blob call, and GCS media downloads
// (through a location that maps their URLs to the files) against @google-cloud/storage. Multipart uploads need
// a real S3 API: they run on moto, whose
// speed (a Python server) bounds them; there only the CPU per GiB and the ratio mean much.
// Clients, each in a fresh process (bench/lib/http-child.mjs):
//   curl            the C baseline (CPU from the shell's `times`)
//   socket          a bare net/tls socket reading the body into place with onread: the JS ceiling
//   sdk             the plain @aws-sdk/client-s3 call (GetObject + transformToByteArray, PutObject)
//   lean:*, sdk:*   this library's get/put on its lean transport and on the SDK transport
//                   (`one`: a single GET, no RangeEngine; `single`: one PUT request)
// Reported: MiB/s and CPU seconds per GiB (medians over the runs), ratios, peak RSS of a get.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { MiB, GiB, median, parseArgs, renderTable } from './lib/util.mjs';
import { loadLibrary } from './lib/load.mjs';
import { gcsHashEntry, startNginx } from './lib/nginx.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const require = createRequire(import.meta.url);
const args = parseArgs(process.argv.slice(2), {
  runs: { type: 'int', default: 5 },
  sizes: { type: 'string', default: '1,64,512' },
  small: { type: 'int', default: 1000 },
  concurrency: { type: 'int', default: 32 },
  tls: { type: 'boolean', default: true },
  multipart: { type: 'int', default: 256, min: 0 },
  s3: { type: 'boolean', default: true },
  azure: { type: 'boolean', default: true },
  gcs: { type: 'boolean', default: true },
  out: { type: 'string', default: path.join(root, 'bench', 'results', 'http.json') },
});
const withTls = args.tls;
const sizes = args.sizes.split(',').map((s) => Number(s) * MiB);
const results = { date: new Date().toISOString(), node: process.version, runs: args.runs, cases: [] };
const rows = [];

/** Runs one child measurement; returns its JSON. */
function child(task, spec, env = {}) {
  const result = spawnSync(process.execPath, [path.join(here, 'lib', 'http-child.mjs'), task, JSON.stringify(spec)], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * MiB,
  });
  if (result.status !== 0) throw new Error(`${task} ${spec.client} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout.trim().split('\n').pop());
}

/** Runs a shell command `runs` times; wall from here, CPU of its children from `times`. */
function shellRuns(command, runs) {
  const out = [];
  spawnSync('sh', ['-c', command]); // warm
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync('sh', ['-c', `${command} && times`], { encoding: 'utf8' });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
    const lines = result.stdout.trim().split('\n');
    const [user, system] = lines[lines.length - 1].split(/\s+/).map((t) => {
      const [, m, s] = /(\d+)m([\d.]+)s/.exec(t);
      return Number(m) * 60 + Number(s);
    });
    out.push({ seconds, cpu: user + system });
  }
  return { runs: out };
}

function summarize(kind, label, client, bytes, measured, extra = {}) {
  const runs = measured.runs;
  const entry = {
    kind,
    label,
    client,
    bytes,
    mibps: median(runs.map((r) => bytes / MiB / r.seconds)),
    cpuPerGiB: median(runs.map((r) => r.cpu / (bytes / GiB))),
    peakRss: Math.max(...runs.map((r) => r.peak ?? NaN)),
    ...(runs[0].ops !== undefined && {
      opsPerSec: median(runs.map((r) => r.ops / r.seconds)),
      cpuUsPerOp: median(runs.map((r) => (r.cpu / r.ops) * 1e6)),
      p50us: median(runs.map((r) => r.p50us)),
      p99us: median(runs.map((r) => r.p99us)),
    }),
    runs,
    ...extra,
  };
  results.cases.push(entry);
  return entry;
}

function fmt(value, digits = 0) {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** Table rows of a group, with each figure's ratio to the named baselines. */
function addRows(entries, baselines) {
  for (const entry of entries) {
    const ratios = baselines
      .map((name) => entries.find((e) => e.client === name))
      .filter((base) => base && base !== entry)
      .map((base) =>
        entry.opsPerSec !== undefined
          ? `${(entry.opsPerSec / base.opsPerSec).toFixed(2)}x ${base.client} ops, ${(entry.cpuUsPerOp / base.cpuUsPerOp).toFixed(2)}x CPU`
          : `${(entry.mibps / base.mibps).toFixed(2)}x ${base.client}, ${(entry.cpuPerGiB / base.cpuPerGiB).toFixed(2)}x CPU`,
      );
    rows.push([
      entry.label,
      entry.client,
      entry.opsPerSec !== undefined ? `${fmt(entry.opsPerSec)} ops/s` : fmt(entry.mibps),
      entry.opsPerSec !== undefined ? `${fmt(entry.cpuUsPerOp)} us/op` : fmt(entry.cpuPerGiB, 2),
      entry.p50us !== undefined ? `${fmt(entry.p50us)}/${fmt(entry.p99us)}` : '',
      Number.isFinite(entry.peakRss) ? `${fmt(entry.peakRss / MiB)} MiB` : '',
      ratios.join('; '),
    ]);
  }
}

// The objects: each size made of one random MiB repeated, the small ones its first 64 KiB.
const bucket = 'bench';
const block = Buffer.allocUnsafeSlow(MiB);
randomFillSync(block);
const objects = sizes.map((size) => {
  const data = Buffer.allocUnsafeSlow(size);
  for (let offset = 0; offset < size; offset += MiB) block.copy(data, offset, 0, Math.min(MiB, size - offset));
  return { key: `obj-${size}`, data };
});
const smallKeys = Array.from({ length: args.small }, (_, i) => `small/k-${String(i).padStart(5, '0')}`);
const smallData = block.subarray(0, 64 * 1024);
// GCS sends every object's CRC32C, and its clients check whole downloads against it.
const { crc32c } = await loadLibrary();
const gcsHashes = Object.fromEntries([
  ...objects.map(({ key, data }) => gcsHashEntry(bucket, key, crc32c(data))),
  ...smallKeys.map((key) => gcsHashEntry(bucket, key, crc32c(smallData))),
]);

const nginx = await startNginx({ gcsHashes });
let moto;
try {
  const bucketDir = nginx.bucket(bucket);
  const putDir = nginx.bucket('put', { writable: true });
  for (const { key, data } of objects) writeFileSync(path.join(bucketDir, key), data, { mode: 0o644 });
  objects.length = 0; // the files hold them now
  nginx.bucket(`${bucket}/small`);
  for (const key of smallKeys) writeFileSync(path.join(bucketDir, key), smallData, { mode: 0o644 });

  const servers = [{ name: 'http', endpoint: nginx.url, env: {} }];
  if (withTls) {
    servers.push({
      name: 'tls',
      endpoint: nginx.tlsUrl,
      env: { NODE_EXTRA_CA_CERTS: nginx.cert },
      caBundle: nginx.cert,
    });
  }
  for (const server of args.s3 ? servers : []) {
    const curlTls = server.name === 'tls' ? `--cacert ${nginx.cert} ` : '';
    const tlsSizes = server.name === 'tls' ? sizes.slice(-1) : sizes;
    for (const size of tlsSizes) {
      for (const into of [true, false]) {
        const key = `obj-${size}`;
        const label = `GET ${size / MiB} MiB ${server.name}, ${into ? 'into a reused buffer' : 'new buffer (get)'}`;
        const runs = size <= MiB ? args.runs * 20 : args.runs;
        const entries = [];
        const url = `${server.endpoint}/${bucket}/${key}`;
        console.error(`${label}...`);
        // curl writes to /dev/null: the baseline of the reused-buffer case only.
        if (into && size <= MiB) {
          // One curl process per GET would measure process start-up: 20 GETs per run instead.
          const list = Array.from({ length: 20 }, () => `url = "${url}"\noutput = /dev/null`).join('\n');
          const config = path.join(nginx.root, '..', 'curl-1m.txt');
          writeFileSync(config, list);
          entries.push(
            summarize('get', label, 'curl', size * 20, shellRuns(`curl -s ${curlTls}-K ${config}`, args.runs)),
          );
        } else if (into) {
          entries.push(summarize('get', label, 'curl', size, shellRuns(`curl -s ${curlTls}-o /dev/null ${url}`, runs)));
        }
        for (const client of ['socket', 'sdk', 'lean:default', 'lean:one', 'sdk:default', 'sdk:one']) {
          const spec = { client, endpoint: server.endpoint, bucket, key, size, runs, into, caBundle: server.caBundle };
          entries.push(summarize('get', label, client, size, child('get', spec, server.env), { into }));
        }
        addRows(entries, ['curl', 'socket', 'sdk']);
      }
    }
    // Small objects, some in flight.
    {
      const label = `GET ${args.small} x 64 KiB, ${args.concurrency} in flight, ${server.name}`;
      console.error(`${label}...`);
      const config = path.join(nginx.root, '..', 'curl-small.txt');
      writeFileSync(
        config,
        smallKeys.map((key) => `url = "${server.endpoint}/${bucket}/${key}"\noutput = /dev/null`).join('\n'),
      );
      const curl = shellRuns(`curl -s ${curlTls}-Z --parallel-max ${args.concurrency} -K ${config}`, args.runs);
      for (const run of curl.runs) run.ops = smallKeys.length;
      const entries = [summarize('small', label, 'curl', smallKeys.length * 64 * 1024, curl)];
      for (const client of ['sdk', 'lean:get', 'lean:getMany', 'sdk:get']) {
        const spec = {
          client,
          endpoint: server.endpoint,
          bucket,
          keys: smallKeys,
          concurrency: args.concurrency,
          runs: args.runs,
          caBundle: server.caBundle,
        };
        entries.push(summarize('small', label, client, smallKeys.length * 64 * 1024, child('small', spec, server.env)));
      }
      addRows(entries, ['curl', 'sdk']);
    }
  }
  // One PUT request of the largest size, to nginx's dav module on /dev/shm.
  if (args.s3) {
    const size = sizes[sizes.length - 1];
    const label = `PUT ${size / MiB} MiB, one request, http`;
    console.error(`${label}...`);
    const file = path.join(nginx.root, '..', 'put-source.bin');
    const data = Buffer.allocUnsafeSlow(size);
    randomFillSync(data);
    writeFileSync(file, data);
    const entries = [
      summarize(
        'put',
        label,
        'curl',
        size,
        shellRuns(`curl -s -o /dev/null -T ${file} ${nginx.url}/put/curl-obj`, args.runs),
      ),
    ];
    for (const client of ['sdk', 'lean:single', 'sdk:single']) {
      entries.push(
        summarize(
          'put',
          label,
          client,
          size,
          child('put', { client, endpoint: nginx.url, bucket: 'put', size, runs: args.runs, cleanup: putDir }),
        ),
      );
    }
    addRows(entries, ['curl', 'sdk']);
  }
  /** 64 KiB GETs with many in flight: the plain SDK, the library's get and getMany on both transports. */
  function smallGets(cloud, common) {
    const label = `${cloud} GET ${args.small} x 64 KiB, ${args.concurrency} in flight, http`;
    console.error(`${label}...`);
    const entries = [];
    for (const client of ['sdk', 'lean:get', 'lean:getMany', 'sdk:get']) {
      const spec = { ...common, client, bucket, keys: smallKeys, concurrency: args.concurrency };
      entries.push(summarize('small', label, client, smallKeys.length * 64 * 1024, child('small', spec)));
    }
    addRows(entries, ['sdk']);
  }
  // az:// on the same nginx: Azure's path-style blob URLs (/account/container/blob) name the same
  // files through a link from the emulator account's name to the root.
  if (args.azure) {
    symlinkSync('.', path.join(nginx.root, 'devstoreaccount1'));
    const size = sizes[sizes.length - 1];
    const common = { cloud: 'az', endpoint: nginx.url, runs: args.runs };
    {
      const label = `az GET ${size / MiB} MiB http, into a reused buffer`;
      console.error(`${label}...`);
      const url = `${nginx.url}/devstoreaccount1/${bucket}/obj-${size}`;
      const entries = [summarize('get', label, 'curl', size, shellRuns(`curl -s -o /dev/null ${url}`, args.runs))];
      // The SDK transport reads in ranges (getInto's windows, the RangeEngine's) with Azure's own
      // x-ms-range header, which nginx ignores: it cannot be measured here.
      for (const client of ['socket', 'sdk', 'lean:default', 'lean:one']) {
        const spec = { ...common, client, bucket, key: `obj-${size}`, size, into: true };
        entries.push(summarize('get', label, client, size, child('get', spec), { into: true }));
      }
      addRows(entries, ['curl', 'socket', 'sdk']);
    }
    smallGets('az', common);
    {
      const label = `az PUT ${size / MiB} MiB, one request (Put Blob), http`;
      console.error(`${label}...`);
      const entries = [];
      for (const client of ['sdk', 'lean:single', 'sdk:single']) {
        const spec = { ...common, client, bucket: 'put', size, cleanup: putDir };
        entries.push(summarize('put', label, client, size, child('put', spec)));
      }
      addRows(entries, ['sdk']);
    }
  }
  // gs:// downloads on the same nginx: a location maps the JSON API's media URLs
  // (/storage/v1/b/<bucket>/o/<name>?alt=media) to the files. GCS uploads are POSTs naming the
  // object in the query (uploadType=media or resumable), which nginx's dav module cannot take:
  // they are not measured here.
  if (args.gcs) {
    const size = sizes[sizes.length - 1];
    const common = { cloud: 'gs', endpoint: nginx.url, runs: args.runs };
    {
      const label = `gs GET ${size / MiB} MiB http, into a reused buffer`;
      console.error(`${label}...`);
      const url = `${nginx.url}/storage/v1/b/${bucket}/o/obj-${size}?alt=media`;
      const entries = [summarize('get', label, 'curl', size, shellRuns(`curl -s -o /dev/null '${url}'`, args.runs))];
      for (const client of ['socket', 'sdk', 'lean:default', 'lean:one', 'sdk:default']) {
        const spec = { ...common, client, bucket, key: `obj-${size}`, size, into: true };
        entries.push(summarize('get', label, client, size, child('get', spec), { into: true }));
      }
      addRows(entries, ['curl', 'socket', 'sdk']);
    }
    smallGets('gs', common);
  }
  // Multipart uploads on moto (nginx has no multipart API).
  if (args.multipart > 0) {
    require(path.join(root, 'test', 'helpers', 'register-ts.js'));
    const { startMoto } = require(path.join(root, 'test', 'servers', 'moto.ts'));
    moto = await startMoto();
    const { S3Client, CreateBucketCommand } = require('@aws-sdk/client-s3');
    const admin = new S3Client({
      endpoint: moto.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    await admin.send(new CreateBucketCommand({ Bucket: 'multipart' }));
    const size = args.multipart * MiB;
    const label = `PUT ${args.multipart} MiB multipart (16 MiB parts, 4 in flight), moto`;
    console.error(`${label}...`);
    const entries = [];
    for (const client of ['lib-storage', 'lean:multipart', 'sdk:multipart']) {
      entries.push(
        summarize(
          'multipart',
          label,
          client,
          size,
          child('put', { client, endpoint: moto.url, bucket: 'multipart', size, runs: Math.min(args.runs, 3) }),
        ),
      );
    }
    addRows(entries, ['lib-storage']);
  }
} finally {
  await nginx.stop();
  await moto?.stop();
  console.log(
    renderTable(
      ['case', 'client', 'MiB/s or ops/s', 'CPU s/GiB or us/op', 'p50/p99 us', 'peak RSS', 'ratios (same run)'],
      rows,
      [2, 3, 4, 5],
    ),
  );
  mkdirSync(path.dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nAll runs: ${args.out}`);
}
