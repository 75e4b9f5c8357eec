/**
 * The guard of local deletes that reach by prefix (deletePrefix, deleteBucket, `s3dlio rm -r`,
 * `delete-bucket`): such a delete never removes the filesystem root, a system directory, a
 * top-level directory, the home directory, the current directory or a mount point (nor anything
 * that contains one) unless the caller passes the explicit override. The decision is a pure
 * function of the resolved paths and an environment, so it is tested without deleting anything.
 */
import { promises as fs } from 'fs';
import * as os from 'os';
import * as path from 'path';

import { S3dlioError } from '../../errors';
import { resolvePath, splitPrefix } from './paths';

/**
 * What a delete removes, as resolved paths (no symlinks left):
 * - `tree`: the directory `path` with everything below it (deleteBucket);
 * - `entries`: every entry of `directory` whose name starts with `namePrefix` (all of them when
 *   it is empty), each with everything below it (deletePrefix).
 */
export type DeleteReach = { kind: 'tree'; path: string } | { kind: 'entries'; directory: string; namePrefix: string };

/** What the guard protects besides the fixed system paths. Injectable for tests. */
export interface GuardEnvironment {
  /** The current working directory (resolved); undefined when it no longer exists. */
  cwd?: string;
  /** The user's home directory (resolved). */
  home?: string;
  /** Every mount point. */
  mountPoints: readonly string[];
  /** Compare paths ignoring case and Unicode normalization (macOS and Windows filesystems). */
  caseInsensitive?: boolean;
}

/** Why a delete is refused: the protected path it would remove, and what that path is. */
export interface Refusal {
  path: string;
  what: string;
}

/** Directories a data library never deletes from: the directory and everything below it. */
export const SYSTEM_TREES: readonly string[] = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/sbin',
  '/sys',
  '/usr',
  // macOS (/etc resolves to /private/etc there).
  '/System',
  '/Library',
  '/Applications',
  '/private/etc',
];

/**
 * Shared directories below the top level, protected themselves (not what is below them). Every
 * top-level directory (/tmp, /home, /var, /private …) is protected by the depth rule.
 */
export const SHARED_DIRECTORIES: readonly string[] = [
  '/var/tmp',
  '/private/tmp',
  '/private/var',
  '/private/var/tmp',
  ...userDataInSystemTrees(),
];

/**
 * Directories inside a system tree that hold applications' own data: container images put the
 * application in /usr/src/app. Protected themselves (they are shared), not what is below them.
 */
function userDataInSystemTrees(): string[] {
  return ['/usr/src'];
}

/** A path protected itself, which makes each of its ancestors protected too. */
interface ProtectedPoint {
  path: string;
  what: string;
}

/**
 * The protected path a delete reaching `reach` would remove, or undefined when it may proceed.
 * A protected path P is removed when the delete removes P, an ancestor of P, or every entry of P.
 */
export function protectedPathReached(reach: DeleteReach, env: GuardEnvironment): Refusal | undefined {
  const key = (value: string): string => comparable(value, env.caseInsensitive === true);
  const points = protectedPoints(env);
  // The protected point that removing `removed` (with everything below it) would take along.
  const holding = (removed: string): Refusal | undefined => {
    const point = points.find((candidate) => isAncestorOrSelf(key(removed), key(candidate.path)));
    if (!point) return undefined;
    const same = key(point.path) === key(removed);
    return { path: removed, what: same ? point.what : `which holds ${point.what} ${point.path}` };
  };
  if (reach.kind === 'tree') {
    const target = trimSlash(reach.path);
    return systemTreeHolding(target, key) ?? topLevel(target) ?? holding(target);
  }
  const directory = trimSlash(reach.directory);
  const inSystemTree = systemTreeHolding(directory, key);
  if (inSystemTree) return inSystemTree;
  if (directory === '/') {
    if (reach.namePrefix === '') return { path: 'everything in /', what: 'the filesystem root' };
    return { path: `/${reach.namePrefix}*`, what: 'top-level entries of the filesystem root' };
  }
  if (reach.namePrefix === '') {
    // Every entry of the directory: as destructive as removing the directory itself.
    const refusal = topLevel(directory) ?? holding(directory);
    return refusal && { ...refusal, path: `everything in ${refusal.path}` };
  }
  const prefix = key(reach.namePrefix);
  for (const point of points) {
    const relative = relativeBelow(key(directory), key(point.path));
    const entry = relative?.split('/')[0];
    if (entry !== undefined && entry.startsWith(prefix)) {
      return holding(`${directory}/${entry}`);
    }
  }
  return undefined;
}

/**
 * The guard environment of this process: its working directory, home directory and mount points
 * (from /proc/self/mountinfo, where the system has it), symlinks resolved.
 */
export async function currentEnvironment(): Promise<GuardEnvironment> {
  let cwd: string | undefined;
  try {
    cwd = await resolvePath(process.cwd());
  } catch (error) {
    // The working directory was deleted: there is nothing left of it to protect.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const home = await resolvePath(os.homedir());
  return {
    cwd,
    home,
    mountPoints: await readMountPoints(),
    caseInsensitive: process.platform === 'darwin' || process.platform === 'win32',
  };
}

/** The mount points listed in a /proc/<pid>/mountinfo text (field 5, octal escapes decoded). */
export function parseMountInfo(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((field): field is string => field !== undefined && field.startsWith('/'))
    .map((field) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))));
}

/** The mount points of this process (`file`: where the kernel lists them). */
export async function readMountPoints(file = '/proc/self/mountinfo'): Promise<string[]> {
  try {
    return parseMountInfo(await fs.readFile(file, 'utf8'));
  } catch (error) {
    // No procfs (macOS, a chroot without /proc): the mount check falls back to st_dev (below).
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Options of `guardDelete`. */
export interface GuardOptions {
  /** The public operation, for the error. */
  operation: string;
  /** The URI the caller named, for the error. */
  uri: string;
  /** The caller's explicit override. */
  allowProtectedPaths: boolean;
  /** Injected environment (tests); default: `currentEnvironment()`. */
  environment?: GuardEnvironment;
}

/**
 * Refuses, with `ERR_PROTECTED_PATH`, a local delete that reaches a protected path. `reach` is
 * given as the caller wrote it; symlinks are resolved here, so a link to `/` is judged as `/`.
 * With `allowProtectedPaths` the delete proceeds, and a warning names what it reaches.
 */
export async function guardDelete(reach: DeleteReach, options: GuardOptions): Promise<void> {
  const resolved: DeleteReach =
    reach.kind === 'tree'
      ? { kind: 'tree', path: await resolvePath(reach.path) }
      : { ...reach, directory: await resolvePath(reach.directory) };
  const environment = options.environment ?? (await currentEnvironment());
  // A directory on another device than its parent is a mount point, mountinfo or not.
  const top = resolved.kind === 'tree' ? resolved.path : resolved.directory;
  const mountPoints = (await isMountPoint(top)) ? [...environment.mountPoints, top] : environment.mountPoints;
  const refusal = protectedPathReached(resolved, { ...environment, mountPoints });
  if (!refusal) return;
  const reaches = `${describePath(refusal.path, reach, resolved)}, ${refusal.what}`;
  if (options.allowProtectedPaths) {
    process.emitWarning(`${options.operation} ${options.uri} deletes ${reaches} (allowProtectedPaths is set)`, {
      code: 'S3DLIO_PROTECTED_PATH_DELETE',
      type: 'S3dlioWarning',
    });
    return;
  }
  throw new S3dlioError(
    'ERR_PROTECTED_PATH',
    `${options.operation} ${options.uri}: refused, it would delete ${reaches}. ` +
      'Name a path below it, or pass { allowProtectedPaths: true } to delete it anyway.',
    { uri: options.uri, operation: options.operation },
  );
}

/** deletePrefix's guard: the entries below the local `prefixPath` (see `splitPrefix`). */
export function guardPrefixDelete(prefixPath: string, uri: string, allowProtectedPaths: boolean): Promise<void> {
  const { directory, namePrefix } = splitPrefix(prefixPath);
  return guardDelete(
    { kind: 'entries', directory, namePrefix },
    { operation: 'deletePrefix', uri, allowProtectedPaths },
  );
}

/** deleteBucket's guard: the local directory `directory` and everything in it. */
export function guardTreeDelete(directory: string, uri: string, allowProtectedPaths: boolean): Promise<void> {
  return guardDelete({ kind: 'tree', path: directory }, { operation: 'deleteBucket', uri, allowProtectedPaths });
}

// ---- internals ----

function protectedPoints(env: GuardEnvironment): ProtectedPoint[] {
  // The user's own places first: a refusal names the one the user will recognise.
  const points: ProtectedPoint[] = [];
  if (env.cwd) points.push({ path: env.cwd, what: 'the current working directory' });
  if (env.home) points.push({ path: env.home, what: 'the home directory' });
  points.push(
    ...SYSTEM_TREES.map((tree) => ({ path: tree, what: 'a system directory' })),
    ...SHARED_DIRECTORIES.map((shared) => ({ path: shared, what: 'a shared directory' })),
    ...env.mountPoints.map((mount) => ({ path: mount, what: 'a mount point' })),
  );
  return points.map((point) => ({ ...point, path: trimSlash(point.path) }));
}

function systemTreeHolding(target: string, key: (value: string) => string): Refusal | undefined {
  if (userDataInSystemTrees().some((data) => isAncestorOrSelf(key(data), key(target)))) return undefined;
  const tree = SYSTEM_TREES.find((root) => isAncestorOrSelf(key(root), key(target)));
  return tree === undefined ? undefined : { path: target, what: `inside the system directory ${tree}` };
}

function topLevel(target: string): Refusal | undefined {
  if (target === '/') return { path: '/', what: 'the filesystem root' };
  if (target.lastIndexOf('/') === 0) return { path: target, what: 'a top-level directory' };
  return undefined;
}

/** Whether `ancestor` is `descendant` or one of its ancestors (both absolute, no trailing `/`). */
function isAncestorOrSelf(ancestor: string, descendant: string): boolean {
  return ancestor === '/' || descendant === ancestor || descendant.startsWith(`${ancestor}/`);
}

/** The path of `descendant` relative to `directory`, when it lies strictly below it. */
function relativeBelow(directory: string, descendant: string): string | undefined {
  // Stryker disable next-line ConditionalExpression,StringLiteral: its one caller returns for '/' before the loop that calls it
  const base = directory === '/' ? '/' : `${directory}/`;
  return descendant.startsWith(base) && descendant !== directory ? descendant.slice(base.length) : undefined;
}

/** `value` without trailing slashes; the root (and, conservatively, an empty path) is `/`. */
function trimSlash(value: string): string {
  return value.replace(/\/+$/, '') || '/';
}

function comparable(value: string, caseInsensitive: boolean): string {
  return caseInsensitive ? value.normalize('NFC').toLowerCase() : value;
}

async function isMountPoint(directory: string): Promise<boolean> {
  const here = trimSlash(directory);
  if (here === '/') return false;
  try {
    const [self, parent] = await Promise.all([fs.stat(here), fs.stat(path.dirname(here))]);
    return self.dev !== parent.dev;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false; // nothing there to delete
    throw error;
  }
}

/** The protected path, and through which symlink the caller's path reached it. */
function describePath(protectedPath: string, given: DeleteReach, resolved: DeleteReach): string {
  const before = trimSlash(given.kind === 'tree' ? given.path : given.directory);
  const after = trimSlash(resolved.kind === 'tree' ? resolved.path : resolved.directory);
  return before === after ? protectedPath : `${protectedPath} (${before} resolves to ${after})`;
}
