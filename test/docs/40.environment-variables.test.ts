/**
 * docs/configuration.md lists every environment variable the library reads: each name lib/ reads
 * (`env.NAME`, or a quoted variable name) is in its "Every environment variable" table, unless it
 * is the code of a warning, which docs/troubleshooting.md lists instead.
 */
import { readFileSync, readdirSync } from 'fs';
import * as path from 'path';

import { REPO_ROOT } from '../helpers/child';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const VARIABLE = String.raw`(?:S3DLIO|AWS|AZURE|GOOGLE|GCLOUD|NODE|UV)_[A-Z0-9_]+|STORAGE_EMULATOR_HOST|S3_ENDPOINT_URIS|HTTPS?_PROXY|ALL_PROXY|NO_PROXY|RANK|WORLD_SIZE`;

/** Every variable name lib/ reads or names in code (comments aside). */
function namesInLib(): Set<string> {
  const names = new Set<string>();
  for (const file of sources(path.join(REPO_ROOT, 'lib'))) {
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '');
    for (const match of code.matchAll(new RegExp(String.raw`env\.([A-Z][A-Z0-9_]+)|['"\`](${VARIABLE})['"\`]`, 'g'))) {
      names.add(match[1] ?? match[2]);
    }
  }
  return names;
}

const configuration = readFileSync(path.join(REPO_ROOT, 'docs', 'configuration.md'), 'utf8');
const troubleshooting = readFileSync(path.join(REPO_ROOT, 'docs', 'troubleshooting.md'), 'utf8');

test('every environment variable lib/ reads is in the configuration table, every warning code in troubleshooting', () => {
  const table = configuration.slice(configuration.indexOf('## Every environment variable'));
  const warnings = troubleshooting.slice(troubleshooting.indexOf('\nWarnings ('));
  const names = [...namesInLib()];
  expect(names.length).toBeGreaterThan(30);
  expect(names.filter((name) => !table.includes(`\`${name}\``) && !warnings.includes(`\`${name}\``))).toEqual([]);
});
