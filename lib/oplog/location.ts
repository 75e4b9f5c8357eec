/** Where an op-log is: a local file (a path, or a file:// / direct:// URI) or an object of a store. */
import * as path from 'path';

import { isLocalScheme, parseUri } from '../uri';

/**
 * The absolute path of a log on this machine's filesystem, or undefined for an object of a store.
 * A malformed URI is ERR_INVALID_URI naming `name` as the argument.
 */
export function localLogFile(log: string, name: string): string | undefined {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(log)) return path.resolve(log);
  const parsed = parseUri(log, name);
  return isLocalScheme(parsed.scheme) ? (parsed.path as string) : undefined;
}
