/**
 * node-gyp-build loads build/ when present, else prebuilds/: both must have been built from the
 * native sources in this checkout, or users and CI would silently run old native code.
 */
import { existsSync, readdirSync } from 'fs';
import * as path from 'path';

import { buildInfo } from '../../lib';
import { runNodeJson } from '../helpers/child';

const root = path.resolve(__dirname, '..', '..');

const { nativeSourceHash } = require(path.join(root, 'scripts', 'native-hash.js')) as {
  nativeSourceHash(dir: string): string;
};
const sourceHash = nativeSourceHash(root);

test('the loaded addon was built from the native sources of this checkout', () => {
  expect(buildInfo().sourceHash).toBe(sourceHash);
});

test('the committed linux-x64 prebuild was built from the native sources of this checkout', () => {
  const dir = path.join(root, 'prebuilds', 'linux-x64');
  expect(existsSync(dir)).toBe(true);
  const binaries = readdirSync(dir).filter((name) => name.endsWith('.node'));
  expect(binaries.length).toBeGreaterThan(0);
  for (const name of binaries) {
    const prebuild = require(path.join(dir, name)) as { buildInfo(): { sourceHash: string } };
    expect({ name, hash: prebuild.buildInfo().sourceHash }).toEqual({ name, hash: sourceHash });
  }
});

describe('S3DLIO_NATIVE_PATH names the binary to load instead (scripts/native-mutants.js uses it)', () => {
  const script = `
    try {
      const { ADDON_PATH, buildInfo } = require(LIB + '/native');
      console.log('RESULT ' + JSON.stringify({ path: ADDON_PATH, hash: buildInfo().sourceHash }));
    } catch (error) {
      console.log('RESULT ' + JSON.stringify({ code: error.code, message: error.message }));
    }`;

  test('an absolute path to a .node file is loaded', async () => {
    const prebuild = path.join(root, 'prebuilds', 'linux-x64', 's3dlio.node');
    const result = await runNodeJson(script, null, [], { env: { S3DLIO_NATIVE_PATH: prebuild } });
    expect(result).toEqual({ path: prebuild, hash: sourceHash });
  });

  test.each([
    ['a relative path', 'prebuilds/linux-x64/s3dlio.node', 'must be an absolute path'],
    ['not a .node file', path.join(root, 'package.json'), 'must be an absolute path to a .node file'],
    ['a missing file', path.join(root, 'missing', 's3dlio.node'), 'names no file'],
  ])('%s is refused when the library loads (ERR_INVALID_ARG_VALUE), not ignored', async (_label, value, reason) => {
    const result = await runNodeJson<{ code: string; message: string }>(script, null, [], {
      env: { S3DLIO_NATIVE_PATH: value },
    });
    expect(result.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(result.message).toContain(reason);
  });
});
