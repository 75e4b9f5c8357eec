/** Choosing the backend for a URI: `storeFor`, and the shared default store of each scheme. */
import { AzureStore, type AzureStoreOptions } from './backends/cloud/azure';
import { DirectStore, type DirectStoreOptions } from './backends/local/direct';
import { FileStore, type FileStoreOptions } from './backends/local/file';
import { GcsStore, type GcsStoreOptions } from './backends/cloud/gcs';
import { S3Store, type S3StoreOptions } from './backends/cloud/s3';
import { S3dlioError } from './errors';
import type { ObjectStore } from './object-store';
import { type Scheme, parseUri } from './uri';

/**
 * Backend options for `storeFor`: those of the URI's scheme only (a key another backend takes,
 * such as `region` for a file:// store, is refused).
 */
export type StoreOptions = FileStoreOptions & DirectStoreOptions & S3StoreOptions & AzureStoreOptions & GcsStoreOptions;

const defaultStores = new Map<Scheme, ObjectStore>();

function createStore(scheme: Scheme, uri: string, options: StoreOptions): ObjectStore {
  switch (scheme) {
    case 'file':
      return new FileStore(options);
    case 'direct':
      return new DirectStore(options);
    case 's3':
      return new S3Store(options);
    case 'az':
      return new AzureStore(options);
    case 'gs':
      return new GcsStore(options);
    default: {
      const unknown: never = scheme;
      throw new S3dlioError('ERR_INVALID_URI', `No backend for the scheme of ${uri} (${String(unknown)})`, { uri });
    }
  }
}

/**
 * Replaces the shared default store of `uri`'s scheme (the one the module-level API and the
 * transfers use) by a store built with `options`, and returns it. A process-wide setting: meant for
 * applications and the CLI, which configure an endpoint once; libraries should use `storeFor`.
 */
export function configureDefaultStore(uri: string, options: StoreOptions): ObjectStore {
  const { scheme, uri: normalized } = parseUri(uri);
  const store = createStore(scheme, normalized, options);
  defaultStores.set(scheme, store);
  return store;
}

/**
 * An ObjectStore for the scheme of `uri`. Without options, the shared default store of that
 * scheme; with options, a new store holding them.
 */
export function storeFor(uri: string, options?: StoreOptions): ObjectStore {
  const { scheme, uri: normalized } = parseUri(uri);
  if (options !== undefined) return createStore(scheme, normalized, options);
  let store = defaultStores.get(scheme);
  if (!store) {
    store = createStore(scheme, normalized, {});
    defaultStores.set(scheme, store);
  }
  return store;
}
