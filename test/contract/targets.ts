/**
 * Every backend the contract suites run on: mem://, file://, direct:// and the three clouds on
 * their local servers (test/cloud/targets.ts). A target makes buckets and a store for them, so a
 * suite is written once against what every backend promises.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { type ObjectStore, storeFor } from '../../lib';
import { cloudTargets } from '../cloud/targets';

export interface StoreTarget {
  /** Label in test names. */
  name: string;
  scheme: 'mem' | 'file' | 'direct' | 's3' | 'az' | 'gs';
  /** A store for this target's buckets. */
  store(options?: Record<string, unknown>): ObjectStore;
  /** URI of a bucket (container, directory) with this name. */
  bucketUri(bucket: string): string;
  /** How `listBuckets` is called on this backend. */
  schemeUri: string;
  /** Store options that make listing pages small (clouds: 50 keys a page), so few keys span pages. */
  smallPages: Record<string, unknown>;
  /** Where backends differ, as documented. */
  traits: Traits;
}

/** The documented differences between backends. */
export interface Traits {
  /** `stat` reports an etag. */
  etags: boolean;
  /** Writes create missing buckets (directories) instead of failing with ERR_BUCKET_NOT_FOUND. */
  bucketsOnWrite: boolean;
  /** `rename` is atomic, so `requireAtomic` succeeds. */
  atomicRename: boolean;
  /** What the cause of a missing object's ERR_NOT_FOUND looks like (undefined: no cause). */
  notFoundCause: Record<string, unknown> | undefined;
  /** An 8 MiB get may complete before an abort 5 ms later (no network between). */
  fastGets: boolean;
}

const CLOUD_TRAITS: Traits = {
  etags: true,
  bucketsOnWrite: false,
  atomicRename: false,
  notFoundCause: { statusCode: 404 },
  fastGets: false,
};

/** A local scheme, its buckets directories below a fresh directory on the disk (O_DIRECT capable). */
function localTarget(scheme: 'file' | 'direct'): StoreTarget {
  const root = mkdtempSync(path.join(tmpdir(), `s3dlio-contract-${scheme}-`));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  return {
    name: `${scheme}://`,
    scheme,
    store: (options) => storeFor(`${scheme}:///`, options),
    bucketUri: (bucket) => `${scheme}://${root}/${bucket}/`,
    schemeUri: `${scheme}://${root}/`,
    smallPages: {},
    traits: {
      etags: false,
      bucketsOnWrite: true,
      atomicRename: true,
      notFoundCause: { code: 'ENOENT' },
      fastGets: true,
    },
  };
}

/** mem://, a store of its own per suite. */
function memTarget(): StoreTarget {
  return {
    name: 'mem://',
    scheme: 'mem',
    store: (options = {}) => storeFor('mem://', options),
    bucketUri: (bucket) => `mem://${bucket}/`,
    schemeUri: 'mem://',
    smallPages: {},
    traits: { etags: true, bucketsOnWrite: false, atomicRename: false, notFoundCause: undefined, fastGets: true },
  };
}

/** Rows for `describe.each`: [name, target]. */
export function storeTargets(): Array<[string, StoreTarget]> {
  const clouds = cloudTargets().map((target): StoreTarget => ({
    ...target,
    smallPages: { pageSize: 50 },
    traits: CLOUD_TRAITS,
  }));
  const targets: StoreTarget[] = [memTarget(), localTarget('file'), localTarget('direct'), ...clouds];
  return targets.map((target) => [target.name, target]);
}
