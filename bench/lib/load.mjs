// Loads the built package (dist/index.js). When the addon is mid-rebuild (ERR_NATIVE_STALE:
// binary and sources disagree), waits and retries a few times before giving up with advice.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

import { sleep } from './util.mjs';

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

export async function loadLibrary({ retries = 4, waitMs = 30_000, log = console.error } = {}) {
  const entry = path.join(PACKAGE_ROOT, 'dist', 'index.js');
  for (let attempt = 0; ; attempt++) {
    try {
      return require(entry);
    } catch (error) {
      for (const key of Object.keys(require.cache))
        if (key.startsWith(path.join(PACKAGE_ROOT, 'dist'))) delete require.cache[key];
      if (error?.code === 'MODULE_NOT_FOUND' && String(error.message).includes(entry)) {
        throw new Error(`${entry} is missing: build it with \`npm run build:ts\``, { cause: error });
      }
      if (error?.code !== 'ERR_NATIVE_STALE' || attempt >= retries) {
        if (error?.code === 'ERR_NATIVE_STALE') {
          error.message += '\n(still stale after waiting: rebuild with `npm run build`)';
        }
        throw error;
      }
      log(`s3dlio addon is stale (probably being rebuilt); retrying in ${waitMs / 1000} s...`);
      await sleep(waitMs);
    }
  }
}
