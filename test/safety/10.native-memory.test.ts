/**
 * Buffers that vanish mid-call. A caller can detach an ArrayBuffer at any moment
 * (`structuredClone(buf, { transfer: [buf] })`, `postMessage` with a transfer list) and its memory
 * is freed once the new owner is collected. Whatever the stage of the call when that happens —
 * before it is queued, while its native job waits for a thread-pool thread, while it runs — the
 * process must not crash and must not store or write wrong bytes: the call either completes with
 * exactly the original bytes, or rejects with ERR_BUFFER_DETACHED and leaves no object and no
 * temporary file. Every case runs in a child process started with --expose-gc, which collects the
 * transferred memory and then overwrites freed memory with a pattern, so that a job still reading
 * or writing it would show (wrong bytes, EFAULT, SIGSEGV). These are the local stores and data
 * generation; the cloud stores are test/safety/11.
 */
import { execFileSync } from 'child_process';
import { mkdirSync } from 'fs';

import { fillRandom, generateData } from '../../lib';
import { runNodeJson, runNodeScript } from '../helpers/child';
import { expectSameBytes } from '../helpers/local';
import { type Outcome, GC, PRELUDE, expectSafe } from '../helpers/detach';
import { useTempDir } from '../helpers/temp';

// Child processes that fill, copy and collect hundreds of MiB, on a shared two-core machine.
jest.setTimeout(240_000);

const tmp = useTempDir('s3dlio-safety-mem-');
const MiB = 1024 * 1024;

const TRANSFERABLE = ['buffer', 'unaligned', 'arraybuffer', 'dataview', 'float64'];
const KINDS = [...TRANSFERABLE, 'shared', 'addon', 'addon-unaligned'];

describe.each(['file', 'direct'] as const)('%s:// put', (scheme) => {
  // 8 MiB goes through one native job (the store's chunkSize is 16 MiB); 24 MiB through the
  // chunked writer, a copy per part.
  const SIZES = [8 * MiB, 24 * MiB];

  const STAGES_CHILD = `${PRELUDE}
    (async () => {
      const { dir, scheme, sizes, kinds, stage, iterations } = ARGS;
      const out = [];
      for (let round = 0; round < iterations; round++) {
        for (const size of sizes) {
          for (const kind of kinds) {
            const input = makeInput(kind, size);
            const uri = scheme + '://' + dir + '/' + stage + '/' + kind + '-' + size + '-' + round;
            let detached = false;
            let promise;
            if (stage === 'before') {
              detached = transfer(input, round % 2 ? 'postMessage' : 'structuredClone');
              promise = s3dlio.put(uri, input.data);
            } else {
              promise = s3dlio.put(uri, input.data);
              detached = transfer(input, round % 2 ? 'postMessage' : 'structuredClone');
            }
            promise.catch(() => undefined);
            collectAndReuse(size);
            out.push(await settle(kind + ' ' + size + ' #' + round, promise, uri, input.sha, detached));
          }
        }
      }
      console.log('RESULT ' + JSON.stringify(out));
    })();`;

  test('a buffer detached before the call is refused with ERR_BUFFER_DETACHED; nothing is stored', async () => {
    const dir = `${tmp.path}/${scheme}-before`;
    const outcomes = await runNodeJson<Outcome[]>(
      STAGES_CHILD,
      { dir, scheme, sizes: SIZES, kinds: KINDS, stage: 'before', iterations: 2 },
      GC,
    );
    expect(outcomes).toHaveLength(2 * SIZES.length * KINDS.length);
    for (const outcome of outcomes) {
      const kind = outcome.label.split(' ')[0];
      if (TRANSFERABLE.includes(kind)) {
        expect(outcome.detached).toBe(true);
        expect(outcome).toMatchObject({ ok: false, code: 'ERR_BUFFER_DETACHED', exists: false, temps: [] });
      } else {
        expectSafe(outcome); // addon memory is copied, not detached, by a transfer on Node 20
      }
    }
  });

  test('a buffer detached right after the call (while its job runs): exact bytes or ERR_BUFFER_DETACHED', async () => {
    const dir = `${tmp.path}/${scheme}-running`;
    const outcomes = await runNodeJson<Outcome[]>(
      STAGES_CHILD,
      { dir, scheme, sizes: SIZES, kinds: KINDS, stage: 'running', iterations: 2 },
      GC,
    );
    expect(outcomes).toHaveLength(2 * SIZES.length * KINDS.length);
    for (const outcome of outcomes) expectSafe(outcome);
    // One native job copies ordinary memory before the call returns: what the caller passed is stored.
    for (const outcome of outcomes.filter((o) => o.label.includes(` ${8 * MiB} `))) expect(outcome.ok).toBe(true);
  });

  test('a buffer detached while its job waits for a thread-pool thread: the exact bytes are stored', async () => {
    // One pool thread, held by an open() of a FIFO until the child opens the other end.
    const fifo = `${tmp.path}/${scheme}-pool-blocker`;
    execFileSync('mkfifo', [fifo]);
    const dir = `${tmp.path}/${scheme}-queued`;
    mkdirSync(dir);
    const script = `${PRELUDE}
      (async () => {
        const { dir, scheme, kinds, size, fifo } = ARGS;
        const out = [];
        for (const kind of kinds) {
          const blocker = fs.promises.open(fifo, 'r');
          const input = makeInput(kind, size);
          const uri = scheme + '://' + dir + '/' + kind;
          const promise = s3dlio.put(uri, input.data);
          promise.catch(() => undefined);
          const detached = transfer(input);
          collectAndReuse(size);
          // Release the pool thread: a writer on the FIFO lets the blocked open() return.
          let writer;
          while (writer === undefined) {
            try { writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK); }
            catch (error) { if (error.code !== 'ENXIO') throw error; await new Promise((r) => setTimeout(r, 5)); }
          }
          out.push(await settle(kind, promise, uri, input.sha, detached));
          fs.closeSync(writer);
          await (await blocker).close();
        }
        console.log('RESULT ' + JSON.stringify(out));
      })();`;
    const outcomes = await runNodeJson<Outcome[]>(script, { dir, scheme, kinds: KINDS, size: 8 * MiB, fifo }, GC, {
      env: { UV_THREADPOOL_SIZE: '1' },
    });
    expect(outcomes).toHaveLength(KINDS.length);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ ok: true, exists: true, same: true, temps: [] });
    }
    expect(outcomes.filter((o) => TRANSFERABLE.includes(o.label)).every((o) => o.detached)).toBe(true);
  });

  test('putMany: each item holds its exact bytes or is listed with ERR_BUFFER_DETACHED and absent', async () => {
    const dir = `${tmp.path}/${scheme}-many`;
    const script = `${PRELUDE}
      (async () => {
        const { dir, scheme } = ARGS;
        // Small items (one native job each) and items above the store's 1 MiB chunk (chunked writer).
        const store = s3dlio.storeFor(scheme + ':///', { chunkSize: 1024 * 1024 });
        const items = [];
        for (let i = 0; i < 24; i++) {
          const input = makeInput(i % 3 === 0 ? 'arraybuffer' : 'buffer', i % 2 ? 3 * 1024 * 1024 + 5 : 256 * 1024);
          items.push({ uri: scheme + '://' + dir + '/item-' + i, input });
        }
        const promise = store.putMany(items.map((item) => ({ uri: item.uri, data: item.input.data })), { concurrency: 3 });
        promise.catch(() => undefined);
        const detached = items.map((item) => transfer(item.input));
        collectAndReuse(4 * 1024 * 1024);
        let failed = [];
        let code;
        try { await promise; } catch (error) {
          code = error.code;
          failed = error.errors.map((e) => ({ uri: e.uri, code: e.code, name: e.name }));
        }
        const states = items.map((item) => ({ uri: item.uri, ...stateOf(item.uri, item.input.sha) }));
        console.log('RESULT ' + JSON.stringify({ code, failed, states, detached }));
      })();`;
    const result = await runNodeJson<{
      code?: string;
      failed: Array<{ uri: string; code: string; name: string }>;
      states: Array<{ uri: string; exists: boolean; same: boolean; temps: string[] }>;
      detached: boolean[];
    }>(script, { dir, scheme }, GC);
    expect(result.detached.every(Boolean)).toBe(true);
    for (const state of result.states) {
      const failure = result.failed.find((f) => f.uri === state.uri);
      if (failure) {
        expect(failure).toMatchObject({ code: 'ERR_BUFFER_DETACHED', name: 'S3dlioError' });
        expect(state.exists).toBe(false);
      } else {
        expect(state).toMatchObject({ exists: true, same: true });
      }
      expect(state.temps).toEqual([]);
    }
    // Items not started when the buffers were detached cannot have been stored.
    expect(result.code).toBe('ERR_BATCH_FAILED');
    expect(result.failed.length).toBeGreaterThan(0);
  });

  test('createWriter: a chunk detached while the writer takes it fails the writer and stores nothing', async () => {
    const dir = `${tmp.path}/${scheme}-writer`;
    const script = `${PRELUDE}
      (async () => {
        const { dir, scheme } = ARGS;
        const out = [];
        for (const when of ['at-once', 'after-first-part']) {
          const input = makeInput('buffer', 64 * 1024 * 1024);
          const uri = scheme + '://' + dir + '/' + when;
          fs.mkdirSync(dir, { recursive: true });
          const writer = s3dlio.createWriter(uri, { partSize: 1024 * 1024, concurrency: 2 });
          const write = writer.write(input.data);
          write.catch(() => undefined);
          let detached;
          if (when === 'at-once') detached = transfer(input);
          else {
            // Wait until the first part reached the temporary file: the writer is mid-chunk.
            while (!fs.readdirSync(dir).some((n) => TEMP.test(n))) await new Promise((r) => setImmediate(r));
            detached = transfer(input);
          }
          collectAndReuse(1024 * 1024);
          const written = await settle(when + ' write', write, uri, input.sha, detached);
          out.push(written);
          // Cleanup happened by itself: no abort() was called.
          out.push(await settle(when + ' close', writer.close(), uri, input.sha, detached));
        }
        console.log('RESULT ' + JSON.stringify(out));
      })();`;
    const outcomes = await runNodeJson<Outcome[]>(script, { dir, scheme }, GC);
    expect(outcomes).toHaveLength(4);
    for (const outcome of outcomes) {
      expect(outcome.detached).toBe(true);
      expect(outcome).toMatchObject({ ok: false, exists: false, temps: [], name: 'S3dlioError' });
    }
    expect(outcomes.filter((o) => o.label.endsWith('write')).map((o) => o.code)).toEqual([
      'ERR_BUFFER_DETACHED',
      'ERR_BUFFER_DETACHED',
    ]);
  });

  test('getInto: a target detached during the read rejects with ERR_BUFFER_DETACHED; addon targets are filled', async () => {
    const dir = `${tmp.path}/${scheme}-into`;
    const script = `${PRELUDE}
      (async () => {
        const { dir, scheme } = ARGS;
        fs.mkdirSync(dir, { recursive: true });
        const content = crypto.randomBytes(8 * 1024 * 1024);
        fs.writeFileSync(dir + '/object', content);
        const uri = scheme + '://' + dir + '/object';
        const out = [];
        for (const kind of ['buffer', 'unaligned', 'arraybuffer', 'addon', 'shared']) {
          const target = makeInput(kind, content.length);
          const view = target.data instanceof ArrayBuffer ? new Uint8Array(target.data) : target.data;
          const promise = s3dlio.getInto(uri, view);
          promise.catch(() => undefined);
          const detached = transfer(target);
          collectAndReuse(content.length);
          let result;
          try { result = { ok: true, count: await promise, same: detached ? false : Buffer.from(view.buffer, view.byteOffset, view.byteLength).equals(content) }; }
          catch (error) { result = { ok: false, code: error.code, name: error.name, uri: error.uri }; }
          out.push({ label: kind, detached, ...result });
        }
        console.log('RESULT ' + JSON.stringify(out));
      })();`;
    const outcomes = await runNodeJson<Array<Outcome & { count?: number }>>(script, { dir, scheme }, GC);
    for (const outcome of outcomes) {
      if (outcome.detached) {
        expect(outcome).toMatchObject({ ok: false, code: 'ERR_BUFFER_DETACHED', name: 'S3dlioError' });
        expect(outcome.uri).toBe(`${scheme}://${dir}/object`);
      } else {
        expect(outcome).toMatchObject({ ok: true, count: 8 * MiB, same: true });
      }
    }
    // Ordinary JS memory is detached by a transfer (addon and shared memory are not, on Node 20).
    for (const kind of ['buffer', 'unaligned', 'arraybuffer']) {
      expect(outcomes.find((o) => o.label === kind)?.detached).toBe(true);
    }
  });
});

describe('fillRandom', () => {
  const CHILD = `${PRELUDE}
    (async () => {
      const out = [];
      for (const [kind, size] of ARGS.cases) {
        for (const when of ['before', 'running']) {
          const input = makeInput(kind, size);
          const view = input.data;
          let detached = false;
          if (when === 'before') detached = transfer(input);
          const promise = s3dlio.fillRandom(view, { seed: 42 });
          promise.catch(() => undefined);
          if (when === 'running') detached = transfer(input);
          collectAndReuse(Math.min(size, 64 * 1024 * 1024));
          let result;
          try {
            await promise;
            const expected = await s3dlio.generateData(size, { seed: 42 });
            result = { ok: true, same: Buffer.from(view.buffer, view.byteOffset, view.byteLength).equals(expected) };
          } catch (error) { result = { ok: false, code: error.code, name: error.name }; }
          out.push({ label: kind + ' ' + size + ' ' + when, detached, ...result });
        }
      }
      console.log('RESULT ' + JSON.stringify(out));
    })();`;

  test('small and 512 MiB targets detached before or during the fill: ERR_BUFFER_DETACHED, never a crash', async () => {
    const cases = [
      ['buffer', 4 * MiB],
      ['unaligned', 4 * MiB],
      ['buffer', 512 * MiB],
      ['addon', 64 * MiB],
      ['shared', 16 * MiB],
    ];
    const outcomes = await runNodeJson<Outcome[]>(CHILD, { cases }, GC);
    expect(outcomes).toHaveLength(cases.length * 2);
    for (const outcome of outcomes) {
      if (outcome.detached)
        expect(outcome).toMatchObject({ ok: false, code: 'ERR_BUFFER_DETACHED', name: 'S3dlioError' });
      else expect(outcome).toMatchObject({ ok: true, same: true });
    }
    // Ordinary JS memory is detached by a transfer (addon and shared memory are not, on Node 20).
    for (const outcome of outcomes.filter((o) => /^(buffer|unaligned) /.test(o.label))) {
      expect(outcome.detached).toBe(true);
    }
  });

  test('ordinary memory filled chunk by chunk holds the same bytes as generateData (ratios across chunks)', async () => {
    const size = 20 * MiB + 12345; // three 8 MiB chunks, the last one short
    const options = { seed: 7n, dedup: 3, compress: 2 };
    const target = Buffer.alloc(size);
    await fillRandom(target, options);
    expectSameBytes(target, await generateData(size, options));
  });
});

test('a child process that detaches buffers in every call exits normally (no signal)', async () => {
  // The suites above fail on a crash too (runNodeJson rejects); this one says so directly.
  const result = await runNodeScript(
    `${PRELUDE}
    (async () => {
      const input = makeInput('unaligned', 8 * 1024 * 1024);
      const promise = s3dlio.put('direct://' + ARGS.dir + '/x', input.data);
      transfer(input);
      collectAndReuse(8 * 1024 * 1024);
      await promise.catch(() => undefined);
      const target = makeInput('buffer', 512 * 1024 * 1024);
      const fill = s3dlio.fillRandom(target.data);
      transfer(target);
      collectAndReuse(64 * 1024 * 1024);
      await fill.catch(() => undefined);
    })();`,
    { dir: tmp.path },
    GC,
  );
  expect({ code: result.code, signal: result.signal }).toEqual({ code: 0, signal: null });
});
