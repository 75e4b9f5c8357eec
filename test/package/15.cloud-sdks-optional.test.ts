/**
 * The cloud SDKs and h5wasm (HDF5) are optional: each is an optional peer dependency, named by the
 * scheme or format that loads it, and lib/ imports them for their types only, so loading the
 * package loads none of them (the installed package is checked without them in 20.install-tarball).
 */
import { readFileSync, readdirSync } from 'fs';
import * as path from 'path';

import { SDK_PACKAGES } from '../../lib/backends/cloud/sdk';
import { HDF5_PACKAGE } from '../../lib/formats/hdf5';
import { REPO_ROOT } from '../helpers/child';

interface Manifest {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
}

const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;

/**
 * The optional packages: the clouds' (the SDKs, their scopes, the auth library of the GCS one) and
 * h5wasm (with its subpaths, such as `h5wasm/node`).
 */
const OPTIONAL_PACKAGE = /^(@aws-sdk|@azure|@google-cloud|@smithy)\/|^google-auth-library$|^h5wasm(\/|$)/;

test('every package a cloud scheme or HDF5 loads is an optional peer dependency, and a dev dependency for the tests', () => {
  const loaded = [...Object.values(SDK_PACKAGES).flat(), HDF5_PACKAGE].sort();
  expect(Object.keys(manifest.peerDependencies).sort()).toEqual(loaded);
  for (const name of loaded) {
    expect({ name, meta: manifest.peerDependenciesMeta[name] }).toEqual({ name, meta: { optional: true } });
    expect({ name, dev: manifest.devDependencies[name] }).toEqual({ name, dev: manifest.peerDependencies[name] });
  }
  expect(Object.keys(manifest.dependencies).filter((name) => OPTIONAL_PACKAGE.test(name))).toEqual([]);
});

/** Every .ts and .mjs file under `dir` (the HDF5 worker is plain JavaScript). */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return /\.(ts|mjs)$/.test(entry.name) ? [file] : [];
  });
}

// `import … from`, `export … from`, `import '…'`, `require('…')` and `import('…')` of a package.
const REFERENCE = /(?:^\s*((?:import|export)\b[^;]*?)\bfrom\s*|^\s*import\s*|\brequire\(\s*|\bimport\(\s*)'([^']+)'/gm;

/** The packages `text` refers to, each with whether the reference is for types only. */
function references(text: string): Array<{ name: string; typeOnly: boolean }> {
  return [...text.matchAll(REFERENCE)].map(([, statement, name]) => ({
    name,
    typeOnly: statement !== undefined && /^(import|export)\s+type\b/.test(statement),
  }));
}

test('lib/ imports the optional packages for their types only (they are found through the lazy loader)', () => {
  const found = sources(path.join(REPO_ROOT, 'lib')).flatMap((file) =>
    references(readFileSync(file, 'utf8'))
      .filter(({ name, typeOnly }) => OPTIONAL_PACKAGE.test(name) && !typeOnly)
      .map(({ name }) => `${path.relative(REPO_ROOT, file)}: ${name}`),
  );
  expect(found).toEqual([]);
});

test('the rule above sees each kind of reference (it is not vacuous)', () => {
  const text = [
    "import { S3Client } from '@aws-sdk/client-s3';",
    "import type * as S3 from '@aws-sdk/client-s3';",
    "export { Storage } from '@google-cloud/storage';",
    "import '@azure/identity';",
    "const x = require('@smithy/signature-v4');",
    "const y = await import('google-auth-library');",
  ].join('\n');
  expect(references(text)).toEqual([
    { name: '@aws-sdk/client-s3', typeOnly: false },
    { name: '@aws-sdk/client-s3', typeOnly: true },
    { name: '@google-cloud/storage', typeOnly: false },
    { name: '@azure/identity', typeOnly: false },
    { name: '@smithy/signature-v4', typeOnly: false },
    { name: 'google-auth-library', typeOnly: false },
  ]);
  const names = ['@smithy/signature-v4', 'google-auth-library', 'h5wasm', 'h5wasm/node', 'h5wasmx', 'commander'];
  expect(names.filter((name) => OPTIONAL_PACKAGE.test(name))).toEqual([
    '@smithy/signature-v4',
    'google-auth-library',
    'h5wasm',
    'h5wasm/node',
  ]);
});
