/**
 * The package as users get it: `npm pack`, install the tarball into an empty project (offline,
 * no compiler needed thanks to the prebuild), then use it from require, import and TypeScript.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');
let work = '';
let consumer = '';

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

test('TypeScript users get complete declarations (strict type-check of a consumer file)', () => {
  writeFileSync(
    path.join(consumer, 'use.ts'),
    `import { get, storeFor, S3dlioError, type ObjectStore, type ObjectStat } from 's3dlio';
     async function main(): Promise<number> {
       const store: ObjectStore = storeFor('direct:///tmp', { allowBufferedFallback: false, chunkSize: 1 << 20 });
       const stat: ObjectStat = await store.stat('direct:///tmp/x');
       const bytes: Uint8Array = await get('file:///tmp/x', { signal: AbortSignal.timeout(1000) });
       try { await store.delete('direct:///tmp/x'); } catch (e) { if (e instanceof S3dlioError) return e.code.length; }
       return stat.size + bytes.length;
     }
     void main;`,
  );
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [
    '--noEmit',
    '--strict',
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
