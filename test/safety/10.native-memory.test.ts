/**
 * Buffers that vanish mid-call. A caller can detach an ArrayBuffer at any moment
 * (`structuredClone(buf, { transfer: [buf] })`, `postMessage` with a transfer list) and its memory
 * is freed once the new owner is collected. Whatever the stage of the call when that happens —
 * before it is queued, while its native job waits for a thread-pool thread, while it runs — the
 * process must not crash and must not store or write wrong bytes: the call either completes with
 * exactly the original bytes, or rejects with ERR_BUFFER_DETACHED and leaves no object and no
 * temporary file. Every case runs in a child process started with --expose-gc, which collects the
 * transferred memory and then overwrites freed memory with a pattern, so that a job still reading
 * or writing it would show (wrong bytes, EFAULT, SIGSEGV).
 */
import { execFileSync } from 'child_process';
import { mkdirSync } from 'fs';

import { fillRandom, generateData } from '../../lib';
import { azTarget, gsTarget, newBucketName, s3StoreOptions, s3Target, sdkTransportRun } from '../cloud/targets';
import { runNodeJson, runNodeScript } from '../helpers/child';
import { expectSameBytes } from '../helpers/local';
import { useTempDir } from '../helpers/temp';

// Child processes that fill, copy and collect hundreds of MiB, on a shared two-core machine.
jest.setTimeout(240_000);

const tmp = useTempDir('s3dlio-safety-mem-');
const MiB = 1024 * 1024;
const GC = ['--expose-gc'];

/** What a child reports for one call. */
interface Outcome {
  label: string;
  /** The call resolved. */
  ok: boolean;
  /** The rejection's code, name, uri. */
  code?: string;
  name?: string;
  uri?: string;
  /** Whether the transfer really detached the buffer (false for memory that cannot be). */
  detached: boolean;
  /** The stored object exists / holds exactly the original bytes. */
  exists: boolean;
  same: boolean;
  /** Temporary files left in the object's directory. */
  temps: string[];
}

/** Code shared by the child scripts (after `LIB` and `ARGS`). */
const PRELUDE = `
  const s3dlio = require(LIB);
  const fs = require('fs');
  const path = require('path');
  const crypto = require('crypto');
  const TEMP = /\\.s3dlio-\\d+-[0-9a-f]{16}\\.tmp$/;

  const digest = (view) => crypto.createHash('sha256').update(view).digest('hex');

  // An input of one of the kinds a caller can pass, filled with random bytes.
  function makeInput(kind, size) {
    let data, buffer, bytes;
    switch (kind) {
      case 'buffer': data = bytes = Buffer.allocUnsafeSlow(size); buffer = data.buffer; break;
      case 'unaligned': { const b = Buffer.allocUnsafeSlow(size + 3); data = bytes = b.subarray(3); buffer = b.buffer; break; }
      case 'arraybuffer': buffer = data = new ArrayBuffer(size); bytes = new Uint8Array(buffer); break;
      case 'dataview': buffer = new ArrayBuffer(size); data = new DataView(buffer); bytes = new Uint8Array(buffer); break;
      case 'float64': buffer = new ArrayBuffer(size); data = new Float64Array(buffer); bytes = new Uint8Array(buffer); break;
      case 'shared': buffer = new SharedArrayBuffer(size); data = bytes = new Uint8Array(buffer); break;
      case 'addon': data = bytes = s3dlio.allocAligned(size); buffer = data.buffer; break;
      case 'addon-unaligned': { const a = s3dlio.allocAligned(size + 1); data = bytes = a.subarray(1); buffer = a.buffer; break; }
      default: throw new Error('unknown kind ' + kind);
    }
    crypto.randomFillSync(bytes);
    return { data, buffer, sha: digest(bytes) };
  }

  // Transfers the buffer away and drops the new owner, so a collection frees its memory.
  function transfer(input, how = 'structuredClone') {
    try {
      if (how === 'postMessage') {
        const { port1, port2 } = new MessageChannel();
        port1.postMessage(input.buffer, [input.buffer]);
        port1.close(); port2.close();
      } else {
        structuredClone(input.buffer, { transfer: [input.buffer] });
      }
    } catch {
      // SharedArrayBuffer: cannot be transferred
    }
    return input.buffer.byteLength === 0;
  }

  // Collects, then fills freshly allocated memory with a pattern: memory freed by the collection is
  // likely reused, so a job reading it would see 0xA5 bytes, not the caller's.
  function collectAndReuse(size) {
    global.gc(); global.gc();
    const keep = [];
    for (let i = 0; i < 4; i++) keep.push(Buffer.alloc(Math.min(Math.max(size, 4096), 16 * 1024 * 1024), 0xa5));
    global.gc();
    return keep.length;
  }

  function fileOf(uri) { return uri.replace(/^[a-z]+:\\/\\//, ''); }

  function stateOf(uri, sha) {
    const file = fileOf(uri);
    const dir = path.dirname(file);
    const temps = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => TEMP.test(n)) : [];
    if (!fs.existsSync(file)) return { exists: false, same: false, temps };
    return { exists: true, same: digest(fs.readFileSync(file)) === sha, temps };
  }

  async function settle(label, promise, uri, sha, detached, state = stateOf) {
    let result;
    try {
      await promise;
      result = { ok: true };
    } catch (error) {
      result = { ok: false, code: error.code, name: error.name, uri: error.uri, message: error.message };
    }
    return { label, detached, ...result, ...(await state(uri, sha)) };
  }
`;

/** Either exactly the original bytes, or ERR_BUFFER_DETACHED (S3dlioError, with the URI) and nothing stored. */
function expectSafe(outcome: Outcome, uri?: string): void {
  if (outcome.ok) {
    expect(outcome).toMatchObject({ exists: true, same: true });
  } else {
    expect(outcome).toMatchObject({ code: 'ERR_BUFFER_DETACHED', name: 'S3dlioError', exists: false });
    if (uri !== undefined) expect(outcome.uri).toBe(uri);
  }
  expect(outcome.temps).toEqual([]);
}

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

describe('s3:// put (moto)', () => {
  const target = s3Target();
  const bucket = newBucketName('detach');
  const store = target.store();

  beforeAll(() => store.createBucket(target.bucketUri(bucket)));
  afterAll(() => store.deleteBucket(target.bucketUri(bucket), { force: true }));

  test('single PUT and multipart: the exact bytes, or ERR_BUFFER_DETACHED with no object and no pending upload', async () => {
    const script = `${PRELUDE}
      const { S3Client, ListMultipartUploadsCommand } = require('@aws-sdk/client-s3');
      (async () => {
        const { options, bucket } = ARGS;
        const store = s3dlio.storeFor('s3://', options);
        const client = new S3Client({ endpoint: options.endpoint, region: options.region, credentials: options.credentials, forcePathStyle: true });
        const pending = async () => (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
        const state = async (uri, sha) => {
          try { return { exists: true, same: digest(await store.get(uri)) === sha, temps: [] }; }
          catch (error) { if (error.code !== 'ERR_NOT_FOUND') throw error; return { exists: false, same: false, temps: [] }; }
        };
        const out = [];
        const putOptions = { multipartThreshold: 8 * 1024 * 1024, partSize: 5 * 1024 * 1024, concurrency: 1 };
        for (const [label, size, when] of [['single', 6 * 1024 * 1024, 'running'], ['single', 6 * 1024 * 1024, 'before'], ['multipart', 24 * 1024 * 1024, 'running'], ['multipart', 24 * 1024 * 1024, 'after-first-part']]) {
          const input = makeInput('buffer', size);
          const uri = 's3://' + bucket + '/' + label + '-' + when;
          let detached = false;
          if (when === 'before') detached = transfer(input);
          const promise = store.put(uri, input.data, putOptions);
          promise.catch(() => undefined);
          if (when === 'running') detached = transfer(input);
          if (when === 'after-first-part') {
            while ((await pending()).length === 0) await new Promise((r) => setTimeout(r, 2));
            detached = transfer(input);
          }
          collectAndReuse(size);
          const outcome = await settle(label + ' ' + when, promise, uri, input.sha, detached, state);
          out.push({ ...outcome, pendingUploads: (await pending()).length });
        }
        console.log('RESULT ' + JSON.stringify(out));
      })();`;
    const outcomes = await runNodeJson<Array<Outcome & { pendingUploads: number }>>(
      script,
      { options: s3StoreOptions(), bucket },
      GC,
    );
    expect(outcomes).toHaveLength(4);
    for (const outcome of outcomes) {
      expect(outcome.detached).toBe(true);
      expectSafe(outcome);
      expect(outcome.pendingUploads).toBe(0);
    }
    // The SDK transport sends a copy made before put() returns: a transfer after the call changes
    // nothing. The lean transport sends the caller's memory itself: transferred before it went
    // out, the put is refused.
    expect(outcomes[0]).toMatchObject(
      sdkTransportRun() ? { ok: true, same: true } : { ok: false, code: 'ERR_BUFFER_DETACHED', exists: false },
    );
    // Detached before the call, or before the writer took any part: refused.
    expect(outcomes.slice(1, 3).map((o) => o.code)).toEqual(['ERR_BUFFER_DETACHED', 'ERR_BUFFER_DETACHED']);
  });
});

/** az:// and gs://: the scheme URI and store options a child process makes its store with. */
const OTHER_CLOUDS = [
  {
    target: azTarget,
    schemeUri: 'az://devstoreaccount1/',
    options: () => ({ connectionString: process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING }),
  },
  {
    target: gsTarget,
    schemeUri: 'gs://',
    options: () => ({ endpoint: process.env.S3DLIO_TEST_GCS_ENDPOINT, projectId: 'test' }),
  },
];

describe.each(OTHER_CLOUDS)('$schemeUri put', ({ target: targetOf, schemeUri, options }) => {
  const target = targetOf();
  const bucket = newBucketName('detach');
  const store = target.store();

  beforeAll(() => store.createBucket(target.bucketUri(bucket)));
  afterAll(() => store.deleteBucket(target.bucketUri(bucket), { force: true }));

  test('one request and a multipart write: the exact bytes, or ERR_BUFFER_DETACHED and no object', async () => {
    const script = `${PRELUDE}
      (async () => {
        const { schemeUri, options, base } = ARGS;
        const store = s3dlio.storeFor(schemeUri, options);
        const state = async (uri, sha) => {
          try { return { exists: true, same: digest(await store.get(uri)) === sha, temps: [] }; }
          catch (error) { if (error.code !== 'ERR_NOT_FOUND') throw error; return { exists: false, same: false, temps: [] }; }
        };
        const out = [];
        const putOptions = { multipartThreshold: 8 * 1024 * 1024, partSize: 4 * 1024 * 1024, concurrency: 1 };
        for (const [label, size, when] of [['single', 6 * 1024 * 1024, 'running'], ['single', 6 * 1024 * 1024, 'before'], ['parts', 20 * 1024 * 1024, 'running']]) {
          const input = makeInput('buffer', size);
          const uri = base + label + '-' + when;
          let detached = false;
          if (when === 'before') detached = transfer(input);
          const promise = store.put(uri, input.data, putOptions);
          promise.catch(() => undefined);
          if (when === 'running') detached = transfer(input);
          collectAndReuse(size);
          out.push(await settle(label + ' ' + when, promise, uri, input.sha, detached, state));
        }
        console.log('RESULT ' + JSON.stringify(out));
      })();`;
    const outcomes = await runNodeJson<Outcome[]>(
      script,
      { schemeUri, options: options(), base: target.bucketUri(bucket) },
      GC,
    );
    expect(outcomes).toHaveLength(3);
    for (const outcome of outcomes) {
      expect(outcome.detached).toBe(true);
      expectSafe(outcome);
    }
    // The SDK transport sends a copy made before put() returns; the lean one sends the caller's
    // memory itself, so a transfer before it went out refuses the put.
    expect(outcomes[0]).toMatchObject(
      sdkTransportRun() ? { ok: true, same: true } : { ok: false, code: 'ERR_BUFFER_DETACHED', exists: false },
    );
    expect(outcomes[1]).toMatchObject({ code: 'ERR_BUFFER_DETACHED' });
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
