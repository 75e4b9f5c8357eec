/**
 * Objects whose key ends with '/': consoles and other tools make them, empty, as "folders". To this
 * library a key ending with '/' names a directory, never an object, so a recursive transfer skips
 * an empty one (a recursive listing has no directories) and reports one holding bytes instead of
 * dropping it unseen.
 */
import { S3dlioError } from '../errors';

/** A listing's entry, as far as this module reads it. */
interface Entry {
  uri: string;
  isPrefix: boolean;
  size?: number;
}

/** An empty object whose key ends with '/' (a listing's entry): a folder marker, skipped by recursive transfers. */
export function isFolderMarker(entry: Entry): boolean {
  return !entry.isPrefix && entry.uri.endsWith('/') && entry.size === 0;
}

/**
 * The objects of a detailed listing that a transfer takes, sorted (as `list`): no subdirectory,
 * no folder marker. An object holding bytes under a key ending with '/' stays, for its transfer
 * to report (`keyNamesDirectory`).
 */
export async function objectsToTransfer(entries: AsyncIterable<Entry>): Promise<string[]> {
  const uris: string[] = [];
  for await (const entry of entries) if (!entry.isPrefix && !isFolderMarker(entry)) uris.push(entry.uri);
  return uris.sort();
}

/** The failure of an object whose key ends with '/' and holds bytes: it cannot be transferred. */
export function keyNamesDirectory(uri: string, operation: string): S3dlioError {
  return new S3dlioError(
    'ERR_IS_DIRECTORY',
    `${operation} ${uri}: its key ends with '/', which names a directory, not an object; its bytes were not transferred`,
    { uri, operation },
  );
}
