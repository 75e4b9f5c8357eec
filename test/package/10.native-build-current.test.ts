/**
 * node-gyp-build loads build/ when present, else prebuilds/: both must have been built from the
 * native sources in this checkout, or users and CI would silently run old native code.
 */
import { existsSync, readdirSync } from 'fs';
import * as path from 'path';

import { buildInfo } from '../../lib';

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
