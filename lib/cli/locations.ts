/**
 * The places transfer commands name: a URI of any scheme, or a bare local path (relative or
 * absolute), which means the file:// URI of that path. Where an object or a tree of objects goes
 * follows `aws s3 cp`: a destination ending in `/`, a bucket without a key, or an existing local
 * directory receives the object under its own name.
 */
import { promises as fs, type Stats } from 'fs';
import * as path from 'path';

import { listStream, stat } from '../api';
import { S3dlioError } from '../errors';
import { isLocalScheme, parseUri } from '../uri';
import { CliUsageError } from './usage-error';

/** One command-line argument naming a place. */
export interface Location {
  /** The URI (a local path becomes `file://` + its absolute path; a trailing `/` is kept). */
  readonly uri: string;
  /** As the user typed it: what dry runs and messages show. */
  readonly shown: string;
  /** The local path, for file:// and direct:// places. */
  readonly path?: string;
}

/** `scheme://…`, or Azure's https form: anything else is a local path. */
const URI_FORM = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;

/** Reads a command-line argument as a place. `-` (stdin/stdout) is not one. */
export function locationOf(argument: string): Location {
  if (argument === '') throw new CliUsageError('an empty path or URI');
  if (URI_FORM.test(argument)) {
    let parsed;
    try {
      parsed = parseUri(argument);
    } catch (error) {
      throw new CliUsageError((error as Error).message);
    }
    if (!isLocalScheme(parsed.scheme)) return { uri: argument, shown: argument };
    // One spelling of a local path (`//` is `/`), the one its listing returns.
    return { uri: `${parsed.scheme}://${parsed.path}`, shown: argument, path: parsed.path };
  }
  const absolute = path.resolve(argument);
  const directoryForm = argument.endsWith('/') || argument.endsWith(`${path.sep}.`) || argument === '.';
  const uri = `file://${absolute}${directoryForm && absolute !== '/' ? '/' : ''}`;
  return { uri, shown: argument, path: absolute };
}

/** The same place with a trailing `/`: a prefix (directory) that objects go below. */
export function asPrefix(location: Location): Location {
  if (location.uri.endsWith('/')) return location;
  return {
    ...location,
    uri: `${location.uri}/`,
    shown: location.shown.endsWith('/') ? location.shown : `${location.shown}/`,
  };
}

/** A place below `base` (a prefix), `relative` to it. */
export function below(base: Location, relative: string): Location {
  const prefix = asPrefix(base);
  return {
    uri: `${prefix.uri}${relative}`,
    shown: `${prefix.shown}${relative}`,
    ...(prefix.path !== undefined && { path: path.join(prefix.path, relative) }),
  };
}

/** The local file status of `location`, or undefined when it is no local place or does not exist. */
export async function localStats(location: Location): Promise<Stats | undefined> {
  if (location.path === undefined) return undefined;
  return fs.stat(location.path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
    throw error;
  });
}

/** Whether a cloud URI names a whole bucket (container): no key at all. */
function isBucketOnly(uri: string): boolean {
  const parsed = parseUri(uri);
  return !isLocalScheme(parsed.scheme) && parsed.key === '';
}

/**
 * Where one object goes: into `destination` under the source's own name when the destination ends
 * with `/`, is a bucket, or is an existing local directory; otherwise at `destination` itself.
 */
export async function singleTarget(source: Location, destination: Location): Promise<Location> {
  const into =
    destination.uri.endsWith('/') ||
    isBucketOnly(destination.uri) ||
    (await localStats(destination))?.isDirectory() === true;
  if (!into) return destination;
  const name = source.uri.slice(source.uri.lastIndexOf('/') + 1);
  return below(destination, name);
}

/**
 * Checks that `source` names one object, as a command without -r expects: a local directory or
 * a URI ending with `/` is a usage error with the -r hint; a missing object is an ERR_NOT_FOUND
 * naming it (exit 1), with the -r hint when objects exist below it as a prefix. Resolves to the
 * object's size (the one stat a copy needs).
 */
export async function checkSingleSource(source: Location, verb: string, signal: AbortSignal): Promise<number> {
  const hint = recursiveHint(verb);
  if (source.uri.endsWith('/')) throw endsWithSlash(source.shown, verb);
  if (isBucketOnly(source.uri)) throw new CliUsageError(`${source.shown} is a bucket: ${hint} with every object in it`);
  if (source.path !== undefined) {
    const stats = await localStats(source);
    if (stats?.isDirectory()) throw new CliUsageError(`${source.shown} is a directory: ${hint}`);
    if (stats === undefined) throw notFound(source, 'no such file');
    return stats.size;
  }
  try {
    return (await stat(source.uri, { signal })).size;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_NOT_FOUND') throw error;
  }
  const children = listStream(`${source.uri}/`, { recursive: true, signal })[Symbol.asyncIterator]();
  const first = await children.next();
  await children.return?.();
  if (first.done !== true) throw new CliUsageError(`${source.shown} is a prefix, not an object: ${hint}`);
  throw notFound(source, 'no such object');
}

/**
 * A one-object command that met a directory (a local one: the store says ERR_IS_DIRECTORY) is a
 * usage error with the -r hint, as checkSingleSource makes for cp and mv; other errors pass.
 */
export function withRecursiveHint(error: unknown, uri: string, verb: string): unknown {
  if ((error as { code?: unknown } | null)?.code !== 'ERR_IS_DIRECTORY') return error;
  return new CliUsageError(`${uri} is a directory: ${recursiveHint(verb)}`);
}

/** A one-object command given a prefix ending in `/`: the usage error with the -r hint. */
export function endsWithSlash(shown: string, verb: string): CliUsageError {
  return new CliUsageError(`${shown} is a prefix (it ends with /): ${recursiveHint(verb)} with every object below it`);
}

/** What a one-object command says when it met a tree: how to take the whole tree. */
function recursiveHint(verb: string): string {
  return `add -r (--recursive) to ${verb} it`;
}

/** A missing source: an error naming it (exit 1). */
export function notFound(location: Location, what: string): S3dlioError {
  const named = location.shown === location.uri ? location.uri : `${location.shown} (${location.uri})`;
  return new S3dlioError('ERR_NOT_FOUND', `${named}: ${what}`, { uri: location.uri });
}
