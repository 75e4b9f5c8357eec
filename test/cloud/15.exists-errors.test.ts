/**
 * `exists()` answers false only when the service says there is no such object (or bucket). Any
 * other failure (access denied, throttling after the retries, a server error, a refused
 * connection, a timeout, the caller's abort) rejects with its own code: reading it as "absent"
 * would make a caller re-create, skip or overwrite data it cannot see. Each cloud behind the fault
 * proxy in front of its real test server; local files where the filesystem refuses the lookup.
 */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'fs';
import { createServer } from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { spawnSync } from 'child_process';

import { type ObjectStore, storeFor } from '../../lib';
import { REPO_ROOT } from '../helpers/child';
import { rejectionOf } from '../helpers/local';
import { useTempDir } from '../helpers/temp';
import { AZURITE_ACCOUNT, AZURITE_KEY } from '../servers/azurite';
import { type FaultAction, type FaultProxy, SLOW_DOWN_BODY, startFaultProxy } from '../servers/fault-proxy';
import { type CloudTarget, cloudTargets, newBucketName } from './targets';

const upstream: Record<CloudTarget['scheme'], () => string> = {
  s3: () => process.env.S3DLIO_TEST_S3_ENDPOINT as string,
  gs: () => process.env.S3DLIO_TEST_GCS_ENDPOINT as string,
  az: () => new URL(/BlobEndpoint=([^;]+)/.exec(process.env.S3DLIO_TEST_AZURE_CONNECTION_STRING as string)![1]).origin,
};

/** A store of `scheme` whose requests go to `endpoint` (the proxy, or where nothing listens). */
function storeAt(scheme: CloudTarget['scheme'], endpoint: string, options: Record<string, unknown> = {}): ObjectStore {
  const common = { maxAttempts: 2, retryBaseDelayMs: 1, ...options };
  if (scheme === 's3') {
    return storeFor('s3://', {
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      ...common,
    });
  }
  if (scheme === 'az') {
    return storeFor(`az://${AZURITE_ACCOUNT}/`, {
      endpoint: `${endpoint}/${AZURITE_ACCOUNT}`,
      accountKey: AZURITE_KEY,
      ...common,
    });
  }
  return storeFor('gs://', { endpoint, projectId: 'test', ...common });
}

/** A loopback port nothing listens on (a server bound it, then closed). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.each(cloudTargets().map((target) => [target.name, target] as [string, CloudTarget]))('%s', (_name, target) => {
  let proxy: FaultProxy;
  const bucket = newBucketName('exists');
  const base = target.bucketUri(bucket);
  const present = `${base}probe/present.bin`;
  const probe = /probe(\/|%2F)/i;

  beforeAll(async () => {
    proxy = await startFaultProxy({ target: upstream[target.scheme]() });
    await target.store().createBucket(base);
    await target.store().put(present, 'here');
  });
  afterAll(async () => {
    await target.store().deleteBucket(base, { force: true });
    await proxy.stop();
  });
  beforeEach(() => {
    proxy.clearRules();
    proxy.resetStats();
  });

  test('through the proxy without faults: true for the object, false for a missing key and a missing bucket', async () => {
    const store = storeAt(target.scheme, proxy.url);
    await expect(store.exists(present)).resolves.toBe(true);
    await expect(store.exists(`${base}probe/missing.bin`)).resolves.toBe(false);
    await expect(store.exists(`${target.bucketUri(newBucketName('nobucket'))}probe/x`)).resolves.toBe(false);
  });

  test.each<[string, string, FaultAction, number]>([
    ['403', 'ERR_ACCESS_DENIED', { type: 'status', status: 403 }, 1],
    ['401', 'ERR_ACCESS_DENIED', { type: 'status', status: 401 }, 1],
    ['503 on every attempt', 'ERR_THROTTLED', { type: 'status', status: 503, body: SLOW_DOWN_BODY }, 2],
    ['429 on every attempt', 'ERR_THROTTLED', { type: 'status', status: 429 }, 2],
    ['500 on every attempt', 'ERR_SERVER', { type: 'status', status: 500 }, 2],
    ['a dropped connection on every attempt', 'ERR_CONNECTION', { type: 'drop' }, 2],
  ])(
    '%s: rejects with %s, never false (for the present and for a missing object)',
    async (_label, code, action, attempts) => {
      proxy.setRules([{ name: 'probe', path: probe, action }]);
      const store = storeAt(target.scheme, proxy.url);
      for (const uri of [present, `${base}probe/missing.bin`]) {
        proxy.resetStats();
        const error = await rejectionOf(store.exists(uri));
        expect({ uri, code: error.code, operation: error.operation }).toEqual({ uri, code, operation: 'exists' });
        expect(proxy.stats.byRule.probe).toBe(attempts);
      }
    },
  );

  test('an attempt that times out every time: ERR_TIMEOUT', async () => {
    proxy.setRules([{ path: probe, action: { type: 'delay', ms: 5_000 } }]);
    const store = storeAt(target.scheme, proxy.url, { attemptTimeoutMs: 200 });
    await expect(store.exists(present)).rejects.toMatchObject({ code: 'ERR_TIMEOUT', operation: 'exists' });
  });

  test('a refused connection: ERR_CONNECTION', async () => {
    const store = storeAt(target.scheme, `http://127.0.0.1:${await closedPort()}`);
    await expect(store.exists(present)).rejects.toMatchObject({ code: 'ERR_CONNECTION', operation: 'exists' });
  });

  test('the caller aborting while the request is in flight: ERR_ABORTED with the signal’s reason', async () => {
    proxy.setRules([{ path: probe, action: { type: 'delay', ms: 10_000 } }]);
    const controller = new AbortController();
    const pending = storeAt(target.scheme, proxy.url).exists(present, { signal: controller.signal });
    while (proxy.stats.requests === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const reason = new Error('enough');
    controller.abort(reason);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED', operation: 'exists', cause: reason });
  });
});

describe('file:// and direct://', () => {
  const tmp = useTempDir('s3dlio-exists-');

  test('a directory the user may not search is ERR_ACCESS_DENIED on file:// and direct://, not false', () => {
    // Root searches every directory: the lookups then run as `nobody` (one child for all of them).
    const asRoot = process.getuid?.() === 0;
    chmodSync(tmp.path, 0o755);
    const locked = path.join(tmp.path, 'locked');
    mkdirSync(locked);
    writeFileSync(path.join(locked, 'x.bin'), 'x');
    chmodSync(locked, asRoot ? 0o700 : 0o000);
    const uris = ['file', 'direct'].flatMap((scheme) => [
      `${scheme}://${locked}/x.bin`,
      `${scheme}://${locked}/missing.bin`,
    ]);
    const script = `const { exists } = require(${JSON.stringify(path.join(REPO_ROOT, 'lib'))});
      Promise.all(process.argv.slice(1).map((uri) => exists(uri).then(
        (value) => ({ uri, value }),
        (e) => ({ uri, code: e.code, operation: e.operation }),
      ))).then((results) => console.log(JSON.stringify(results)));`;
    const child = spawnSync(
      process.execPath,
      ['-r', path.join(REPO_ROOT, 'test/helpers/register-ts.js'), '-e', script, ...uris],
      { cwd: REPO_ROOT, encoding: 'utf8', ...(asRoot ? { uid: 65534, gid: 65534 } : {}) },
    );
    chmodSync(locked, 0o700);
    expect(JSON.parse(child.stdout)).toEqual(
      uris.map((uri) => ({ uri, code: 'ERR_ACCESS_DENIED', operation: 'exists' })),
    );
  }, 60_000);

  test('a symlink loop is an error (ERR_IO, errno name ELOOP); a dangling symlink and a path below a file are false', async () => {
    const dir = path.join(tmp.path, 'links');
    mkdirSync(dir);
    symlinkSync(path.join(dir, 'b'), path.join(dir, 'a'));
    symlinkSync(path.join(dir, 'a'), path.join(dir, 'b'));
    symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'dangling'));
    writeFileSync(path.join(dir, 'file'), 'x');
    for (const scheme of ['file', 'direct']) {
      const store = storeFor(`${scheme}:///`);
      await expect(store.exists(`${scheme}://${dir}/a`)).rejects.toMatchObject({
        code: 'ERR_IO',
        errnoName: 'ELOOP',
        operation: 'exists',
      });
      await expect(store.exists(`${scheme}://${dir}/dangling`)).resolves.toBe(false);
      await expect(store.exists(`${scheme}://${dir}/file/below`)).resolves.toBe(false);
      await expect(store.exists(`${scheme}://${dir}/file`)).resolves.toBe(true);
    }
  });

  test('an aborted signal: ERR_ABORTED, not false', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(
      storeFor('file:///').exists(`file://${tmp.path}/none`, { signal: controller.signal }),
    ).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
  });
});
