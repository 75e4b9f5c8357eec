/**
 * When the native addon cannot load, the error says which binary was tried, why it failed (another
 * platform or architecture, C library or Node ABI, a missing file, a stale build) and the command
 * that fixes it: never a bare dlopen message.
 */
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { loadFailureReason } from '../../lib/native';
import { REPO_ROOT, runNodeJson } from '../helpers/child';

interface Failure {
  code: string;
  message: string;
  cause?: string;
}

const report = (entry: string): string => `
  try {
    require(${JSON.stringify(entry)});
    console.log('RESULT ' + JSON.stringify({ code: 'loaded' }));
  } catch (error) {
    console.log('RESULT ' + JSON.stringify({ code: error.code, message: error.message, cause: error.cause && error.cause.message }));
  }`;

let scratch = '';
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 's3dlio-addon-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('a binary the loader refuses is ERR_NATIVE_LOAD: the path, the reason, the fix, the cause', async () => {
  const bogus = path.join(scratch, 'bogus.node');
  writeFileSync(bogus, 'this is not a shared object\n'.repeat(100));
  const failure = await runNodeJson<Failure>(report(path.join(REPO_ROOT, 'lib', 'native')), null, [], {
    env: { S3DLIO_NATIVE_PATH: bogus },
  });
  expect(failure.code).toBe('ERR_NATIVE_LOAD');
  expect(failure.message).toContain(bogus);
  expect(failure.message).toContain('it was built for another platform or architecture');
  expect(failure.message).toContain('npm rebuild s3dlio');
  expect(failure.cause).toMatch(/invalid ELF header|file too short/);
});

test('no binary for this platform is ERR_NATIVE_MISSING, naming the places looked in', async () => {
  // A copy of the package with its compiled JavaScript but neither build/ nor prebuilds/.
  const root = path.join(scratch, 'package');
  cpSync(path.join(REPO_ROOT, 'dist'), path.join(root, 'dist'), { recursive: true });
  cpSync(path.join(REPO_ROOT, 'package.json'), path.join(root, 'package.json'));
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  const failure = await runNodeJson<Failure>(report(path.join(root, 'dist', 'index.js')), null, [], {
    env: { S3DLIO_NATIVE_PATH: undefined },
  });
  expect(failure.code).toBe('ERR_NATIVE_MISSING');
  expect(failure.message).toContain(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`));
  expect(failure.message).toContain(path.join(root, 'build', 'Release'));
  expect(failure.message).toContain(`Node ${process.version}`);
  expect(failure.message).toContain('npm rebuild s3dlio');
  expect(failure.cause).toMatch(/No native build was found/);
});

test.each([
  ["/lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found", 'another C library version'],
  ['Error relocating s3dlio.node: __memcpy_chk: symbol not found (musl)', 'another C library version'],
  ['s3dlio.node: invalid ELF header', 'another platform or architecture'],
  ['s3dlio.node: wrong ELF class: ELFCLASS32', 'another platform or architecture'],
  ['The module was compiled against a different Node.js version using NODE_MODULE_VERSION 93', 'another Node ABI'],
  ['libstdc++.so.6: cannot open shared object file: No such file or directory', 'is missing'],
  ['something else entirely', 'the dynamic loader refused it'],
])('the loader message %j reads as: %s', (message, reason) => {
  expect(loadFailureReason(message)).toContain(reason);
});
