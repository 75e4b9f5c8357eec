// One streaming upload in a fresh process: our writer or lib-storage's Upload, fed the same
// 1 MiB chunks from a generator (so neither holds the whole object), peak RSS from VmHWM.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { Readable } = require('node:stream');

const root = process.env.BENCH_ROOT;
const total = Number(process.env.BENCH_MIB) * 1024 * 1024;
const chunk = Buffer.alloc(1024 * 1024, 7);
const vm = (field) =>
  Number(
    /(\d+) kB/.exec(
      fs
        .readFileSync('/proc/self/status', 'utf8')
        .split('\n')
        .find((line) => line.startsWith(field)),
    )[1],
  ) / 1024;

async function* source() {
  for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
}

(async () => {
  const s3dlio = require(path.join(root, 'dist', 'index.js'));
  const { S3Client, CreateBucketCommand } = require('@aws-sdk/client-s3');
  const { Upload } = require('@aws-sdk/lib-storage');
  const config = {
    endpoint: process.env.BENCH_ENDPOINT,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const client = new S3Client(config);
  await client.send(new CreateBucketCommand({ Bucket: 'upload-bench' })).catch(() => undefined);
  const baseline = vm('VmRSS:');
  const started = performance.now();
  if (process.env.BENCH_TOOL.startsWith('s3dlio')) {
    const store = s3dlio.storeFor('s3://', { ...config, retryBaseDelayMs: 50 });
    const writer = store.createWriter('s3://upload-bench/ours.bin', { partSize: 16 * 1024 * 1024, concurrency: 4 });
    for await (const part of source()) await writer.write(part);
    await writer.close();
  } else {
    const upload = new Upload({
      client,
      params: { Bucket: 'upload-bench', Key: 'theirs.bin', Body: Readable.from(source()) },
      partSize: 16 * 1024 * 1024,
      queueSize: 4,
    });
    await upload.done();
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ mibPerSecond: total / 1024 / 1024 / seconds, peakRssDeltaMiB: vm('VmHWM:') - baseline })}\n`,
  );
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
