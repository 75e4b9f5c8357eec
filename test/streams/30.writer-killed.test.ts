/**
 * A process killed in the middle of a streaming upload (SIGKILL: no cleanup code can run) never
 * leaves a visible object, partial or not: locally the bytes sit in a hidden temporary file that
 * listings skip; on S3 they sit in an incomplete multipart upload that is not an object.
 */
import { spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { storeFor } from '../../lib';
import { s3Target, newBucketName } from '../cloud/targets';
import { testWith } from '../helpers/tools';
import { LIB_ENTRY, REPO_ROOT } from '../helpers/child';

const MiB = 1024 * 1024;
let scratch = '';
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 's3dlio-killed-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Starts a child that writes parts forever and kills it with SIGKILL after `parts` parts. */
function killMidUpload(
  uri: string,
  storeOptions: Record<string, unknown>,
  partSize: number,
  parts: number,
): Promise<NodeJS.Signals | null> {
  const script = `
    const s = require(${JSON.stringify(LIB_ENTRY)});
    const writer = s.storeFor(${JSON.stringify(uri)}, ${JSON.stringify(storeOptions)}).createWriter(${JSON.stringify(uri)}, { partSize: ${partSize}, concurrency: 2 });
    const part = new Uint8Array(${partSize}).fill(7);
    (async () => {
      for (let n = 1; ; n++) {
        await writer.write(part);
        console.log('PART ' + n);
      }
    })();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', path.join(REPO_ROOT, 'test/helpers/register-ts.js'), '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes(`PART ${parts}`)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) =>
      signal === 'SIGKILL' ? resolve(signal) : reject(new Error(`child ended with ${code}: ${stderr}`)),
    );
  });
}

test('file://: killed mid-upload, no object is visible and listings stay empty', async () => {
  const uri = `file://${scratch}/killed/obj.bin`;
  expect(await killMidUpload(uri, {}, 1 * MiB, 4)).toBe('SIGKILL');
  const store = storeFor('file:///');
  expect(await store.exists(uri)).toBe(false);
  expect(await store.list(`file://${scratch}/killed/`, { recursive: true })).toEqual([]);
});

testWith(
  ['moto'],
  's3://: killed mid-upload, no object is visible (the incomplete upload is not an object)',
  async () => {
    const target = s3Target();
    const store = target.store();
    const bucket = `s3://${newBucketName('kill')}/`;
    await store.createBucket(bucket);
    try {
      const options = {
        endpoint: process.env.S3DLIO_TEST_S3_ENDPOINT,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      };
      expect(await killMidUpload(`${bucket}obj.bin`, options, 5 * MiB, 3)).toBe('SIGKILL');
      expect(await store.exists(`${bucket}obj.bin`)).toBe(false);
      expect(await store.list(bucket, { recursive: true })).toEqual([]);
    } finally {
      await store.deleteBucket(bucket, { force: true });
    }
  },
);
