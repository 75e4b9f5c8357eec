/**
 * Single local reads (get, getRange, getInto on file:// and direct://) run on the addon's own I/O
 * thread pool, not on libuv's: they go on while libuv's threads are all taken, the pool starts
 * threads only as work needs them and never more than S3DLIO_IO_THREADS (default 32) whatever
 * the concurrency asked, and a bad value of the variable is refused by name. Each case runs in a
 * process of its own (both pools are sized when a process starts).
 */
import { execFileSync } from 'child_process';
import { writeFileSync } from 'fs';

import { ADDON_PATH } from '../../lib/native';
import { runNodeJson } from '../helpers/child';
import { useTempDir } from '../helpers/temp';

jest.setTimeout(120_000);
const tmp = useTempDir('s3dlio-io-pool-');

/** `count` files of 64 KiB in the temp dir; their paths. */
function files(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const file = `${tmp.path}/f-${i}.bin`;
    writeFileSync(file, Buffer.alloc(65536, i & 0xff));
    return file;
  });
}

test("reads complete while libuv's only thread is held (they do not use it)", async () => {
  const fifo = `${tmp.path}/blocker`;
  execFileSync('mkfifo', [fifo]);
  const paths = files(8);
  const result = await runNodeJson<{ sizes: number[]; scheme: string }[]>(
    `const s3dlio = require(LIB); const fs = require('fs');
    (async () => {
      // libuv's one thread waits in open() of a FIFO nobody writes to.
      const blocker = fs.promises.open(ARGS.fifo, 'r');
      const out = [];
      for (const scheme of ['file', 'direct']) {
        const sizes = await Promise.all(ARGS.paths.map((p) => s3dlio.get(scheme + '://' + p).then((b) => b.byteLength)));
        const range = await s3dlio.getRange(scheme + '://' + ARGS.paths[0], 4096, 4096);
        const into = new Uint8Array(65536);
        const count = await s3dlio.getInto(scheme + '://' + ARGS.paths[1], into);
        out.push({ scheme, sizes: [...sizes, range.byteLength, count, into[0]] });
      }
      console.log('RESULT ' + JSON.stringify(out));
      fs.openSync(ARGS.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      await (await blocker).close();
    })();`,
    { fifo, paths },
    [],
    { env: { UV_THREADPOOL_SIZE: '1' }, killAfterMs: 60_000 },
  );
  for (const { sizes } of result) expect(sizes).toEqual([...paths.map(() => 65536), 4096, 65536, 1]);
});

test('threads start as work needs them, and never more than S3DLIO_IO_THREADS (or 32)', async () => {
  const paths = files(64);
  const script = `const s3dlio = require(LIB); const native = require(LIB + '/native');
    (async () => {
      const before = native.buildInfo().ioThreads;
      await s3dlio.get('file://' + ARGS.paths[0]);
      const one = native.buildInfo().ioThreads;
      // 2,000 reads all at once: far more than any pool should have threads.
      const uris = Array.from({ length: 2000 }, (_, i) => 'file://' + ARGS.paths[i % ARGS.paths.length]);
      await Promise.all(uris.map((uri) => s3dlio.get(uri)));
      const info = native.buildInfo();
      console.log('RESULT ' + JSON.stringify({ before, one, after: info.ioThreads, max: info.ioThreadsMax }));
    })();`;
  const limited = await runNodeJson<Record<string, number>>(script, { paths }, [], {
    env: { S3DLIO_IO_THREADS: '3' },
  });
  expect(limited).toMatchObject({ before: 0, one: 1, max: 3 });
  expect(limited.after).toBeLessThanOrEqual(3);
  const standard = await runNodeJson<Record<string, number>>(script, { paths }, [], {
    env: { S3DLIO_IO_THREADS: undefined },
  });
  expect(standard).toMatchObject({ before: 0, one: 1, max: 32 });
  expect(standard.after).toBeGreaterThan(1);
  expect(standard.after).toBeLessThanOrEqual(32);
});

test('a bad S3DLIO_IO_THREADS is refused by name at the first read', async () => {
  const [path] = files(1);
  for (const value of ['257', 'many']) {
    const result = await runNodeJson<{ code: string; message: string }>(
      `const s3dlio = require(LIB);
      s3dlio.get('file://' + ARGS.path).then(
        () => console.log('RESULT ' + JSON.stringify({ code: 'resolved' })),
        (e) => console.log('RESULT ' + JSON.stringify({ code: e.code, message: e.message })));`,
      { path },
      [],
      { env: { S3DLIO_IO_THREADS: value } },
    );
    expect(result.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(result.message).toContain('S3DLIO_IO_THREADS');
  }
});

test('a worker terminated with reads in flight on either pool ends cleanly; the process goes on', async () => {
  const paths = files(16);
  const script = `const { Worker } = require('worker_threads');
    (async () => {
      const rounds = [];
      let native;
      // First with no other thread holding the addon (a worker's exit unloads its copy), then
      // with the main thread holding it too.
      for (const mainLoaded of [false, true]) {
      if (mainLoaded) native = require(ARGS.addon);
      for (const call of ['readFile', 'readFiles']) {
        for (let round = 0; round < 8; round++) {
          const worker = new Worker(\`
            const { parentPort, workerData } = require('worker_threads');
            const native = require(workerData.addon);
            const jobs = [];
            // As many reads as keep either pool busy past the terminate (libuv's pool finishes
            // every queued job before the worker ends, so fewer there).
            for (let i = 0; i < (workerData.call === 'readFile' ? 400 : 24); i++) {
              const file = workerData.paths[i % workerData.paths.length];
              jobs.push(workerData.call === 'readFile' ? native.readFile(file, {}) : native.readFiles(workerData.paths, {}));
            }
            Promise.all(jobs).then(() => parentPort.postMessage('done'));
            parentPort.postMessage('started');\`, { eval: true, workerData: { addon: ARGS.addon, paths: ARGS.paths, call } });
          await new Promise((resolve) => worker.once('message', resolve));
          // Terminated at once or a little later: results arrive before, during and after teardown.
          await new Promise((resolve) => setTimeout(resolve, round % 4));
          rounds.push(await worker.terminate());
        }
      }
      }
      // The process itself still reads.
      const after = await native.readFile(ARGS.paths[0], {});
      console.log('RESULT ' + JSON.stringify({ rounds: rounds.length, after: after.length }));
    })();`;
  // The addon itself in the workers (not lib/, which would be compiled again in each).
  const result = await runNodeJson<{ rounds: number; after: number }>(script, { paths, addon: ADDON_PATH }, [], {
    killAfterMs: 100_000,
  });
  expect(result).toEqual({ rounds: 32, after: 65536 });
});
