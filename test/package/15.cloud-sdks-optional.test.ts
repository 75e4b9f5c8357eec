/**
 * The cloud SDKs are optional: each is an optional peer dependency, named by the scheme that loads
 * it, and lib/ imports them for their types only, so loading the package loads none of them (the
 * installed package is checked without them in 20.install-tarball).
 */
import { readFileSync, readdirSync } from 'fs';
import * as path from 'path';

import { SDK_PACKAGES } from '../../lib/backends/cloud/sdk';
import { REPO_ROOT } from '../helpers/child';

interface Manifest {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
}

const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;

/** Packages of the clouds: the SDKs, their scopes, and the auth library of the GCS one. */
const CLOUD_PACKAGE = /^(@aws-sdk|@azure|@google-cloud|@smithy)\/|^google-auth-library$/;

test('every package a cloud scheme loads is an optional peer dependency, and a dev dependency for the tests', () => {
  const loaded = Object.values(SDK_PACKAGES).flat().sort();
  expect(Object.keys(manifest.peerDependencies).sort()).toEqual(loaded);
  for (const name of loaded) {
    expect({ name, meta: manifest.peerDependenciesMeta[name] }).toEqual({ name, meta: { optional: true } });
    expect({ name, dev: manifest.devDependencies[name] }).toEqual({ name, dev: manifest.peerDependencies[name] });
  }
  expect(Object.keys(manifest.dependencies).filter((name) => CLOUD_PACKAGE.test(name))).toEqual([]);
});

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith('.ts') ? [file] : [];
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

test('lib/ imports cloud packages for their types only (they are required through the lazy loader)', () => {
  const found = sources(path.join(REPO_ROOT, 'lib')).flatMap((file) =>
    references(readFileSync(file, 'utf8'))
      .filter(({ name, typeOnly }) => CLOUD_PACKAGE.test(name) && !typeOnly)
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
});
