/**
 * One object under two names is never lost: `rename(a, b)` where a and b name the same object (the
 * same URI, gs:// and gcs://, an inline S3 endpoint and the configured one, Azure's https and az://
 * forms, file:// and direct:// of one file, a symlink and its target, hard links, a bind mount)
 * resolves and leaves the object as it was; `copy` onto itself too; a recursive copy into its own
 * source is refused. Local cases run in a test directory, the bind mount in the sandbox of
 * test/helpers/sandbox.ts, cloud cases on moto, Azurite and the GCS test server.
 */
import { linkSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'fs';
import * as path from 'path';

import * as s3dlio from '../../lib';
import { type ObjectStore, configureDefaultStore, copy, rename } from '../../lib';
import { assertDistFresh, runCli } from '../cli/cli';
import { type CloudTarget, azTarget, gsTarget, newBucketName, requiredEnv, s3Target } from '../cloud/targets';
import { REPO_ROOT } from '../helpers/child';
import { type Api, apiMatrix, expectSameBytes, rejectionOf, sandbox, testBytes, treeOf } from '../helpers/local';
import { NOT_IN_SANDBOX, probeSandbox, runInSandbox } from '../helpers/sandbox';
import { useTempDir } from '../helpers/temp';

const tmp = useTempDir('s3dlio-same-');

describe.each(apiMatrix())('%s: one file under two names', (_label, scheme, api: Api) => {
  const box = () => sandbox(tmp.path, scheme, 'same');
  const data = testBytes(70_001, 40);

  test.each([
    ['the same URI', (uri: (rel: string) => string) => [uri('f.bin'), uri('f.bin')]],
    ['a doubled slash', (uri: (rel: string) => string) => [uri('f.bin'), uri('/f.bin')]],
  ])('rename and copy with %s: the object survives byte-identical', async (_what, names) => {
    const b = box();
    writeFileSync(b.path('f.bin'), data);
    const [first, second] = names((rel) => b.uri(rel));
    const inode = statSync(b.path('f.bin')).ino;
    await api.rename(first, second);
    await api.copy(first, second);
    await api.rename(second, first, { requireAtomic: true });
    expectSameBytes(readFileSync(b.path('f.bin')), data);
    expect(statSync(b.path('f.bin')).ino).toBe(inode); // not even rewritten
    expect(treeOf(b.dir)).toEqual(['f.bin']);
  });

  test('a symlink and its target, both ways: nothing moves, nothing is lost', async () => {
    const b = box();
    writeFileSync(b.path('target.bin'), data);
    symlinkSync(b.path('target.bin'), b.path('link.bin'));
    await api.rename(b.uri('link.bin'), b.uri('target.bin'));
    await api.rename(b.uri('target.bin'), b.uri('link.bin'));
    await api.copy(b.uri('link.bin'), b.uri('target.bin'));
    expectSameBytes(readFileSync(b.path('target.bin')), data);
    expectSameBytes(await api.get(b.uri('link.bin')), data);
  });

  test('a path through a symlinked directory and the real path', async () => {
    const b = box();
    mkdirSync(b.path('real'));
    writeFileSync(b.path('real/f.bin'), data);
    symlinkSync(b.path('real'), b.path('alias'));
    await api.rename(b.uri('alias/f.bin'), b.uri('real/f.bin'));
    await api.rename(b.uri('real/f.bin'), b.uri('alias/f.bin'));
    expectSameBytes(readFileSync(b.path('real/f.bin')), data);
  });

  test('hard links: rename is a no-op (as rename(2)), both names keep the bytes', async () => {
    const b = box();
    writeFileSync(b.path('a.bin'), data);
    linkSync(b.path('a.bin'), b.path('b.bin'));
    await api.rename(b.uri('a.bin'), b.uri('b.bin'));
    await api.copy(b.uri('b.bin'), b.uri('a.bin'));
    expectSameBytes(readFileSync(b.path('a.bin')), data);
    expectSameBytes(readFileSync(b.path('b.bin')), data);
  });

  test('a missing source is still ERR_NOT_FOUND, also onto itself', async () => {
    const b = box();
    await expect(api.rename(b.uri('nope'), b.uri('nope'))).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(api.copy(b.uri('nope'), b.uri('nope'))).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});

describe('file:// and direct:// of one path (the module functions, across schemes)', () => {
  const data = testBytes(12_288, 41);

  test.each([
    ['file → direct', 'file', 'direct'],
    ['direct → file', 'direct', 'file'],
  ] as const)('rename and copy %s: the file survives byte-identical', async (_label, from, to) => {
    const b = sandbox(tmp.path, 'file', 'cross');
    writeFileSync(b.path('p.bin'), data);
    await rename(b.uri('p.bin', from), b.uri('p.bin', to));
    await copy(b.uri('p.bin', from), b.uri('p.bin', to));
    await rename(b.uri('p.bin', to), b.uri('p.bin', from));
    expectSameBytes(readFileSync(b.path('p.bin')), data);
  });

  test('through a symlink across schemes', async () => {
    const b = sandbox(tmp.path, 'file', 'cross');
    writeFileSync(b.path('p.bin'), data);
    symlinkSync(b.path('p.bin'), b.path('q.bin'));
    await rename(b.uri('q.bin', 'file'), b.uri('p.bin', 'direct'));
    expectSameBytes(readFileSync(b.path('p.bin')), data);
  });

  test('a different file is still moved (copy + delete across schemes)', async () => {
    const b = sandbox(tmp.path, 'file', 'cross');
    writeFileSync(b.path('p.bin'), data);
    await rename(b.uri('p.bin', 'file'), b.uri('moved.bin', 'direct'));
    expect(treeOf(b.dir)).toEqual(['moved.bin']);
  });
});

describe('a recursive copy into its own source is refused; onto itself it changes nothing', () => {
  const tree = () => {
    const b = sandbox(tmp.path, 'file', 'rec');
    for (const name of ['d/a.bin', 'd/sub/b.bin', 'd/ab.bin']) {
      mkdirSync(path.dirname(b.path(name)), { recursive: true });
      writeFileSync(b.path(name), name);
    }
    return b;
  };

  test.each([
    ['into a sub-directory', 'd/', 'd/copy/'],
    ['into a sub-directory (destination without its slash)', 'd/', 'd/copy'],
    ['into a directory its name prefix matches', 'd/a', 'd/ab-copy/'],
    ['into itself through direct://', 'd/', 'd/x/'],
  ])('%s', async (_label, from, to) => {
    const b = tree();
    const error = await rejectionOf(
      copy(b.uri(from), b.uri(to, to === 'd/x/' ? 'direct' : 'file'), { recursive: true }),
    );
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(error.message).toContain('copy into itself');
    expect(treeOf(b.dir)).toEqual(['d/', 'd/a.bin', 'd/ab.bin', 'd/sub/', 'd/sub/b.bin']);
  });

  test('onto itself: every object maps onto itself and is left as it is', async () => {
    const b = tree();
    await copy(b.uri('d/'), b.uri('d/'), { recursive: true });
    await copy(b.uri('d/a'), b.uri('d/'), { recursive: true });
    expect(treeOf(b.dir)).toEqual(['d/', 'd/a.bin', 'd/ab.bin', 'd/sub/', 'd/sub/b.bin']);
  });

  test('next to the source is fine', async () => {
    const b = tree();
    await copy(b.uri('d/sub/'), b.uri('e/'), { recursive: true });
    await copy(b.uri('d/a'), b.uri('d/sub/'), { recursive: true }); // d/a* does not reach d/sub
    expect(treeOf(b.path('e'))).toEqual(['b.bin']);
    expect(treeOf(b.path('d/sub'))).toEqual(['a.bin', 'ab.bin', 'b.bin']);
  });

  test('the CLI: cp -r into the source is a usage error (exit 2) and copies nothing', async () => {
    assertDistFresh();
    const b = tree();
    const result = await runCli(['cp', '-r', b.uri('d/'), b.uri('d/copy/')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is inside');
    expect(result.stderr).toContain('the copies would be copied again');
    expect(treeOf(b.dir)).toEqual(['d/', 'd/a.bin', 'd/ab.bin', 'd/sub/', 'd/sub/b.bin']);
  });
});

const box = probeSandbox();
if (!box.ok) console.warn(`SKIPPED: the bind-mount case needs a sandbox (unshare + overlayfs): ${box.reason}`);

(box.ok ? test : test.skip)(
  'one file under two bind mounts (rename(2) says EXDEV): nothing is lost',
  async () => {
    // In the sandbox, /srv/b is a bind mount of /srv/a: rename between them fails with EXDEV, and the
    // fallback copy + unlink would copy the file onto itself, then delete it.
    const script = `
    const s3dlio = require(${JSON.stringify(path.join(REPO_ROOT, 'lib'))});
    const { readFileSync } = require('fs');
    (async () => {
      const out = {};
      for (const [name, from, to] of [
        ['file', 'file:///srv/a/f.bin', 'file:///srv/b/f.bin'],
        ['file back', 'file:///srv/b/f.bin', 'file:///srv/a/f.bin'],
        ['across schemes', 'file:///srv/a/f.bin', 'direct:///srv/b/f.bin'],
        ['copy', 'file:///srv/b/f.bin', 'file:///srv/a/f.bin'],
      ]) {
        const op = name === 'copy' ? s3dlio.copy : s3dlio.rename;
        try { await op(from, to); out[name] = 'ok'; } catch (e) { out[name] = e.code; }
        try { out[name] += ' ' + readFileSync('/srv/a/f.bin', 'utf8'); } catch (e) { out[name] += ' ' + e.code; }
      }
      console.log('RESULT ' + JSON.stringify(out));
    })();`;
    const run = await runInSandbox(
      [process.execPath, '-r', path.join(REPO_ROOT, 'test/helpers/register-ts.js'), '-e', script],
      {
        cwd: REPO_ROOT,
        setup: [
          'mkdir -p "$M/srv/a" "$M/srv/b"',
          'printf precious > "$M/srv/a/f.bin"',
          'mount --bind "$M/srv/a" "$M/srv/b"',
        ].join('\n'),
      },
    );
    expect(run.code).not.toBe(NOT_IN_SANDBOX);
    const line = run.stdout.split('\n').find((text) => text.startsWith('RESULT '));
    if (!line) throw new Error(`no result (exit ${run.code}):\n${run.stderr}`);
    expect(JSON.parse(line.slice(7))).toEqual({
      file: 'ok precious',
      'file back': 'ok precious',
      'across schemes': 'ok precious',
      copy: 'ok precious',
    });
  },
  120_000,
);

describe.each([
  ['s3 (moto)', s3Target()],
  ['az (Azurite)', azTarget()],
  ['gs (test GCS server)', gsTarget()],
] as Array<[string, CloudTarget]>)('%s: one object under two names', (_name, target) => {
  const store: ObjectStore = target.store();
  const bucket = newBucketName('same');
  const base = target.bucketUri(bucket);
  const data = testBytes(100_003, 42);

  beforeAll(() => store.createBucket(base));
  afterAll(() => store.deleteBucket(base, { force: true }));

  /** Other spellings of `key` in this bucket, as the store accepts them. */
  const spellings = (key: string): string[] => {
    if (target.scheme === 'gs') return [`gcs://${bucket}/${key}`];
    if (target.scheme === 'az') return [`https://devstoreaccount1.blob.core.windows.net/${bucket}/${key}`];
    const { host } = new URL(requiredEnv('S3DLIO_TEST_S3_ENDPOINT'));
    const port = host.split(':').pop() as string;
    return [`s3://${host}/${bucket}/${key}`, `s3://localhost:${port}/${bucket}/${key}`];
  };

  test('rename(x, x) and copy(x, x): the object survives byte-identical', async () => {
    const uri = `${base}self.bin`;
    await store.put(uri, data);
    await store.rename(uri, uri);
    await store.copy(uri, uri);
    expectSameBytes(await store.get(uri), data);
  });

  test('rename and copy between two spellings of one object, both ways', async () => {
    const uri = `${base}spelled.bin`;
    await store.put(uri, data);
    for (const other of spellings('spelled.bin')) {
      await store.rename(uri, other);
      expectSameBytes(await store.get(uri), data);
      await store.rename(other, uri);
      await store.copy(other, uri);
      expectSameBytes(await store.get(other), data);
    }
    expectSameBytes(await store.get(uri), data);
  });

  test('a missing source onto itself is ERR_NOT_FOUND', async () => {
    const missing = `${base}missing.bin`;
    await expect(store.rename(missing, spellings('missing.bin')[0])).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(store.copy(missing, missing)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  test('a different key is still moved', async () => {
    await store.put(`${base}from.bin`, data);
    await store.rename(`${base}from.bin`, spellings('to.bin')[0]);
    expect(await store.exists(`${base}from.bin`)).toBe(false);
    expectSameBytes(await store.get(`${base}to.bin`), data);
  });

  test('the module functions (default stores), and a recursive copy into itself is refused', async () => {
    const options =
      target.scheme === 's3'
        ? {
            endpoint: requiredEnv('S3DLIO_TEST_S3_ENDPOINT'),
            credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
          }
        : target.scheme === 'az'
          ? { connectionString: requiredEnv('S3DLIO_TEST_AZURE_CONNECTION_STRING') }
          : { endpoint: requiredEnv('S3DLIO_TEST_GCS_ENDPOINT'), projectId: 'test' };
    configureDefaultStore(base, options);
    const uri = `${base}module.bin`;
    await s3dlio.put(uri, data);
    for (const other of [uri, ...spellings('module.bin')]) {
      await rename(uri, other);
      await copy(other, uri);
    }
    expectSameBytes(await s3dlio.get(uri), data);
    const into = await rejectionOf(copy(`${base}m`, `${spellings('m-copy/')[0]}`, { recursive: true }));
    expect(into).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    expect(await s3dlio.list(`${base}m`, { recursive: true })).toEqual([uri]);
  });
});
