/**
 * Writing below a directory the user named (download, `get -o DIR`, recursive copies into a local
 * prefix): nothing is ever written outside it. The root itself and its ancestors may be symlinks
 * (`/data` → `/mnt/data` keeps working); below the root, object keys map to plain directories
 * only: a `.`/`..` segment, an absolute key, or a path component that is a symlink is refused
 * with ERR_UNSAFE_PATH, never followed.
 *
 * On Linux the check cannot be raced: each directory below the root is opened with O_NOFOLLOW
 * relative to its already-open parent (through /proc/self/fd), and the file is written through
 * the handle of its parent directory, so swapping a directory for a symlink after the check
 * changes nothing. Elsewhere every component is checked with lstat just before the write.
 */
import { constants as fsConstants, existsSync, promises as fs } from 'fs';
import type { FileHandle } from 'fs/promises';
import * as path from 'path';

import { S3dlioError } from '../errors';

const FD_DIRECTORY = '/proc/self/fd';
const OPEN_DIRECTORY = fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | (fsConstants.O_NOFOLLOW ?? 0);

let pinnable: boolean | undefined;
/** Whether directories can be pinned by descriptor (Linux with /proc mounted). */
function canPin(): boolean {
  pinnable ??= process.platform === 'linux' && existsSync(`${FD_DIRECTORY}/0`);
  return pinnable;
}

/** A file placed below a root: where to write it, and the handle to release afterwards. */
export interface PlacedFile {
  /** The path to write (through the pinned parent directory on Linux). */
  readonly path: string;
  /** The path as the user sees it (root + key), for messages. */
  readonly displayPath: string;
  /** Replaces the write path by the display path in a message. */
  describe(text: string): string;
  /** Closes the parent directory's handle. */
  release(): Promise<void>;
}

function unsafe(operation: string, uri: string, reason: string): S3dlioError {
  return new S3dlioError('ERR_UNSAFE_PATH', `${operation} ${uri}: ${reason}; refused`, { uri, operation });
}

/**
 * The segments of an object key relative to the root, or ERR_UNSAFE_PATH when the key would leave
 * it (`..` or `.` segments, an absolute path, backslashes, NUL, empty segments).
 */
export function keySegments(root: string, relative: string, uri: string, operation: string): string[] {
  const segments = relative.split('/');
  const bad =
    // Stryker disable next-line ConditionalExpression,StringLiteral: '' splits into one empty segment, which the segment check refuses too
    relative === '' ||
    relative.includes('\0') ||
    relative.includes('\\') ||
    segments.some((segment) => segment === '' || segment === '..' || segment === '.');
  if (bad) {
    throw unsafe(operation, uri, `the key ${JSON.stringify(relative)} would be written outside ${root}`);
  }
  return segments;
}

/** A destination directory; create with `LocalRoot.open`, then `place` each file. */
export class LocalRoot {
  private constructor(
    /** The root, with symlinks in it and its ancestors resolved. */
    readonly path: string,
    private readonly handle: FileHandle | undefined,
  ) {}

  /**
   * Creates `directory` if needed and resolves it; symlinks up to and including it are followed.
   * `pin` (default: where the system can) places files through directory descriptors; without it
   * each directory is checked by path (what macOS and systems without /proc get).
   */
  static async open(directory: string, pin = canPin()): Promise<LocalRoot> {
    const requested = path.resolve(directory);
    await fs.mkdir(requested, { recursive: true });
    const root = await fs.realpath(requested);
    const handle = pin ? await fs.open(root, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY) : undefined;
    return new LocalRoot(root, handle);
  }

  /**
   * Makes the directories of `relative` below the root (refusing any that is a symlink or not a
   * directory) and returns where to write the file.
   */
  async place(relative: string, uri: string, operation: string): Promise<PlacedFile> {
    const segments = keySegments(this.path, relative, uri, operation);
    const name = segments[segments.length - 1];
    const directories = segments.slice(0, -1);
    const displayPath = path.join(this.path, ...segments);
    if (!this.handle) {
      await this.checkByPath(directories, uri, operation);
      return { path: displayPath, displayPath, describe: (text) => text, release: async () => undefined };
    }
    const parent = await this.openDirectories(directories, uri, operation);
    const parentPath = `${FD_DIRECTORY}/${(parent ?? this.handle).fd}`;
    const displayParent = path.join(this.path, ...directories);
    return {
      path: `${parentPath}/${name}`,
      displayPath,
      describe: (text) => text.split(parentPath).join(displayParent),
      release: async () => parent?.close(),
    };
  }

  /** Places `relative` (see `place`), runs `work` on it, and releases the place however `work` ends. */
  async withPlace<T>(
    relative: string,
    uri: string,
    operation: string,
    work: (placed: PlacedFile) => Promise<T>,
  ): Promise<T> {
    const placed = await this.place(relative, uri, operation);
    try {
      return await work(placed);
    } finally {
      await placed.release();
    }
  }

  /** Closes the root's handle. */
  async close(): Promise<void> {
    await this.handle?.close();
  }

  /** Opens each directory below the root without following symlinks; returns the last one. */
  private async openDirectories(
    directories: string[],
    uri: string,
    operation: string,
  ): Promise<FileHandle | undefined> {
    let current: FileHandle | undefined;
    try {
      for (let depth = 0; depth < directories.length; depth++) {
        const at = `${FD_DIRECTORY}/${(current ?? (this.handle as FileHandle)).fd}/${directories[depth]}`;
        const next = await this.openDirectory(at, directories.slice(0, depth + 1), uri, operation);
        await current?.close();
        current = next;
      }
      return current;
    } catch (error) {
      await current?.close();
      throw error;
    }
  }

  private async openDirectory(at: string, shown: string[], uri: string, operation: string): Promise<FileHandle> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fs.open(at, OPEN_DIRECTORY);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && attempt === 0) {
          await fs.mkdir(at).catch((made: NodeJS.ErrnoException) => {
            if (made.code !== 'EEXIST') throw made;
          });
          continue;
        }
        if (code === 'ENOTDIR' || code === 'ELOOP') throw await this.notADirectory(at, shown, uri, operation);
        throw error;
      }
    }
  }

  /** Without descriptors: each component must be a real directory (missing ones are created). */
  private async checkByPath(directories: string[], uri: string, operation: string): Promise<void> {
    for (let depth = 1; depth <= directories.length; depth++) {
      const at = path.join(this.path, ...directories.slice(0, depth));
      const stats = await fs.lstat(at).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
        return undefined;
      });
      if (!stats) {
        await fs.mkdir(at).catch((made: NodeJS.ErrnoException) => {
          if (made.code !== 'EEXIST') throw made;
        });
        depth--; // check what is there now
        continue;
      }
      if (!stats.isDirectory()) throw await this.notADirectory(at, directories.slice(0, depth), uri, operation);
    }
  }

  private async notADirectory(at: string, shown: string[], uri: string, operation: string): Promise<S3dlioError> {
    const where = path.join(this.path, ...shown);
    const stats = await fs.lstat(at).catch(() => undefined);
    if (stats?.isSymbolicLink()) {
      return unsafe(
        operation,
        uri,
        `${where} is a symbolic link below the destination ${this.path}, which is never followed`,
      );
    }
    return new S3dlioError(
      'ERR_ALREADY_EXISTS',
      `${operation} ${uri}: ${where} exists and is not a directory, so the object cannot be written below it`,
      { uri, operation },
    );
  }
}
