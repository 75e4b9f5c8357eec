/** Temporary directories for tests, removed after each suite. */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

/** A fresh directory on the disk filesystem (O_DIRECT capable); removed in afterAll. */
export function useTempDir(prefix = 's3dlio-test-'): {
  readonly path: string;
  uri(scheme: 'file' | 'direct', rel?: string): string;
} {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get path() {
      return dir;
    },
    uri(scheme, rel = '') {
      return `${scheme}://${dir}/${rel}`;
    },
  };
}
