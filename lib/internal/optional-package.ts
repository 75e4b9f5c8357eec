/**
 * Optional peer dependencies (the cloud SDKs, h5wasm): found on first use, so a program that never
 * needs one never pays for it and an install without it still serves everything else. A missing
 * package is one line naming who needs it and the command that installs it.
 */
import { existsSync } from 'fs';
import * as path from 'path';

import { S3dlioError } from '../errors';

/** What needs an optional package, for the error when it is missing. */
export interface OptionalPackageUse {
  /** Who needs it, the subject of the message (`s3://`, `encodeHdf5`). */
  neededBy: string;
  /** The command that installs it (and what it is used with), e.g. `npm install h5wasm`. */
  install: string;
}

/** Whether `error` says that `name` itself (not one of its own dependencies) is not installed. */
function isMissing(error: unknown, name: string): boolean {
  const { code, message } = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  return (
    code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.startsWith(`Cannot find module '${name}'`)
  );
}

/** The one-line error of a package that is not installed; `cause` is the resolver's error. */
function missingPackage(name: string, use: OptionalPackageUse, cause: unknown): S3dlioError {
  return new S3dlioError(
    'ERR_MODULE_NOT_FOUND',
    `${use.neededBy} needs the package ${name}, which is not installed: run \`${use.install}\``,
    { cause },
  );
}

/**
 * A loader of the CommonJS package `name`, which requires it at the first call and keeps it. A
 * package that is not installed is an S3dlioError `ERR_MODULE_NOT_FOUND` naming `use.install`
 * (the require error as its cause); any other failure to load it (a broken install, a missing
 * dependency of its own) is the require error itself.
 */
export function lazyRequire<T>(name: string, use: OptionalPackageUse): () => T {
  let loaded: T | undefined;
  return () => {
    if (loaded === undefined) {
      try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        loaded = require(name) as T;
      } catch (error) {
        if (!isMissing(error, name)) throw error;
        throw missingPackage(name, use, error);
      }
    }
    return loaded;
  };
}

/**
 * The directory of the installed package `name`, found as `require` would find it, for a package
 * that cannot be required (ESM-only) and is imported from a path instead. A package that is not
 * installed is an S3dlioError `ERR_MODULE_NOT_FOUND` naming `use.install`, with Node's own
 * resolution error as its cause.
 */
export function packageRoot(name: string, use: OptionalPackageUse): string {
  for (const dir of require.resolve.paths(name) ?? []) {
    const root = path.join(dir, name);
    if (existsSync(path.join(root, 'package.json'))) return root;
  }
  let cause: unknown;
  try {
    require.resolve(name);
  } catch (error) {
    cause = error;
  }
  throw missingPackage(name, use, cause);
}
