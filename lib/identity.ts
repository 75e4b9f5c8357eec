/**
 * Which object, or which part of a store, a URI designates once its spelling is resolved: file://
 * and direct:// of one file (through symlinks, hard links, bind mounts), `gs://` and `gcs://`, an
 * S3 endpoint inline or configured, Azure's https and az:// forms. Copy and rename use it so that
 * an object is never copied onto itself and then deleted, nor a prefix copied into itself.
 */
import { BaseStore } from './backends/base-store';
import { resolvePath, sameFile, splitPrefix } from './backends/local/paths';
import { storeFor } from './stores';
import { isLocalScheme, parseUri } from './uri';
import { invalidValue } from './validate';

/** Whether two local URIs (file:// or direct://) name one existing file. False for anything else. */
export async function sameLocalFile(a: string, b: string): Promise<boolean> {
  const first = parseUri(a, 'srcUri');
  const second = parseUri(b, 'dstUri');
  if (!isLocalScheme(first.scheme) || !isLocalScheme(second.scheme)) return false;
  return sameFile(first.path as string, second.path as string);
}

/**
 * Where a prefix reaches, as a string: the location of every object the prefix lists starts with
 * it (local: the resolved path; clouds: endpoint, bucket and key), whatever the URI's spelling.
 */
export async function prefixLocation(prefixUri: string): Promise<string> {
  const parsed = parseUri(prefixUri);
  if (isLocalScheme(parsed.scheme)) {
    // The directory is resolved; a name prefix is not (it is matched against names, not followed).
    const { directory, namePrefix } = splitPrefix(parsed.path as string);
    const resolved = await resolvePath(directory);
    return `local:${resolved === '/' ? '' : resolved}/${namePrefix}`;
  }
  const store = storeFor(prefixUri);
  // A store of another kind (registered by an application) has one spelling per object.
  return `${parsed.scheme}:${store instanceof BaseStore ? store.identityOf(prefixUri) : parsed.uri}`;
}

/**
 * Where the objects of a recursive copy go: keys keep their path relative to the source prefix
 * (to its parent when it has no trailing `/`), below `dstPrefix`. A destination that the source
 * prefix itself reaches (`a/` into `a/b/`, `data` into `data2/`) is refused: the copies would be
 * copied again (without end while a listing streams). A destination equal to the source base maps
 * every object onto itself, which copy leaves as it is.
 */
export async function recursiveCopyPlan(
  srcPrefix: string,
  dstPrefix: string,
): Promise<{ sourceBase: string; destinationBase: string }> {
  const destinationBase = dstPrefix.endsWith('/') ? dstPrefix : `${dstPrefix}/`;
  const sourceBase = srcPrefix.slice(0, srcPrefix.lastIndexOf('/') + 1);
  const [reach, target, base] = await Promise.all([
    prefixLocation(srcPrefix),
    prefixLocation(destinationBase),
    prefixLocation(sourceBase),
  ]);
  if (target !== base && target.startsWith(reach)) {
    throw invalidValue(
      'dstUri',
      `a destination outside the source prefix ${srcPrefix} (it would copy into itself)`,
      dstPrefix,
    );
  }
  return { sourceBase, destinationBase };
}
