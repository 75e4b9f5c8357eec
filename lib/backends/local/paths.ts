/** Filesystem helpers shared by the local backends (file://, direct://). */
import { randomBytes } from 'crypto';
import { type Stats, constants as fsConstants, promises as fs } from 'fs';
import type { FileHandle } from 'fs/promises';
import * as path from 'path';

import { S3dlioError } from '../../errors';

/**
 * Temporary files of in-progress writes: `.{name}.s3dlio-{pid}-{16 hex}.tmp` in the destination's
 * directory (the native writer uses the same form). Listings skip them.
 */
const TEMP_NAME = /^\..*\.s3dlio-\d+-[0-9a-f]{16}\.tmp$/;

/** Whether a directory entry is an in-progress write. */
export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** `name` cut to at most `bytes` bytes of UTF-8, never inside a character. */
function utf8Prefix(name: string, bytes: number): string {
  let size = 0;
  let end = 0;
  for (const character of name) {
    size += Buffer.byteLength(character);
    if (size > bytes) break;
    end += character.length;
  }
  return name.slice(0, end);
}

/** A fresh temporary path beside `destination` (its name within NAME_MAX, 255 bytes, as the native writer's). */
export function tempPathFor(destination: string): string {
  const name = utf8Prefix(path.basename(destination), 160);
  return path.join(path.dirname(destination), `.${name}.s3dlio-${process.pid}-${randomBytes(8).toString('hex')}.tmp`);
}

/**
 * Opens a user-named local file for reading, as the native reads do: O_NONBLOCK, because opening
 * a FIFO without a writer blocks a thread-pool thread forever, and anything that is not a regular
 * file (FIFO, device, socket) refused with ERR_NOT_A_FILE (a directory: ERR_IS_DIRECTORY) before
 * a byte is read. O_NONBLOCK changes nothing for regular files.
 */
export async function openRegularFile(file: string, uri: string, operation: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await fs.open(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    // A socket cannot be opened at all (ENXIO): still say what it is.
    if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
    throw notARegularFile(file, uri, operation, await fs.stat(file).catch(() => undefined));
  }
  const stats = await handle.stat().catch(async (error: unknown) => {
    await handle.close();
    throw error;
  });
  if (stats.isFile()) return handle;
  await handle.close();
  throw notARegularFile(file, uri, operation, stats);
}

function notARegularFile(file: string, uri: string, operation: string, stats: Stats | undefined): S3dlioError {
  const directory = stats?.isDirectory() === true;
  return new S3dlioError(
    directory ? 'ERR_IS_DIRECTORY' : 'ERR_NOT_A_FILE',
    `${operation} ${uri}: ${file} is ${directory ? 'a directory' : 'not a regular file (a FIFO, device or socket)'}`,
    { uri, operation },
  );
}

/** mkdir -p for the directory that will hold `file`. */
export async function ensureParent(file: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
}

/** An entry found below a prefix. */
export interface WalkEntry {
  /** Absolute path; directories (non-recursive mode only) end with `/`. */
  path: string;
  directory: boolean;
}

/**
 * Object-store prefix semantics on a directory tree: `/a/b/` lists inside `b`, `/a/b` lists the
 * entries of `/a` whose names start with `b` (so `b/`, `b.txt` and `bc/` all match).
 */
export function splitPrefix(prefixPath: string): { directory: string; namePrefix: string } {
  if (prefixPath.endsWith('/')) return { directory: prefixPath.slice(0, -1) || '/', namePrefix: '' };
  return { directory: path.dirname(prefixPath), namePrefix: path.basename(prefixPath) };
}

function childPath(directory: string, name: string): string {
  return directory === '/' ? `/${name}` : `${directory}/${name}`;
}

/**
 * Streams the entries below `prefixPath` one directory handle per level, never the whole tree.
 * Symlinks to files are followed; symlinked directories are listed but not descended into, so a
 * link cycle cannot loop. Missing directories list as empty, like an empty prefix in a bucket.
 */
export async function* walkPrefix(prefixPath: string, recursive: boolean): AsyncGenerator<WalkEntry> {
  const { directory, namePrefix } = splitPrefix(prefixPath);
  yield* walkDirectory(directory, namePrefix, recursive);
}

async function* walkDirectory(directory: string, namePrefix: string, recursive: boolean): AsyncGenerator<WalkEntry> {
  let handle;
  try {
    // Stryker disable next-line ObjectLiteral: how many entries are read per system call, not which
    handle = await fs.opendir(directory, { bufferSize: 128 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return;
    throw error;
  }
  // for-await closes the handle however the loop ends (completion, break, throw).
  for await (const entry of handle) {
    if (namePrefix && !entry.name.startsWith(namePrefix)) continue;
    if (isTempName(entry.name)) continue;
    const full = childPath(directory, entry.name);
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    const followable = entry.isSymbolicLink();
    if (followable) {
      const target = await fs.stat(full).catch(() => undefined); // dangling links are skipped
      isDirectory = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDirectory) {
      if (!recursive) yield { path: `${full}/`, directory: true };
      else if (!followable) yield* walkDirectory(full, '', true);
    } else if (isFile) {
      yield { path: full, directory: false };
    }
  }
}

/**
 * The path `target` names once every symlink is resolved: the realpath of its deepest existing
 * ancestor, with the components that do not exist (yet) appended. A trailing `/` is kept.
 */
export async function resolvePath(target: string): Promise<string> {
  const trailing = target.length > 1 && target.endsWith('/');
  let head = trailing ? target.slice(0, -1) : target;
  const missing: string[] = [];
  for (;;) {
    try {
      const real = await fs.realpath(head);
      const resolved = path.join(real, ...missing.reverse());
      return trailing && resolved !== '/' ? `${resolved}/` : resolved;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Missing, a file in the way, or a link loop: this component resolves no further.
      if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw error;
      missing.push(path.basename(head));
      head = path.dirname(head);
    }
  }
}

/**
 * Whether two paths name one existing file: the same inode on the same device, whatever the
 * spelling (symlinks, hard links, bind mounts, a case-insensitive filesystem). A path that cannot
 * be stat'ed is no file, so the answer is false and the caller's own operation reports why.
 */
export async function sameFile(a: string, b: string): Promise<boolean> {
  const statOf = (file: string) => fs.stat(file, { bigint: true }).catch(() => undefined);
  const [first, second] = await Promise.all([statOf(a), statOf(b)]);
  return first !== undefined && second !== undefined && first.dev === second.dev && first.ino === second.ino;
}

/**
 * Removes the directories below the prefix that are empty after a deletePrefix (post-order).
 */
export async function pruneEmptyDirectories(prefixPath: string): Promise<void> {
  const { directory, namePrefix } = splitPrefix(prefixPath);
  await pruneBelow(directory, namePrefix);
}

async function pruneBelow(directory: string, namePrefix: string): Promise<void> {
  const entries = await fs.readdir(directory, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return [];
    throw error;
  });
  for (const entry of entries) {
    if (!entry.isDirectory() || (namePrefix && !entry.name.startsWith(namePrefix))) continue;
    const full = childPath(directory, entry.name);
    await pruneBelow(full, '');
    await fs.rmdir(full).catch((error: NodeJS.ErrnoException) => {
      // Not empty (new objects, foreign files), a mount point, or already gone: it stays as it is.
      if (!['ENOTEMPTY', 'EEXIST', 'EBUSY', 'ENOENT'].includes(error.code ?? '')) throw error;
    });
  }
}
