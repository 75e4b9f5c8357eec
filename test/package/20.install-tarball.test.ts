/**
 * The package as users get it: `npm pack`, install the tarball into an empty project (offline,
 * no compiler needed thanks to the prebuild), then use it from require, import and TypeScript. The
 * cloud SDKs and h5wasm (HDF5) are optional peer dependencies, so this is also the install of a
 * local-only user: no SDK is there, file:// and direct:// work, every format but HDF5 works, and
 * each cloud scheme and HDF5 says which command installs what it needs.
 */
import { execFileSync } from 'child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
let work = '';
let consumer = '';

/** The cloud SDKs and h5wasm: this package's optional peer dependencies. */
const peers = Object.keys(
  (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> })
    .peerDependencies,
);

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 's3dlio-pack-'));
  // --ignore-scripts: `prepare` would rebuild dist/ while other suites (the CLI's) run from it;
  // `npm test` has just built it (pretest).
  run('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--silent'], root);
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball in ${work}`);
  consumer = path.join(work, 'consumer');
  run('mkdir', ['-p', consumer], work);
  writeFileSync(
    path.join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
  );
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(work, tarball)], consumer);
}, 180_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the tarball ships the compiled API, types, the ES module wrapper, native sources and the prebuild', () => {
  const installed = path.join(consumer, 'node_modules', 's3dlio');
  const files = [
    'dist/index.js',
    'dist/index.mjs',
    'dist/index.d.ts',
    'binding.gyp',
    'native/addon.cc',
    'prebuilds/linux-x64',
  ];
  for (const file of files)
    expect(readdirSync(path.dirname(path.join(installed, file)))).toContain(path.basename(file));
  expect(readdirSync(installed)).not.toContain('test');
});

test('works from require() in an empty project', () => {
  const script = `
    const s3dlio = require('s3dlio');
    (async () => {
      const uri = 'direct://' + ${JSON.stringify(work)} + '/cjs/obj.bin';
      await s3dlio.put(uri, 'hello from require');
      const text = Buffer.from(await s3dlio.get(uri.replace('direct://', 'file://'))).toString();
      const listed = await s3dlio.list('file://' + ${JSON.stringify(work)} + '/cjs/');
      console.log(JSON.stringify({ text, listed: listed.length, error: typeof s3dlio.S3dlioError }));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const output = JSON.parse(run(process.execPath, ['-e', script], consumer));
  expect(output).toEqual({ text: 'hello from require', listed: 1, error: 'function' });
});

test('works from import in an empty project and shares classes with require()', () => {
  const script = `
    import { put, getRange, S3dlioError } from 's3dlio';
    import s3dlio from 's3dlio';
    import { createRequire } from 'module';
    const required = createRequire(import.meta.url)('s3dlio');
    const uri = 'file://' + ${JSON.stringify(work)} + '/esm/obj.txt';
    await put(uri, 'hello from import');
    const part = Buffer.from(await getRange(uri, 6, 4)).toString();
    let code = '';
    try { await s3dlio.get(uri + '.missing'); } catch (e) { code = e instanceof required.S3dlioError ? e.code : 'wrong class'; }
    console.log(JSON.stringify({ part, code, same: S3dlioError === required.S3dlioError }));`;
  const output = JSON.parse(run(process.execPath, ['--input-type=module', '-e', script], consumer));
  expect(output).toEqual({ part: 'from', code: 'ERR_NOT_FOUND', same: true });
});

test('a default install has no cloud SDK and no h5wasm: they are optional peer dependencies', () => {
  expect(peers.length).toBeGreaterThan(0);
  const installed = peers.filter((name) => existsSync(path.join(consumer, 'node_modules', name)));
  expect(installed).toEqual([]);
});

test('without the SDKs: loading the package loads none, and each cloud scheme is a one-line ERR_MODULE_NOT_FOUND with its install command', () => {
  const script = `
    const s3dlio = require('s3dlio');
    (async () => {
      const loaded = () => Object.keys(require.cache).filter((file) => /node_modules\\/(@aws-sdk|@azure|@google-cloud|@smithy)\\//.test(file));
      const atLoad = loaded();
      const errors = {};
      for (const uri of ['s3://bucket/key', 'az://account/container/key', 'gs://bucket/key']) {
        try { s3dlio.storeFor(uri); errors[uri] = 'no error'; } catch (e) {
          errors[uri] = { name: e.name, code: e.code, message: e.message, cause: e.cause && e.cause.code };
        }
        // Through a module function too: a rejection with the same error.
        const viaGet = await s3dlio.get(uri).then(() => 'no error', (e) => e.code);
        if (viaGet !== 'ERR_MODULE_NOT_FOUND') errors[uri] = 'get: ' + viaGet;
      }
      console.log(JSON.stringify({ atLoad, errors }));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const output = JSON.parse(run(process.execPath, ['-e', script], consumer)) as {
    atLoad: string[];
    errors: Record<string, { name: string; code: string; message: string; cause: string }>;
  };
  expect(output.atLoad).toEqual([]);
  const missing = (scheme: string, name: string, command: string): object => ({
    name: 'S3dlioError',
    code: 'ERR_MODULE_NOT_FOUND',
    message: `${scheme}:// needs the package ${name}, which is not installed: run \`${command}\``,
    cause: 'MODULE_NOT_FOUND',
  });
  expect(output.errors).toEqual({
    's3://bucket/key': missing(
      's3',
      '@aws-sdk/client-s3',
      'npm install @aws-sdk/client-s3 @smithy/node-http-handler @smithy/signature-v4',
    ),
    'az://account/container/key': missing(
      'az',
      '@azure/storage-blob',
      'npm install @azure/storage-blob @azure/identity',
    ),
    'gs://bucket/key': missing('gs', '@google-cloud/storage', 'npm install @google-cloud/storage'),
  });
  // Every peer dependency but HDF5's (the next test) is named by the command of one scheme.
  const commands = Object.values(output.errors).map((error) => error.message.split('npm install ')[1]);
  expect(commands.join(' ').replace(/`/g, '').split(' ').sort()).toEqual(
    peers.filter((name) => name !== 'h5wasm').sort(),
  );
});

test('without h5wasm: every HDF5 call is a one-line ERR_MODULE_NOT_FOUND naming `npm install h5wasm`; the other formats work', () => {
  const script = `
    const s3dlio = require('s3dlio');
    const outcome = (promise) => promise.then(
      () => 'no error',
      (e) => ({ name: e.name, code: e.code, message: e.message, cause: e.cause && e.cause.code }),
    );
    (async () => {
      const hdf5 = {
        encodeHdf5: await outcome(s3dlio.encodeHdf5({ name: 'data', data: Uint8Array.of(1, 2) })),
        readHdf5: await outcome(s3dlio.readHdf5(Uint8Array.of(1, 2))),
        generateObject: await outcome(s3dlio.generateObject('hdf5', 64)),
      };
      const floats = Float32Array.of(1.5, -2);
      const npy = Array.from(s3dlio.parseNpy(s3dlio.encodeNpy(floats)).data);
      const npz = Array.from(s3dlio.readNpz(s3dlio.encodeNpz({ x: floats })).get('x').data);
      const records = [...s3dlio.readTfRecords(s3dlio.encodeTfRecords([Uint8Array.of(7, 8)]).data)].map((r) => Array.from(r));
      const generated = {};
      for (const format of ['raw', 'npz', 'tfrecord']) generated[format] = (await s3dlio.generateObject(format, 4096)).data.byteLength > 0;
      console.log(JSON.stringify({ hdf5, npy, npz, records, generated }));
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const output = JSON.parse(run(process.execPath, ['-e', script], consumer)) as Record<string, unknown>;
  const missing = {
    name: 'S3dlioError',
    code: 'ERR_MODULE_NOT_FOUND',
    message: 'HDF5 needs the package h5wasm, which is not installed: run `npm install h5wasm`',
    cause: 'MODULE_NOT_FOUND',
  };
  expect(output).toEqual({
    hdf5: { encodeHdf5: missing, readHdf5: missing, generateObject: missing },
    npy: [1.5, -2],
    npz: [1.5, -2],
    records: [[7, 8]],
    generated: { raw: true, npz: true, tfrecord: true },
  });
  // The CLI: one line on stderr, exit 1, and nothing written.
  const bin = path.join(consumer, 'node_modules', '.bin', 's3dlio');
  const prefix = `file://${work}/hdf5/`;
  let failure: { status: number | null; stderr: string } = { status: 0, stderr: '' };
  try {
    run(bin, ['put', prefix, '-n', '2', '-s', '1KiB', '--format', 'hdf5'], consumer);
  } catch (error) {
    failure = error as { status: number | null; stderr: string };
  }
  expect(failure.status).toBe(1);
  expect(failure.stderr.trim().split('\n')).toEqual([
    's3dlio: put failed: HDF5 needs the package h5wasm, which is not installed: run `npm install h5wasm` [ERR_MODULE_NOT_FOUND]',
  ]);
  expect(existsSync(path.join(work, 'hdf5'))).toBe(false);
});

test('each package is asked for when needed: with @azure/storage-blob alone, az:// works with a key and names @azure/identity for the default credential', () => {
  // The repository's copy, linked in: its own dependencies resolve from the repository.
  const link = path.join(consumer, 'node_modules', '@azure', 'storage-blob');
  mkdirSync(path.dirname(link), { recursive: true });
  symlinkSync(path.join(root, 'node_modules', '@azure', 'storage-blob'), link);
  try {
    const script = `
      const s3dlio = require('s3dlio');
      const outcome = (options) => { try { s3dlio.storeFor('az://account/container/', options); return 'made'; } catch (e) { return e.code + ': ' + e.message; } };
      console.log(JSON.stringify({ withKey: outcome({ accountKey: 'a2V5' }), byDefault: outcome({}) }));`;
    const env = {
      ...process.env,
      AZURE_STORAGE_CONNECTION_STRING: '',
      AZURE_STORAGE_SAS_TOKEN: '',
      AZURE_STORAGE_KEY: '',
    };
    const output = JSON.parse(
      execFileSync(process.execPath, ['-e', script], { cwd: consumer, encoding: 'utf8', env }),
    ) as Record<string, string>;
    expect(output).toEqual({
      withKey: 'made',
      byDefault:
        'ERR_MODULE_NOT_FOUND: az:// needs the package @azure/identity, which is not installed: ' +
        'run `npm install @azure/storage-blob @azure/identity`',
    });
  } finally {
    // The link itself, then the scope directory it made (never the linked repository copy).
    unlinkSync(link);
    rmdirSync(path.dirname(link));
  }
});

test('the s3dlio command without the SDKs: local commands work, an s3:// one fails in one line with the install command', () => {
  const bin = path.join(consumer, 'node_modules', '.bin', 's3dlio');
  expect(run(bin, ['ls', `file://${work}/`], consumer)).toContain('.tgz');
  let failure: { status: number | null; stderr: string } = { status: 0, stderr: '' };
  try {
    run(bin, ['ls', 's3://bucket/'], consumer);
  } catch (error) {
    failure = error as { status: number | null; stderr: string };
  }
  expect(failure.status).toBe(1);
  expect(failure.stderr.trim().split('\n')).toEqual([
    's3dlio: ls failed: s3:// needs the package @aws-sdk/client-s3, which is not installed: ' +
      'run `npm install @aws-sdk/client-s3 @smithy/node-http-handler @smithy/signature-v4` [ERR_MODULE_NOT_FOUND]',
  ]);
});

test('TypeScript users get complete declarations: a strict check of a consumer file, the declarations included, with no SDK installed', () => {
  writeFileSync(
    path.join(consumer, 'use.ts'),
    `import { get, storeFor, S3dlioError, type ObjectStore, type ObjectStat, type StoreSchemes } from 's3dlio';
     async function main(): Promise<number> {
       const store: ObjectStore = storeFor('direct:///tmp', { allowBufferedFallback: false, chunkSize: 1 << 20 });
       const stat: ObjectStat = await store.stat('direct:///tmp/x');
       const bytes: Uint8Array = await get('file:///tmp/x', { signal: AbortSignal.timeout(1000) });
       try { await store.delete('direct:///tmp/x'); } catch (e) { if (e instanceof S3dlioError) return e.code.length; }
       return stat.size + bytes.length;
     }
     // Cloud credentials are plain objects and functions: no SDK type is needed to write them.
     const s3: StoreSchemes['s3'] = { credentials: { accessKeyId: 'a', secretAccessKey: 'b', sessionToken: 't' } };
     const s3Provider: StoreSchemes['s3'] = {
       credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b', expiration: new Date() }),
     };
     const az: StoreSchemes['az'] = { credential: { getToken: async () => ({ token: 't', expiresOnTimestamp: 0 }) } };
     const gs: StoreSchemes['gs'] = {
       authClient: { getRequestHeaders: async () => ({}), getAccessToken: async () => ({ token: 't' }), request: async () => ({}) },
     };
     // @ts-expect-error: credentials are keys or a function giving them, not a string
     const wrong: StoreSchemes['s3'] = { credentials: 'secret' };
     void [main, s3, s3Provider, az, gs, wrong];`,
  );
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    'false',
    '--module',
    'node16',
    '--moduleResolution',
    'node16',
    '--types',
    'node',
    '--typeRoots',
    path.join(root, 'node_modules', '@types'),
    'use.ts',
  ];
  expect(() => run(process.execPath, [tsc, ...args], consumer)).not.toThrow();
});

test('installs the s3dlio command (node_modules/.bin), which runs from the installed package', () => {
  const bin = path.join(consumer, 'node_modules', '.bin', 's3dlio');
  const version = (JSON.parse(run('npm', ['pkg', 'get', 'version'], root)) as string).trim();
  expect(run(bin, ['--version'], consumer).trim()).toBe(version);
  const prefix = `file://${work}/cli/`;
  run(bin, ['put', prefix, '-n', '3', '-s', '2KiB', '--format', 'npz'], consumer);
  expect(run(bin, ['ls', '-r', '-c', prefix], consumer).trim()).toBe('3');
});
