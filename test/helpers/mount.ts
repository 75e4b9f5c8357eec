/**
 * Private mounts for tests that need a real filesystem of some kind (a tiny tmpfs that fills up, a
 * tracefs): the child process runs in its own mount namespace (`unshare -m`, root only), so the
 * mount is invisible to everything else and disappears with the child.
 */
import { execFileSync } from 'child_process';
import { mkdirSync, rmdirSync } from 'fs';

import type { ChildOptions } from './child';

/** `mount -t <type> [-o <options>]` arguments. */
export interface MountSpec {
  type: string;
  options?: string;
}

function mountCommand(spec: MountSpec): string {
  return `mount -t ${spec.type}${spec.options ? ` -o ${spec.options}` : ''} none "$0"`;
}

/** Why `spec` cannot be mounted in a private namespace here, or undefined when it can. */
export function privateMountUnavailable(spec: MountSpec): string | undefined {
  const probe = `/tmp/s3dlio-unshare-probe-${process.pid}`;
  mkdirSync(probe, { recursive: true });
  try {
    execFileSync('unshare', ['-m', 'sh', '-c', mountCommand(spec), probe], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error).trim();
  } finally {
    rmdirSync(probe);
  }
}

/** Child options that run the child with `spec` mounted on `dir` (an existing directory). */
export function withPrivateMount(spec: MountSpec, dir: string): ChildOptions {
  return { wrapper: ['unshare', '-m', 'sh', '-c', `${mountCommand(spec)} && exec "$@"`, dir] };
}

/** `describe`, or `describe.skip` with a loud warning when the mount is not possible here. */
export function describeWithMount(spec: MountSpec, what: string): jest.Describe {
  const unavailable = privateMountUnavailable(spec);
  if (unavailable === undefined) return describe;
  console.warn(`SKIPPED ${what}: cannot mount ${spec.type} with unshare -m (${unavailable})`);
  return describe.skip;
}
