/**
 * Local writes that fail clean up by themselves and say why with a documented code. The disk
 * really fills up here: each child process runs in its own mount namespace on a 2 MiB tmpfs
 * (`unshare -m`), so put, putMany, createWriter and copy hit ENOSPC for real and must reject with
 * ERR_NO_SPACE, leave no temporary file behind and give the space back — a failed streaming writer
 * without anyone calling abort(). A file-size limit (`ulimit -f`, EFBIG) checks the same for an
 * error that has no code of its own.
 */
import { mkdirSync, writeFileSync } from 'fs';

import { runNodeJson } from '../helpers/child';
import { describeWithMount, withPrivateMount } from '../helpers/mount';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-safety-full-');
const MiB = 1024 * 1024;

const TMPFS = { type: 'tmpfs', options: 'size=2m' };
// Loud when skipped: these are the only tests that fill a disk for real.
const onFullDisk = describeWithMount(TMPFS, 'the full-disk tests of test/safety/13.write-failures');

interface Outcome {
  label: string;
  ok: boolean;
  code?: string;
  name?: string;
  uri?: string;
  /** Temporary files in the target directory once the call settled (before any abort). */
  temps: string[];
  exists: boolean;
}

const PRELUDE = `
  const s3dlio = require(LIB);
  const fs = require('fs');
  const TEMP = /\\.s3dlio-\\d+-[0-9a-f]{16}\\.tmp$/;
  const temps = (dir) => fs.readdirSync(dir).filter((n) => TEMP.test(n));
  const out = [];
  async function record(label, promise, dir, file) {
    let result;
    try { await promise; result = { ok: true }; }
    catch (error) { result = { ok: false, code: error.code, errnoName: error.errnoName, name: error.name, uri: error.uri }; }
    out.push({ label, ...result, temps: temps(dir), exists: file !== undefined && fs.existsSync(file) });
  }
`;

const FULL_DISK_CHILD = `${PRELUDE}
  (async () => {
    const { dir, source } = ARGS;
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    for (const scheme of ['file', 'direct']) {
      const store = s3dlio.storeFor(scheme + ':///', scheme === 'direct' ? { allowBufferedFallback: true } : {});
      const small = s3dlio.storeFor(scheme + ':///', { chunkSize: 1024 * 1024, ...(scheme === 'direct' && { allowBufferedFallback: true }) });
      const at = (name) => scheme + '://' + dir + '/' + scheme + '-' + name;
      const file = (name) => dir + '/' + scheme + '-' + name;
      await record(scheme + ' put (one native job)', store.put(at('put'), big), dir, file('put'));
      await record(scheme + ' put of addon memory', store.put(at('addon'), s3dlio.allocAligned(4 * 1024 * 1024)), dir, file('addon'));
      await record(scheme + ' put (part by part)', small.put(at('parts'), big), dir, file('parts'));
      // putMany: the first items fit, the later ones do not.
      const items = Array.from({ length: 6 }, (_, i) => ({ uri: at('many-' + i), data: Buffer.alloc(700 * 1024, i) }));
      let failedItems = [];
      const many = store.putMany(items, { concurrency: 1 }).catch((error) => {
        failedItems = error.errors.map((e) => e.code);
        throw error;
      });
      await record(scheme + ' putMany', many, dir);
      out.push({ label: scheme + ' putMany items', ok: failedItems.length === 0, code: [...new Set(failedItems)].join(','), temps: temps(dir), exists: false });
      for (let i = 0; i < 6; i++) fs.rmSync(file('many-' + i), { force: true });
      // A streaming writer: the failed write() has removed the temp file before returning.
      const writer = store.createWriter(at('writer'), { partSize: 256 * 1024, concurrency: 2 });
      const writing = (async () => { for (let i = 0; i < 16; i++) await writer.write(Buffer.alloc(256 * 1024, i)); })();
      await record(scheme + ' writer.write', writing, dir, file('writer'));
      await record(scheme + ' writer.close', writer.close(), dir, file('writer'));
      await record(scheme + ' writer.abort', writer.abort(), dir, file('writer'));
    }
    await record('copy', s3dlio.copy('file://' + source, 'file://' + dir + '/copy'), dir, dir + '/copy');
    const stats = fs.statfsSync(dir);
    out.push({ label: 'space used after the failures', ok: true, code: String((stats.blocks - stats.bfree) * stats.bsize), temps: temps(dir), exists: false });
    console.log('RESULT ' + JSON.stringify(out));
  })();`;

onFullDisk('a full filesystem (ENOSPC)', () => {
  let outcomes: Outcome[] = [];
  const byLabel = (label: string): Outcome => {
    const found = outcomes.find((o) => o.label === label);
    if (!found) throw new Error(`no outcome ${label}: ${JSON.stringify(outcomes)}`);
    return found;
  };

  beforeAll(async () => {
    const dir = `${tmp.path}/full`;
    mkdirSync(dir);
    const source = `${tmp.path}/source.bin`;
    writeFileSync(source, Buffer.alloc(4 * MiB, 1));
    outcomes = await runNodeJson<Outcome[]>(FULL_DISK_CHILD, { dir, source }, [], withPrivateMount(TMPFS, dir));
  });

  test.each([
    'file put (one native job)',
    'file put of addon memory',
    'file put (part by part)',
    'direct put (one native job)',
    'direct put of addon memory',
    'direct put (part by part)',
    'copy',
  ])('%s: ERR_NO_SPACE with the URI, no object, no temporary file', (label) => {
    const outcome = byLabel(label);
    expect(outcome).toMatchObject({ ok: false, code: 'ERR_NO_SPACE', name: 'S3dlioError', exists: false, temps: [] });
    expect(outcome.uri).toMatch(/^(file|direct):\/\//);
  });

  test.each(['file', 'direct'])(
    '%s putMany: the items that did not fit fail with ERR_NO_SPACE, no temporary file',
    (scheme) => {
      expect(byLabel(`${scheme} putMany`)).toMatchObject({ ok: false, code: 'ERR_BATCH_FAILED', temps: [] });
      expect(byLabel(`${scheme} putMany items`)).toMatchObject({ ok: false, code: 'ERR_NO_SPACE' });
    },
  );

  test.each(['file', 'direct'])(
    '%s createWriter: the failing write() rejects with ERR_NO_SPACE after removing its temporary file itself',
    (scheme) => {
      expect(byLabel(`${scheme} writer.write`)).toMatchObject({
        ok: false,
        code: 'ERR_NO_SPACE',
        name: 'S3dlioError',
        temps: [],
        exists: false,
      });
      expect(byLabel(`${scheme} writer.close`)).toMatchObject({ ok: false, code: 'ERR_NO_SPACE', exists: false });
      expect(byLabel(`${scheme} writer.abort`)).toMatchObject({ ok: true, temps: [] });
    },
  );

  test('the space is given back: nothing the failed writes staged remains', () => {
    const used = Number(byLabel('space used after the failures').code);
    expect(used).toBeLessThan(64 * 1024);
  });
});

test('a write error without a code of its own (EFBIG, over the file-size limit) is ERR_IO and also cleans up', async () => {
  const dir = `${tmp.path}/limited`;
  mkdirSync(dir);
  const script = `${PRELUDE}
    (async () => {
      const { dir } = ARGS;
      const big = Buffer.alloc(3 * 1024 * 1024, 5);
      await record('put', s3dlio.put('file://' + dir + '/put', big), dir, dir + '/put');
      const writer = s3dlio.createWriter('file://' + dir + '/writer', { partSize: 512 * 1024 });
      await record('writer.write', writer.write(big), dir, dir + '/writer');
      console.log('RESULT ' + JSON.stringify(out));
    })();`;
  // ulimit -f counts KiB here: files stop at 1 MiB.
  const outcomes = await runNodeJson<Outcome[]>(script, { dir }, [], {
    wrapper: ['sh', '-c', 'ulimit -f 1024 && exec "$@"', 'sh'],
  });
  for (const outcome of outcomes) {
    expect(outcome).toMatchObject({
      ok: false,
      code: 'ERR_IO',
      errnoName: 'EFBIG',
      name: 'S3dlioError',
      temps: [],
      exists: false,
    });
  }
});
